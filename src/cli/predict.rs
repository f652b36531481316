//! `auscult predict`: class probabilities of new recordings from a trained run.

use std::path::PathBuf;

use anyhow::Context;
use auscult::infer::classify::{classify, resolve_checkpoint, Recordings};
use auscult::infer::predict::Predictor;
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
/// Examples:
///   auscult predict --run runs/ce --input 101_1b1_Al_sc_Meditron.wav
///   auscult predict --run runs/ce --input icbhi/ICBHI_final_database --format json --out p.json
///   auscult predict --checkpoint runs/scl/checkpoints/best.safetensors --input rec.wav --window 8 --hop 4
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
    /// Output file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

pub fn run(a: PredictArgs) -> anyhow::Result<()> {
    let (run, checkpoint) = resolve_checkpoint(a.run.as_deref(), a.checkpoint.as_deref())?;
    let rt = a.runtime.runtime_of("predict", &ONLY_DEVICE_AND_THREADS)?;
    let predictor = Predictor::load(&run, &checkpoint, &rt)?;
    let recordings = Recordings {
        input: &a.input,
        annotations: a.annotations.as_deref(),
        window: a.window,
        hop: a.hop,
    };
    let c = classify(&predictor, &recordings)?;
    let text = c.text(matches!(a.format, PredictFormat::Json))?;
    match &a.out {
        Some(out) => auscult_cache::write_atomic(out, text.as_bytes())
            .with_context(|| format!("writing {}", out.display()))?,
        None => print!("{text}"),
    }
    eprintln!(
        "{} segments of {} recording(s) with {}",
        c.rows.len(),
        c.files,
        predictor.checkpoint.display()
    );
    if c.labelled > 0 {
        let m = c.confusion.metrics();
        eprintln!(
            "against the annotations ({} labelled): Se {:.4}  Sp {:.4}  Score {:.4}  \
             accuracy {:.4}",
            c.labelled, m.se, m.sp, m.score, m.accuracy
        );
    }
    Ok(())
}
