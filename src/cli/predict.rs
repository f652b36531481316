//! `auscult predict`: class probabilities of new recordings from a trained run.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use auscult::eval::calibration::apply_temperature;
use auscult::eval::metrics::ConfusionMatrix;
use auscult::infer::classify::{
    annotation_of, audio_files, csv, decide, recordings, recordings_csv, Decision, Probabilities,
    Row,
};
use auscult::infer::embed::run_checkpoint;
use auscult::infer::evaluate::temperature_of;
use auscult::infer::predict::Predictor;
use auscult_pipeline::audio;
use auscult_pipeline::features::{CycleFeaturizer, FeatureParams};
use auscult_pipeline::segments::{featurize, segments, Segment, Segmentation};
use clap::{Args, ValueEnum};

use super::runtime::{RuntimeArgs, RuntimeFlags, ONLY_DEVICE_AND_THREADS};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PredictFormat {
    Csv,
    Json,
}

/// Classify recordings with a trained run: per cycle, the class probabilities and the predicted
/// class.
///
/// Cycles come from each recording's annotation (an ICBHI .txt or SPRSound .json with the same
/// stem beside the audio, or in --annotations), or are fixed windows (--window/--hop) when there
/// is none. Features are made with the run's own parameters (its features.json: sample rate,
/// length, log-mel) and input transform (transform.json), exactly as in training: no cache is
/// needed. When annotations carry labels, Se / Sp / Score over the predictions are printed.
///
/// With --out, one row per recording is also written beside it (<out stem>.recordings.csv or
/// .json): its cycles, the share predicted abnormal and the mean probability of each class.
///
/// Calibration: when the run was evaluated with a validation split (--val-fraction or
/// --protocol val), the temperature fitted there (summary.json, `evaluation`) scales the
/// probabilities: softmax(ln p / T). --no-temperature gives the raw ones.
///
/// Operating point: --threshold T calls a cycle abnormal when 1 − P(normal) ≥ T (the predicted
/// class is then the most probable abnormal class, else the most probable normal one), and adds
/// the columns p_abnormal, threshold, abnormal. `auscult report` lists the thresholds of
/// Se @ Sp 0.90 / 0.95 and Sp @ Se 0.90 on the test split.
///
/// Examples:
///   auscult predict --run runs/ce --input 101_1b1_Al_sc_Meditron.wav
///   auscult predict --run runs/ce --input icbhi/ICBHI_final_database --format json --out p.json
///   auscult predict --checkpoint runs/scl/checkpoints/best.safetensors --input rec.wav --window 8 --hop 4
///   auscult predict --run runs/ce --input recordings/ --threshold 0.35 --out p.csv
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
#[command(only_device_and_threads())]
pub struct PredictArgs {
    /// Run dir written by `auscult train`.
    #[arg(long, required_unless_present = "checkpoint")]
    pub run: Option<PathBuf>,
    /// A checkpoint name in <run>/checkpoints (best, best_val, last; default best, else last),
    /// or a checkpoint file inside a run dir (<run>/checkpoints/<name>.safetensors).
    #[arg(long)]
    pub checkpoint: Option<String>,
    /// An audio file, or a folder of them (its .wav/.flac/.ogg/.mp3 files, not sub-folders).
    #[arg(long)]
    pub input: PathBuf,
    /// The annotation of a single input file (.txt ICBHI cycles or .json SPRSound events), or a
    /// folder holding `<stem>.txt` / `<stem>.json` for each recording. Default: beside the audio.
    #[arg(long)]
    pub annotations: Option<PathBuf>,
    /// Cut every recording into windows of this many seconds instead of using annotations
    /// (also used, with 8 s, for recordings without an annotation).
    #[arg(long, value_name = "SECONDS")]
    pub window: Option<f64>,
    /// Hop between windows in seconds (default: half the window).
    #[arg(long, value_name = "SECONDS", requires = "window")]
    pub hop: Option<f64>,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: PredictFormat,
    /// Output file (default: standard output). The per-recording rows go beside it.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Call a cycle abnormal when its abnormal score 1 − P(normal) is ≥ T (an operating point
    /// from `auscult report`), instead of taking the most probable class.
    #[arg(long, value_name = "T")]
    pub threshold: Option<f64>,
    /// Report the raw probabilities even when the run recorded a temperature.
    #[arg(long)]
    pub no_temperature: bool,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

pub fn run(a: PredictArgs) -> anyhow::Result<()> {
    let (run, checkpoint) = run_and_checkpoint(&a)?;
    if let Some(t) = a.threshold {
        anyhow::ensure!(
            (0.0..=1.0).contains(&t),
            "--threshold {t}: an abnormal score threshold lies in [0, 1]"
        );
    }
    let rt = a.runtime.runtime_of("predict", &ONLY_DEVICE_AND_THREADS)?;
    let temperature = if a.no_temperature {
        None
    } else {
        checkpoint
            .file_stem()
            .and_then(|n| temperature_of(&run, &n.to_string_lossy()))
    };
    if let Some(t) = temperature {
        eprintln!(
            "probabilities scaled by temperature {t:.4} (fitted on the run's validation split; \
             --no-temperature for the raw ones)"
        );
    }
    let predictor = Predictor::load(&run, &checkpoint, &rt)?;
    let featurizer = featurizer_of(&predictor)?;
    let files = audio_files(&a.input)?;
    if let Some(p) = &a.annotations {
        anyhow::ensure!(
            p.exists(),
            "{}: no such annotation file or folder",
            p.display()
        );
        anyhow::ensure!(
            p.is_dir() || files.len() == 1,
            "--annotations {} is one file but --input holds {} recordings: give a folder",
            p.display(),
            files.len()
        );
    }
    let spec = &predictor.spec;
    let names: Vec<&str> = spec.classes.iter().map(|c| c.name.as_str()).collect();
    let normal = spec.normal_ids();
    let mut tally = Tally {
        rows: Vec::new(),
        confusion: ConfusionMatrix::new(spec.classes.len(), &normal)?,
        labelled: 0,
    };
    for file in &files {
        let how = segmentation_of(&a, file, files.len());
        let info = audio::probe(file)?;
        let (segs, warnings) = segments(file, &info, &how)?;
        for w in warnings {
            tracing::warn!("{w}");
        }
        let feats = featurize(&featurizer, file, &info, &segs)?;
        let probs = predictor.probabilities(&feats)?;
        for (s, p) in segs.iter().zip(probs) {
            let p: Vec<f32> = match temperature {
                Some(t) => apply_temperature(&p.iter().map(|&v| v as f64).collect::<Vec<_>>(), t)
                    .into_iter()
                    .map(|v| v as f32)
                    .collect(),
                None => p,
            };
            let (best, decision) = decide(&p, &normal, a.threshold);
            if let Some((id, _)) = &s.label {
                if (*id as usize) < spec.classes.len() {
                    tally.confusion.add(&[best], &[*id as usize])?;
                    tally.labelled += 1;
                }
            }
            tally
                .rows
                .push(row(file, s, &how, &names, best, &p, decision));
        }
    }
    write_rows(&a, &tally.rows, &names, &normal)?;
    eprintln!(
        "{} segments of {} recording(s) with {}",
        tally.rows.len(),
        files.len(),
        predictor.checkpoint.display()
    );
    if tally.labelled > 0 {
        let m = tally.confusion.metrics();
        eprintln!(
            "against the annotations ({} labelled): Se {:.4}  Sp {:.4}  Score {:.4}  \
             accuracy {:.4}",
            tally.labelled, m.se, m.sp, m.score, m.accuracy
        );
    }
    Ok(())
}

/// The rows so far, and the confusion of the labelled ones.
struct Tally {
    rows: Vec<Row>,
    confusion: ConfusionMatrix,
    labelled: usize,
}

/// The run dir and the checkpoint file: `--run` (+ `--checkpoint NAME`), or a checkpoint file
/// inside a run dir.
fn run_and_checkpoint(a: &PredictArgs) -> anyhow::Result<(PathBuf, PathBuf)> {
    Ok(match (&a.run, &a.checkpoint) {
        (Some(run), ck) => (run.clone(), run_checkpoint(run, ck.as_deref())?),
        (None, Some(file)) => {
            let file = PathBuf::from(file);
            let run = file
                .parent()
                .and_then(Path::parent)
                .filter(|r| r.join("config.toml").is_file())
                .with_context(|| {
                    format!(
                        "{}: not inside a run dir (<run>/checkpoints/<name>.safetensors); pass \
                         --run",
                        file.display()
                    )
                })?
                .to_path_buf();
            (run, file)
        }
        (None, None) => bail!("give --run or --checkpoint"),
    })
}

/// The run's own log-mel parameters (its features.json), checked against its input shape.
fn featurizer_of(predictor: &Predictor) -> anyhow::Result<CycleFeaturizer> {
    let spec = &predictor.spec;
    let params: FeatureParams = serde_json::from_value(
        spec.params
            .get("features")
            .cloned()
            .context("features.json has no `params.features`")?,
    )
    .context("features.json: `params.features` are not log-mel parameters")?;
    anyhow::ensure!(
        [params.n_mels, params.n_frames()] == spec.feature_shape,
        "features.json: parameters give {}×{} features, the run was trained on {:?}",
        params.n_mels,
        params.n_frames(),
        spec.feature_shape
    );
    CycleFeaturizer::new(params).context("features.json: log-mel parameters")
}

/// How `file` is cut: fixed windows with `--window`, else its annotation, else 8 s windows.
fn segmentation_of(a: &PredictArgs, file: &Path, n_files: usize) -> Segmentation {
    let windows = |w: f64| Segmentation::Windows {
        window_s: w,
        hop_s: a.hop.unwrap_or(w / 2.0),
    };
    match (
        a.window,
        annotation_of(file, a.annotations.as_deref(), n_files == 1),
    ) {
        (Some(w), _) => windows(w),
        (None, Some(ann)) => Segmentation::Annotation(ann),
        (None, None) => {
            tracing::info!("{}: no annotation, 8 s windows", file.display());
            windows(8.0)
        }
    }
}

/// The rows to `--out` (and the per-recording rows beside it), or to standard output.
fn write_rows(
    a: &PredictArgs,
    rows: &[Row],
    names: &[&str],
    normal: &[usize],
) -> anyhow::Result<()> {
    let text = match a.format {
        PredictFormat::Json => serde_json::to_string_pretty(rows)? + "\n",
        PredictFormat::Csv => csv(rows, names),
    };
    let Some(out) = &a.out else {
        print!("{text}");
        return Ok(());
    };
    let normal_names: Vec<&str> = normal.iter().map(|&c| names[c]).collect();
    let recs = recordings(rows, &normal_names);
    let (ext, body) = match a.format {
        PredictFormat::Json => ("json", serde_json::to_string_pretty(&recs)? + "\n"),
        PredictFormat::Csv => ("csv", recordings_csv(&recs, names)),
    };
    let stem = out.file_stem().unwrap_or_default().to_string_lossy();
    let per_recording = out.with_file_name(format!("{stem}.recordings.{ext}"));
    auscult_cache::write_atomic(out, text.as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    auscult_cache::write_atomic(&per_recording, body.as_bytes())
        .with_context(|| format!("writing {}", per_recording.display()))?;
    eprintln!(
        "{} recording rows in {}",
        recs.len(),
        per_recording.display()
    );
    Ok(())
}

fn row(
    file: &Path,
    s: &Segment,
    how: &Segmentation,
    names: &[&str],
    best: usize,
    p: &[f32],
    decision: Option<Decision>,
) -> Row {
    Row {
        file: file.display().to_string(),
        segment: s.index,
        start_s: s.start_s,
        end_s: s.end_s,
        source: match how {
            Segmentation::Annotation(_) => "annotation",
            Segmentation::Windows { .. } => "window",
        },
        label: s.label.as_ref().map(|(_, n)| n.clone()),
        predicted: names[best].to_string(),
        probabilities: Probabilities(
            names
                .iter()
                .zip(p)
                .map(|(n, v)| (n.to_string(), *v))
                .collect(),
        ),
        decision,
    }
}
