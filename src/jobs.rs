//! Whole jobs as the command line, the demo and the sweep run them: training followed by its
//! plots. The trainer knows nothing of plots ([`crate::train::observer`]); here the report's
//! [`Plots`] observes it.

use std::path::Path;

use anyhow::Result;

use crate::report::plots::Plots;
use crate::train::experiment::Experiment;
use crate::train::launch::{self, MultiRunSummary};
use crate::train::runtime::Runtime;

/// Trains `exp` on the cache in `cache_dir` into `out` and draws each run's plots (see
/// [`launch::train`]; a run already in `out` is refused).
pub fn train(
    exp: &Experiment,
    runtime: &Runtime,
    cache_dir: &Path,
    out: &Path,
) -> Result<MultiRunSummary> {
    launch::train(exp, runtime, None, cache_dir, out, false, &Plots)
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
    launch::train(exp, runtime, config_name, cache_dir, out, overwrite, &Plots)
}

/// Continues the run in `out` where it stopped (see [`launch::resume`]), drawing the plots of
/// the runs it finishes.
pub fn resume(
    out: &Path,
    data: Option<&Path>,
    runtime: Option<&Runtime>,
) -> Result<MultiRunSummary> {
    launch::resume(out, data, runtime, &Plots)
}
