//! The ICBHI-scale benchmark corpus: real annotation timings, synthetic audio.
//!
//! For every `<name>.txt` of an annotation folder (the real `all_annotations/`: 920 files, 6898
//! cycles) it writes `<out>/ICBHI_final_database/<name>.wav` at the device's rate and bit depth,
//! long enough for all cycles (last offset + 0.5 s), each cycle's span filled with the class sound
//! of its crackles/wheezes flags, and copies the annotation file beside it. The split file is
//! copied as `<out>/ICBHI_challenge_train_test.txt`; demographics and diagnosis files keep their
//! own file names (the ICBHI reader accepts the official and the Kaggle names).
//!
//! Formats: AKGC417L, Meditron and LittC2SE at 44.1 kHz, Litt3200 at 4 kHz 16-bit; a
//! deterministic ~5 % of the non-Litt3200 files at 10 kHz and ~10 % at 16 bits (24 otherwise),
//! chosen by a hash of the seed and the name, so a file's format and audio do not depend on
//! which other files are present or on the thread count.

use std::fs;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::fsio::{copy_atomic, create_dir_all, write_atomic};
use super::icbhi::{DATABASE_DIR, SPLIT_FILE};
use super::signals::{render_recording, CycleSpan, SoundClass};
use super::wav::{write_pcm_wav, PcmFormat};
use super::{SynthError, SynthReport};

/// Where the real metadata comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusFromAnnotations {
    /// Folder of `<name>.txt` cycle annotations (other files are ignored).
    pub annotations_dir: PathBuf,
    /// `<name>\t<train|test>` file, copied to `<out>/ICBHI_challenge_train_test.txt`.
    pub split_file: PathBuf,
    /// Copied to `<out>/<its file name>` when given.
    pub demographics_file: Option<PathBuf>,
    /// Copied to `<out>/<its file name>` when given.
    pub diagnosis_file: Option<PathBuf>,
    /// Seed of the audio and of the 10 kHz / 16-bit subsets.
    pub seed: u64,
}

/// Silence kept after the last cycle's offset.
pub const TAIL_SECONDS: f64 = 0.5;

/// One annotation line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnnotatedCycle {
    /// Cycle start in seconds.
    pub onset_s: f64,
    /// Cycle end in seconds.
    pub offset_s: f64,
    /// Class from the crackles and wheezes flags.
    pub class: SoundClass,
}

/// One annotation file: its name, parsed cycles and raw bytes (copied unchanged).
struct AnnotationFile {
    name: String,
    path: PathBuf,
    cycles: Vec<AnnotatedCycle>,
    raw: Vec<u8>,
    format: PcmFormat,
}

/// Generates the corpus under `out` and reports what it wrote.
pub fn synth_icbhi_from_annotations(
    out: &Path,
    opts: &CorpusFromAnnotations,
) -> Result<SynthReport, SynthError> {
    let files = read_annotations(&opts.annotations_dir, opts.seed)?;
    let db = out.join(DATABASE_DIR);
    create_dir_all(&db)?;
    let seconds: Vec<f64> = files
        .par_iter()
        .map(|file| write_recording(&db, file, opts.seed))
        .collect::<Result<_, _>>()?;

    copy_atomic(&opts.split_file, &out.join(SPLIT_FILE))?;
    crate::fsio::mark_synthetic(out, "auscult-synth (real ICBHI annotations)", opts.seed)?;
    let mut files_written = 2 * files.len() + 2;
    for src in [&opts.demographics_file, &opts.diagnosis_file]
        .into_iter()
        .flatten()
    {
        let name = src.file_name().ok_or_else(|| SynthError::BadName {
            path: src.clone(),
            reason: "not a file path".to_string(),
        })?;
        copy_atomic(src, &out.join(name))?;
        files_written += 1;
    }

    let mut report = SynthReport {
        recordings: files.len(),
        audio_seconds: seconds.iter().sum(),
        files_written,
        ..SynthReport::default()
    };
    for cycle in files.iter().flat_map(|f| &f.cycles) {
        report.cycles += 1;
        report.cycles_per_label[cycle.class.label()] += 1;
    }
    Ok(report)
}

/// Reads and parses every `*.txt` in `dir`, sorted by name.
fn read_annotations(dir: &Path, seed: u64) -> Result<Vec<AnnotationFile>, SynthError> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| SynthError::io(dir, e))? {
        let path = entry.map_err(|e| SynthError::io(dir, e))?.path();
        if path.extension().is_some_and(|e| e == "txt") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let format = format_for(&path, &name, seed)?;
            let raw = fs::read(&path).map_err(|e| SynthError::io(&path, e))?;
            let cycles = parse_annotation(&path, &raw)?;
            Ok(AnnotationFile {
                name,
                path,
                cycles,
                raw,
                format,
            })
        })
        .collect()
}

