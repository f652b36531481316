//! Evaluation metrics of the ICBHI / SPRSound challenges, from predicted and true classes.
//!
//! Which classes are "normal" comes from the cache's manifest (ICBHI: class 0 `normal`;
//! SPRSound: `Normal`); every other class is an abnormality (ICBHI: crackle, wheeze, both;
//! SPRSound: the six adventitious classes). As in the official ce.py / hybrid.py / scl.py:
//!
//! * Se = Σ_{c abnormal} correct_c / Σ_{c abnormal} n_c (abnormal examples predicted as their
//!   exact class)
//! * Sp = Σ_{c normal} correct_c / Σ_{c normal} n_c
//! * Score = (Se + Sp) / 2 (the ICBHI score), Acc = Σ correct / N
//! * HS = 2·Se·Sp / (Se + Sp) (harmonic score; 0 when Se + Sp = 0)
//! * SPRSound task score = (Score + HS) / 2
//!
//! Empty denominators (no normal example, no abnormal example, no example at all) make the
//! official code raise `ZeroDivisionError`; here such a ratio is defined as 0 (never NaN), and
//! `n_normal` / `n_abnormal` are reported so a caller can tell.
//!
//! Run summaries ([`MeanStd`]) use the population standard deviation (ddof = 0, `np.std`'s
//! default) unless asked otherwise: the official code prints no std, and `np.std` is the most
//! likely source of the paper's ±.

use candle_core::{DType, Result as CandleResult, Tensor, D};
use serde::{Deserialize, Serialize};

pub use crate::eval::stats::{MeanStd, StdKind};

/// Errors of metric computation on caller-supplied labels.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Predictions and targets differ in length.
    #[error("metrics: {predictions} predictions for {targets} targets")]
    LengthMismatch {
        /// Number of predictions.
        predictions: usize,
        /// Number of targets.
        targets: usize,
    },
    /// A class id is outside `0..n_classes`.
    #[error("metrics: {which}[{index}] = {class} is not a class id (n_classes = {n_classes})")]
    ClassOutOfRange {
        /// "predictions" or "targets".
        which: &'static str,
        /// Position in the slice.
        index: usize,
        /// The offending id.
        class: usize,
        /// Number of classes.
        n_classes: usize,
    },
    /// Fewer than two classes (normal plus at least one abnormal class are needed).
    #[error("metrics: need at least 2 classes, got {0}")]
    TooFewClasses(usize),
    /// The normal classes are empty, cover every class, or name a class that does not exist.
    #[error(
        "metrics: normal classes {normal:?} of {n_classes} classes (need at least one normal and \
         one abnormal class id in 0..{n_classes})"
    )]
    BadNormalClasses {
        /// The ids given as normal.
        normal: Vec<usize>,
        /// Number of classes.
        n_classes: usize,
    },
}

/// Confusion matrix: `counts[target][prediction]`, and which classes are normal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Number of classes.
    pub n_classes: usize,
    /// Ids of the normal classes (ascending).
    #[serde(default)]
    pub normal: Vec<usize>,
    /// Row = true class, column = predicted class.
    pub counts: Vec<Vec<u64>>,
}

impl ConfusionMatrix {
    /// An all-zero matrix over `n_classes` classes, of which `normal` are normal.
    pub fn new(n_classes: usize, normal: &[usize]) -> Result<Self, MetricsError> {
        if n_classes < 2 {
            return Err(MetricsError::TooFewClasses(n_classes));
        }
        let mut ids = normal.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() || ids.len() >= n_classes || ids.iter().any(|&c| c >= n_classes) {
            return Err(MetricsError::BadNormalClasses {
                normal: normal.to_vec(),
                n_classes,
            });
        }
        Ok(Self {
            n_classes,
            normal: ids,
            counts: vec![vec![0; n_classes]; n_classes],
        })
    }

    /// Whether `class` is a normal class.
    pub fn is_normal(&self, class: usize) -> bool {
        self.normal.binary_search(&class).is_ok()
    }

