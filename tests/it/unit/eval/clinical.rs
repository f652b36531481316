//! Unit tests of `auscult::eval::clinical` (`src/eval/clinical.rs`).

use auscult::eval::clinical::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n_patients` patients of `per` cycles each, labels cycling 0..4 (class 0 normal).
fn truth(n_patients: usize, per: usize) -> Truth {
    let mut labels = Vec::new();
    let mut units = Vec::new();
    for p in 0..n_patients {
        for c in 0..per {
            labels.push((p + c) % 4);
            units.push(format!("p{p:03}"));
        }
    }
    Truth {
        labels,
        units,
        n_classes: 4,
        normal: vec![0],
    }
}

/// Probabilities putting `conf` on `class`, the rest spread evenly.
fn onehot(class: usize, conf: f64) -> Vec<f64> {
    (0..4)
        .map(|c| if c == class { conf } else { (1.0 - conf) / 3.0 })
        .collect()
}

fn opts() -> Options {
    Options {
        resamples: 200,
        ..Options::default()
    }
}

#[test]
fn a_perfect_classifier_has_intervals_of_width_zero() {
    let t = truth(12, 5);
    let p: Vec<Vec<f64>> = t.labels.iter().map(|&l| onehot(l, 0.9)).collect();
    let m = measure(&t, &p, &[], None, &opts());
    let o = m.overall.metrics;
    for e in [o.se, o.sp, o.score, o.hs] {
        assert_eq!((e.value, e.lo, e.hi), (1.0, 1.0, 1.0));
    }
    assert_eq!((m.overall.cycles, m.overall.patients), (60, 12));
    let op = m.operating.unwrap();
    assert_eq!((op.auroc.value, op.auroc.width()), (1.0, 0.0));
    for p in &op.points {
        assert_eq!((p.se.value, p.sp.value), (1.0, 1.0), "{}", p.name);
        assert_eq!((p.se.width(), p.sp.width()), (0.0, 0.0), "{}", p.name);
    }
    // Confidence 0.9 and always right: every cycle in bin (0.8667, 0.9333], ECE = 0.1.
    assert!((m.calibration.ece.value - 0.1).abs() < 1e-12);
    assert!(m.calibration.temperature.is_none() && m.calibration.scaled_ece.is_none());
}

#[test]
fn a_device_where_the_classifier_guesses_shows_in_the_subgroups() {
    let t = truth(40, 6);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    // Patients 0..20 on device A (perfect), 20..40 on device B (uniform random class), and
    // one patient's cycles on a rare device C.
    let device: Vec<Option<String>> = t
        .units
        .iter()
        .map(|u| {
            let p: usize = u[1..].parse().unwrap();
            Some(match p {
                0 => "C".to_string(),
                p if p < 20 => "A".to_string(),
                _ => "B".to_string(),
            })
        })
        .collect();
    let p: Vec<Vec<f64>> = t
        .labels
        .iter()
        .zip(&device)
        .map(|(&l, d)| match d.as_deref() {
            Some("B") => onehot(rng.gen_range(0..4), 0.7),
            _ => onehot(l, 0.7),
        })
        .collect();
    let m = measure(&t, &p, &[("device".into(), device)], None, &opts());
    let g = |name: &str| m.subgroups.iter().find(|s| s.group == name).unwrap();
    let (a, b, c) = (g("A"), g("B"), g("C"));
    assert_eq!(
        (a.metrics.cycles, a.metrics.patients, a.small),
        (114, 19, false)
    );
    assert_eq!(a.metrics.metrics.score.value, 1.0);
    assert_eq!(a.metrics.metrics.score.width(), 0.0);
    assert!(b.metrics.metrics.score.value < 0.7, "{b:?}");
    assert!(b.metrics.metrics.score.hi < 1.0 && b.metrics.metrics.score.width() > 0.0);
    assert_eq!((c.metrics.patients, c.small), (1, true));
    assert!(m.overall.metrics.score.value < 1.0);
}

#[test]
fn a_run_compared_with_itself_differs_by_exactly_zero() {
    let t = truth(15, 4);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let a: Vec<usize> = t.labels.iter().map(|_| rng.gen_range(0..4)).collect();
    let c = compare(&t, &[&a], &[&a], &opts());
    assert_eq!((c.delta.value, c.delta.lo, c.delta.hi), (0.0, 0.0, 0.0));
    assert_eq!(c.share_b_better, 0.0);
    assert_eq!((c.resamples, c.patients, c.cycles), (200, 15, 60));
    // The truth itself beats the guesses in (nearly) every resample.
    let perfect = t.labels.clone();
    let c = compare(&t, &[&a], &[&perfect], &opts());
    assert_eq!(c.score_b.value, 1.0);
    assert!(
        c.delta.value > 0.2 && c.delta.lo > 0.0 && c.share_b_better > 0.95,
        "{c:?}"
    );
    // Deterministic for a seed.
    assert_eq!(c, compare(&t, &[&a], &[&perfect], &opts()));
}

#[test]
fn several_seeds_give_a_spread_and_an_interval_of_their_mean() {
    let t = truth(10, 4);
    let perfect = t.labels.clone();
    let mut half = perfect.clone();
    for (i, p) in half.iter_mut().enumerate() {
        if i % 2 == 0 {
            *p = (*p + 1) % 4;
        }
    }
    let all: Vec<usize> = (0..t.labels.len()).collect();
    let g = group_metrics(&t, &[&perfect, &half], &all, &opts());
    let one = group_metrics(&t, &[&half], &all, &opts());
    let mean = (1.0 + one.metrics.score.value) / 2.0;
    assert!((g.metrics.score.value - mean).abs() < 1e-12);
    let std = g.seed_std.unwrap()[2];
    assert!((std - (1.0 - one.metrics.score.value) / 2.0).abs() < 1e-12);
    assert!(one.seed_std.is_none());
}

#[test]
fn temperature_is_fitted_only_with_a_validation_split() {
    let t = truth(10, 10);
    // Over-confident: right 60 % of the time at confidence 0.97.
    let p: Vec<Vec<f64>> = t
        .labels
        .iter()
        .enumerate()
        .map(|(i, &l)| onehot(if i % 5 < 3 { l } else { (l + 1) % 4 }, 0.97))
        .collect();
    let m = calibration(&t, &p, Some((&t.labels, &p)), &opts());
    let temp = m.temperature.unwrap();
    assert!(temp > 1.5, "an over-confident model is cooled: T = {temp}");
    assert!(m.scaled_ece.unwrap().value < m.ece.value);
    assert!(m.scaled_nll.unwrap() < m.nll);
    assert_eq!(m.val_cycles, 100);
}
