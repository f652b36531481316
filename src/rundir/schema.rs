//! The files of a run dir as types: every writer and reader of `metrics.jsonl`,
//! `summary.json`, `invocation.json`, `features.json` and `predictions/<checkpoint>.csv` goes
//! through these.
//!
//! Fields that older runs lack are `#[serde(default)]`, so their run dirs still load; a field is
//! never renamed (new ones are optional).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::data::transforms::Standardization;
use crate::data::CacheData;
use crate::eval::clinical::{Evaluation, SeedsEvaluation};
use crate::eval::metrics::{Metrics, MetricsSummary};
use crate::train::experiment::{Protocol, Signature};
use crate::train::runtime::Runtime;

/// One epoch's line in `metrics.jsonl` ([`read_metrics`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochRecord {
    pub stage: String,
    pub epoch: usize,
    #[serde(default)]
    pub lr: f64,
    pub train_loss: f64,
    /// Named loss terms (e.g. per-head SupCon), averaged over batches.
    #[serde(default)]
    pub loss_terms: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub train: Option<Metrics>,
    #[serde(default)]
    pub val: Option<Metrics>,
    #[serde(default)]
    pub eval: Option<Metrics>,
    #[serde(default)]
    pub seconds: f64,
    #[serde(default)]
    pub samples_per_s: f64,
}

/// The throughput of one `metrics.jsonl` line: the fields of an [`EpochRecord`] that
/// throughput scans need ([`read_stage_timings`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StageTiming {
    pub stage: String,
    pub samples_per_s: f64,
    /// The training pass's seconds.
    #[serde(default)]
    pub seconds: Option<f64>,
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
    #[serde(default = "unrecorded_signature")]
    pub signature: Signature,
    #[serde(default)]
    pub seed: u64,
    /// The evaluation protocol, and the fold evaluated under `kfold:K`.
    #[serde(default)]
    pub protocol: Protocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold: Option<usize>,
    #[serde(default)]
    pub dataset: String,
    /// The cache was built from a synthetic database (never compared with the paper).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub synthetic: bool,
    #[serde(default)]
    pub eval_split: String,
    /// The cache's class names in id order: the rows and columns of every confusion matrix
    /// (absent from summaries written before auscult recorded it).
    #[serde(default)]
    pub class_names: Vec<String>,
    /// The paper's protocol: the epoch with the best Score on the evaluation (test) split.
    pub best_by_eval: Selected,
    /// Honest selection: the epoch with the best validation Score (when `val_fraction` > 0).
    pub best_by_val: Option<Selected>,
    pub final_epoch: Selected,
    #[serde(default)]
    pub loss_terms_last_epoch: serde_json::Map<String, serde_json::Value>,
    /// Method facts (contrastive heads, their labels, training rows lacking a metadata label).
    #[serde(default)]
    pub method_info: serde_json::Map<String, serde_json::Value>,
    /// The standardisation the run used (measured on the training split for `train-stats`).
    pub input_stats: Option<Standardization>,
    /// Where it ran (never part of the experiment).
    #[serde(default)]
    pub runtime: Runtime,
    /// `resident` or `streamed`.
    #[serde(default)]
    pub placement: String,
    /// The cache's `params_hash` (which preprocessing made the features).
    #[serde(default)]
    pub cache_params_hash: String,
    #[serde(default)]
    pub wall_seconds: f64,
    pub git_revision: Option<String>,
    #[serde(default)]
    pub train_rows: usize,
    #[serde(default)]
    pub val_rows: usize,
    #[serde(default)]
    pub eval_rows: usize,
    /// The clinical evaluation of each selected checkpoint (`best`, `best_val`) on the
    /// evaluation split, from `predictions/<checkpoint>.csv` (absent from runs evaluated before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evaluation: Vec<Evaluation>,
}

/// Mean ± std over seeds of the selected metrics (`summary.json` of a multi-seed run).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MultiRunSummary {
    pub method: String,
    /// Stem of the config file the runs were started from.
    pub config_name: Option<String>,
    #[serde(default = "unrecorded_signature")]
    pub signature: Signature,
    /// The evaluation protocol (`official`, `val`, `leakage-free`, `kfold:K`: then one run per
    /// fold, and the mean ± std is over folds).
    #[serde(default)]
    pub protocol: Protocol,
    #[serde(default)]
    pub dataset: String,
    /// Some seed ran on a synthetic cache (never compared with the paper).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub synthetic: bool,
    pub seeds: Vec<u64>,
    /// Population std (ddof 0, like `np.std`).
    pub best_by_eval: Option<MetricsSummary>,
    /// Evaluation-split metrics at the epochs chosen on validation (honest protocol).
    pub best_by_val: Option<MetricsSummary>,
    pub final_epoch: Option<MetricsSummary>,
    pub runs: Vec<String>,
    /// The clinical evaluation of the seeds together, per selected checkpoint (absent from runs
    /// evaluated before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evaluation: Vec<SeedsEvaluation>,
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
    /// Ids of the classes the cache calls normal.
    pub fn normal_ids(&self) -> Vec<usize> {
        auscult_cache::normal_ids(&self.classes)
    }

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

