//! `auscult evaluate`: the clinical evaluation of finished runs (again, or for the first time).

use std::path::{Path, PathBuf};

use anyhow::Context;
use auscult::infer::evaluate::{evaluate_run, evaluate_seeds};
use auscult::report::clinical::seed_dirs;
use auscult::report::collect_runs;
use auscult::report::plots::Plots;
use auscult::report::Selection;
use auscult::rundir::lock::RunLock;
use auscult::rundir::{read_summary, Summary};
use auscult::train::launch::read_invocation;
use auscult::train::observer::RunObserver;
use clap::Args;

use super::report::BootstrapArgs;
use super::runtime::{RuntimeArgs, RuntimeFlags, ONLY_DEVICE_AND_THREADS};

/// Evaluate finished runs clinically: run each selected checkpoint (best, and best_val with a
/// validation split) over the run's evaluation split once more (inference only, no training),
/// write <run>/predictions/<checkpoint>.csv, and put into summary.json Se / Sp / Score / HS
/// with 95% patient-bootstrap intervals overall and per subgroup (device, chest location, sex,
/// age group: the cache's columns), AUROC and operating points (normal vs abnormal), expected
/// calibration error, and the temperature fitted on the validation split. Then the plots,
/// subgroups.png and reliability.png included, are redrawn.
///
/// `auscult train` does this after every run; this command is for runs trained before it
/// existed, or to evaluate with other bootstrap settings.
///
/// Examples:
///   auscult evaluate runs/ce
///   auscult evaluate runs/ --data cache/icbhi --resamples 2000
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
#[command(only_device_and_threads())]
pub struct EvaluateArgs {
    /// Run dirs written by `auscult train` (one seed or several), or folders holding them.
    #[arg(required = true, value_name = "RUNS_DIR")]
    pub runs: Vec<PathBuf>,
    /// The cache the runs were trained on (default: the one their invocation.json records).
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// The cache `seed` (a seed dir of `dir`) was trained on: its own invocation.json, else its
/// parent's.
fn recorded_cache(seed: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    read_invocation(seed)
        .or_else(|_| read_invocation(dir))
        .map(|inv| inv.data)
        .with_context(|| {
            format!(
                "{}: pass --data (the cache it was trained on)",
                seed.display()
            )
        })
}

pub fn run(a: EvaluateArgs) -> anyhow::Result<()> {
    let opts = a.bootstrap.options()?;
    let rt = a.runtime.runtime_of("evaluate", &ONLY_DEVICE_AND_THREADS)?;
    for row in collect_runs(&a.runs, Selection::BestEval)? {
        // It writes into the run dirs: one writer at a time (see `rundir::lock`).
        let _lock = RunLock::acquire(&row.dir)?;
        for seed in seed_dirs(&row.dir)? {
            let _seed_lock = (seed != row.dir)
                .then(|| RunLock::acquire(&seed))
                .transpose()?;
            let cache = match &a.data {
                Some(d) => d.clone(),
                None => recorded_cache(&seed, &row.dir)?,
            };
            let evals = evaluate_run(&seed, &cache, &rt, &opts)?;
            for e in &evals {
                let s = &e.overall.metrics.score;
                eprintln!(
                    "{} {}: Score {:.4} 95% CI [{:.4}, {:.4}] ({} cycles, {} patients)",
                    seed.display(),
                    e.checkpoint,
                    s.value,
                    s.lo,
                    s.hi,
                    e.overall.cycles,
                    e.overall.patients
                );
            }
            Plots.run_finished(&seed);
        }
        if let Summary::Multi(_) = read_summary(&row.dir)? {
            for e in evaluate_seeds(&row.dir, &opts)? {
                let s = &e.overall.metrics.score;
                eprintln!(
                    "{} {} ({} seeds): Score {:.4} ± {:.4} over seeds, 95% CI of the mean \
                     [{:.4}, {:.4}]",
                    row.dir.display(),
                    e.checkpoint,
                    e.seeds,
                    s.value,
                    e.overall.seed_std.map_or(0.0, |v| v[2]),
                    s.lo,
                    s.hi
                );
            }
        }
    }
    Ok(())
}
