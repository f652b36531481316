//! ICBHI 2017 reader: recording names, cycle annotations, the official split, demographics and
//! diagnoses → one [`CycleRecord`] per respiratory cycle. No audio is touched here.
//!
//! Accepted layouts under `--input` (each path can be overridden):
//! - official: `ICBHI_final_database/` (`<name>.wav` beside `<name>.txt`),
//!   `ICBHI_challenge_train_test.txt`, `ICBHI_Challenge_demographic_information.txt`,
//!   `ICBHI_Challenge_diagnosis.txt` (tab-separated, no header);
//! - the common Kaggle copy: `audio_and_txt_files/`, `demographic_info.txt`,
//!   `patient_diagnosis.csv` (`ID,CLASS` header);
//! - a folder that directly holds the `<name>.txt` annotations (and possibly the WAVs).
//!
//! Recordings are matched to the split file by their first four name fields (patient, index,
//! location, mode): copies of the database differ in the device suffix.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use auscult_cache::ClassInfo;

use crate::error::{InputIssue, PipelineError};
use crate::record::{CycleRecord, IcbhiMeta, Origin, RecordMeta};

/// ICBHI class names by label index.
pub const ICBHI_CLASSES: [&str; 4] = ["normal", "crackle", "wheeze", "both"];

/// Label of a cycle from its annotation flags: 0 normal, 1 crackle, 2 wheeze, 3 both (indices
/// into [`ICBHI_CLASSES`]).
pub fn cycle_label(crackles: bool, wheezes: bool) -> i64 {
    match (crackles, wheezes) {
        (false, false) => 0,
        (true, false) => 1,
        (false, true) => 2,
        (true, true) => 3,
    }
}

/// The class list an ICBHI cache's manifest declares: [`ICBHI_CLASSES`] in label order, with
/// the class of cycles without crackles or wheezes (`normal`) the only normal one.
pub fn icbhi_classes() -> Vec<ClassInfo> {
    let normal = cycle_label(false, false);
    ICBHI_CLASSES
        .iter()
        .zip(0i64..)
        .map(|(name, id)| ClassInfo {
            id,
            name: name.to_string(),
            normal: id == normal,
        })
        .collect()
}

/// Where the parts of an ICBHI database are, after discovery and overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct IcbhiPaths {
    /// Folder holding `<name>.txt` annotations (and, normally, `<name>.wav`).
    pub recordings_dir: PathBuf,
    pub split_file: PathBuf,
    pub demographics_file: Option<PathBuf>,
    pub diagnosis_file: Option<PathBuf>,
}

/// Options of the ICBHI reader; `None` paths are discovered under `input`.
#[derive(Debug, Clone)]
pub struct IcbhiOptions {
    pub input: PathBuf,
    pub recordings_dir: Option<PathBuf>,
    pub split_file: Option<PathBuf>,
    pub demographics_file: Option<PathBuf>,
    pub diagnosis_file: Option<PathBuf>,
    /// Patients younger than this (years) are `child`, others `adult`.
    pub child_age_threshold_years: f64,
    /// Whether WAV files must sit beside the annotations (false for `--metadata-only`).
    pub require_audio: bool,
}

impl IcbhiOptions {
    pub fn new(input: impl Into<PathBuf>) -> Self {
        IcbhiOptions {
            input: input.into(),
            recordings_dir: None,
            split_file: None,
            demographics_file: None,
            diagnosis_file: None,
            child_age_threshold_years: 18.0,
            require_audio: true,
        }
    }
}

/// The five fields of a recording name such as `101_1b1_Al_sc_Meditron`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingName {
    pub patient_id: i64,
    pub recording_index: String,
    pub chest_location: String,
    pub acquisition_mode: String,
    pub device: String,
}

impl RecordingName {
    /// Split-file key: the first four fields (device suffixes differ between copies).
    pub fn split_key(&self) -> String {
        format!(
            "{}_{}_{}_{}",
            self.patient_id, self.recording_index, self.chest_location, self.acquisition_mode
        )
    }
}

/// Parses `<patient>_<index>_<location>_<mode>_<device>`.
pub fn parse_recording_name(stem: &str) -> Result<RecordingName, String> {
    let parts: Vec<&str> = stem.split('_').collect();
    if parts.len() != 5 {
        return Err(format!(
            "recording name `{stem}` does not have the 5 fields patient_index_location_mode_device"
        ));
    }
    let patient_id = parts[0].parse::<i64>().map_err(|_| {
        format!(
            "recording name `{stem}`: patient id `{}` is not a number",
            parts[0]
        )
    })?;
    if parts[1..].iter().any(|p| p.is_empty()) {
        return Err(format!("recording name `{stem}` has an empty field"));
    }
    Ok(RecordingName {
        patient_id,
        recording_index: parts[1].to_string(),
        chest_location: parts[2].to_string(),
        acquisition_mode: parts[3].to_string(),
        device: parts[4].to_string(),
    })
}

