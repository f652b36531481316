//! The entry point of training: `runs` seeds of one experiment, each in its own run dir, and
//! their mean ± std (`summary.json` of the parent dir when there are several).

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::data::{CacheData, RunData, SplitData};
use super::experiment::{Experiment, MatmulPrecision, Signature};
use super::metrics::{Metrics, MetricsSummary, StdKind};
use super::run::{train_one, RunSummary};
use super::run_dir::write_json_atomic;
use super::runtime::Runtime;

/// Mean ± std over seeds of the selected metrics (`summary.json` of a multi-seed run).
#[derive(Debug, Clone, Serialize)]
pub struct MultiRunSummary {
    pub method: String,
    /// Stem of the config file the runs were started from.
    pub config_name: Option<String>,
    pub signature: Signature,
    pub dataset: String,
    pub seeds: Vec<u64>,
    /// Population std (ddof 0, like `np.std`).
    pub best_by_eval: Option<MetricsSummary>,
    /// Evaluation-split metrics at the epochs chosen on validation (honest protocol).
    pub best_by_val: Option<MetricsSummary>,
    pub final_epoch: Option<MetricsSummary>,
    pub runs: Vec<String>,
}

/// Trains `exp` on the cache in `cache_dir` into `out`: seeds S..S+N-1 into `out/seed_<s>/` and
/// their aggregate into `out/summary.json`; with one run the run dir is `out` itself.
pub fn train(
    exp: &Experiment,
    runtime: &Runtime,
    cache_dir: &Path,
    out: &Path,
) -> Result<MultiRunSummary> {
    train_named(exp, runtime, None, cache_dir, out)
}

/// [`train`], recording `config_name` (the config file's stem) in every summary.
pub fn train_named(
    exp: &Experiment,
    runtime: &Runtime,
    config_name: Option<&str>,
    cache_dir: &Path,
    out: &Path,
) -> Result<MultiRunSummary> {
    let mut exp = exp.clone();
    exp.fill_method_section();
    exp.validate()?;
    runtime.apply_threads();
    let device = runtime.device()?;
    let tf32 = exp.matmul_precision == MatmulPrecision::Tf32;
    // A process-wide cuBLAS setting: set it either way so one process's runs don't leak into
    // each other.
    candle_core::cuda::set_gemm_reduced_precision_f32(tf32);
    if tf32 && device.is_cpu() {
        tracing::info!("matmul_precision = \"tf32\" has no effect on CPU: f32 throughout");
    }
    let cache = CacheData::open(cache_dir)?;
    let mut summaries: Vec<RunSummary> = Vec::new();
    let mut dirs = Vec::new();
    for r in 0..exp.runs {
        let seed_exp = Experiment {
            seed: exp.seed + r as u64,
            runs: 1,
            ..exp.clone()
        };
        let dir = if exp.runs == 1 {
            out.to_path_buf()
        } else {
            out.join(format!("seed_{}", seed_exp.seed))
        };
        let data = RunData::load(&cache, &seed_exp.data, seed_exp.seed, runtime, &device)?;
        tracing::info!(
            "run {}/{}: seed {}, {} train / {} val / {} {} rows",
            r + 1,
            exp.runs,
            seed_exp.seed,
            data.train.len(),
            data.val.as_ref().map_or(0, SplitData::len),
            data.eval.len(),
            data.eval.name
        );
        summaries.push(train_one(
            &seed_exp,
            runtime,
            config_name,
            &cache,
            &data,
            &dir,
        )?);
        dirs.push(dir.display().to_string());
    }
    let pick = |f: &dyn Fn(&RunSummary) -> Option<Metrics>| {
        let v: Option<Vec<Metrics>> = summaries.iter().map(f).collect();
        v.and_then(|v| MetricsSummary::of(&v, StdKind::Population))
    };
    let multi = MultiRunSummary {
        method: exp.method()?.name().to_string(),
        config_name: config_name.map(str::to_string),
        signature: exp.signature(),
        dataset: cache.dataset.clone(),
        seeds: summaries.iter().map(|s| s.seed).collect(),
        best_by_eval: pick(&|s| Some(s.best_by_eval.eval.clone())),
        best_by_val: pick(&|s| s.best_by_val.as_ref().map(|b| b.eval.clone())),
        final_epoch: pick(&|s| Some(s.final_epoch.eval.clone())),
        runs: dirs,
    };
    if exp.runs > 1 {
        write_json_atomic(&out.join("summary.json"), &multi)?;
        let whole = out.join("config.toml");
        auscult_cache::write_atomic(&whole, exp.to_toml().as_bytes())?;
        match super::plots::write_multi_plots(out) {
            Ok(files) => tracing::info!("plots: {}", super::run::display_paths(&files)),
            Err(e) => tracing::warn!("no plots for {}: {e:#}", out.display()),
        }
    }
    Ok(multi)
}