/// The signature of a summary written before auscult recorded it: no method
/// ([`recorded_signature`] tells it apart).
fn unrecorded_signature() -> Signature {
    Signature {
        method: String::new(),
        init: String::new(),
        labels: None,
    }
}

/// `sig`, unless the summary had none ([`unrecorded_signature`]).
pub fn recorded_signature(sig: &Signature) -> Option<&Signature> {
    (!sig.method.is_empty()).then_some(sig)
}

impl RunSummary {
    /// The evaluation split's name (`eval` when the summary does not say).
    pub fn split(&self) -> &str {
        if self.eval_split.is_empty() {
            "eval"
        } else {
            &self.eval_split
        }
    }

    /// The selection of `key` (`best_by_eval`, `best_by_val`, `final_epoch`).
    pub fn selected(&self, key: SelectionKey) -> Option<&Selected> {
        match key {
            SelectionKey::BestByEval => Some(&self.best_by_eval),
            SelectionKey::BestByVal => self.best_by_val.as_ref(),
            SelectionKey::FinalEpoch => Some(&self.final_epoch),
        }
    }
}

impl MultiRunSummary {
    /// Mean ± std of the selection of `key`.
    pub fn selected(&self, key: SelectionKey) -> Option<&MetricsSummary> {
        match key {
            SelectionKey::BestByEval => self.best_by_eval.as_ref(),
            SelectionKey::BestByVal => self.best_by_val.as_ref(),
            SelectionKey::FinalEpoch => self.final_epoch.as_ref(),
        }
    }
}

/// Which selection of a summary: its field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionKey {
    BestByEval,
    BestByVal,
    FinalEpoch,
}

/// A `summary.json`: of one seed, or of several (it lists `seeds`).
#[derive(Debug, Clone)]
pub enum Summary {
    Single(Box<RunSummary>),
    Multi(Box<MultiRunSummary>),
}

/// A run-dir file that could not be read or parsed; both name the file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: cannot read", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {msg}", path.display())]
    Malformed { path: PathBuf, msg: String },
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.into(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| ReadError::Malformed {
        path: path.into(),
        msg: e.to_string(),
    })
}

/// `<dir>/summary.json`, of one seed or of several.
pub fn read_summary(dir: &Path) -> Result<Summary, ReadError> {
    let path = dir.join(SUMMARY_JSON);
    let v: serde_json::Value = read_json(&path)?;
    let malformed = |e: serde_json::Error| ReadError::Malformed {
        path: path.clone(),
        msg: e.to_string(),
    };
    if v.get("seeds").is_some_and(serde_json::Value::is_array) {
        Ok(Summary::Multi(Box::new(
            MultiRunSummary::deserialize(v).map_err(malformed)?,
        )))
    } else {
        Ok(Summary::Single(Box::new(
            RunSummary::deserialize(v).map_err(malformed)?,
        )))
    }
}

/// `<dir>/summary.json` of one seed.
pub fn read_run_summary(dir: &Path) -> Result<RunSummary, ReadError> {
    read_json(&dir.join(SUMMARY_JSON))
}

/// The lines of `metrics.jsonl` at `path`, blank lines skipped. A line that is not an epoch
/// record is an error naming the file and the line.
pub fn read_metrics(path: &Path) -> Result<Vec<EpochRecord>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        records.push(serde_json::from_str(line).with_context(|| {
            format!(
                "{} line {}: not an epoch record of `auscult train`",
                path.display(),
                i + 1
            )
        })?);
    }
    Ok(records)
}

/// The throughput of every line of `metrics.jsonl` at `path` that records one, in file order;
/// other lines (a line being written, foreign lines) are skipped.
pub fn read_stage_timings(path: &Path) -> Result<Vec<StageTiming>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// One cycle's row of `predictions/<checkpoint>.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionRow {
    pub cycle_id: i64,
    /// The split it belongs to in this run (the evaluation split's name, or `val`).
    pub split: String,
    /// The resampling unit: the cache's `patient_id`, else its `recording`, else the cycle id.
    pub patient: String,
    pub recording: String,
    /// True class id.
    pub label: usize,
    /// Class probabilities, in class-id order.
    pub probabilities: Vec<f32>,
    /// The values of [`Predictions::group_columns`] (None: missing).
    pub groups: Vec<Option<String>>,
}

/// `<run>/predictions/<checkpoint>.csv`: a checkpoint's class probabilities for every cycle of
/// the run's evaluation split (and validation split, when there is one), with what the cache
/// says of each cycle. Columns: `cycle_id, split, patient, recording, label, predicted`, then
/// `p_<class>` per class, then the subgroup columns (`label` and `predicted` are class names).
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    pub class_names: Vec<String>,
    pub group_columns: Vec<String>,
    pub rows: Vec<PredictionRow>,
}

