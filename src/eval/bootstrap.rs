//! The patient-level bootstrap: cycles of one patient are not independent, so the unit of
//! resampling is the patient (or whatever unit the caller groups cycles by). One resample draws
//! as many units as there are, with replacement; every cycle of a drawn unit enters (a unit drawn
//! twice enters twice). A statistic computed on each of `B` resamples gives a percentile
//! interval: the `(1 − level)/2` and `(1 + level)/2` quantiles of the `B` values, interpolated
//! linearly between order statistics (numpy's default `percentile`).
//!
//! The draws depend only on the number of units, `B` and the seed ([`draws`]), so two runs
//! evaluated on the same units see the same resamples: their paired difference is computed draw
//! by draw.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A point estimate with its bootstrap percentile interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// On the data as it is (no resampling).
    pub value: f64,
    /// Lower bound of the interval.
    pub lo: f64,
    /// Upper bound of the interval.
    pub hi: f64,
}

impl Estimate {
    /// `value` with the percentile interval of `resampled` at `level` (NaN values are left
    /// out; no finite value: the interval is `[value, value]`).
    pub fn of(value: f64, resampled: &[f64], level: f64) -> Self {
        match interval(resampled, level) {
            Some((lo, hi)) => Estimate { value, lo, hi },
            None => Estimate {
                value,
                lo: value,
                hi: value,
            },
        }
    }

    /// `hi − lo`.
    pub fn width(&self) -> f64 {
        self.hi - self.lo
    }
}

/// `resamples` draws of `n_units` unit indices each, with replacement, from a ChaCha8 stream
/// seeded with `seed`. No unit: every draw is empty.
pub fn draws(n_units: usize, resamples: usize, seed: u64) -> Vec<Vec<u32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..resamples)
        .map(|_| {
            (0..n_units)
                .map(|_| rng.gen_range(0..n_units) as u32)
                .collect()
        })
        .collect()
}

/// The cycles of one draw: the members of every drawn unit, in draw order.
pub fn expand(draw: &[u32], members: &[Vec<usize>]) -> Vec<usize> {
    let mut out = Vec::with_capacity(draw.len() * 4);
    for &u in draw {
        out.extend_from_slice(&members[u as usize]);
    }
    out
}

/// The `q`-quantile (0 ≤ q ≤ 1) of ascending `sorted` values, linear between order statistics.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (f, c) = (h.floor() as usize, h.ceil() as usize);
    Some(sorted[f] + (h - f as f64) * (sorted[c] - sorted[f]))
}

/// The central percentile interval holding `level` (e.g. 0.95) of the finite `values`.
pub fn interval(values: &[f64], level: f64) -> Option<(f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Some((quantile(&v, tail)?, quantile(&v, 1.0 - tail)?))
}
