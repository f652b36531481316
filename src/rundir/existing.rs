//! What an output dir already holds, and the rule for starting a run there: nothing finished is
//! replaced by accident.
//!
//! | the dir holds                          | `auscult train --out DIR`            |
//! |----------------------------------------|--------------------------------------|
//! | nothing of a run                       | starts                               |
//! | this experiment, unfinished            | refuses, pointing to `--resume DIR`  |
//! | this experiment finished, or another   | refuses, naming what is there        |
//! | a run that stopped before one epoch    | starts over (nothing of value lost)  |
//! | anything, with `--overwrite`           | removes the run's files, starts      |
//!
//! Only a run's own files are removed (`config.toml`, `metrics.jsonl`, `checkpoints/`,
//! `seed_*/`, …, see [`RUN_ENTRIES`]); anything else in the dir is left alone.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::schema::{read_summary, Summary};

/// The files and folders a run writes into its dir (plus `seed_<s>/` and `fold_<f>/`).
pub const RUN_ENTRIES: &[&str] = &[
    "config.toml",
    "transform.json",
    "features.json",
    "invocation.json",
    "metrics.jsonl",
    "summary.json",
    "checkpoints",
    "plots",
    "predictions",
];

/// The entries that make a dir a run's (a `plots` file alone does not; a seed dir does).
const MARKS: &[&str] = &[
    "config.toml",
    "invocation.json",
    "metrics.jsonl",
    "summary.json",
    "checkpoints",
];

fn is_member_dir(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    name.strip_prefix("seed_").is_some_and(digits) || name.strip_prefix("fold_").is_some_and(digits)
}

/// What `dir` holds of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Existing {
    /// No run file (the dir may be missing, empty, or hold other things).
    Nothing,
    /// A run without its final `summary.json`; `same` when its `config.toml` is the experiment
    /// about to start.
    Unfinished {
        method: Option<String>,
        same: bool,
        epochs_logged: usize,
    },
    /// A run that ended before its first epoch (e.g. refused at set-up): nothing to keep.
    Abandoned,
    /// A finished run.
    Finished {
        method: String,
        seeds: Vec<u64>,
        score: Option<f64>,
    },
}

impl Existing {
    /// Looks at `dir`; `experiment_toml` is the experiment about to run (as `config.toml` would
    /// hold it).
    pub fn of(dir: &Path, experiment_toml: &str) -> Result<Existing> {
        let is_run = |p: &PathBuf| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                MARKS.contains(&n.as_ref()) || is_member_dir(&n)
            })
        };
        if !dir.is_dir() || !run_entries(dir)?.iter().any(is_run) {
            return Ok(Existing::Nothing);
        }
        if dir.join("summary.json").is_file() {
            let s = read_summary(dir)?;
            let (method, seeds, score) = match &s {
                Summary::Single(r) => (
                    r.method.clone(),
                    vec![r.seed],
                    Some(r.best_by_eval.eval.score),
                ),
                Summary::Multi(m) => (
                    m.method.clone(),
                    m.seeds.clone(),
                    m.best_by_eval.as_ref().map(|b| b.score.mean),
                ),
            };
            return Ok(Existing::Finished {
                method,
                seeds,
                score,
            });
        }
        let config = dir.join("config.toml");
        let recorded = std::fs::read_to_string(&config).ok();
        let method = recorded.as_deref().and_then(|t| {
            toml::from_str::<toml::Value>(t)
                .ok()?
                .get("method")?
                .as_str()
                .map(str::to_string)
        });
        let same = recorded.is_some_and(|t| same_experiment(&t, experiment_toml));
        let epochs_logged = run_dirs(dir)?
            .iter()
            .map(|d| count_lines(&d.join("metrics.jsonl")))
            .sum();
        if epochs_logged == 0 {
            return Ok(Existing::Abandoned);
        }
        Ok(Existing::Unfinished {
            method,
            same,
            epochs_logged,
        })
    }

    /// Refuses to start in `dir` when it holds a run, unless `overwrite` (then the run's files
    /// are removed first).
    pub fn check_start(dir: &Path, experiment_toml: &str, overwrite: bool) -> Result<()> {
        let found = Existing::of(dir, experiment_toml)?;
        if found == Existing::Nothing {
            return Ok(());
        }
        if found == Existing::Abandoned {
            tracing::info!(
                "{}: replacing a run that stopped before its first epoch",
                dir.display()
            );
            return remove_run(dir);
        }
        if overwrite {
            tracing::warn!("--overwrite: removing the run in {}", dir.display());
            return remove_run(dir);
        }
        let d = dir.display();
        Err(match found {
            Existing::Nothing | Existing::Abandoned => unreachable!("handled above"),
            Existing::Unfinished {
                same: true,
                epochs_logged,
                ..
            } => anyhow::anyhow!(
                "{d} holds an unfinished run of this experiment ({epochs_logged} epoch(s) \
                 logged): continue it with `auscult train --resume {d}`, or start it over with \
                 --overwrite"
            ),
            Existing::Unfinished { method, .. } => anyhow::anyhow!(
                "{d} holds an unfinished run of another experiment ({}): give another --out, \
                 or --overwrite to replace it",
                method.map_or("method unknown".into(), |m| format!("method `{m}`"))
            ),
            Existing::Finished {
                method,
                seeds,
                score,
            } => anyhow::anyhow!(
                "{d} holds a finished `{method}` run ({} seed(s){}): give another --out, or \
                 --overwrite to replace it",
                seeds.len(),
                score.map_or(String::new(), |s| format!(", best-epoch Score {s:.4}"))
            ),
        })
    }
}

/// Whether two `config.toml` texts describe the same experiment (compared as TOML values, so
/// formatting and key order do not matter).
fn same_experiment(a: &str, b: &str) -> bool {
    match (
        toml::from_str::<toml::Value>(a),
        toml::from_str::<toml::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn count_lines(path: &Path) -> usize {
    std::fs::read(path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

/// `dir` and its seed and fold dirs.
fn run_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(run_entries(dir)?.into_iter().filter(|p| p.is_dir()));
    Ok(dirs)
}

/// The run files and folders present in `dir`.
fn run_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e.with_context(|| format!("reading {}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if RUN_ENTRIES.contains(&name.as_str()) || is_member_dir(&name) {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Removes the run files and folders of `dir` (see [`RUN_ENTRIES`]), the summary first so a
/// half-removed run never looks finished.
pub fn remove_run(dir: &Path) -> Result<()> {
    let summary = dir.join("summary.json");
    if summary.exists() {
        std::fs::remove_file(&summary)
            .with_context(|| format!("removing {}", summary.display()))?;
    }
    for p in run_entries(dir)? {
        let r = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        r.with_context(|| format!("removing {}", p.display()))?;
    }
    Ok(())
}