/// One annotation line: `onset offset crackles wheezes` (tab or space separated).
#[derive(Debug, Clone, PartialEq)]
pub struct CycleLine {
    pub line: usize,
    pub onset_s: f64,
    pub offset_s: f64,
    pub crackles: bool,
    pub wheezes: bool,
}

impl CycleLine {
    /// The cycle's class id ([`cycle_label`]).
    pub fn label(&self) -> i64 {
        cycle_label(self.crackles, self.wheezes)
    }
}

fn parse_flag(s: &str) -> Option<bool> {
    match s {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

/// Parses an annotation file's text. Good lines come back in order; each bad line is an issue
/// naming the file and its 1-based line number. Blank lines are ignored.
pub fn parse_annotation(path: &Path, text: &str) -> (Vec<CycleLine>, Vec<InputIssue>) {
    let mut cycles = Vec::new();
    let mut issues = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let fields: Vec<&str> = raw.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let bad = |why: String| InputIssue::at_line(path, line, why);
        if fields.len() != 4 {
            issues.push(bad(format!(
                "expected 4 fields `onset offset crackles wheezes`, found {}: `{}`",
                fields.len(),
                raw.trim()
            )));
            continue;
        }
        let (onset, offset) = match (fields[0].parse::<f64>(), fields[1].parse::<f64>()) {
            (Ok(a), Ok(b)) if a.is_finite() && b.is_finite() => (a, b),
            _ => {
                issues.push(bad(format!(
                    "onset/offset `{}`/`{}` are not numbers",
                    fields[0], fields[1]
                )));
                continue;
            }
        };
        let (Some(crackles), Some(wheezes)) = (parse_flag(fields[2]), parse_flag(fields[3])) else {
            issues.push(bad(format!(
                "crackles/wheezes must be 0 or 1, found `{}`/`{}`",
                fields[2], fields[3]
            )));
            continue;
        };
        if onset < 0.0 {
            issues.push(bad(format!("onset {onset} is negative")));
            continue;
        }
        if onset >= offset {
            issues.push(bad(format!(
                "onset {onset} s is not before offset {offset} s"
            )));
            continue;
        }
        cycles.push(CycleLine {
            line,
            onset_s: onset,
            offset_s: offset,
            crackles,
            wheezes,
        });
    }
    (cycles, issues)
}

/// Split file: `<name>\t<train|test>` → split by four-field key.
pub fn parse_split_file(
    path: &Path,
    text: &str,
) -> Result<BTreeMap<String, String>, PipelineError> {
    let mut map = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let fields: Vec<&str> = raw.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let err = |why: String| PipelineError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            msg: why,
        };
        if fields.len() != 2 {
            return Err(err(format!(
                "expected `<recording>\t<train|test>`, found `{}`",
                raw.trim()
            )));
        }
        let split = fields[1].to_ascii_lowercase();
        if split != "train" && split != "test" {
            return Err(err(format!(
                "split must be train or test, found `{}`",
                fields[1]
            )));
        }
        let name = parse_recording_name(fields[0]).map_err(err)?;
        map.insert(name.split_key(), split);
    }
    Ok(map)
}

/// One patient's row of the demographics file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Demographics {
    pub age: Option<f64>,
    pub sex: Option<String>,
    pub adult_bmi: Option<f64>,
    pub child_weight_kg: Option<f64>,
    pub child_height_cm: Option<f64>,
}

fn na_f64(s: Option<&&str>) -> Result<Option<f64>, String> {
    match s {
        None => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("NA") || v.is_empty() => Ok(None),
        Some(v) => v
            .parse::<f64>()
            .map(Some)
            .map_err(|_| format!("`{v}` is not a number or NA")),
    }
}