    /// Builds the matrix from class ids.
    pub fn from_labels(
        predictions: &[usize],
        targets: &[usize],
        n_classes: usize,
        normal: &[usize],
    ) -> Result<Self, MetricsError> {
        let mut matrix = Self::new(n_classes, normal)?;
        matrix.add(predictions, targets)?;
        Ok(matrix)
    }

    /// Accumulates a batch of class ids (checked before anything is counted).
    pub fn add(&mut self, predictions: &[usize], targets: &[usize]) -> Result<(), MetricsError> {
        if predictions.len() != targets.len() {
            return Err(MetricsError::LengthMismatch {
                predictions: predictions.len(),
                targets: targets.len(),
            });
        }
        for (which, ids) in [("predictions", predictions), ("targets", targets)] {
            if let Some((index, &class)) =
                ids.iter().enumerate().find(|(_, &c)| c >= self.n_classes)
            {
                return Err(MetricsError::ClassOutOfRange {
                    which,
                    index,
                    class,
                    n_classes: self.n_classes,
                });
            }
        }
        for (&p, &t) in predictions.iter().zip(targets) {
            self.counts[t][p] += 1;
        }
        Ok(())
    }

    /// Adds every count of `other` (same classes required).
    pub fn merge(&mut self, other: &ConfusionMatrix) -> Result<(), MetricsError> {
        if other.n_classes != self.n_classes || other.normal != self.normal {
            return Err(MetricsError::LengthMismatch {
                predictions: other.n_classes,
                targets: self.n_classes,
            });
        }
        for (row, other_row) in self.counts.iter_mut().zip(&other.counts) {
            for (c, o) in row.iter_mut().zip(other_row) {
                *c += o;
            }
        }
        Ok(())
    }

    /// Examples of true class `class`.
    pub fn support(&self, class: usize) -> u64 {
        self.counts[class].iter().sum()
    }

    /// Examples of true class `class` predicted as `class`.
    pub fn correct(&self, class: usize) -> u64 {
        self.counts[class][class]
    }

    /// Total number of examples.
    pub fn total(&self) -> u64 {
        (0..self.n_classes).map(|c| self.support(c)).sum()
    }

    /// The challenge metrics of this matrix.
    pub fn metrics(&self) -> Metrics {
        Metrics::from_confusion(self.clone())
    }
}

/// `num / den`, 0 when `den` is 0.
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Challenge metrics of one evaluation (all in [0, 1]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Sensitivity: exact-class hits over abnormal examples.
    pub se: f64,
    /// Specificity: normal examples predicted normal over normal examples.
    pub sp: f64,
    /// ICBHI score (Se + Sp) / 2.
    pub score: f64,
    /// Harmonic score 2·Se·Sp / (Se + Sp), 0 when Se + Sp = 0.
    pub hs: f64,
    /// SPRSound task score (Score + HS) / 2.
    #[serde(default)]
    pub sprs_score: f64,
    /// Accuracy over all examples.
    #[serde(default)]
    pub accuracy: f64,
    /// Number of examples of a normal class.
    #[serde(default)]
    pub n_normal: u64,
    /// Number of examples of an abnormal class.
    #[serde(default)]
    pub n_abnormal: u64,
    /// The matrix the metrics come from.
    #[serde(default)]
    pub confusion: ConfusionMatrix,
}

impl Metrics {
    /// Metrics of a confusion matrix.
    pub fn from_confusion(confusion: ConfusionMatrix) -> Self {
        let sum = |normal: bool, f: &dyn Fn(usize) -> u64| -> u64 {
            (0..confusion.n_classes)
                .filter(|&c| confusion.is_normal(c) == normal)
                .map(f)
                .sum()
        };
        let n_normal = sum(true, &|c| confusion.support(c));
        let n_abnormal = sum(false, &|c| confusion.support(c));
        let normal_hits = sum(true, &|c| confusion.correct(c));
        let abnormal_hits = sum(false, &|c| confusion.correct(c));
        let se = ratio(abnormal_hits, n_abnormal);
        let sp = ratio(normal_hits, n_normal);
        let score = (se + sp) / 2.0;
        let hs = if se + sp > 0.0 {
            2.0 * se * sp / (se + sp)
        } else {
            0.0
        };
        let accuracy = ratio(normal_hits + abnormal_hits, n_normal + n_abnormal);
        Self {
            se,
            sp,
            score,
            hs,
            sprs_score: (score + hs) / 2.0,
            accuracy,
            n_normal,
            n_abnormal,
            confusion,
        }
    }
}

