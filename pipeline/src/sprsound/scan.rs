//! Walking a SPRSound checkout: every annotation folder → records, counts and per-file issues.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::json::{parse_annotation_json, ParsedAnnotation};
use super::labels::RecordLabel;
use super::layout::{discover_sources, files_with_extension, JsonSource};
use super::names::{parse_stem, StemFields};
use super::{InputIssue, SprsoundError, SprsoundOptions};
use crate::record::{CycleRecord, Origin, RecordMeta, SprsoundMeta};

/// Tallies for one split. Except `json_files` and `files_with_issues`, they cover only the JSON
/// files that had no issue.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SplitCounts {
    /// Annotation files found.
    pub json_files: usize,
    /// Annotation files excluded because of an [`InputIssue`].
    pub files_with_issues: usize,
    /// Records per `record_annotation` value.
    pub record_labels: BTreeMap<String, usize>,
    /// Records without a record key (2024+ test files).
    pub without_record_label: usize,
    /// `Poor Quality` records (never turned into rows).
    pub poor_quality: usize,
    /// Events listed in `Poor Quality` records (dropped with them).
    pub poor_quality_events: usize,
    /// Other records with an empty `event_annotation` (no rows).
    pub without_events: usize,
    /// Rows produced, per event type (normalised spelling).
    pub event_types: BTreeMap<String, usize>,
    /// Rows produced.
    pub events: usize,
}

/// Tallies of one scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SprsoundCounts {
    /// Per split (`train`, `inter_test`, `intra_test`, `test_<YEAR>`).
    pub splits: BTreeMap<String, SplitCounts>,
    /// WAV files found in the audio folders.
    pub wav_files: usize,
    /// WAV files no annotation file refers to (each is also an issue).
    pub wav_without_json: usize,
}

/// Result of [`scan_sprsound`].
#[derive(Debug, Clone, Default)]
pub struct SprsoundScan {
    /// One row per event of every usable record, in folder order (year, train / inter / intra /
    /// later test), file-name order, then start-time order.
    pub records: Vec<CycleRecord>,
    /// Unusable files; the records of an annotation file with an issue are left out.
    pub issues: Vec<InputIssue>,
    pub counts: SprsoundCounts,
}

/// WAV files of one audio folder, by stem.
type WavListing = BTreeMap<String, PathBuf>;

fn list_wavs(dir: &Path, issues: &mut Vec<InputIssue>) -> Result<WavListing, SprsoundError> {
    let mut listing = WavListing::new();
    if !dir.is_dir() {
        return Ok(listing);
    }
    for path in files_with_extension(dir, "wav")? {
        match path.file_stem().and_then(|s| s.to_str()) {
            Some(stem) => {
                listing.insert(stem.to_string(), path.clone());
            }
            None => issues.push(InputIssue {
                reason: format!("{}: file name is not valid UTF-8", path.display()),
                input: path,
            }),
        }
    }
    Ok(listing)
}

/// Everything known about one usable annotation file.
struct AnnotatedRecording {
    stem: String,
    fields: StemFields,
    annotation: ParsedAnnotation,
    audio_path: PathBuf,
}