/// Demographics: `id age sex adult_BMI child_weight_kg child_height_cm`, whitespace-separated,
/// `NA` where missing. Missing trailing fields are treated as NA.
pub fn parse_demographics(
    path: &Path,
    text: &str,
) -> Result<BTreeMap<i64, Demographics>, PipelineError> {
    let mut map = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let f: Vec<&str> = raw.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        let err = |why: String| PipelineError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            msg: why,
        };
        let Ok(id) = f[0].parse::<i64>() else {
            if i == 0 {
                continue; // a header line
            }
            return Err(err(format!("patient id `{}` is not a number", f[0])));
        };
        if f.len() > 6 {
            return Err(err(format!("expected at most 6 fields, found {}", f.len())));
        }
        let sex = match f.get(2) {
            None => None,
            Some(s) if s.eq_ignore_ascii_case("NA") => None,
            Some(s) if *s == "M" || *s == "F" => Some(s.to_string()),
            Some(s) => return Err(err(format!("sex must be M, F or NA, found `{s}`"))),
        };
        let d = Demographics {
            age: na_f64(f.get(1)).map_err(err)?,
            sex,
            adult_bmi: na_f64(f.get(3)).map_err(err)?,
            child_weight_kg: na_f64(f.get(4)).map_err(err)?,
            child_height_cm: na_f64(f.get(5)).map_err(err)?,
        };
        map.insert(id, d);
    }
    Ok(map)
}

/// Diagnoses: official `id\tdiagnosis` (no header) or Kaggle `ID,CLASS` (header).
pub fn parse_diagnosis(path: &Path, text: &str) -> Result<BTreeMap<i64, String>, PipelineError> {
    let mut map = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let err = |why: String| PipelineError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            msg: why,
        };
        let mut parts = raw.splitn(2, [',', '\t']);
        let id = parts.next().unwrap_or("").trim();
        let diagnosis = parts.next().map(str::trim).unwrap_or("");
        let Ok(id) = id.parse::<i64>() else {
            if i == 0 {
                continue; // header `ID,CLASS`
            }
            return Err(err(format!("patient id `{id}` is not a number")));
        };
        if diagnosis.is_empty() {
            return Err(err("missing diagnosis".into()));
        }
        map.insert(id, diagnosis.to_string());
    }
    Ok(map)
}

fn first_existing(root: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| root.join(n)).find(|p| p.exists())
}

/// Finds the database parts under `opts.input`, honouring overrides.
pub fn discover(opts: &IcbhiOptions) -> Result<IcbhiPaths, PipelineError> {
    let root = &opts.input;
    if !root.is_dir() {
        return Err(PipelineError::Layout(format!(
            "input folder {} does not exist",
            root.display()
        )));
    }
    let recordings_dir = match &opts.recordings_dir {
        Some(d) => resolve(root, d),
        None => first_existing(root, &["ICBHI_final_database", "audio_and_txt_files"])
            .unwrap_or_else(|| root.clone()),
    };
    if !recordings_dir.is_dir() {
        return Err(PipelineError::Layout(format!(
            "recordings folder {} does not exist",
            recordings_dir.display()
        )));
    }
    let parent = recordings_dir.parent().map(Path::to_path_buf);
    let look = |names: &[&str]| {
        first_existing(root, names)
            .or_else(|| parent.as_deref().and_then(|p| first_existing(p, names)))
    };
    let split_file = match &opts.split_file {
        Some(f) => resolve(root, f),
        None => look(&["ICBHI_challenge_train_test.txt"]).ok_or_else(|| {
            PipelineError::Layout(format!(
                "no split file ICBHI_challenge_train_test.txt in {}; pass --split-file",
                root.display()
            ))
        })?,
    };
    let demographics_file = match &opts.demographics_file {
        Some(f) => Some(resolve(root, f)),
        None => look(&[
            "ICBHI_Challenge_demographic_information.txt",
            "demographic_info.txt",
        ]),
    };
    let diagnosis_file = match &opts.diagnosis_file {
        Some(f) => Some(resolve(root, f)),
        None => look(&["ICBHI_Challenge_diagnosis.txt", "patient_diagnosis.csv"]),
    };
    Ok(IcbhiPaths {
        recordings_dir,
        split_file,
        demographics_file,
        diagnosis_file,
    })
}

fn resolve(root: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() || p.exists() {
        p.to_path_buf()
    } else {
        root.join(p)
    }
}

/// The result of reading an ICBHI database's text files.
#[derive(Debug, Clone)]
pub struct IcbhiScan {
    pub paths: IcbhiPaths,
    pub records: Vec<CycleRecord>,
    /// Problems with single inputs; the build fails on them or skips them (`--on-error`).
    pub issues: Vec<InputIssue>,
    pub recordings: usize,
}

pub(crate) fn read_text(path: &Path) -> Result<String, PipelineError> {
    let bytes = std::fs::read(path).map_err(|e| PipelineError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| PipelineError::Parse {
        path: path.to_path_buf(),
        line: 0,
        msg: format!("not UTF-8 text: {e}"),
    })
}

