//! Unit tests of `auscult::eval::calibration` (`src/eval/calibration.rs`).

use auscult::eval::calibration::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn softmax(z: &[f64]) -> Vec<f64> {
    apply_temperature(&z.iter().map(|v| v.exp()).collect::<Vec<_>>(), 1.0)
}

#[test]
fn a_calibrated_toy_set_has_zero_ece() {
    // Bin (0.7, 0.8]: 8 cycles at confidence 0.75, 6 right; bin (0.4, 0.5]: 4 cycles at
    // confidence 0.5, 2 right. Accuracy equals confidence in every bin.
    let mut conf = vec![0.75; 8];
    let mut ok = vec![true, true, true, false, true, true, true, false];
    conf.extend([0.5; 4]);
    ok.extend([true, false, true, false]);
    let bins = reliability(&conf, &ok, DEFAULT_BINS);
    assert_eq!(bins.iter().map(|b| b.count).sum::<usize>(), 12);
    assert!(ece(&bins) < 1e-12);
    // All wrong at confidence 1: ECE 1; the bin edges are (b/B, (b+1)/B].
    let bins = reliability(&[1.0, 1.0], &[false, false], 10);
    assert_eq!((bins[9].count, ece(&bins)), (2, 1.0));
    assert_eq!(bin_of(0.1, 10), 0);
    assert_eq!(bin_of(0.0, 10), 0);
    assert_eq!(bin_of(0.10001, 10), 1);
}

#[test]
fn hand_computed_ece() {
    // Bin (0.9, 1]: confidences 0.95, 0.95, accuracy 1/2 → gap 0.45, weight 2/4;
    // bin (0.6, 0.7]: 0.65, 0.65, accuracy 1 → gap 0.35, weight 2/4. ECE = 0.4.
    let bins = reliability(&[0.95, 0.95, 0.65, 0.65], &[true, false, true, true], 10);
    assert!((ece(&bins) - 0.4).abs() < 1e-12);
}

#[test]
fn temperature_one_is_the_identity_and_the_fit_recovers_a_known_t() {
    let p = [0.7, 0.2, 0.1];
    let same = apply_temperature(&p, 1.0);
    assert!(p.iter().zip(&same).all(|(a, b)| (a - b).abs() < 1e-12));
    // Labels drawn from softmax(z); the model reports softmax(3z), i.e. over-confident by
    // T = 3. The fit on 4000 cycles finds T near 3.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (mut probs, mut labels) = (Vec::new(), Vec::new());
    for _ in 0..4000 {
        let z: Vec<f64> = (0..4).map(|_| rng.gen_range(-1.5..1.5)).collect();
        let truth = softmax(&z);
        let u: f64 = rng.gen();
        let mut acc = 0.0;
        let label = truth
            .iter()
            .position(|&q| {
                acc += q;
                u < acc
            })
            .unwrap_or(3);
        labels.push(label);
        probs.push(softmax(&z.iter().map(|v| 3.0 * v).collect::<Vec<_>>()));
    }
    let t = fit_temperature(&probs, &labels).unwrap();
    assert!((t - 3.0).abs() < 0.3, "fitted T = {t}");
    assert!(nll(&probs, &labels, t) < nll(&probs, &labels, 1.0));
    assert!(fit_temperature(&[], &[]).is_none());
}
