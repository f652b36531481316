//! `auscult report`: the runs' results in the paper's layout (Sp, Se, Score, HS, ×100, mean ± std
//! over seeds) next to the paper's own numbers for the same row, so a reproduction can be read
//! against its target at a glance.
//!
//! A run dir is what `auscult train` wrote: `summary.json` of one seed (`best_by_eval.eval` holds
//! the metrics) or of several seeds (`seeds` list; `best_by_eval` holds mean ± std). A folder
//! without `summary.json` stands for its immediate sub-folders that have one. The paper's numbers
//! come from `configs/paper_results.toml` (compiled in; another file may be given). A run is
//! matched to the paper's row by what it did — dataset, method, initialisation (scratch or
//! AudioSet) and the contrastive labels or heads (the run's [`Signature`]) — never by its file
//! or folder name, so a CE run started from an SCL config is not printed beside SCL's numbers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod clinical;
pub mod markdown;
pub mod paper;
pub mod plots;
pub mod render;
pub mod runs;

pub use markdown::*;
pub use paper::*;
pub use render::*;
pub use runs::*;

use crate::eval::metrics::{Metrics, MetricsSummary};
use crate::eval::stats::MeanStd;
use crate::rundir::{self, recorded_signature, ReadError, SelectionKey, Summary};
use crate::train::experiment::{canonical_labels, Signature};

/// The paper's reference numbers shipped with the repo.
pub const PAPER_RESULTS: &str = include_str!("../../configs/paper_results.toml");

/// Errors reading runs or the paper's numbers; each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: cannot read", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {msg}", path.display())]
    Json { path: PathBuf, msg: String },
    #[error("{}: {msg}", path.display())]
    PaperResults { path: PathBuf, msg: String },
    #[error("{}: no summary.json here or in any sub-folder (is it a run dir of `auscult train`?)", path.display())]
    NoRuns { path: PathBuf },
}

/// Mean ± std of a metric in [0, 1] over `n` seeds (std 0 for one seed).
pub type Stat = MeanStd;

/// The four metrics the paper reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowMetrics {
    pub sp: Stat,
    pub se: Stat,
    pub score: Stat,
    pub hs: Stat,
}

impl RowMetrics {
    fn of_one(m: &Metrics) -> Self {
        let s = MeanStd::single;
        RowMetrics {
            sp: s(m.sp),
            se: s(m.se),
            score: s(m.score),
            hs: s(m.hs),
        }
    }
    fn of_summary(m: &MetricsSummary) -> Self {
        RowMetrics {
            sp: m.sp,
            se: m.se,
            score: m.score,
            hs: m.hs,
        }
    }
}

/// Which epoch of each run the table reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Selection {
    /// Best Score on the evaluation split (the paper's protocol).
    #[default]
    BestEval,
    /// Best Score on the held-out validation patients (needs `val_fraction` > 0).
    BestVal,
    /// The last epoch.
    Final,
}

impl Selection {
    fn key(self) -> SelectionKey {
        match self {
            Selection::BestEval => SelectionKey::BestByEval,
            Selection::BestVal => SelectionKey::BestByVal,
            Selection::Final => SelectionKey::FinalEpoch,
        }
    }
    fn describe(self) -> &'static str {
        match self {
            Selection::BestEval => "best epoch on the evaluation split (the paper's protocol)",
            Selection::BestVal => "epoch chosen on held-out validation patients",
            Selection::Final => "last epoch",
        }
    }
}

/// One run dir as a table row.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub dir: PathBuf,
    /// Config stem, or the dir's name when the run recorded none.
    pub name: String,
    pub method: String,
    pub dataset: String,
    /// Trained on a synthetic cache: matched to no paper row.
    pub synthetic: bool,
    pub eval_split: Option<String>,
    /// What the run did (None for summaries written before auscult recorded it).
    pub signature: Option<Signature>,
    pub seeds: usize,
    /// The run's evaluation protocol (`official` for summaries written before it was recorded).
    pub protocol: String,
    /// None when the summary has no such selection (e.g. `best_by_val` without validation).
    pub metrics: Option<RowMetrics>,
}
