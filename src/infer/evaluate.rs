//! The clinical evaluation of a finished run: an inference pass (no training) of each selected
//! checkpoint over the run's evaluation split (and validation split, when it has one), exactly
//! the rows the trainer evaluated, joined with what the cache's metadata table says of each
//! cycle: `predictions/<checkpoint>.csv`, then its [`Evaluation`] in `summary.json`.
//!
//! The resampling unit is the table's `patient_id`, else its `recording`, else the cycle. The
//! subgroup columns are those of [`GROUP_COLUMNS`] the table has (with at least one value): the
//! cache describes itself, no dataset is named here.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use auscult_cache::table::string_column;
use candle_core::Device;

use crate::data::{CacheData, Placement, RunData, SplitData};
use crate::eval::clinical::{Evaluation, Options, SeedsEvaluation};
use crate::infer::predict::Predictor;
use crate::report::clinical::{checkpoint_of, evaluation_of, seed_dirs, seeds_evaluation};
use crate::report::Selection;
use crate::rundir::{self, PredictionRow, Predictions, SelectionKey, Summary};
use crate::train::experiment::{Experiment, Protocol};
use crate::train::runtime::Runtime;

/// Metadata columns evaluated as subgroups, when the cache has them.
pub const GROUP_COLUMNS: [&str; 4] = ["device", "chest_location", "sex", "age_group"];

/// The checkpoints evaluated: the selection each holds and its name.
pub const SELECTIONS: [(SelectionKey, &str); 2] = [
    (SelectionKey::BestByEval, "best"),
    (SelectionKey::BestByVal, "best_val"),
];

/// What the cache's table says of each cache row.
struct CycleMeta {
    patient: Vec<String>,
    recording: Vec<String>,
    columns: Vec<String>,
    groups: Vec<Vec<Option<String>>>,
}

impl CycleMeta {
    fn of(cache: &CacheData) -> CycleMeta {
        let t = &cache.table;
        let n = t.height();
        let col = |name: &str| string_column(t, name).filter(|v| v.iter().any(Option::is_some));
        let recording: Vec<String> = match col("recording") {
            Some(v) => v.into_iter().map(Option::unwrap_or_default).collect(),
            None => vec![String::new(); n],
        };
        let patient: Vec<String> = match col("patient_id") {
            Some(v) => v
                .into_iter()
                .enumerate()
                .map(|(i, p)| p.unwrap_or_else(|| format!("row {i}")))
                .collect(),
            None if recording.iter().any(|r| !r.is_empty()) => recording.clone(),
            None => (0..n).map(|i| format!("row {i}")).collect(),
        };
        let (columns, groups) = GROUP_COLUMNS
            .iter()
            .filter_map(|c| col(c).map(|v| (c.to_string(), v)))
            .unzip();
        CycleMeta {
            patient,
            recording,
            columns,
            groups,
        }
    }

    /// The rows of `split` with their probabilities.
    fn rows(&self, split: &SplitData, name: &str, probs: Vec<Vec<f32>>) -> Vec<PredictionRow> {
        split
            .cycle_ids
            .iter()
            .zip(&split.labels)
            .zip(probs)
            .map(|((&id, &label), probabilities)| {
                let r = id as usize;
                PredictionRow {
                    cycle_id: id,
                    split: name.to_string(),
                    patient: self.patient[r].clone(),
                    recording: self.recording[r].clone(),
                    label: label as usize,
                    probabilities,
                    groups: self.groups.iter().map(|g| g[r].clone()).collect(),
                }
            })
            .collect()
    }
}

