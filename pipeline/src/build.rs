//! `pipeline build`: dataset → records → (validate) → audio → features → cache.
//!
//! Order of work, chosen so a failed or killed build never leaves something that looks complete:
//! 1. parse the dataset's text files (no audio);
//! 2. probe every audio file's header and check every span against the real data length;
//! 3. with `--on-error fail`, stop here if anything is wrong — nothing has been written;
//! 4. clear a previous cache's outputs, then featurize in chunks of one shard, in parallel,
//!    writing shards in row order (temp name, then rename);
//! 5. write `metadata.parquet`, and last `manifest.json`, whose presence marks a finished cache.
//!
//! Output bytes do not depend on `--jobs`: rows are computed in parallel but written in order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use auscult_cache::table::write_table;
use auscult_cache::{ClassInfo, Manifest, ShardWriter, SkippedInput, SplitInfo, METADATA_FILE};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audio::{self, AudioInfo};
use crate::error::{InputIssue, PipelineError};
use crate::features::{CycleFeaturizer, FeatureParams};
use crate::icbhi::{scan_icbhi, IcbhiOptions};
use crate::metadata::{build_table, RowAudio};
use crate::record::CycleRecord;
use crate::sprsound::{scan_sprsound, SprsoundOptions};

/// Which dataset reader to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dataset {
    Icbhi,
    Sprsound,
}

impl Dataset {
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Icbhi => "icbhi",
            Dataset::Sprsound => "sprsound",
        }
    }

    /// The label classes the dataset's reader assigns, in id order, as the manifest lists them
    /// (from the same constants the reader labels rows with).
    pub fn classes(self) -> Vec<ClassInfo> {
        match self {
            Dataset::Icbhi => crate::icbhi::icbhi_classes(),
            Dataset::Sprsound => crate::sprsound::sprsound_classes(),
        }
    }

    /// The split evaluated when a run names none: ICBHI's official `test`; SPRSound's
    /// `inter_test` (patients not in train, the paper's choice). The manifest records it only
    /// when the build has that split.
    pub fn default_eval_split(self) -> &'static str {
        match self {
            Dataset::Icbhi => "test",
            Dataset::Sprsound => "inter_test",
        }
    }
}

/// Rows per split of the metadata table, sorted by split name. Counted from the table's rows
/// (not the shards), so a `--metadata-only` cache lists its splits too.
fn split_infos(rows: &[(CycleRecord, RowAudio)]) -> Vec<SplitInfo> {
    let mut by: BTreeMap<&str, u64> = BTreeMap::new();
    for (r, _) in rows {
        *by.entry(r.split.as_str()).or_default() += 1;
    }
    by.into_iter()
        .map(|(name, rows)| SplitInfo {
            name: name.to_string(),
            rows,
        })
        .collect()
}

/// What to do with a bad input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Exit non-zero before writing anything (the default).
    #[default]
    Fail,
    /// Leave the bad inputs out, list them in the manifest and on stderr.
    Skip,
}

/// Dataset-reader options recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetParams {
    /// ICBHI: patients younger than this are `child`, others `adult`.
    pub icbhi_child_age_threshold_years: f64,
    /// SPRSound: patients younger than this are `baby`, others `kid` (our assumption; the paper
    /// does not state its threshold).
    pub sprsound_baby_age_threshold_years: f64,
}

impl Default for DatasetParams {
    fn default() -> Self {
        DatasetParams {
            icbhi_child_age_threshold_years: 18.0,
            sprsound_baby_age_threshold_years: 3.0,
        }
    }
}

