//! The entry point of training: `runs` seeds of one experiment, each in its own run dir, and
//! their mean ± std (`summary.json` of the parent dir when there are several).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::data::{CacheData, RunData, SplitData};
use crate::eval::metrics::{Metrics, MetricsSummary, StdKind};
use crate::rundir::existing::Existing;
use crate::rundir::lock::RunLock;
pub use crate::rundir::schema::{Invocation, MultiRunSummary};
use crate::rundir::write_json_atomic;
use crate::train::experiment::{Experiment, MatmulPrecision, Protocol};
use crate::train::observer::RunObserver;
use crate::train::run::{train_one, Recipe, RunSummary, SeedRun};
use crate::train::runtime::Runtime;

/// `<out>/invocation.json`.
pub fn invocation_path(out: &Path) -> PathBuf {
    out.join("invocation.json")
}

/// Reads what [`train`] recorded in `out`.
pub fn read_invocation(out: &Path) -> Result<Invocation> {
    let path = invocation_path(out);
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "reading {} (is {} a run dir of `auscult train`?)",
            path.display(),
            out.display()
        )
    })?;
    serde_json::from_slice(&bytes).with_context(|| format!("{}: malformed", path.display()))
}

/// What [`train`] trains: the recipe's experiment on the cache in `cache_dir` into `out`; with
/// `overwrite` a run already in `out` is replaced instead of refused.
#[derive(Clone, Copy)]
pub struct Training<'a> {
    pub recipe: Recipe<'a>,
    pub cache_dir: &'a Path,
    pub out: &'a Path,
    pub overwrite: bool,
}

/// Trains `exp` on the cache in `cache_dir` into `out`: seeds S..S+N-1 into `out/seed_<s>/` and
/// their mean ± std into `out/summary.json`; with one run the run dir is `out` itself.
/// `config_name` (the config file's stem) is recorded in every summary; `observer` is told of
/// each finished run. A run already in `out` is refused (see [`Existing::check_start`]) unless
/// `overwrite`; `out` is locked against a second writer for the whole run ([`RunLock`]).
pub fn train(t: &Training, observer: &dyn RunObserver) -> Result<MultiRunSummary> {
    let start = if t.overwrite {
        Start::Overwrite
    } else {
        Start::Fresh
    };
    train_in(t.recipe, t.cache_dir, t.out, start, observer)
}

/// How [`train_in`] treats what `out` already holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Start {
    /// Refuse a run already there.
    Fresh,
    /// Remove a run already there.
    Overwrite,
    /// Continue the run there.
    Resume,
}

/// Continues the run in `out` (one seed, or several) where it stopped: finished seeds (with a
/// `summary.json`) are read back, the seed in progress resumes from its saved state, the rest
/// start. `data` overrides the recorded cache dir (a moved cache), `runtime` the recorded
/// runtime; the results are identical only on the same device and thread count.
pub fn resume(
    out: &Path,
    data: Option<&Path>,
    runtime: Option<&Runtime>,
    observer: &dyn RunObserver,
) -> Result<MultiRunSummary> {
    let inv = read_invocation(out)?;
    let exp = Experiment::load(&out.join("config.toml"))?;
    let recipe = Recipe {
        exp: &exp,
        runtime: runtime.unwrap_or(&inv.runtime),
        config_name: inv.config_name.as_deref(),
    };
    train_in(
        recipe,
        data.unwrap_or(&inv.data),
        out,
        Start::Resume,
        observer,
    )
}

fn train_in(
    recipe: Recipe,
    cache_dir: &Path,
    out: &Path,
    start: Start,
    observer: &dyn RunObserver,
) -> Result<MultiRunSummary> {
    let Recipe {
        exp,
        runtime,
        config_name,
    } = recipe;
    let resuming = start == Start::Resume;
    let mut exp = exp.clone();
    exp.fill_method_section();
    exp.data.apply_protocol_defaults();
    exp.validate()?;
    let members = members(&exp, out)?;
    let several = members.len() > 1;
    runtime.apply_threads();
    let device = runtime.device()?;
    set_matmul_precision(exp.matmul_precision, &device);
    let cache = CacheData::open(cache_dir)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    // Held until this function returns, however it returns.
    let _lock = RunLock::acquire(out)?;
    if !resuming {
        Existing::check_start(out, &exp.to_toml(), start == Start::Overwrite)?;
    }
    if !resuming || !invocation_path(out).exists() {
        record_invocation(
            &exp,
            runtime,
            config_name,
            cache_dir,
            out,
            several && !resuming,
        )?;
    }
    let mut summaries: Vec<RunSummary> = Vec::new();
    let mut dirs = Vec::new();
    let n = members.len();
    for (r, (seed_exp, dir)) in members.into_iter().enumerate() {
        if resuming {
            if let Some(done) = finished(&dir)? {
                tracing::info!("run {}/{n}: seed {} finished earlier", r + 1, done.seed);
                summaries.push(done);
                dirs.push(dir.display().to_string());
                continue;
            }
        }
        let data = RunData::load(&cache, &seed_exp.data, seed_exp.seed, runtime, &device)?;
        tracing::info!(
            "run {}/{n}: seed {}, {} train / {} val / {} {} rows",
            r + 1,
            seed_exp.seed,
            data.train.len(),
            data.val.as_ref().map_or(0, SplitData::len),
            data.eval.len(),
            data.eval.name
        );
        let seed_run = SeedRun {
            recipe: Recipe {
                exp: &seed_exp,
                ..recipe
            },
            cache: &cache,
            data: &data,
            out: &dir,
            resume: resuming,
        };
        summaries.push(train_one(&seed_run, observer)?);
        dirs.push(dir.display().to_string());
    }
    let multi = seed_summary(&exp, config_name, &summaries, dirs)?;
    if several {
        write_json_atomic(&out.join("summary.json"), &multi)?;
        observer.runs_finished(out);
    }
    Ok(multi)
}