/// Predicted classes (`argmax` over the last dim) of logits `[N, C]`, copied to the host.
pub fn argmax_predictions(logits: &Tensor) -> CandleResult<Vec<usize>> {
    let ids = crate::tensor::readback::vec1(&logits.argmax(D::Minus1)?)?;
    Ok(ids.into_iter().map(|i| i as usize).collect())
}

/// A confusion matrix counted on the training device: batches add `[C, C]` counts there
/// (one-hot targets ᵀ · one-hot predictions, exact in f32 up to 2²⁴ examples per cell) and the
/// host reads the matrix once, in [`DeviceConfusion::finish`].
pub struct DeviceConfusion {
    template: ConfusionMatrix,
    /// `[1, C]` class ids 0..C-1 (u32), for the one-hot comparisons.
    classes: Tensor,
    counts: Option<Tensor>,
}

impl DeviceConfusion {
    /// An empty matrix shaped as `template` (its classes and normal set) on `device`.
    pub fn new(template: ConfusionMatrix, device: &candle_core::Device) -> CandleResult<Self> {
        let n = template.n_classes as u32;
        let classes = Tensor::arange(0u32, n, device)?.unsqueeze(0)?;
        Ok(Self {
            template,
            classes,
            counts: None,
        })
    }

    /// Counts the predictions (argmax of `logits` `[N, C]`) against `targets` `[N]` (u32).
    pub fn add(&mut self, logits: &Tensor, targets: &Tensor) -> CandleResult<()> {
        let one_hot = |ids: &Tensor| -> CandleResult<Tensor> {
            ids.to_dtype(DType::U32)?
                .unsqueeze(1)?
                .broadcast_eq(&self.classes)?
                .to_dtype(DType::F32)
        };
        let pred = one_hot(&logits.argmax(D::Minus1)?)?;
        let counts = one_hot(targets)?.t()?.matmul(&pred)?;
        self.counts = Some(match self.counts.take() {
            Some(c) => (c + counts)?,
            None => counts,
        });
        Ok(())
    }

    /// The matrix, read from the device once (empty when nothing was added).
    pub fn finish(self) -> CandleResult<ConfusionMatrix> {
        let mut m = self.template;
        if let Some(c) = self.counts {
            for (row, values) in m.counts.iter_mut().zip(crate::tensor::readback::vec2(&c)?) {
                for (cell, v) in row.iter_mut().zip(values) {
                    *cell += v.round() as u64;
                }
            }
        }
        Ok(m)
    }
}

/// Mean ± std of every metric over runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricsSummary {
    /// Sensitivity.
    pub se: MeanStd,
    /// Specificity.
    pub sp: MeanStd,
    /// ICBHI score.
    pub score: MeanStd,
    /// Harmonic score.
    pub hs: MeanStd,
    /// SPRSound task score.
    pub sprs_score: MeanStd,
    /// Accuracy.
    pub accuracy: MeanStd,
}

impl MetricsSummary {
    /// Summary over runs; `None` when `runs` is empty.
    pub fn of(runs: &[Metrics], kind: StdKind) -> Option<Self> {
        let field = |f: fn(&Metrics) -> f64| {
            let values: Vec<f64> = runs.iter().map(f).collect();
            MeanStd::of(&values, kind)
        };
        Some(Self {
            se: field(|m| m.se)?,
            sp: field(|m| m.sp)?,
            score: field(|m| m.score)?,
            hs: field(|m| m.hs)?,
            sprs_score: field(|m| m.sprs_score)?,
            accuracy: field(|m| m.accuracy)?,
        })
    }
}
