//! Calibration of class probabilities: the expected calibration error with its reliability
//! bins, and temperature scaling.
//!
//! - Confidence of a cycle = its largest class probability; correct = its argmax is its label.
//!   The confidences fall into `B` equal-width bins over [0, 1] (bin `b` holds
//!   `b/B < c ≤ (b+1)/B`, the first bin also `c = 0`), and
//!   `ECE = Σ_b (n_b / N) · |accuracy_b − mean confidence_b|`.
//! - Temperature scaling divides the logits by `T > 0`. From probabilities `p` (a softmax of the
//!   logits) the same result is `softmax(ln p / T)`, since `ln p` is the logits less a constant.
//!   `T` minimises the negative log-likelihood of the labels on a validation split; the NLL is
//!   convex in `1/T`, so a golden-section search over `ln T ∈ [ln 0.05, ln 20]` finds it.

use serde::{Deserialize, Serialize};

/// The default number of reliability bins.
pub const DEFAULT_BINS: usize = 15;

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    pub lo: f64,
    pub hi: f64,
    pub count: usize,
    /// Mean confidence of the bin's cycles (0 when empty).
    pub confidence: f64,
    /// Share of the bin's cycles whose argmax is right (0 when empty).
    pub accuracy: f64,
}

/// The bin of confidence `c` among `bins`.
fn bin_of(c: f64, bins: usize) -> usize {
    ((c * bins as f64).ceil() as usize)
        .saturating_sub(1)
        .min(bins - 1)
}

/// The reliability bins of `(confidence, correct)` pairs.
pub fn reliability(confidence: &[f64], correct: &[bool], bins: usize) -> Vec<Bin> {
    let bins = bins.max(1);
    let mut n = vec![0usize; bins];
    let mut conf = vec![0.0; bins];
    let mut right = vec![0usize; bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let b = bin_of(c, bins);
        n[b] += 1;
        conf[b] += c;
        right[b] += ok as usize;
    }
    (0..bins)
        .map(|b| Bin {
            lo: b as f64 / bins as f64,
            hi: (b + 1) as f64 / bins as f64,
            count: n[b],
            confidence: if n[b] > 0 { conf[b] / n[b] as f64 } else { 0.0 },
            accuracy: if n[b] > 0 {
                right[b] as f64 / n[b] as f64
            } else {
                0.0
            },
        })
        .collect()
}

/// The expected calibration error of reliability bins (0 when they hold nothing).
pub fn ece(bins: &[Bin]) -> f64 {
    let total: usize = bins.iter().map(|b| b.count).sum();
    if total == 0 {
        return 0.0;
    }
    bins.iter()
        .map(|b| b.count as f64 / total as f64 * (b.accuracy - b.confidence).abs())
        .sum()
}

/// Confidence (largest probability) and correctness (argmax = label) of each cycle; ties go to
/// the lower class id.
pub fn confidence_correct(probabilities: &[Vec<f64>], labels: &[usize]) -> (Vec<f64>, Vec<bool>) {
    probabilities
        .iter()
        .zip(labels)
        .map(|(p, &l)| {
            let best = argmax(p);
            (p[best], best == l)
        })
        .unzip()
}

/// Index of the largest value (the first among ties).
pub fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if *v > p[best] {
            best = i;
        }
    }
    best
}

/// `softmax(ln p / t)`: probabilities `p` at temperature `t` (zeros are kept at the smallest
/// positive f64 so their logarithm is finite).
pub fn apply_temperature(p: &[f64], t: f64) -> Vec<f64> {
    let z: Vec<f64> = p
        .iter()
        .map(|&v| v.max(f64::MIN_POSITIVE).ln() / t)
        .collect();
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// Mean negative log-likelihood of `labels` under `probabilities` at temperature `t`.
pub fn nll(probabilities: &[Vec<f64>], labels: &[usize], t: f64) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let sum: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(p, &l)| -apply_temperature(p, t)[l].max(f64::MIN_POSITIVE).ln())
        .sum();
    sum / labels.len() as f64
}

/// The temperature in [0.05, 20] minimising [`nll`] (golden-section search over `ln T`, to a
/// relative precision of about 1e-6); None without a cycle.
pub fn fit_temperature(probabilities: &[Vec<f64>], labels: &[usize]) -> Option<f64> {
    if labels.is_empty() {
        return None;
    }
    let f = |log_t: f64| nll(probabilities, labels, log_t.exp());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (0.05f64.ln(), 20f64.ln());
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    while b - a > 1e-6 {
        if fc <= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    Some(((a + b) / 2.0).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