/// Parses `onset offset crackles wheezes` lines (whitespace-separated; blank lines skipped).
pub fn parse_annotation(path: &Path, raw: &[u8]) -> Result<Vec<AnnotatedCycle>, SynthError> {
    let text = std::str::from_utf8(raw).map_err(|e| SynthError::Parse {
        path: path.to_path_buf(),
        line: 1 + raw[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        reason: "not UTF-8 text".to_string(),
    })?;
    let mut cycles = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let fail = |reason: String| SynthError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            reason,
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        if fields.len() != 4 {
            return Err(fail(format!(
                "expected 4 fields (onset offset crackles wheezes), found {}",
                fields.len()
            )));
        }
        let time = |s: &str, what: &str| {
            s.parse::<f64>()
                .ok()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .ok_or_else(|| fail(format!("{what} {s:?} is not a non-negative number")))
        };
        let flag = |s: &str, what: &str| match s {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(fail(format!("{what} flag {s:?} is not 0 or 1"))),
        };
        let onset_s = time(fields[0], "onset")?;
        let offset_s = time(fields[1], "offset")?;
        if offset_s <= onset_s {
            return Err(fail(format!(
                "offset {offset_s} is not after onset {onset_s}"
            )));
        }
        let class =
            SoundClass::from_flags(flag(fields[2], "crackles")?, flag(fields[3], "wheezes")?);
        cycles.push(AnnotatedCycle {
            onset_s,
            offset_s,
            class,
        });
    }
    Ok(cycles)
}

/// First 8 bytes of a BLAKE3 hash of the seed and `name`.
fn name_hash(seed: u64, name: &str) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&seed.to_le_bytes());
    hasher.update(name.as_bytes());
    let bytes = hasher.finalize();
    u64::from_le_bytes(bytes.as_bytes()[..8].try_into().expect("32-byte hash"))
}

/// Rate and bit depth for a recording name (see the module docs).
pub fn format_for(path: &Path, name: &str, seed: u64) -> Result<PcmFormat, SynthError> {
    let fields: Vec<&str> = name.split('_').collect();
    if fields.len() != 5 {
        return Err(SynthError::BadName {
            path: path.to_path_buf(),
            reason: format!(
                "expected <patient>_<index>_<location>_<mode>_<device>, found {} fields",
                fields.len()
            ),
        });
    }
    let h = name_hash(seed, name);
    let bits = if (h / 100).is_multiple_of(10) { 16 } else { 24 };
    let rate = if h % 100 < 5 { 10000 } else { 44100 };
    match fields[4] {
        "Litt3200" => Ok(PcmFormat::new(4000, 16)),
        "AKGC417L" | "Meditron" | "LittC2SE" => Ok(PcmFormat::new(rate, bits)),
        other => Err(SynthError::BadName {
            path: path.to_path_buf(),
            reason: format!("unknown device {other:?} (AKGC417L, LittC2SE, Litt3200, Meditron)"),
        }),
    }
}

/// Writes the WAV and the annotation copy of one file; returns the audio duration in seconds.
fn write_recording(db: &Path, file: &AnnotationFile, seed: u64) -> Result<f64, SynthError> {
    let rate = file.format.sample_rate as f64;
    let last = file.cycles.iter().map(|c| c.offset_s).fold(0.0, f64::max);
    let n_frames = ((last + TAIL_SECONDS) * rate).ceil() as usize;
    // Frames as the official code computes them: int(t * sr).
    let spans: Vec<CycleSpan> = file
        .cycles
        .iter()
        .map(|c| CycleSpan {
            start: (c.onset_s * rate) as usize,
            end: (c.offset_s * rate) as usize,
            class: c.class,
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(name_hash(0, &file.name));
    let samples = render_recording(n_frames, file.format.sample_rate, &spans, &mut rng);
    write_pcm_wav(
        &db.join(format!("{}.wav", file.name)),
        &samples,
        file.format,
    )?;
    write_atomic(&db.join(format!("{}.txt", file.name)), &file.raw).map_err(|e| match e {
        SynthError::Io { source, .. } => SynthError::io(&file.path, source),
        other => other,
    })?;
    Ok(n_frames as f64 / rate)
}
