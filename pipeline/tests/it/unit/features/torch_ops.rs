//! Unit tests of `src/features/torch_ops.rs`.

use auscult_pipeline::features::torch_ops::*;

#[test]
fn endpoints_are_exact() {
    for steps in [2usize, 3, 10, 999, 1000, 1001] {
        let v = linspace(0.0, 1.0, steps);
        assert_eq!(v[0], 0.0);
        assert_eq!(v[steps - 1], 1.0);
        assert!(v.windows(2).all(|w| w[0] < w[1]));
    }
    assert_eq!(linspace(0.0, 1.0, 1), vec![0.0]);
    assert!(linspace(0.0, 1.0, 0).is_empty());
    // Exactly representable grid: every value is exact.
    assert_eq!(linspace(0.0, 8000.0, 513)[1], 15.625);
    assert_eq!(linspace(0.0, 8000.0, 513)[300], 300.0 * 15.625);
}
