//! The files of a run dir as types: every writer and reader of `metrics.jsonl`,
//! `summary.json`, `invocation.json` and `features.json` goes through these.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::data::transforms::MeanStd;
use crate::data::CacheData;
use crate::eval::metrics::{Metrics, MetricsSummary};
use crate::train::experiment::{Protocol, Signature};
use crate::train::runtime::Runtime;

/// One epoch's line in `metrics.jsonl`.
#[derive(Debug, Clone, Serialize)]
pub struct EpochRecord {
    pub stage: String,
    pub epoch: usize,
    pub lr: f64,
    pub train_loss: f64,
    /// Named loss terms (e.g. per-head SupCon), averaged over batches.
    pub loss_terms: serde_json::Map<String, serde_json::Value>,
    pub train: Option<Metrics>,
    pub val: Option<Metrics>,
    pub eval: Option<Metrics>,
    pub seconds: f64,
    pub samples_per_s: f64,
}

/// The epoch picked by some criterion.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Selected {
    pub epoch: usize,
    /// Metrics on the evaluation split at that epoch.
    pub eval: Metrics,
    /// Validation metrics at that epoch (when there is a validation split).
    pub val: Option<Metrics>,
}

/// What a single-seed run produced (its `summary.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub method: String,
    /// Stem of the config file the run was started from (e.g. `table1_scl_scratch`).
    pub config_name: Option<String>,
    /// What `auscult report` matches against the paper's rows.
    pub signature: Signature,
    pub seed: u64,
    /// The evaluation protocol, and the fold evaluated under `kfold:K`.
    #[serde(default)]
    pub protocol: Protocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold: Option<usize>,
    pub dataset: String,
    pub eval_split: String,
    /// The cache's class names in id order: the rows and columns of every confusion matrix
    /// (absent from summaries written before auscult recorded it).
    pub class_names: Vec<String>,
    /// The paper's protocol: the epoch with the best Score on the evaluation (test) split.
    pub best_by_eval: Selected,
    /// Honest selection: the epoch with the best validation Score (when `val_fraction` > 0).
    pub best_by_val: Option<Selected>,
    pub final_epoch: Selected,
    pub loss_terms_last_epoch: serde_json::Map<String, serde_json::Value>,
    /// Method facts (contrastive heads, their labels, training rows lacking a metadata label).
    pub method_info: serde_json::Map<String, serde_json::Value>,
    /// The standardisation the run used (measured on the training split for `train-stats`).
    pub input_stats: Option<MeanStd>,
    /// Where it ran (never part of the experiment).
    pub runtime: Runtime,
    /// `resident` or `streamed`.
    pub placement: String,
    /// The cache's `params_hash` (which preprocessing made the features).
    pub cache_params_hash: String,
    pub wall_seconds: f64,
    pub git_revision: Option<String>,
    pub train_rows: usize,
    pub val_rows: usize,
    pub eval_rows: usize,
}

/// Mean ± std over seeds of the selected metrics (`summary.json` of a multi-seed run).
#[derive(Debug, Clone, Serialize)]
pub struct MultiRunSummary {
    pub method: String,
    /// Stem of the config file the runs were started from.
    pub config_name: Option<String>,
    pub signature: Signature,
    /// The evaluation protocol (`official`, `val`, `leakage-free`, `kfold:K`: then one run per
    /// fold, and the mean ± std is over folds).
    #[serde(default)]
    pub protocol: Protocol,
    pub dataset: String,
    pub seeds: Vec<u64>,
    /// Population std (ddof 0, like `np.std`).
    pub best_by_eval: Option<MetricsSummary>,
    /// Evaluation-split metrics at the epochs chosen on validation (honest protocol).
    pub best_by_val: Option<MetricsSummary>,
    pub final_epoch: Option<MetricsSummary>,
    pub runs: Vec<String>,
}

/// How a run was started (`<out>/invocation.json`): what `auscult train --resume` needs besides
/// the experiment (`<out>/config.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invocation {
    /// The cache dir, absolute.
    pub data: PathBuf,
    pub config_name: Option<String>,
    pub runtime: Runtime,
}

/// `<run>/features.json`: how the run's features were made and what its classes are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// The cache's dataset (`icbhi`, `sprsound`, …).
    pub dataset: String,
    /// The cache manifest's `params` (`features` holds the log-mel parameters).
    pub params: serde_json::Value,
    pub params_hash: String,
    /// `[n_mels, n_frames]`.
    pub feature_shape: [usize; 2],
    pub classes: Vec<auscult_cache::ClassInfo>,
}

impl FeatureSpec {
    /// The spec of an opened cache.
    pub fn of(cache: &CacheData) -> Self {
        let m = cache.reader.manifest();
        FeatureSpec {
            dataset: m.dataset.clone(),
            params: m.params.clone(),
            params_hash: m.params_hash.clone(),
            feature_shape: m.feature_shape,
            classes: m.classes.clone(),
        }
    }

    /// `<run>/features.json`.
    pub fn path(run: &Path) -> PathBuf {
        run.join("features.json")
    }

    pub fn read(run: &Path) -> Result<Self> {
        let path = Self::path(run);
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "reading {} (runs trained before `predict` existed lack it: retrain, or copy \
                 the cache's manifest params there)",
                path.display()
            )
        })?;
        serde_json::from_slice(&bytes).with_context(|| format!("{}: malformed", path.display()))
    }
}
