//! `auscult pipeline synth --dataset sprsound`: a small random SPRSound database in the 2022
//! release layout, with audio whose event types differ audibly.
//!
//! ```text
//! <out>/BioCAS2022/train2022_wav/<stem>.wav        8 kHz 16-bit mono, 10–15 s
//! <out>/BioCAS2022/train2022_json/<stem>.json
//! <out>/BioCAS2022/test2022_wav/<stem>.wav         inter- and intra-test audio together
//! <out>/BioCAS2022/test2022_json/inter_test_json/<stem>.json   patients not in train
//! <out>/BioCAS2022/test2022_json/intra_test_json/<stem>.json   patients also in train
//! ```
//!
//! JSON files look like the real ones: one line, Python `json.dumps` separators, times as
//! strings, no trailing newline, e.g.
//! `{"record_annotation": "CAS", "event_annotation": [{"start": "412", "end": "1980", "type": "Wheeze"}]}`.
//! All seven event types and `Poor Quality` records (with `"event_annotation": []`) occur at the
//! default size; some files list their events out of time order; some events touch.

use std::collections::BTreeMap;
use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::fsio::{create_dir_all, write_atomic};
use super::wav::{write_pcm_wav, PcmFormat};
use super::SynthError;

pub mod plan;
pub mod render;

use plan::{draw_plan, PlannedRecording, Split, MIN_RECORDINGS};
use render::{render_recording, SAMPLE_RATE};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SprsoundSynthOptions {
    /// Number of recordings (at least 3: one per split).
    pub recordings: usize,
    /// Seed of every random choice; the same seed gives byte-identical files.
    pub seed: u64,
}

impl Default for SprsoundSynthOptions {
    fn default() -> Self {
        SprsoundSynthOptions {
            recordings: 30,
            seed: 0,
        }
    }
}

/// What was written for one split.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SplitTally {
    /// Recordings (one WAV + one JSON each).
    pub recordings: usize,
    /// Records per `record_annotation` value.
    pub record_labels: BTreeMap<String, usize>,
    /// Events per type, indexed like [`SPRSOUND_CLASSES`](auscult_pipeline::sprsound::SPRSOUND_CLASSES) (Poor Quality records have none).
    pub events_per_type: [usize; 7],
    /// Recordings whose JSON lists events out of time order.
    pub unsorted_files: usize,
    /// Distinct patients.
    pub patients: usize,
}

/// What a SPRSound synth run wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SprsoundSynthReport {
    pub recordings: usize,
    /// Keyed by split name: `train`, `inter_test`, `intra_test`.
    pub per_split: BTreeMap<String, SplitTally>,
    /// Total duration of the written audio, in seconds.
    pub audio_seconds: f64,
    /// Every file written (WAVs and JSONs).
    pub files_written: usize,
}

impl SprsoundSynthReport {
    /// Events of every split, per type, indexed like [`SPRSOUND_CLASSES`](auscult_pipeline::sprsound::SPRSOUND_CLASSES).
    pub fn events_per_type(&self) -> [usize; 7] {
        let mut total = [0; 7];
        for tally in self.per_split.values() {
            for (t, n) in total.iter_mut().zip(tally.events_per_type) {
                *t += n;
            }
        }
        total
    }
}

/// The annotation file text of `rec`, formatted like Python's `json.dumps`.
pub fn annotation_json(rec: &PlannedRecording) -> String {
    let events: Vec<String> = rec
        .json_order
        .iter()
        .map(|&i| {
            let e = &rec.events[i];
            format!(
                r#"{{"start": "{}", "end": "{}", "type": "{}"}}"#,
                e.start_ms,
                e.end_ms,
                e.kind.name()
            )
        })
        .collect();
    format!(
        r#"{{"record_annotation": "{}", "event_annotation": [{}]}}"#,
        rec.record_label.name(),
        events.join(", ")
    )
}

/// Writes `<stem>.wav` and `<stem>.json`; returns the audio duration in seconds.
fn write_recording(
    out: &Path,
    rec: &PlannedRecording,
    rng: &mut ChaCha8Rng,
) -> Result<f64, SynthError> {
    let samples = render_recording(rec, rng);
    let wav = out
        .join(rec.split.wav_dir())
        .join(format!("{}.wav", rec.stem));
    write_pcm_wav(&wav, &samples, PcmFormat::new(SAMPLE_RATE, 16))?;
    let json = out
        .join(rec.split.json_dir())
        .join(format!("{}.json", rec.stem));
    write_atomic(&json, annotation_json(rec).as_bytes())?;
    Ok(samples.len() as f64 / SAMPLE_RATE as f64)
}

fn tally(plan: &[PlannedRecording]) -> BTreeMap<String, SplitTally> {
    let mut per_split = BTreeMap::new();
    for split in Split::ALL {
        let recs: Vec<&PlannedRecording> = plan.iter().filter(|r| r.split == split).collect();
        let mut t = SplitTally {
            recordings: recs.len(),
            unsorted_files: recs.iter().filter(|r| r.unsorted()).count(),
            patients: recs
                .iter()
                .map(|r| r.patient_id.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            ..SplitTally::default()
        };
        for r in &recs {
            *t.record_labels
                .entry(r.record_label.name().to_string())
                .or_default() += 1;
            for e in &r.events {
                t.events_per_type[e.kind.class_id() as usize] += 1;
            }
        }
        per_split.insert(split.name().to_string(), t);
    }
    per_split
}

/// Writes a synthetic SPRSound database under `out` (created if missing; files of the same names
/// are replaced, each written under a temporary name then renamed) and reports what it wrote.
pub fn synth_sprsound(
    out: &Path,
    opts: &SprsoundSynthOptions,
) -> Result<SprsoundSynthReport, SynthError> {
    if opts.recordings < MIN_RECORDINGS {
        return Err(SynthError::Options(format!(
            "SPRSound synth needs at least {MIN_RECORDINGS} recordings (one per split), got {}",
            opts.recordings
        )));
    }
    // Stream 0 draws the plan; stream i + 1 draws the audio of recording i.
    let plan = draw_plan(&mut ChaCha8Rng::seed_from_u64(opts.seed), opts.recordings);
    for split in Split::ALL {
        create_dir_all(&out.join(split.json_dir()))?;
        create_dir_all(&out.join(split.wav_dir()))?;
    }
    let seconds: Vec<f64> = plan
        .par_iter()
        .enumerate()
        .map(|(i, rec)| {
            let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
            rng.set_stream(i as u64 + 1);
            write_recording(out, rec, &mut rng)
        })
        .collect::<Result<_, _>>()?;
    crate::fsio::mark_synthetic(out, "auscult-synth (SPRSound layout)", opts.seed)?;
    Ok(SprsoundSynthReport {
        recordings: plan.len(),
        per_split: tally(&plan),
        audio_seconds: seconds.iter().sum(),
        files_written: 2 * plan.len() + 1,
    })
}
