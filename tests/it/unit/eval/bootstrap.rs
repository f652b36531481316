//! Unit tests of `auscult::eval::bootstrap` (`src/eval/bootstrap.rs`).

use auscult::eval::bootstrap::*;

#[test]
fn draws_are_seeded_with_replacement_and_in_range() {
    let a = draws(5, 50, 7);
    assert_eq!(a, draws(5, 50, 7));
    assert_ne!(a, draws(5, 50, 8));
    assert!(a.iter().all(|d| d.len() == 5 && d.iter().all(|&u| u < 5)));
    // With replacement: some draw repeats a unit (P(no repeat in 50 draws) = (5!/5⁵)^50).
    assert!(a.iter().any(|d| {
        let mut s = d.clone();
        s.sort();
        s.dedup();
        s.len() < 5
    }));
    assert!(draws(0, 3, 0).iter().all(Vec::is_empty));
}

#[test]
fn expand_takes_every_cycle_of_each_drawn_unit() {
    let members = vec![vec![0, 1], vec![2], vec![3, 4, 5]];
    assert_eq!(expand(&[2, 0, 2], &members), [3, 4, 5, 0, 1, 3, 4, 5]);
}

#[test]
fn quantiles_interpolate_like_numpy() {
    // np.percentile([1, 2, 3, 4], [2.5, 97.5]) = [1.075, 3.925].
    let (lo, hi) = interval(&[4.0, 1.0, 3.0, 2.0], 0.95).unwrap();
    assert!((lo - 1.075).abs() < 1e-12 && (hi - 3.925).abs() < 1e-12);
    assert_eq!(quantile(&[2.0], 0.3), Some(2.0));
    assert_eq!(interval(&[f64::NAN], 0.95), None);
    // A constant statistic has an interval of width 0.
    let e = Estimate::of(1.0, &[1.0; 100], 0.95);
    assert_eq!((e.lo, e.hi, e.width()), (1.0, 1.0, 0.0));
}
