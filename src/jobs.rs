//! Whole jobs as the command line, the demo and the sweep run them: training followed by the
//! clinical evaluation of each finished run and its plots. The trainer knows nothing of either
//! ([`crate::train::observer`]); here [`Job`] observes it: each finished run is evaluated
//! ([`crate::infer::evaluate`]: predictions, intervals, operating points, calibration), then
//! the report's [`Plots`] are drawn.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::eval::clinical::Options;
use crate::infer::evaluate::{evaluate_run, evaluate_seeds};
use crate::report::plots::Plots;
use crate::train::experiment::Experiment;
use crate::train::launch::{self, MultiRunSummary};
use crate::train::observer::{Embeddings, RunObserver};
use crate::train::run::Recipe;
use crate::train::runtime::Runtime;

/// Evaluates every finished run on its cache, then draws its plots. A failed evaluation costs
/// a warning, never the run (`auscult evaluate` redoes it).
pub struct Job {
    pub cache_dir: PathBuf,
    pub runtime: Runtime,
    pub options: Options,
}

impl RunObserver for Job {
    fn wants_embeddings(&self) -> bool {
        Plots.wants_embeddings()
    }

    fn embeddings(&self, run_dir: &Path, e: &Embeddings) {
        Plots.embeddings(run_dir, e)
    }

    fn run_finished(&self, run_dir: &Path) {
        if let Err(e) = evaluate_run(run_dir, &self.cache_dir, &self.runtime, &self.options) {
            tracing::warn!(
                "no clinical evaluation for {} (`auscult evaluate` redoes it): {e:#}",
                run_dir.display()
            );
        }
        Plots.run_finished(run_dir)
    }

    fn runs_finished(&self, parent: &Path) {
        seeds_finished(parent, &self.options)
    }
}

/// What follows when every seed of `parent` is finished (its `summary.json` written): the
/// seeds' clinical evaluation together, then the parent's plots. A failure costs a warning.
pub fn seeds_finished(parent: &Path, options: &Options) {
    if let Err(e) = evaluate_seeds(parent, options) {
        tracing::warn!(
            "no clinical evaluation of the seeds of {} together: {e:#}",
            parent.display()
        );
    }
    Plots.runs_finished(parent)
}

fn job(runtime: &Runtime, cache_dir: &Path) -> Job {
    Job {
        cache_dir: cache_dir.to_path_buf(),
        runtime: runtime.clone(),
        options: Options::default(),
    }
}

/// Trains `exp` on the cache in `cache_dir` into `out`, evaluates each run and draws its plots
/// (see [`launch::train`]; a run already in `out` is refused).
pub fn train(
    exp: &Experiment,
    runtime: &Runtime,
    cache_dir: &Path,
    out: &Path,
) -> Result<MultiRunSummary> {
    train_named(exp, runtime, None, cache_dir, out, false)
}

/// [`train`], recording `config_name` (the config file's stem) in every summary; with
/// `overwrite`, a run already in `out` is replaced instead of refused.
pub fn train_named(
    exp: &Experiment,
    runtime: &Runtime,
    config_name: Option<&str>,
    cache_dir: &Path,
    out: &Path,
    overwrite: bool,
) -> Result<MultiRunSummary> {
    let training = launch::Training {
        recipe: Recipe {
            exp,
            runtime,
            config_name,
        },
        cache_dir,
        out,
        overwrite,
    };
    launch::train(&training, &job(runtime, cache_dir))
}

/// Continues the run in `out` where it stopped (see [`launch::resume`]), evaluating and
/// drawing the runs it finishes.
pub fn resume(
    out: &Path,
    data: Option<&Path>,
    runtime: Option<&Runtime>,
) -> Result<MultiRunSummary> {
    let inv = launch::read_invocation(out)?;
    let job = job(runtime.unwrap_or(&inv.runtime), data.unwrap_or(&inv.data));
    launch::resume(out, data, runtime, &job)
}
