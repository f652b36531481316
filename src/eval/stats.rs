//! Mean ± standard deviation over runs (seeds, folds): the one implementation behind run
//! summaries, the report's table cells and the plots' bands.

use serde::{Deserialize, Serialize};

/// Which standard deviation a run summary reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum StdKind {
    /// Divide by n (ddof = 0, `np.std` default). The default.
    #[default]
    Population,
    /// Divide by n − 1 (ddof = 1, `np.std(ddof=1)`, `torch.std`); 0 for a single run.
    Sample,
}

/// Mean ± standard deviation of one metric over several runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Arithmetic mean.
    pub mean: f64,
    /// Standard deviation of the kind in `kind`.
    pub std: f64,
    /// Number of runs.
    pub n: usize,
    /// How `std` was computed.
    pub kind: StdKind,
}

impl MeanStd {
    /// Summary of `values`; `None` when there is none.
    pub fn of(values: &[f64], kind: StdKind) -> Option<Self> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sum_sq: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
        let denominator = match kind {
            StdKind::Population => n,
            StdKind::Sample => n - 1,
        };
        let std = if denominator == 0 {
            0.0
        } else {
            (sum_sq / denominator as f64).sqrt()
        };
        Some(Self { mean, std, n, kind })
    }

    /// One value: itself, std 0.
    pub fn single(value: f64) -> Self {
        Self {
            mean: value,
            std: 0.0,
            n: 1,
            kind: StdKind::Population,
        }
    }
}
