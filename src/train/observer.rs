//! What a caller does with finished runs. The trainer draws nothing itself (plots belong to the
//! report, above it): it hands each finished run, each finished group of runs and the
//! embeddings of a contrastive method's frozen encoder to a [`RunObserver`] the caller passes
//! in ([`crate::jobs`] passes the report's plots). An observer's failure costs a warning, never
//! the run: its methods return nothing.

use std::path::Path;

/// The labels of the evaluation split's rows for one panel of an embedding view.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingPanel {
    pub title: String,
    pub labels: Vec<String>,
}

/// The frozen encoder's embeddings of the evaluation split, `[rows, dim]` row-major, with the
/// labellings to show them by (class, and sex and age group for methods trained on metadata).
pub struct Embeddings<'a> {
    pub values: &'a [f32],
    pub dim: usize,
    pub panels: &'a [EmbeddingPanel],
}

/// Told about runs as they finish. Every method does nothing by default.
pub trait RunObserver {
    /// Whether [`RunObserver::embeddings`] is wanted (computing them costs a pass over the
    /// evaluation split).
    fn wants_embeddings(&self) -> bool {
        false
    }
    /// A contrastive method's frozen encoder after linear evaluation, in `run_dir`.
    fn embeddings(&self, _run_dir: &Path, _embeddings: &Embeddings) {}
    /// One seed's run dir is complete (`summary.json` written).
    fn run_finished(&self, _run_dir: &Path) {}
    /// Several seeds (or folds) finished: `parent` holds their mean ± std `summary.json`.
    fn runs_finished(&self, _parent: &Path) {}
}

/// Observes nothing.
pub struct Quiet;

impl RunObserver for Quiet {}
