//! auscult stage 1: parse a respiratory-sound dataset into per-cycle records, decode and resample
//! the audio exactly as the official PyTorch code does, compute log-mel features and write them
//! through the `auscult-cache` format together with a Parquet metadata table.
//!
//! Data flows one way: dataset files → [`record::CycleRecord`]s → audio → features → cache.

pub mod audio;
pub mod build;
pub mod error;
pub mod features;
pub mod icbhi;
pub mod inspect;
pub mod metadata;
pub mod record;
pub mod resample;
pub mod segments;
pub mod sprsound;

pub use error::PipelineError;

/// A file at the root of a synthetic database (written by `auscult-synth`): a cache built from
/// such a database says so in its manifest (`synthetic: true`), and nothing compares its runs
/// with the paper's numbers.
pub const SYNTHETIC_MARKER: &str = "SYNTHETIC.txt";