/// Everything `pipeline build` needs.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub dataset: Dataset,
    pub input: PathBuf,
    pub output: PathBuf,
    pub metadata_only: bool,
    /// Worker threads (None: all cores). Does not change the output.
    pub jobs: Option<usize>,
    pub on_error: OnError,
    /// Rows per shard.
    pub shard_size: usize,
    pub features: FeatureParams,
    pub dataset_params: DatasetParams,
    /// ICBHI path overrides (relative paths are resolved against `input`).
    pub recordings_dir: Option<PathBuf>,
    pub split_file: Option<PathBuf>,
    pub demographics_file: Option<PathBuf>,
    pub diagnosis_file: Option<PathBuf>,
    /// Show a progress bar on stderr (hidden automatically when stderr is not a terminal).
    pub progress: bool,
    /// Replace a cache in `output` built with other parameters (or of another dataset); without
    /// it such a cache is refused. A cache with the same parameters is always rebuilt.
    pub overwrite: bool,
}

impl BuildOptions {
    pub fn new(dataset: Dataset, input: impl Into<PathBuf>, output: impl Into<PathBuf>) -> Self {
        BuildOptions {
            dataset,
            input: input.into(),
            output: output.into(),
            metadata_only: false,
            jobs: None,
            on_error: OnError::Fail,
            shard_size: 1024,
            features: FeatureParams::default(),
            dataset_params: DatasetParams::default(),
            recordings_dir: None,
            split_file: None,
            demographics_file: None,
            diagnosis_file: None,
            progress: false,
            overwrite: false,
        }
    }
}

/// What a build did.
#[derive(Debug, Clone)]
pub struct BuildReport {
    pub rows: usize,
    pub recordings: usize,
    pub shards: usize,
    pub skipped: Vec<InputIssue>,
    /// Seconds of source audio read (sum of span durations).
    pub audio_seconds: f64,
    pub seconds: f64,
    pub manifest: Manifest,
}

/// Records and per-input problems of one dataset, before audio.
struct Scan {
    records: Vec<CycleRecord>,
    issues: Vec<InputIssue>,
    recordings: usize,
    extra_counts: serde_json::Value,
}

fn scan(opts: &BuildOptions) -> Result<Scan, PipelineError> {
    match opts.dataset {
        Dataset::Icbhi => {
            let mut o = IcbhiOptions::new(&opts.input);
            o.recordings_dir = opts.recordings_dir.clone();
            o.split_file = opts.split_file.clone();
            o.demographics_file = opts.demographics_file.clone();
            o.diagnosis_file = opts.diagnosis_file.clone();
            o.child_age_threshold_years = opts.dataset_params.icbhi_child_age_threshold_years;
            o.require_audio = !opts.metadata_only;
            let s = scan_icbhi(&o)?;
            Ok(Scan {
                records: s.records,
                issues: s.issues,
                recordings: s.recordings,
                extra_counts: serde_json::Value::Null,
            })
        }
        Dataset::Sprsound => {
            let mut o = SprsoundOptions::new(&opts.input);
            o.age_group_threshold_years = opts.dataset_params.sprsound_baby_age_threshold_years;
            o.require_audio = !opts.metadata_only;
            let s = scan_sprsound(&o).map_err(|e| PipelineError::Layout(e.to_string()))?;
            let extra = sprsound_counts_json(&s.counts);
            let recordings = s.counts.splits.values().map(|c| c.json_files).sum();
            let issues = s
                .issues
                .into_iter()
                .map(|i| InputIssue::file(&i.input, i.reason))
                .collect();
            Ok(Scan {
                recordings,
                records: s.records,
                issues,
                extra_counts: extra,
            })
        }
    }
}

/// Per-split file and label counts of a SPRSound scan, including the records that produce no
/// rows (Poor Quality, no events).
fn sprsound_counts_json(c: &crate::sprsound::SprsoundCounts) -> serde_json::Value {
    let splits: serde_json::Map<String, serde_json::Value> = c
        .splits
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                serde_json::json!({
                    "json_files": v.json_files,
                    "files_with_issues": v.files_with_issues,
                    "record_labels": v.record_labels,
                    "without_record_label": v.without_record_label,
                    "poor_quality_records": v.poor_quality,
                    "poor_quality_events": v.poor_quality_events,
                    "records_without_events": v.without_events,
                    "event_types": v.event_types,
                    "events": v.events,
                }),
            )
        })
        .collect();
    serde_json::json!({ "splits": splits, "wav_files": c.wav_files, "wav_without_json": c.wav_without_json })
}

