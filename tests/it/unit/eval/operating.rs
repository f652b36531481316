//! Unit tests of `auscult::eval::operating` (`src/eval/operating.rs`).

use auscult::eval::operating::*;

#[test]
fn a_perfect_ranking_has_area_one_and_a_reversed_one_zero() {
    let s = [0.1, 0.2, 0.8, 0.9];
    let pos = [false, false, true, true];
    assert_eq!(auroc(&s, &pos), Some(1.0));
    let neg: Vec<bool> = pos.iter().map(|p| !p).collect();
    assert_eq!(auroc(&s, &neg), Some(0.0));
    assert_eq!(auroc(&s, &[true; 4]), None);
    // Every score equal: every pair a tie, area 1/2.
    assert_eq!(auroc(&[0.5; 4], &pos), Some(0.5));
}

#[test]
fn ties_count_one_half_by_hand() {
    // Positives 0.4, 0.7; negatives 0.2, 0.4, 0.6. Pairs (pos > neg, ties ½):
    // 0.4: vs 0.2 → 1, vs 0.4 → ½, vs 0.6 → 0; 0.7: 1, 1, 1 → 4.5 / 6 = 0.75.
    let s = [0.4, 0.7, 0.2, 0.4, 0.6];
    let pos = [true, true, false, false, false];
    assert!((auroc(&s, &pos).unwrap() - 0.75).abs() < 1e-12);
    // The trapezoidal area under the ROC curve agrees.
    let c = roc(&s, &pos);
    let area: f64 = c
        .windows(2)
        .map(|w| (w[0].sp - w[1].sp) * (w[0].se + w[1].se) / 2.0)
        .sum();
    assert!((area - 0.75).abs() < 1e-12, "{c:?}");
}

#[test]
fn roc_points_and_operating_points_by_hand() {
    // Scores 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.3 (neg), 0.2 (pos).
    let s = [0.9, 0.8, 0.7, 0.3, 0.2];
    let pos = [true, false, true, false, true];
    let c = roc(&s, &pos);
    let got: Vec<(f64, f64, f64)> = c.iter().map(|p| (p.threshold, p.se, p.sp)).collect();
    assert_eq!(
        got,
        [
            (0.9f64.next_up(), 0.0, 1.0),
            (0.9, 1.0 / 3.0, 1.0),
            (0.8, 1.0 / 3.0, 0.5),
            (0.7, 2.0 / 3.0, 0.5),
            (0.3, 2.0 / 3.0, 0.0),
            (0.2, 1.0, 0.0),
        ]
    );
    let p = operating_point(&c, Target::SeAtSp(0.9)).unwrap();
    assert_eq!((p.threshold, p.se), (0.9, 1.0 / 3.0));
    let p = operating_point(&c, Target::SpAtSe(0.6)).unwrap();
    assert_eq!((p.threshold, p.sp), (0.7, 0.5));
    let p = operating_point(&c, Target::SpAtSe(0.9)).unwrap();
    assert_eq!((p.threshold, p.se, p.sp), (0.2, 1.0, 0.0));
    assert_eq!(Target::SeAtSp(0.95).name(), "se_at_sp_0.95");
    assert!(operating_point(&[], Target::SeAtSp(0.9)).is_none());
}
