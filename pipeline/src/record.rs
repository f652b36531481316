//! The dataset-independent unit of work: one respiratory cycle (ICBHI) or one event (SPRSound),
//! as parsed from annotations, before any audio is read.

use std::path::PathBuf;

/// Where in the annotation a record came from, so every error can name it.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// 1-based line of an ICBHI annotation `.txt`.
    Line(usize),
    /// 0-based index into a SPRSound JSON `event_annotation` array (after sorting by start).
    Event(usize),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Line(l) => write!(f, "line {l}"),
            Origin::Event(i) => write!(f, "event_annotation[{i}]"),
        }
    }
}

/// One cache row to be: a time span of one recording with its label and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleRecord {
    /// Recording file stem, e.g. `101_1b1_Al_sc_Meditron`.
    pub recording: String,
    pub audio_path: PathBuf,
    pub annotation_path: PathBuf,
    pub origin: Origin,
    /// Span in seconds as written in the annotation.
    pub onset_s: f64,
    pub offset_s: f64,
    /// First frame (inclusive) and end frame (exclusive) at the file's own rate are computed by
    /// [`CycleRecord::frame_range`]; SPRSound keeps integer milliseconds to stay exact.
    pub span_ms: Option<(u64, u64)>,
    /// Class index used for training (ICBHI: 0 normal, 1 crackle, 2 wheeze, 3 both).
    pub label: i64,
    pub label_name: String,
    /// `train`/`test` (ICBHI) or `train`/`inter_test`/`intra_test`/`test_<year>` (SPRSound).
    pub split: String,
    pub meta: RecordMeta,
}

impl CycleRecord {
    /// Frames `[start, end)` at sample rate `sr`, as the official code computes them:
    /// `int(onset·sr)` to `int(offset·sr)` (truncation toward zero, f64 arithmetic like Python).
    pub fn frame_range(&self, sr: u32) -> (u64, u64) {
        frame_range(self.onset_s, self.offset_s, self.span_ms, sr)
    }
}

/// Frames `[start, end)` at sample rate `sr` of a span given in seconds, or exactly in
/// milliseconds when `span_ms` is known (SPRSound): the arithmetic of [`CycleRecord::frame_range`].
pub fn frame_range(
    onset_s: f64,
    offset_s: f64,
    span_ms: Option<(u64, u64)>,
    sr: u32,
) -> (u64, u64) {
    match span_ms {
        Some((s, e)) => (s * sr as u64 / 1000, e * sr as u64 / 1000),
        None => ((onset_s * sr as f64) as u64, (offset_s * sr as f64) as u64),
    }
}

/// Dataset-specific metadata columns.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordMeta {
    Icbhi(IcbhiMeta),
    Sprsound(SprsoundMeta),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct IcbhiMeta {
    pub patient_id: i64,
    pub recording_index: String,
    pub chest_location: String,
    pub acquisition_mode: String,
    pub device: String,
    pub crackles: bool,
    pub wheezes: bool,
    pub age: Option<f64>,
    pub sex: Option<String>,
    pub adult_bmi: Option<f64>,
    pub child_weight_kg: Option<f64>,
    pub child_height_cm: Option<f64>,
    pub diagnosis: Option<String>,
    /// `child`/`adult` by the build's age threshold; None when age is unknown.
    pub age_group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SprsoundMeta {
    /// Kept as a string: later releases have 7-, 9-digit and zero-padded ids.
    pub patient_id: String,
    pub age: f64,
    /// `M`/`F` from the gender field (0 male, 1 female).
    pub sex: String,
    /// Code as in the file name, e.g. `p3`.
    pub chest_location: String,
    /// Human name of the location when documented (p1..p4), else None.
    pub chest_location_name: Option<String>,
    pub recording_id: String,
    /// Release year, e.g. 2022.
    pub year: i32,
    /// `record_annotation` (None when absent in later test files).
    pub record_label: Option<String>,
    /// Event type as written (normalised spelling), e.g. `Fine Crackle`.
    pub event_type: String,
    /// Task 1-1: 0 normal, 1 adventitious.
    pub label_binary: i64,
    /// `baby`/`kid` by the build's age threshold.
    pub age_group: String,
    /// 0-based position of the event in `event_annotation` as written in the file, before the
    /// events were sorted by start (`Origin::Event` holds the sorted position); for messages.
    pub event_index_in_file: usize,
}
