//! `auscult pipeline synth --dataset icbhi`: a small random ICBHI 2017 database in the official
//! layout, with audio whose classes are learnable from a log-mel spectrogram.
//!
//! ```text
//! <out>/ICBHI_final_database/<name>.wav, <name>.txt     one pair per recording
//! <out>/ICBHI_challenge_train_test.txt                 <name>\t<train|test>, CRLF like the real file
//! <out>/ICBHI_Challenge_demographic_information.txt    id age sex adult_BMI child_weight_kg child_height_cm
//! <out>/ICBHI_Challenge_diagnosis.txt                  id\tdiagnosis
//! ```

use std::fmt::Write as _;
use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::fsio::{create_dir_all, write_atomic};
use super::icbhi_plan::{draw_plan, Demographics, Plan, Recording};
use super::signals::{render_recording, CycleSpan};
use super::wav::write_pcm_wav;
use super::{SynthError, SynthReport};

/// Folder of the recordings inside the output.
pub const DATABASE_DIR: &str = "ICBHI_final_database";
pub const SPLIT_FILE: &str = "ICBHI_challenge_train_test.txt";
pub const DEMOGRAPHICS_FILE: &str = "ICBHI_Challenge_demographic_information.txt";
pub const DIAGNOSIS_FILE: &str = "ICBHI_Challenge_diagnosis.txt";

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcbhiSynthOptions {
    /// Number of recordings (grouped 1–3 per patient).
    pub recordings: usize,
    /// Seed of every random choice; the same seed gives byte-identical files.
    pub seed: u64,
    /// Each recording gets between half this and this many cycles.
    pub max_cycles_per_recording: usize,
}

impl Default for IcbhiSynthOptions {
    fn default() -> Self {
        IcbhiSynthOptions {
            recordings: 24,
            seed: 0,
            max_cycles_per_recording: 8,
        }
    }
}

/// Writes a synthetic ICBHI database under `out` (created if missing; existing files of the same
/// names are replaced) and reports what it wrote.
pub fn synth_icbhi(out: &Path, opts: &IcbhiSynthOptions) -> Result<SynthReport, SynthError> {
    if opts.recordings == 0 || opts.max_cycles_per_recording == 0 {
        return Err(SynthError::Options(format!(
            "recordings ({}) and max_cycles_per_recording ({}) must be at least 1",
            opts.recordings, opts.max_cycles_per_recording
        )));
    }
    // Stream 0 draws the plan; stream i + 1 draws the audio of recording i.
    let plan = draw_plan(
        &mut ChaCha8Rng::seed_from_u64(opts.seed),
        opts.recordings,
        opts.max_cycles_per_recording,
    );
    let db = out.join(DATABASE_DIR);
    create_dir_all(&db)?;
    let seconds: Vec<f64> = plan
        .recordings
        .par_iter()
        .enumerate()
        .map(|(i, rec)| {
            let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
            rng.set_stream(i as u64 + 1);
            write_recording(&db, rec, &mut rng)
        })
        .collect::<Result<_, _>>()?;
    write_atomic(&out.join(SPLIT_FILE), split_text(&plan).as_bytes())?;
    write_atomic(
        &out.join(DEMOGRAPHICS_FILE),
        demographics_text(&plan).as_bytes(),
    )?;
    write_atomic(&out.join(DIAGNOSIS_FILE), diagnosis_text(&plan).as_bytes())?;
    crate::fsio::mark_synthetic(out, "auscult-synth (ICBHI layout)", opts.seed)?;

    let mut report = SynthReport {
        recordings: plan.recordings.len(),
        audio_seconds: seconds.iter().sum(),
        files_written: 2 * plan.recordings.len() + 4,
        ..SynthReport::default()
    };
    for cycle in plan.recordings.iter().flat_map(|r| &r.cycles) {
        report.cycles += 1;
        report.cycles_per_label[cycle.class.label()] += 1;
    }
    Ok(report)
}

/// Writes `<name>.wav` and `<name>.txt`; returns the audio duration in seconds.
fn write_recording(db: &Path, rec: &Recording, rng: &mut ChaCha8Rng) -> Result<f64, SynthError> {
    let format = rec.device.format;
    let rate = format.sample_rate as u64;
    let frame = |ms: u64| (ms * rate / 1000) as usize;
    let spans: Vec<CycleSpan> = rec
        .cycles
        .iter()
        .map(|c| CycleSpan {
            start: frame(c.onset_ms),
            end: frame(c.offset_ms),
            class: c.class,
        })
        .collect();
    let n_frames = frame(rec.duration_ms);
    let samples = render_recording(n_frames, format.sample_rate, &spans, rng);
    write_pcm_wav(&db.join(format!("{}.wav", rec.name)), &samples, format)?;
    write_atomic(
        &db.join(format!("{}.txt", rec.name)),
        annotation_text(rec).as_bytes(),
    )?;
    Ok(n_frames as f64 / rate as f64)
}

/// Milliseconds as seconds with exactly 3 decimals.
pub fn seconds_text(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// `onset\toffset\tcrackles\twheezes` per cycle.
fn annotation_text(rec: &Recording) -> String {
    let mut text = String::new();
    for c in &rec.cycles {
        let _ = writeln!(
            text,
            "{}\t{}\t{}\t{}",
            seconds_text(c.onset_ms),
            seconds_text(c.offset_ms),
            c.class.crackles() as u8,
            c.class.wheezes() as u8
        );
    }
    text
}

fn split_text(plan: &Plan) -> String {
    let mut text = String::new();
    for rec in &plan.recordings {
        let split = if plan.patients[rec.patient].train {
            "train"
        } else {
            "test"
        };
        let _ = write!(text, "{}\t{split}\r\n", rec.name);
    }
    text
}

/// A number with at most 2 decimals, trailing zeros dropped (`70`, `28.47`, `9.8`), or `NA`.
pub fn number_or_na(x: Option<f64>) -> String {
    match x {
        None => "NA".to_string(),
        Some(v) => {
            let s = format!("{v:.2}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    }
}

fn demographics_line(id: u32, d: &Demographics) -> String {
    let sex = d.sex.map_or("NA".to_string(), |s| s.to_string());
    format!(
        "{id} {} {sex} {} {} {}",
        number_or_na(d.age),
        number_or_na(d.adult_bmi),
        number_or_na(d.child_weight_kg),
        number_or_na(d.child_height_cm)
    )
}

fn demographics_text(plan: &Plan) -> String {
    let mut text = String::new();
    for p in &plan.patients {
        let _ = writeln!(text, "{}", demographics_line(p.id, &p.demographics));
    }
    text
}

fn diagnosis_text(plan: &Plan) -> String {
    let mut text = String::new();
    for p in &plan.patients {
        let _ = writeln!(text, "{}\t{}", p.id, p.diagnosis);
    }
    text
}