const PREDICTION_COLUMNS: [&str; 6] = [
    "cycle_id",
    "split",
    "patient",
    "recording",
    "label",
    "predicted",
];

impl Predictions {
    /// `<run>/predictions/<checkpoint>.csv`.
    pub fn path(run: &Path, checkpoint: &str) -> PathBuf {
        run.join("predictions").join(format!("{checkpoint}.csv"))
    }

    /// The rows of `split`.
    pub fn of_split<'a>(&'a self, split: &'a str) -> impl Iterator<Item = &'a PredictionRow> {
        self.rows.iter().filter(move |r| r.split == split)
    }

    pub fn to_csv(&self) -> String {
        let q = crate::csv::field;
        let mut head: Vec<String> = PREDICTION_COLUMNS.iter().map(|c| c.to_string()).collect();
        head.extend(self.class_names.iter().map(|c| q(&format!("p_{c}"))));
        head.extend(self.group_columns.iter().map(|c| q(c)));
        let mut out = head.join(",") + "\n";
        for r in &self.rows {
            let best = (0..r.probabilities.len())
                .rev()
                .max_by(|&a, &b| r.probabilities[a].total_cmp(&r.probabilities[b]))
                .unwrap_or(0);
            let mut f = vec![
                r.cycle_id.to_string(),
                q(&r.split),
                q(&r.patient),
                q(&r.recording),
                q(&self.class_names[r.label]),
                q(&self.class_names[best]),
            ];
            f.extend(r.probabilities.iter().map(f32::to_string));
            f.extend(r.groups.iter().map(|g| q(g.as_deref().unwrap_or(""))));
            out.push_str(&f.join(","));
            out.push('\n');
        }
        out
    }

    /// Parses [`Predictions::to_csv`]'s text; errors name `path` and the line.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ReadError> {
        let bad = |line: usize, msg: String| ReadError::Malformed {
            path: path.into(),
            msg: format!("line {line}: {msg}"),
        };
        let recs = crate::csv::records(text).map_err(|m| bad(0, m))?;
        let head = recs.first().ok_or_else(|| bad(1, "empty file".into()))?;
        if head.len() < 6 || head[..6] != PREDICTION_COLUMNS {
            return Err(bad(
                1,
                format!("expected {} first", PREDICTION_COLUMNS.join(",")),
            ));
        }
        let class_names: Vec<String> = head[6..]
            .iter()
            .map_while(|h| h.strip_prefix("p_").map(str::to_string))
            .collect();
        let group_columns = head[6 + class_names.len()..].to_vec();
        let mut rows = Vec::new();
        for (i, r) in recs.iter().enumerate().skip(1) {
            if r.len() != head.len() {
                return Err(bad(
                    i + 1,
                    format!("{} fields, the header has {}", r.len(), head.len()),
                ));
            }
            let class = |s: &str| {
                class_names
                    .iter()
                    .position(|c| c == s)
                    .ok_or_else(|| bad(i + 1, format!("`{s}` is not a class")))
            };
            let mut probabilities = Vec::new();
            for v in &r[6..6 + class_names.len()] {
                probabilities.push(
                    v.parse::<f32>()
                        .map_err(|e| bad(i + 1, format!("`{v}`: {e}")))?,
                );
            }
            rows.push(PredictionRow {
                cycle_id: r[0]
                    .parse()
                    .map_err(|e| bad(i + 1, format!("cycle_id: {e}")))?,
                split: r[1].clone(),
                patient: r[2].clone(),
                recording: r[3].clone(),
                label: class(&r[4])?,
                probabilities,
                groups: r[6 + class_names.len()..]
                    .iter()
                    .map(|g| (!g.is_empty()).then(|| g.clone()))
                    .collect(),
            });
        }
        Ok(Predictions {
            class_names,
            group_columns,
            rows,
        })
    }

    /// Reads `<run>/predictions/<checkpoint>.csv`.
    pub fn read(run: &Path, checkpoint: &str) -> Result<Self, ReadError> {
        let path = Self::path(run, checkpoint);
        let text = std::fs::read_to_string(&path).map_err(|source| ReadError::Io {
            path: path.clone(),
            source,
        })?;
        Self::parse(&text, &path)
    }

    /// Writes `<run>/predictions/<checkpoint>.csv` atomically; returns its path.
    pub fn write(&self, run: &Path, checkpoint: &str) -> Result<PathBuf> {
        let path = Self::path(run, checkpoint);
        let dir = path.parent().expect("a file in predictions/");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        auscult_cache::write_atomic(&path, self.to_csv().as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

/// `summary.json`.
pub const SUMMARY_JSON: &str = "summary.json";
/// `metrics.jsonl`.
pub const METRICS_JSONL: &str = "metrics.jsonl";