/// Probes each distinct audio file once and checks every record's span against it. Returns the
/// info per audio path and the problems found.
fn validate_audio(records: &[CycleRecord]) -> (BTreeMap<PathBuf, AudioInfo>, Vec<InputIssue>) {
    let mut paths: Vec<&PathBuf> = records.iter().map(|r| &r.audio_path).collect();
    paths.sort();
    paths.dedup();
    let probed: Vec<(PathBuf, Result<AudioInfo, PipelineError>)> = paths
        .par_iter()
        .map(|p| ((*p).clone(), audio::probe(p)))
        .collect();
    let mut infos = BTreeMap::new();
    let mut issues = Vec::new();
    for (p, r) in probed {
        match r {
            Ok(info) => {
                infos.insert(p, info);
            }
            Err(e) => issues.push(InputIssue::file(&p, e.to_string())),
        }
    }
    for r in records {
        let Some(info) = infos.get(&r.audio_path) else {
            continue;
        };
        let (start, end) = r.frame_range(info.sample_rate);
        let place = |why: String| match r.origin {
            crate::record::Origin::Line(l) => InputIssue::at_line(&r.annotation_path, l, why),
            ref o => InputIssue::at(&r.annotation_path, o.to_string(), why),
        };
        if end > info.frames {
            issues.push(place(format!(
                "span {:.3}–{:.3} s (frames {start}..{end} at {} Hz) runs past the end of {} ({} frames{})",
                r.onset_s,
                r.offset_s,
                info.sample_rate,
                r.audio_path.display(),
                info.frames,
                if info.frames < info.declared_frames {
                    format!("; header declares {}", info.declared_frames)
                } else {
                    String::new()
                }
            )));
        } else if end <= start {
            issues.push(place(format!(
                "span {:.3}–{:.3} s holds no sample at {} Hz",
                r.onset_s, r.offset_s, info.sample_rate
            )));
        }
    }
    (infos, issues)
}

/// Drops the records an issue points at: the whole recording for a file-level issue, the one
/// record for a line/event issue.
fn drop_bad(records: Vec<CycleRecord>, issues: &[InputIssue]) -> Vec<CycleRecord> {
    use std::collections::HashSet;
    let whole: HashSet<&Path> = issues
        .iter()
        .filter(|i| i.line.is_none() && i.location.is_none())
        .map(|i| i.input.as_path())
        .collect();
    let single: HashSet<String> = issues
        .iter()
        .filter(|i| i.line.is_some() || i.location.is_some())
        .map(InputIssue::place)
        .collect();
    records
        .into_iter()
        .filter(|r| {
            if whole.contains(r.audio_path.as_path()) || whole.contains(r.annotation_path.as_path())
            {
                return false;
            }
            let place = match r.origin {
                crate::record::Origin::Line(l) => format!("{}:{l}", r.annotation_path.display()),
                ref o => format!("{} {o}", r.annotation_path.display()),
            };
            !single.contains(&place)
        })
        .collect()
}

fn relative(issue: &InputIssue, root: &Path) -> SkippedInput {
    let mut i = issue.clone();
    if let Ok(rel) = i.input.strip_prefix(root) {
        i.input = rel.to_path_buf();
    }
    SkippedInput {
        input: i.place(),
        reason: i.reason.clone(),
    }
}

/// Runs a build. On `--on-error fail` with bad inputs, returns [`PipelineError::BadInputs`]
/// and writes nothing.
pub fn build(opts: &BuildOptions) -> Result<BuildReport, PipelineError> {
    if opts.shard_size == 0 {
        return Err(PipelineError::Options(
            "--shard-size must be at least 1".into(),
        ));
    }
    opts.features.validate().map_err(PipelineError::Options)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .build()
        .map_err(|e| {
            PipelineError::Options(format!(
                "cannot start {} worker threads: {e}",
                opts.jobs.unwrap_or(0)
            ))
        })?;
    pool.install(|| build_in_pool(opts))
}

