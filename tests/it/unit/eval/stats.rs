//! Unit tests of `auscult::eval::stats` (`src/eval/stats.rs`).

use auscult::eval::stats::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn mean_std_population_and_sample() {
    // Values 1, 2, 3, 4: mean 2.5, Σ(x−m)² = 5 → population std √(5/4), sample std √(5/3).
    let v = [1.0, 2.0, 3.0, 4.0];
    let p = MeanStd::of(&v, StdKind::Population).expect("non-empty");
    let s = MeanStd::of(&v, StdKind::Sample).expect("non-empty");
    assert!(close(p.mean, 2.5) && close(p.std, (1.25f64).sqrt()));
    assert!(close(s.std, (5.0f64 / 3.0).sqrt()));
    assert!(MeanStd::of(&[], StdKind::Population).is_none());
    let one = MeanStd::of(&[0.7], StdKind::Sample).expect("non-empty");
    assert_eq!(one.std, 0.0);
}
