//! Unit tests of `auscult::train::schedule` (`src/train/schedule.rs`).

use auscult::train::schedule::*;

#[test]
fn starts_at_base_and_reaches_floor_at_t_max_then_cycles() {
    let lrs = CosineAnnealingLr::sequence(1e-3, 40, 1e-6, 161);
    assert_eq!(lrs[0], 1e-3);
    // Closed form at e = 40 is exactly eta_min; the recursion agrees to rounding.
    assert!((lrs[40] - 1e-6).abs() < 1e-15);
    assert!((lrs[80] - 1e-3).abs() < 1e-15);
    assert!((lrs[120] - 1e-6).abs() < 1e-15);
    assert!((lrs[160] - 1e-3).abs() < 1e-15);
    // Period 80: epoch 10 and epoch 90 share a rate.
    assert!((lrs[10] - lrs[90]).abs() < 1e-15);
}

#[test]
fn recursion_matches_closed_form_closely() {
    let base = 1e-4;
    let lrs = CosineAnnealingLr::sequence(base, 40, 1e-6, 400);
    for (e, lr) in lrs.iter().enumerate() {
        let closed =
            1e-6 + (base - 1e-6) * (1.0 + (std::f64::consts::PI * e as f64 / 40.0).cos()) / 2.0;
        assert!(
            ((lr - closed) / closed).abs() < 1e-10,
            "epoch {e}: {lr} vs {closed}"
        );
    }
}