/// A cache already in `opts.output` is replaced only when it was built with the same dataset
/// and parameters (a rebuild), or with `overwrite`.
fn check_replaceable(opts: &BuildOptions, params: &serde_json::Value) -> Result<(), PipelineError> {
    let path = opts.output.join(auscult_cache::MANIFEST_FILE);
    if opts.overwrite || !path.exists() {
        return Ok(());
    }
    let found = match auscult_cache::Manifest::load(&opts.output) {
        Ok(m)
            if m.dataset == opts.dataset.name()
                && m.params_hash == auscult_cache::params_hash(params) =>
        {
            return Ok(())
        }
        Ok(m) => format!(
            "a {} cache built with other parameters ({} rows, params_hash {})",
            m.dataset, m.rows, m.params_hash
        ),
        Err(e) => format!("a manifest.json auscult cannot read ({e})"),
    };
    Err(PipelineError::Options(format!(
        "{} holds {found}: give another --output, or --overwrite to replace it",
        opts.output.display()
    )))
}

fn build_in_pool(opts: &BuildOptions) -> Result<BuildReport, PipelineError> {
    let t0 = Instant::now();
    let params = serde_json::json!({
        "features": opts.features,
        "dataset": opts.dataset_params,
        "metadata_only": opts.metadata_only,
    });
    check_replaceable(opts, &params)?;
    let Scan {
        records,
        mut issues,
        recordings,
        extra_counts,
    } = scan(opts)?;
    let infos = if opts.metadata_only {
        BTreeMap::new()
    } else {
        let (infos, audio_issues) = validate_audio(&records);
        issues.extend(audio_issues);
        infos
    };
    if !issues.is_empty() && opts.on_error == OnError::Fail {
        return Err(PipelineError::BadInputs(issues));
    }
    for i in &issues {
        tracing::warn!("skipped {i}");
    }
    let records = drop_bad(records, &issues);

    std::fs::create_dir_all(&opts.output).map_err(|e| PipelineError::io(&opts.output, e))?;
    auscult_cache::clear_outputs(&opts.output)?;
    let result = write_cache(opts, records, &infos, &mut issues);
    let (rows, shards, audio_seconds) = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = auscult_cache::clear_outputs(&opts.output);
            return Err(e);
        }
    };

    let feature_shape = [opts.features.n_mels, opts.features.n_frames()];
    let counts = counts_json(&rows, recordings, extra_counts);
    let shard_rows: u64 = shards.iter().map(|s| s.rows).sum();
    let splits = split_infos(&rows);
    let eval = opts.dataset.default_eval_split();
    let default_eval_split = splits
        .iter()
        .any(|s| s.name == eval)
        .then(|| eval.to_string());
    let manifest = Manifest {
        format_version: auscult_cache::FORMAT_VERSION,
        tool: format!("auscult {}", env!("CARGO_PKG_VERSION")),
        dataset: opts.dataset.name().to_string(),
        params_hash: auscult_cache::params_hash(&params),
        params,
        feature_shape,
        rows: shard_rows,
        classes: opts.dataset.classes(),
        splits,
        default_eval_split,
        shards,
        counts,
        skipped: issues.iter().map(|i| relative(i, &opts.input)).collect(),
        metadata_file: Some(METADATA_FILE.to_string()),
        extra: serde_json::Value::Null,
        synthetic: opts.input.join(crate::SYNTHETIC_MARKER).is_file(),
    };

    let finish = (|| {
        let table =
            build_table(opts.dataset.name(), &rows).map_err(|msg| PipelineError::Metadata {
                path: opts.output.join(METADATA_FILE),
                msg,
            })?;
        write_table(&opts.output.join(METADATA_FILE), &table)?;
        manifest.save(&opts.output)?;
        Ok::<_, PipelineError>(())
    })();
    if let Err(e) = finish {
        let _ = auscult_cache::clear_outputs(&opts.output);
        return Err(e);
    }
    Ok(BuildReport {
        rows: rows.len(),
        recordings,
        shards: manifest.shards.len(),
        skipped: issues,
        audio_seconds,
        seconds: t0.elapsed().as_secs_f64(),
        manifest,
    })
}