fn read_annotation_file(
    json_path: &Path,
    stem: &str,
    source: &JsonSource,
    wavs: &WavListing,
    require_audio: bool,
) -> Result<AnnotatedRecording, String> {
    let at = json_path.display();
    let fields = parse_stem(stem).map_err(|e| format!("{at}: {e}"))?;
    let bytes = fs::read(json_path).map_err(|e| format!("{at}: cannot read: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| format!("{at}: not UTF-8 text: {e}"))?;
    let annotation = parse_annotation_json(json_path, &text).map_err(|e| e.to_string())?;
    let audio_path = match wavs.get(stem) {
        Some(path) => path.clone(),
        None if require_audio => {
            return Err(format!(
                "{at}: annotation without audio: no {stem}.wav in {}",
                source.wav_dir.display()
            ))
        }
        None => source.wav_dir.join(format!("{stem}.wav")),
    };
    Ok(AnnotatedRecording {
        stem: stem.to_string(),
        fields,
        annotation,
        audio_path,
    })
}

/// Appends the rows of one usable recording and updates the split's counts.
fn emit_rows(
    rec: AnnotatedRecording,
    json_path: &Path,
    source: &JsonSource,
    opts: &SprsoundOptions,
    counts: &mut SplitCounts,
    records: &mut Vec<CycleRecord>,
) {
    let label = rec.annotation.record_label;
    match label {
        Some(l) => {
            *counts
                .record_labels
                .entry(l.name().to_string())
                .or_default() += 1
        }
        None => counts.without_record_label += 1,
    }
    if label == Some(RecordLabel::PoorQuality) {
        counts.poor_quality += 1;
        counts.poor_quality_events += rec.annotation.events.len();
        return;
    }
    if rec.annotation.events.is_empty() {
        counts.without_events += 1;
        return;
    }
    let age_group = if rec.fields.age_years < opts.age_group_threshold_years {
        "baby"
    } else {
        "kid"
    };
    for (i, event) in rec.annotation.events.iter().enumerate() {
        let name = event.event_type.name();
        *counts.event_types.entry(name.to_string()).or_default() += 1;
        counts.events += 1;
        records.push(CycleRecord {
            recording: rec.stem.clone(),
            audio_path: rec.audio_path.clone(),
            annotation_path: json_path.to_path_buf(),
            origin: Origin::Event(i),
            onset_s: event.start_ms as f64 / 1000.0,
            offset_s: event.end_ms as f64 / 1000.0,
            span_ms: Some((event.start_ms, event.end_ms)),
            label: event.event_type.class_id(),
            label_name: name.to_string(),
            split: source.split.clone(),
            meta: RecordMeta::Sprsound(SprsoundMeta {
                patient_id: rec.fields.patient_id.clone(),
                age: rec.fields.age_years,
                sex: rec.fields.sex.to_string(),
                chest_location: rec.fields.location_code.clone(),
                chest_location_name: rec.fields.location_name.map(str::to_string),
                recording_id: rec.fields.recording_id.clone(),
                year: source.year,
                record_label: label.map(|l| l.name().to_string()),
                event_type: name.to_string(),
                label_binary: event.event_type.binary_label(),
                age_group: age_group.to_string(),
                event_index_in_file: event.index_in_file,
            }),
        });
    }
}

/// Reads every annotation folder under `opts.input` (see [`super::layout`]). Layout failures
/// are errors; a bad JSON or WAV file becomes an [`InputIssue`] and its rows are left out, so the
/// caller decides whether to fail or skip. Checked per file: file-name fields, JSON syntax and
/// schema, event types, times, the WAV for each JSON (when `require_audio`), a WAV for which no
/// JSON exists, and a stem annotated twice for one audio folder.
pub fn scan_sprsound(opts: &SprsoundOptions) -> Result<SprsoundScan, SprsoundError> {
    if !opts.age_group_threshold_years.is_finite() {
        return Err(SprsoundError::BadAgeThreshold(
            opts.age_group_threshold_years,
        ));
    }
    let mut sources = discover_sources(&opts.input)?;
    if let Some(years) = &opts.years {
        let found: Vec<i32> = sources.iter().map(|s| s.year).collect();
        sources.retain(|s| years.contains(&s.year));
        if sources.is_empty() {
            let mut found = found;
            found.dedup();
            return Err(SprsoundError::NoFoldersForYears {
                path: opts.input.clone(),
                years: years.clone(),
                found,
            });
        }
    }

    let mut scan = SprsoundScan::default();
    let mut wav_listings: BTreeMap<PathBuf, WavListing> = BTreeMap::new();
    for source in &sources {
        if !wav_listings.contains_key(&source.wav_dir) {
            let listing = list_wavs(&source.wav_dir, &mut scan.issues)?;
            scan.counts.wav_files += listing.len();
            wav_listings.insert(source.wav_dir.clone(), listing);
        }
    }
    // Which annotation file claimed each stem of each audio folder.
    let mut claimed: BTreeMap<(PathBuf, String), PathBuf> = BTreeMap::new();

    for source in &sources {
        let wavs = &wav_listings[&source.wav_dir];
        let counts = scan.counts.splits.entry(source.split.clone()).or_default();
        for json_path in files_with_extension(&source.json_dir, "json")? {
            counts.json_files += 1;
            let outcome = match json_path.file_stem().and_then(|s| s.to_str()) {
                None => Err(format!(
                    "{}: file name is not valid UTF-8",
                    json_path.display()
                )),
                Some(stem) => match claimed.get(&(source.wav_dir.clone(), stem.to_string())) {
                    Some(first) => Err(format!(
                        "{}: recording {stem} is already annotated by {}",
                        json_path.display(),
                        first.display()
                    )),
                    None => {
                        claimed.insert(
                            (source.wav_dir.clone(), stem.to_string()),
                            json_path.clone(),
                        );
                        read_annotation_file(&json_path, stem, source, wavs, opts.require_audio)
                    }
                },
            };
            match outcome {
                Ok(rec) => emit_rows(rec, &json_path, source, opts, counts, &mut scan.records),
                Err(reason) => {
                    counts.files_with_issues += 1;
                    scan.issues.push(InputIssue {
                        input: json_path,
                        reason,
                    });
                }
            }
        }
    }

    for (wav_dir, listing) in &wav_listings {
        for (stem, wav_path) in listing {
            if !claimed.contains_key(&(wav_dir.clone(), stem.clone())) {
                scan.counts.wav_without_json += 1;
                let json_dirs: Vec<String> = sources
                    .iter()
                    .filter(|s| &s.wav_dir == wav_dir)
                    .map(|s| s.json_dir.display().to_string())
                    .collect();
                scan.issues.push(InputIssue {
                    input: wav_path.clone(),
                    reason: format!(
                        "{}: audio without annotation: no {stem}.json in {}",
                        wav_path.display(),
                        json_dirs.join(" or ")
                    ),
                });
            }
        }
    }
    Ok(scan)
}