/// One run dir per seed (`seed_<s>/`, or `out` itself for one seed), or per fold of `kfold:K`
/// (`fold_<f>/`, one seed each), with the experiment each runs.
fn members(exp: &Experiment, out: &Path) -> Result<Vec<(Experiment, PathBuf)>> {
    // One run dir per seed, or per fold of `kfold:K` (one seed each).
    Ok(match (exp.data.protocol, exp.data.fold) {
        (Protocol::KFold(k), None) => {
            anyhow::ensure!(
                exp.runs == 1,
                "protocol kfold:{k} runs one seed per fold (runs = {}): vary `seed` instead",
                exp.runs
            );
            (0..k)
                .map(|f| {
                    let mut e = exp.clone();
                    e.data.fold = Some(f);
                    (e, out.join(format!("fold_{f}")))
                })
                .collect()
        }
        _ if exp.runs == 1 => vec![(exp.clone(), out.to_path_buf())],
        _ => (0..exp.runs as u64)
            .map(|r| {
                let e = Experiment {
                    seed: exp.seed + r,
                    runs: 1,
                    ..exp.clone()
                };
                let dir = out.join(format!("seed_{}", e.seed));
                (e, dir)
            })
            .collect(),
    })
}

/// TF32 matmuls when the experiment asks for them. A process-wide cuBLAS setting: set either way
/// so one process's runs don't leak into each other.
fn set_matmul_precision(precision: MatmulPrecision, device: &candle_core::Device) {
    let tf32 = precision == MatmulPrecision::Tf32;
    candle_core::cuda::set_gemm_reduced_precision_f32(tf32);
    if tf32 && device.is_cpu() {
        tracing::info!("matmul_precision = \"tf32\" has no effect on CPU: f32 throughout");
    }
}

/// `<out>/invocation.json` (what `--resume` needs), and the experiment in `<out>/config.toml`
/// when `out` holds several runs.
fn record_invocation(
    exp: &Experiment,
    runtime: &Runtime,
    config_name: Option<&str>,
    cache_dir: &Path,
    out: &Path,
    write_config: bool,
) -> Result<()> {
    let data = std::path::absolute(cache_dir)
        .with_context(|| format!("resolving {}", cache_dir.display()))?;
    let inv = Invocation {
        data,
        config_name: config_name.map(str::to_string),
        runtime: runtime.clone(),
    };
    write_json_atomic(&invocation_path(out), &inv)?;
    if write_config {
        auscult_cache::write_atomic(&out.join("config.toml"), exp.to_toml().as_bytes())
            .with_context(|| format!("writing {}", out.join("config.toml").display()))?;
    }
    Ok(())
}

/// Mean ± std over the seeds' `summaries` of `exp` (run dirs `dirs`).
pub fn seed_summary(
    exp: &Experiment,
    config_name: Option<&str>,
    summaries: &[RunSummary],
    dirs: Vec<String>,
) -> Result<MultiRunSummary> {
    let pick = |f: &dyn Fn(&RunSummary) -> Option<Metrics>| {
        let v: Option<Vec<Metrics>> = summaries.iter().map(f).collect();
        v.and_then(|v| MetricsSummary::of(&v, StdKind::Population))
    };
    Ok(MultiRunSummary {
        method: exp.method()?.name().to_string(),
        config_name: config_name.map(str::to_string),
        signature: exp.signature(),
        protocol: exp.data.protocol,
        dataset: summaries
            .first()
            .map(|s| s.dataset.clone())
            .unwrap_or_default(),
        synthetic: summaries.iter().any(|s| s.synthetic),
        seeds: summaries.iter().map(|s| s.seed).collect(),
        best_by_eval: pick(&|s| Some(s.best_by_eval.eval.clone())),
        best_by_val: pick(&|s| s.best_by_val.as_ref().map(|b| b.eval.clone())),
        final_epoch: pick(&|s| Some(s.final_epoch.eval.clone())),
        runs: dirs,
        evaluation: Vec::new(),
    })
}

/// The summary of a finished run in `dir` (None when it has none yet).
pub fn finished(dir: &Path) -> Result<Option<RunSummary>> {
    let path = dir.join("summary.json");
    if !path.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let s = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a run summary", path.display()))?;
    Ok(Some(s))
}