type Written = (
    Vec<(CycleRecord, RowAudio)>,
    Vec<auscult_cache::ShardInfo>,
    f64,
);

/// Featurizes and writes the shards; returns each kept row with its audio facts.
fn write_cache(
    opts: &BuildOptions,
    records: Vec<CycleRecord>,
    infos: &BTreeMap<PathBuf, AudioInfo>,
    issues: &mut Vec<InputIssue>,
) -> Result<Written, PipelineError> {
    if opts.metadata_only {
        let rows = records
            .into_iter()
            .map(|r| (r, RowAudio::default()))
            .collect();
        return Ok((rows, Vec::new(), 0.0));
    }
    let feature_shape = [opts.features.n_mels, opts.features.n_frames()];
    let mut writer = ShardWriter::create(&opts.output, feature_shape, opts.shard_size)?;
    let featurizer = CycleFeaturizer::new(opts.features.clone())
        .map_err(|e| PipelineError::Options(e.to_string()))?;
    let bar = progress_bar(opts.progress, records.len() as u64);
    let mut rows = Vec::with_capacity(records.len());
    let mut audio_seconds = 0.0;
    for chunk in records.chunks(opts.shard_size) {
        let mels: Vec<Result<Vec<f32>, PipelineError>> = chunk
            .par_iter()
            .map(|r| {
                let info = &infos[&r.audio_path];
                let (start, end) = r.frame_range(info.sample_rate);
                let samples = audio::read_range(&r.audio_path, info, start, end)?;
                featurizer
                    .featurize(&samples, info.sample_rate)
                    .map_err(|e| PipelineError::Audio {
                        path: r.annotation_path.clone(),
                        msg: format!("{}: {e}", r.origin),
                    })
            })
            .collect();
        for (r, mel) in chunk.iter().zip(mels) {
            bar.inc(1);
            let mel = match mel {
                Ok(m) => m,
                Err(e) if opts.on_error == OnError::Skip => {
                    tracing::warn!("skipped {e}");
                    issues.push(InputIssue::file(&r.audio_path, e.to_string()));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let info = &infos[&r.audio_path];
            let cycle_id = writer.push(r.label, &mel)? as u64;
            let shard_size = opts.shard_size as u64;
            audio_seconds += r.offset_s - r.onset_s;
            rows.push((
                r.clone(),
                RowAudio {
                    source_sample_rate: Some(info.sample_rate),
                    source_bits: Some(info.bits),
                    shard: Some((cycle_id / shard_size) as u32),
                    shard_row: Some((cycle_id % shard_size) as u32),
                },
            ));
        }
    }
    bar.finish_and_clear();
    let shards = writer.finish()?;
    Ok((rows, shards, audio_seconds))
}

fn progress_bar(enabled: bool, len: u64) -> indicatif::ProgressBar {
    if !enabled {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} cycles  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Row counts by split × label name, plus totals.
fn counts_json(
    rows: &[(CycleRecord, RowAudio)],
    recordings: usize,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut by: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut by_label: BTreeMap<String, u64> = BTreeMap::new();
    for (r, _) in rows {
        *by.entry(r.split.clone())
            .or_default()
            .entry(r.label_name.clone())
            .or_default() += 1;
        *by_label.entry(r.label_name.clone()).or_default() += 1;
    }
    let mut v = serde_json::json!({
        "rows": rows.len(),
        "recordings": recordings,
        "by_label": by_label,
        "by_split_label": by,
    });
    if !extra.is_null() {
        v["dataset"] = extra;
    }
    v
}