/// Evaluates the run in `run` (one seed) on the cache in `cache_dir`: writes
/// `predictions/<checkpoint>.csv` for `best` (and `best_val`), and their evaluations into
/// `summary.json`; returns them.
pub fn evaluate_run(
    run: &Path,
    cache_dir: &Path,
    runtime: &Runtime,
    opts: &Options,
) -> Result<Vec<Evaluation>> {
    let mut summary = rundir::read_run_summary(run)?;
    let mut exp = Experiment::load(&run.join("config.toml"))?;
    exp.data.apply_protocol_defaults();
    let cache = CacheData::open(cache_dir)?;
    let hash = &cache.reader.manifest().params_hash;
    ensure!(
        summary.cache_params_hash.is_empty() || &summary.cache_params_hash == hash,
        "{}: trained on a cache with params hash {}, but {} has {hash}: pass the run's own cache",
        run.display(),
        summary.cache_params_hash,
        cache_dir.display()
    );
    let rows = RunData::rows(&cache, &exp.data, exp.seed)?;
    let mut named: Vec<(&str, &[usize])> = vec![(&rows.eval_split, &rows.eval)];
    if let Some(v) = &rows.val {
        named.push(("val", v));
    }
    let splits = cache.load_splits(&named, &Device::Cpu, Placement::Resident)?;
    let meta = CycleMeta::of(&cache);
    let normal = cache.normal_ids();
    let class_names: Vec<String> = cache.classes.iter().map(|c| c.name.clone()).collect();
    let mut evaluations = Vec::new();
    for (key, name) in SELECTIONS {
        let Some(selected) = summary.selected(key) else {
            continue;
        };
        let checkpoint = run.join("checkpoints").join(format!("{name}.safetensors"));
        if !checkpoint.is_file() {
            tracing::warn!("{}: missing, not evaluated", checkpoint.display());
            continue;
        }
        let predictor = Predictor::load(run, &checkpoint, runtime)?;
        let mut out = Vec::new();
        for (split, (split_name, _)) in splits.iter().zip(&named) {
            let probs = predictor.split_probabilities(split)?;
            out.extend(meta.rows(split, split_name, probs));
        }
        let predictions = Predictions {
            class_names: class_names.clone(),
            group_columns: meta.columns.clone(),
            rows: out,
        };
        let file = predictions.write(run, name)?;
        let e = evaluation_of(
            &predictions,
            &rows.eval_split,
            name,
            selected.epoch,
            &normal,
            opts,
        )
        .with_context(|| format!("evaluating {}", file.display()))?;
        tracing::info!(
            "{name}: Score {:.4} [{:.4}, {:.4}] over {} patients{}",
            e.overall.metrics.score.value,
            e.overall.metrics.score.lo,
            e.overall.metrics.score.hi,
            e.overall.patients,
            e.calibration
                .temperature
                .map_or(String::new(), |t| format!(", temperature {t:.3}"))
        );
        evaluations.push(e);
    }
    summary.evaluation = evaluations.clone();
    rundir::write_json_atomic(&run.join(rundir::SUMMARY_JSON), &summary)?;
    Ok(evaluations)
}

/// Evaluates the seeds of the multi-seed run in `parent` together (from their predictions, see
/// [`seeds_evaluation`]) into its `summary.json`; returns the evaluations (none when the seeds
/// have no predictions).
pub fn evaluate_seeds(parent: &Path, opts: &Options) -> Result<Vec<SeedsEvaluation>> {
    let Summary::Multi(mut multi) = rundir::read_summary(parent)? else {
        anyhow::bail!(
            "{}: the summary of one seed, not of several",
            parent.join(rundir::SUMMARY_JSON).display()
        );
    };
    if let Protocol::KFold(k) = multi.protocol {
        // The folds evaluate different cycles: there is no common set to resample.
        tracing::info!(
            "{}: kfold:{k} folds are evaluated one by one (each fold's summary.json)",
            parent.display()
        );
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for selection in [Selection::BestEval, Selection::BestVal] {
        let ck = checkpoint_of(selection);
        let dirs = seed_dirs(parent)?;
        if dirs.iter().all(|d| Predictions::path(d, ck).is_file()) {
            out.push(seeds_evaluation(parent, selection, opts)?);
        }
    }
    multi.evaluation = out.clone();
    rundir::write_json_atomic(&parent.join(rundir::SUMMARY_JSON), &multi)?;
    Ok(out)
}

/// The temperature the run's evaluation fitted for `checkpoint` (a name: `best`, `best_val`),
/// None when it has none (no validation split, or a run evaluated before).
pub fn temperature_of(run: &Path, checkpoint: &str) -> Option<f64> {
    let s = rundir::read_run_summary(run).ok()?;
    s.evaluation
        .iter()
        .find(|e| e.checkpoint == checkpoint)
        .and_then(|e| e.calibration.temperature)
}
