//! One SPRSound annotation file: `{"record_annotation": ..., "event_annotation": [{start, end, type}]}`.
//!
//! Accepted variants (the two upstream READMEs disagree, later releases drop a key):
//! - record key `record_annotation` (2022 files) or `recording_annotation` (top-level README);
//!   both may be present only with the same value; neither present gives `record_label: None`
//!   (2024+ test files);
//! - `start`/`end` as strings of digits (real files) or JSON non-negative integers (README);
//! - event type `Wheeze & Crackle` as a spelling of `Wheeze+Crackle`;
//! - a leading UTF-8 byte-order mark; unknown extra keys are ignored.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::labels::{EventType, RecordLabel};

/// One event, times in whole milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationEvent {
    pub start_ms: u64,
    pub end_ms: u64,
    pub event_type: EventType,
    /// 0-based position in `event_annotation` as written in the file (before sorting).
    pub index_in_file: usize,
}

/// A parsed annotation file.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedAnnotation {
    /// Record-level label; None when the file has no record key.
    pub record_label: Option<RecordLabel>,
    /// Events sorted by `start_ms` (stable: equal starts keep file order).
    pub events: Vec<AnnotationEvent>,
}

/// Why an annotation file cannot be used. Every message names the file and the JSON path at
/// fault; event indices are positions in the file as written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnnotationError {
    #[error("{}: malformed JSON at line {line} column {column}: {message}", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: missing key `{json_path}`", path.display())]
    MissingKey { path: PathBuf, json_path: String },
    #[error("{}: `{json_path}` is {found}, expected {expected}", path.display())]
    WrongType {
        path: PathBuf,
        json_path: String,
        expected: &'static str,
        found: String,
    },
    #[error("{}: `{json_path}` has unknown event type `{value}` (expected one of Normal, Rhonchi, Wheeze, Stridor, Coarse Crackle, Fine Crackle, Wheeze+Crackle)", path.display())]
    UnknownEventType {
        path: PathBuf,
        json_path: String,
        value: String,
    },
    #[error("{}: `{json_path}` has unknown record label `{value}` (expected one of Normal, CAS, DAS, CAS & DAS, Poor Quality)", path.display())]
    UnknownRecordLabel {
        path: PathBuf,
        json_path: String,
        value: String,
    },
    #[error("{}: `{json_path}` is {value}, expected a whole non-negative number of milliseconds", path.display())]
    BadTime {
        path: PathBuf,
        json_path: String,
        value: String,
    },
    #[error("{}: `{json_path}` starts at {start_ms} ms but ends at {end_ms} ms (start must be before end)", path.display())]
    EmptySpan {
        path: PathBuf,
        json_path: String,
        start_ms: u64,
        end_ms: u64,
    },
    #[error("{}: `record_annotation` is `{record}` but `recording_annotation` is `{recording}`", path.display())]
    ConflictingRecordKeys {
        path: PathBuf,
        record: String,
        recording: String,
    },
}

/// Short description of a JSON value for messages, e.g. `number 3` or `an array`.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

struct Ctx<'a> {
    path: &'a Path,
}

impl Ctx<'_> {
    fn missing(&self, json_path: String) -> AnnotationError {
        AnnotationError::MissingKey {
            path: self.path.to_path_buf(),
            json_path,
        }
    }

    fn wrong(&self, json_path: String, expected: &'static str, found: &Value) -> AnnotationError {
        AnnotationError::WrongType {
            path: self.path.to_path_buf(),
            json_path,
            expected,
            found: describe(found),
        }
    }

    fn string<'v>(&self, value: &'v Value, json_path: &str) -> Result<&'v str, AnnotationError> {
        value
            .as_str()
            .ok_or_else(|| self.wrong(json_path.to_string(), "a string", value))
    }

    /// `"1234"` or `1234` → 1234 ms.
    fn time_ms(&self, value: &Value, json_path: String) -> Result<u64, AnnotationError> {
        let parsed = match value {
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse::<u64>().ok()
            }
            Value::Number(n) => n.as_u64(),
            _ => None,
        };
        parsed.ok_or_else(|| AnnotationError::BadTime {
            path: self.path.to_path_buf(),
            json_path,
            value: describe(value),
        })
    }

    fn record_label(
        &self,
        top: &Map<String, Value>,
    ) -> Result<Option<RecordLabel>, AnnotationError> {
        let mut found: Option<(&str, &str)> = None;
        for key in ["record_annotation", "recording_annotation"] {
            let Some(value) = top.get(key) else { continue };
            let text = self.string(value, key)?;
            match found {
                Some((_, earlier)) if earlier != text => {
                    return Err(AnnotationError::ConflictingRecordKeys {
                        path: self.path.to_path_buf(),
                        record: earlier.to_string(),
                        recording: text.to_string(),
                    })
                }
                Some(_) => {}
                None => found = Some((key, text)),
            }
        }
        found
            .map(|(key, text)| {
                RecordLabel::from_annotation(text).ok_or_else(|| {
                    AnnotationError::UnknownRecordLabel {
                        path: self.path.to_path_buf(),
                        json_path: key.to_string(),
                        value: text.to_string(),
                    }
                })
            })
            .transpose()
    }

    fn event(&self, value: &Value, index: usize) -> Result<AnnotationEvent, AnnotationError> {
        let here = format!("event_annotation[{index}]");
        let obj = value
            .as_object()
            .ok_or_else(|| self.wrong(here.clone(), "an object", value))?;
        let field = |key: &str| {
            obj.get(key)
                .ok_or_else(|| self.missing(format!("{here}.{key}")))
        };
        let start_ms = self.time_ms(field("start")?, format!("{here}.start"))?;
        let end_ms = self.time_ms(field("end")?, format!("{here}.end"))?;
        let type_path = format!("{here}.type");
        let type_text = self.string(field("type")?, &type_path)?;
        let event_type = EventType::from_annotation(type_text).ok_or_else(|| {
            AnnotationError::UnknownEventType {
                path: self.path.to_path_buf(),
                json_path: type_path,
                value: type_text.to_string(),
            }
        })?;
        if start_ms >= end_ms {
            return Err(AnnotationError::EmptySpan {
                path: self.path.to_path_buf(),
                json_path: here,
                start_ms,
                end_ms,
            });
        }
        Ok(AnnotationEvent {
            start_ms,
            end_ms,
            event_type,
            index_in_file: index,
        })
    }
}

/// Parses the text of annotation file `path` (used in messages only). Events come back sorted by
/// start time; each keeps its index in the file.
pub fn parse_annotation_json(path: &Path, text: &str) -> Result<ParsedAnnotation, AnnotationError> {
    let ctx = Ctx { path };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let root: Value = serde_json::from_str(text).map_err(|e| AnnotationError::Malformed {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let top = root
        .as_object()
        .ok_or_else(|| ctx.wrong("(top level)".into(), "an object", &root))?;
    let record_label = ctx.record_label(top)?;
    let events_value = top
        .get("event_annotation")
        .ok_or_else(|| ctx.missing("event_annotation".into()))?;
    let items = events_value
        .as_array()
        .ok_or_else(|| ctx.wrong("event_annotation".into(), "an array", events_value))?;
    let mut events = items
        .iter()
        .enumerate()
        .map(|(i, v)| ctx.event(v, i))
        .collect::<Result<Vec<_>, _>>()?;
    events.sort_by_key(|e| e.start_ms);
    Ok(ParsedAnnotation {
        record_label,
        events,
    })
}
