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
pub fn bin_of(c: f64, bins: usize) -> usize {
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
