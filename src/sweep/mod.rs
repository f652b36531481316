//! Sweeps: many experiments × seeds, run locally or as one Slurm job array.
//!
//! A grid (`configs/grids/table1.toml`) lists experiment files and a number of seeds. The sweep
//! expands it into tasks — one per config × seed, each a single-seed run in
//! `<out>/<config stem>/seed_<s>/` — and writes them to `<out>/sweep-index.json`, so a task id
//! (a Slurm array index) names one run. A task is idempotent: a run with a `summary.json` is
//! finished and skipped, a run with a saved state resumes (see [`crate::train::resume`]), any
//! other starts. Rerunning a sweep after a crash therefore finishes it, redoing at most the
//! epochs in progress. When every seed of a config is finished, `<out>/<config stem>/` gets the
//! mean ± std `summary.json` (and its `config.toml`) that `auscult report` reads, the same layout
//! as `auscult train --runs N`.

pub mod grid;
pub mod plan;
pub mod pool;
pub mod requeue;
pub mod slurm;
pub mod slurm_args;

use std::path::Path;

use anyhow::{Context, Result};

pub use grid::{aggregate, finished_summary, Grid, SweepIndex, SweepSpec, Task, TaskState};
pub use slurm::{array_ranges, sbatch_script, SlurmOptions};

/// Measured training throughput (samples/s) by stage name (`ce`, `scl`, `linear_eval`, …),
/// read from the last epoch of each `metrics.jsonl` under `dir` (e.g. an `auscult bench train
/// --out` folder, or finished runs). The highest figure per stage wins.
pub fn measured_throughput(dir: &Path) -> Result<std::collections::BTreeMap<String, f64>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))?;
        for e in entries {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "metrics.jsonl") {
                files += 1;
                let mut last: std::collections::BTreeMap<String, f64> = Default::default();
                for t in crate::rundir::read_stage_timings(&p)? {
                    last.insert(t.stage, t.samples_per_s);
                }
                for (k, v) in last {
                    let e = out.entry(k).or_insert(0.0f64);
                    *e = e.max(v);
                }
            }
        }
    }
    anyhow::ensure!(
        files > 0,
        "{}: no metrics.jsonl (measure with `auscult bench train --methods ce,scl,hybrid --out {}`)",
        dir.display(),
        dir.display()
    );
    Ok(out)
}
