//! Synthetic databases in official layouts, for demos, tests and benchmarks (no real data
//! needed). Kept out of `auscult-pipeline`, whose readers it feeds: production code never
//! depends on it.
//!
//! - [`signals`]: class sound generators (breath noise, crackles, wheezes) usable at any sample
//!   rate and duration, plus a whole-recording renderer.
//! - [`wav`]: integer PCM WAV writing (16/24-bit, mono, any rate), atomic.
//! - [`fsio`]: atomic text writes and file copies.
//! - [`icbhi`]: `auscult pipeline synth --dataset icbhi`, a small random ICBHI 2017 database.
//! - [`icbhi_plan`]: its random plan (patients, recordings, cycles), drawn before any file is written.
//! - [`icbhi_corpus`]: the ICBHI-scale benchmark corpus (real annotation timings, synthetic audio).
//! - [`sprsound`]: `auscult pipeline synth --dataset sprsound`, a small random SPRSound database.
//!
//! Everything is deterministic in the seed: the same seed gives byte-identical files whatever the
//! number of threads.

use std::path::PathBuf;

pub mod fsio;
pub mod icbhi;
pub mod icbhi_corpus;
pub mod icbhi_plan;
pub mod signals;
pub mod wav;

pub use icbhi::{synth_icbhi, IcbhiSynthOptions};
pub use icbhi_corpus::{synth_icbhi_from_annotations, CorpusFromAnnotations};
pub use icbhi_plan::DeviceFormat;

/// What a synth run wrote.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SynthReport {
    /// Recordings written (one WAV and one annotation file each).
    pub recordings: usize,
    /// Annotated respiratory cycles over all recordings.
    pub cycles: usize,
    /// Cycles per ICBHI label: normal, crackle, wheeze, both.
    pub cycles_per_label: [usize; 4],
    /// Total duration of the written audio, in seconds.
    pub audio_seconds: f64,
    /// Every file written: WAVs, annotation files and the metadata files.
    pub files_written: usize,
}

/// Why a synth run failed.
#[derive(thiserror::Error, Debug)]
pub enum SynthError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: writing WAV: {source}")]
    Wav {
        path: PathBuf,
        #[source]
        source: hound::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Parse {
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        reason: String,
    },
    #[error("{path}: bad recording name: {reason}")]
    BadName { path: PathBuf, reason: String },
    #[error("invalid synth options: {0}")]
    Options(String),
}

impl SynthError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SynthError::Io {
            path: path.into(),
            source,
        }
    }
}

pub mod sprsound;
