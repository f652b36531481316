//! Segments of a new recording to classify (`auscult predict`): its annotated cycles or events
//! (an ICBHI `.txt` or SPRSound `.json` annotation), or fixed windows when it has none, and their
//! features made exactly as `pipeline build` makes a cache's (same frame arithmetic, same
//! [`CycleFeaturizer`]).

use std::path::{Path, PathBuf};

use crate::audio::{self, AudioInfo};
use crate::features::CycleFeaturizer;
use crate::icbhi;
use crate::record::frame_range;
use crate::sprsound::json::parse_annotation_json;
use crate::PipelineError;

/// How a recording is cut into segments.
#[derive(Debug, Clone, PartialEq)]
pub enum Segmentation {
    /// The cycles of an ICBHI annotation (`.txt`) or the events of an SPRSound one (`.json`).
    Annotation(PathBuf),
    /// Windows of `window_s` seconds every `hop_s` seconds; the last one ends with the audio.
    Windows { window_s: f64, hop_s: f64 },
}

/// One segment of a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Position in the recording's segmentation (annotation order for annotations).
    pub index: usize,
    pub start_s: f64,
    pub end_s: f64,
    /// Frames `[start, end)` at the file's sample rate.
    pub frames: (u64, u64),
    /// The annotation's label (class id and name, in the annotation's dataset), if any.
    pub label: Option<(i64, String)>,
}

/// The segments of `audio_path` (probed as `info`). Annotated spans running past the end of the
/// audio are left out, as `pipeline build` leaves them out, and returned as warnings.
pub fn segments(
    audio_path: &Path,
    info: &AudioInfo,
    how: &Segmentation,
) -> Result<(Vec<Segment>, Vec<String>), PipelineError> {
    let sr = info.sample_rate;
    let mut out = Vec::new();
    match how {
        Segmentation::Windows { window_s, hop_s } => {
            if !(*window_s > 0.0 && *hop_s > 0.0) {
                return Err(PipelineError::Options(format!(
                    "--window ({window_s}) and --hop ({hop_s}) must be > 0 seconds"
                )));
            }
            let frames = |s: f64| ((s * sr as f64) as u64).min(info.frames);
            let mut start = 0.0f64;
            for index in 0.. {
                let (a, b) = (frames(start), frames(start + window_s));
                if b <= a {
                    break;
                }
                out.push(Segment {
                    index,
                    start_s: start,
                    end_s: b as f64 / sr as f64,
                    frames: (a, b),
                    label: None,
                });
                if b >= info.frames {
                    break;
                }
                start = (index + 1) as f64 * hop_s;
            }
            Ok((out, Vec::new()))
        }
        Segmentation::Annotation(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Io {
                path: path.clone(),
                source,
            })?;
            let spans = annotated_spans(path, &text)?;
            let mut warnings = Vec::new();
            for (index, (span, label)) in spans.into_iter().enumerate() {
                let (a, b) = frame_range(span.onset_s, span.offset_s, span.span_ms, sr);
                if b > info.frames || b <= a {
                    warnings.push(format!(
                        "{}: segment {index} ({:.3}–{:.3} s) lies outside {} ({} frames at {sr} \
                         Hz): left out",
                        path.display(),
                        span.onset_s,
                        span.offset_s,
                        audio_path.display(),
                        info.frames
                    ));
                    continue;
                }
                out.push(Segment {
                    index,
                    start_s: span.onset_s,
                    end_s: span.offset_s,
                    frames: (a, b),
                    label: Some(label),
                });
            }
            Ok((out, warnings))
        }
    }
}

/// An annotated span: what decides its frames.
struct Span {
    onset_s: f64,
    offset_s: f64,
    /// Exact milliseconds (SPRSound).
    span_ms: Option<(u64, u64)>,
}

/// A span's label: class id and name, in the annotation's dataset.
type Label = (i64, String);

/// Spans of an annotation file as the dataset readers make them, with each span's label.
fn annotated_spans(path: &Path, text: &str) -> Result<Vec<(Span, Label)>, PipelineError> {
    let record = |onset_s, offset_s, span_ms| Span {
        onset_s,
        offset_s,
        span_ms,
    };
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if json {
        let parsed =
            parse_annotation_json(path, text).map_err(|e| PipelineError::Layout(e.to_string()))?;
        return Ok(parsed
            .events
            .iter()
            .map(|e| {
                (
                    record(
                        e.start_ms as f64 / 1000.0,
                        e.end_ms as f64 / 1000.0,
                        Some((e.start_ms, e.end_ms)),
                    ),
                    (e.event_type.class_id(), e.event_type.name().to_string()),
                )
            })
            .collect());
    }
    let (cycles, issues) = icbhi::parse_annotation(path, text);
    if let Some(first) = issues.into_iter().next() {
        return Err(PipelineError::BadInputs(vec![first]));
    }
    let classes = icbhi::icbhi_classes();
    Ok(cycles
        .iter()
        .map(|c| {
            let id = c.label();
            let name = classes
                .get(id as usize)
                .map_or_else(|| id.to_string(), |k| k.name.clone());
            (record(c.onset_s, c.offset_s, None), (id, name))
        })
        .collect())
}

/// The features of `segs` of `audio_path`, concatenated row after row (`[n, n_mels, n_frames]`,
/// mel-major), as a cache stores them.
pub fn featurize(
    featurizer: &CycleFeaturizer,
    audio_path: &Path,
    info: &AudioInfo,
    segs: &[Segment],
) -> Result<Vec<f32>, PipelineError> {
    let mut out = Vec::with_capacity(segs.len() * featurizer.params().feature_len());
    for s in segs {
        let samples = audio::read_range(audio_path, info, s.frames.0, s.frames.1)?;
        let f = featurizer
            .featurize(&samples, info.sample_rate)
            .map_err(|e| PipelineError::Audio {
                path: audio_path.to_path_buf(),
                msg: format!(
                    "segment {} ({:.3}–{:.3} s): {e}",
                    s.index, s.start_s, s.end_s
                ),
            })?;
        out.extend(f);
    }
    Ok(out)
}