/// Reads every annotation under the recordings folder into cycle records, sorted by recording
/// name then line. Files that fail as a whole (bad name, absent from the split, no WAV when audio
/// is required) become issues; so do WAVs without an annotation.
pub fn scan_icbhi(opts: &IcbhiOptions) -> Result<IcbhiScan, PipelineError> {
    let paths = discover(opts)?;
    let split = parse_split_file(&paths.split_file, &read_text(&paths.split_file)?)?;
    let demographics = match &paths.demographics_file {
        Some(p) => parse_demographics(p, &read_text(p)?)?,
        None => BTreeMap::new(),
    };
    let diagnoses = match &paths.diagnosis_file {
        Some(p) => parse_diagnosis(p, &read_text(p)?)?,
        None => BTreeMap::new(),
    };

    let mut txt = BTreeSet::new();
    let mut wav = BTreeSet::new();
    let entries = std::fs::read_dir(&paths.recordings_dir)
        .map_err(|e| PipelineError::io(&paths.recordings_dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| PipelineError::io(&paths.recordings_dir, e))?;
        let p = entry.path();
        let (Some(stem), Some(ext)) = (p.file_stem().and_then(|s| s.to_str()), p.extension())
        else {
            continue;
        };
        match ext.to_str().map(str::to_ascii_lowercase).as_deref() {
            Some("txt") => {
                txt.insert(stem.to_string());
            }
            Some("wav") => {
                wav.insert(stem.to_string());
            }
            _ => {}
        }
    }
    let mut issues = Vec::new();
    let mut records = Vec::new();
    if opts.require_audio {
        for stem in wav.difference(&txt) {
            issues.push(InputIssue::file(
                &paths.recordings_dir.join(format!("{stem}.wav")),
                "audio without annotation: no .txt beside it".to_string(),
            ));
        }
    }
    let mut recordings = 0;
    for stem in &txt {
        let ann_path = paths.recordings_dir.join(format!("{stem}.txt"));
        let name = match parse_recording_name(stem) {
            Ok(n) => n,
            Err(e) => {
                // Non-recording text files (README etc.) are not ICBHI annotations.
                if !wav.contains(stem) && !stem.contains('_') {
                    continue;
                }
                issues.push(InputIssue::file(&ann_path, e));
                continue;
            }
        };
        let audio_path = paths.recordings_dir.join(format!("{stem}.wav"));
        if opts.require_audio && !wav.contains(stem) {
            issues.push(InputIssue::file(
                &ann_path,
                "annotation without audio: no .wav beside it",
            ));
            continue;
        }
        let Some(split_name) = split.get(&name.split_key()) else {
            issues.push(InputIssue::file(
                &ann_path,
                format!(
                    "recording {stem} is absent from the split file {} (matched on `{}`)",
                    paths.split_file.display(),
                    name.split_key()
                ),
            ));
            continue;
        };
        let text = read_text(&ann_path)?;
        let (cycles, bad) = parse_annotation(&ann_path, &text);
        issues.extend(bad);
        recordings += 1;
        let demo = demographics
            .get(&name.patient_id)
            .cloned()
            .unwrap_or_default();
        let age_group = demo.age.map(|a| {
            if a < opts.child_age_threshold_years {
                "child"
            } else {
                "adult"
            }
            .to_string()
        });
        for c in cycles {
            let label = c.label();
            records.push(CycleRecord {
                recording: stem.clone(),
                audio_path: audio_path.clone(),
                annotation_path: ann_path.clone(),
                origin: Origin::Line(c.line),
                onset_s: c.onset_s,
                offset_s: c.offset_s,
                span_ms: None,
                label,
                label_name: ICBHI_CLASSES[label as usize].to_string(),
                split: split_name.clone(),
                meta: RecordMeta::Icbhi(IcbhiMeta {
                    patient_id: name.patient_id,
                    recording_index: name.recording_index.clone(),
                    chest_location: name.chest_location.clone(),
                    acquisition_mode: name.acquisition_mode.clone(),
                    device: name.device.clone(),
                    crackles: c.crackles,
                    wheezes: c.wheezes,
                    age: demo.age,
                    sex: demo.sex.clone(),
                    adult_bmi: demo.adult_bmi,
                    child_weight_kg: demo.child_weight_kg,
                    child_height_cm: demo.child_height_cm,
                    diagnosis: diagnoses.get(&name.patient_id).cloned(),
                    age_group: age_group.clone(),
                }),
            });
        }
    }
    Ok(IcbhiScan {
        paths,
        records,
        issues,
        recordings,
    })
}
