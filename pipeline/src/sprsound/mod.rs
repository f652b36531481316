//! SPRSound (SJTU Paediatric Respiratory Sound Database) reader: folder layout + file names +
//! JSON annotations → one [`CycleRecord`](crate::record::CycleRecord) per annotated event.
//!
//! - [`layout`]: which folders are read and which split each one is (see its docs for the
//!   accepted layouts);
//! - [`names`]: the `patient_age_gender_location_recording` file stem;
//! - [`json`]: the annotation file;
//! - [`labels`]: event types (Task 1-2 class ids) and record labels;
//! - [`scan`]: the whole walk, collecting per-file problems as [`InputIssue`]s.

use std::path::PathBuf;

pub mod json;
pub mod labels;
pub mod layout;
pub mod names;
pub mod scan;

pub use json::{parse_annotation_json, AnnotationError, AnnotationEvent, ParsedAnnotation};
pub use labels::{
    sprsound_classes, EventType, RecordLabel, SPRSOUND_CLASSES, SPRSOUND_RECORD_LABELS,
};
pub use layout::{discover_sources, JsonSource};
pub use names::{location_name, parse_stem, StemError, StemFields};
pub use scan::{scan_sprsound, SplitCounts, SprsoundCounts, SprsoundScan};

/// Default age (years) below which a child is in age group `baby`, else `kid`.
pub const DEFAULT_AGE_GROUP_THRESHOLD_YEARS: f64 = 3.0;

/// What to read and how to label it.
#[derive(Debug, Clone, PartialEq)]
pub struct SprsoundOptions {
    /// Repository root, a `releases/` folder or one `BioCAS<YEAR>` release folder.
    pub input: PathBuf,
    /// Age (years) below which `age_group` is `baby`; `kid` at or above it.
    pub age_group_threshold_years: f64,
    /// When true (the default), a JSON whose WAV is missing is an [`InputIssue`]; when false the
    /// audio path is only predicted (annotation-only checkouts, tests).
    pub require_audio: bool,
    /// Read only these release years (None: every year found).
    pub years: Option<Vec<i32>>,
}

impl SprsoundOptions {
    /// Defaults: threshold [`DEFAULT_AGE_GROUP_THRESHOLD_YEARS`], audio required, all years.
    pub fn new(input: impl Into<PathBuf>) -> Self {
        SprsoundOptions {
            input: input.into(),
            age_group_threshold_years: DEFAULT_AGE_GROUP_THRESHOLD_YEARS,
            require_audio: true,
            years: None,
        }
    }
}

/// Failures of the layout as a whole (per-file problems are [`InputIssue`]s instead).
#[derive(Debug, thiserror::Error)]
pub enum SprsoundError {
    #[error("SPRSound input {} does not exist", path.display())]
    InputMissing { path: PathBuf },
    #[error("SPRSound input {} is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error("no SPRSound annotation folders found in {} (looked for train[YEAR]_json and test[YEAR]_json[/inter_test_json|/intra_test_json] in it, in BioCAS<YEAR>/ and in releases/BioCAS<YEAR>/)", path.display())]
    NoJsonFolders { path: PathBuf },
    #[error("no SPRSound annotation folders for years {years:?} in {} (found years {found:?})", path.display())]
    NoFoldersForYears {
        path: PathBuf,
        years: Vec<i32>,
        found: Vec<i32>,
    },
    #[error("cannot list {}: {source}", path.display())]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("age group threshold must be a finite number of years, got {0}")]
    BadAgeThreshold(f64),
}

/// One unusable input file (JSON or WAV). `reason` is a complete message naming the file and,
/// for annotation problems, the JSON path (event indices as written in the file).
#[derive(Debug, Clone, PartialEq)]
pub struct InputIssue {
    pub input: PathBuf,
    pub reason: String,
}

impl std::fmt::Display for InputIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}
