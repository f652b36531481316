//! Audio of one synthetic SPRSound recording: a device noise floor, breath sound plus the event
//! type's adventitious sound over each event, and for Poor Quality records loud friction bursts
//! and broadband noise instead of clean breathing.

use rand::Rng;

use super::plan::PlannedRecording;
use crate::signals::{
    add_breath_noise, add_crackles, add_wheeze, add_white_noise, BreathParams, CrackleParams,
    NoiseRng, WheezeParams, HISS_RELATIVE,
};
use auscult_pipeline::sprsound::{EventType, RecordLabel};

/// Sample rate of the synthetic recordings (SPRSound's real files are 8 kHz).
pub const SAMPLE_RATE: u32 = 8000;

/// Frame index of a time in milliseconds at [`SAMPLE_RATE`].
pub fn frame_of_ms(ms: u64) -> usize {
    (ms * SAMPLE_RATE as u64 / 1000) as usize
}

/// Adds one event of `kind` into `out` (its span): breath noise, plus
/// - Rhonchi: a low (100–200 Hz) harmonic tone; Wheeze: a 150–900 Hz tone;
///   Stridor: a loud 500–1000 Hz tone;
/// - Coarse Crackle: longer, lower transients; Fine Crackle: shorter, higher ones;
/// - Wheeze+Crackle: fine crackles and a wheeze.
pub fn render_event<R: Rng + ?Sized>(out: &mut [f32], kind: EventType, level: f32, rng: &mut R) {
    let breath = BreathParams::random(rng);
    let mut noise = NoiseRng::from_rng(rng);
    add_breath_noise(out, SAMPLE_RATE, level, &breath, &mut noise);
    let tone = |out: &mut [f32], params: WheezeParams, rng: &mut R| {
        add_wheeze(out, SAMPLE_RATE, level, &params, rng)
    };
    let crackles = |out: &mut [f32], params: CrackleParams, rng: &mut R| {
        add_crackles(out, SAMPLE_RATE, level, &params, rng)
    };
    match kind {
        EventType::Normal => {}
        EventType::Rhonchi => tone(out, WheezeParams::rhonchus(), rng),
        EventType::Wheeze => tone(out, WheezeParams::wheeze(), rng),
        EventType::Stridor => tone(out, WheezeParams::stridor(), rng),
        EventType::CoarseCrackle => crackles(out, CrackleParams::coarse(), rng),
        EventType::FineCrackle => crackles(out, CrackleParams::fine(), rng),
        EventType::WheezeCrackle => {
            crackles(out, CrackleParams::fine(), rng);
            tone(out, WheezeParams::wheeze(), rng);
        }
    }
}

/// Poor signal quality: breathing buried in broadband noise 6–10 dB above it, plus 6–14
/// friction bursts (50–400 ms of white noise at 4–8× the breath level).
fn add_poor_quality<R: Rng + ?Sized>(out: &mut [f32], level: f32, rng: &mut R) {
    let breath = BreathParams::random(rng);
    let mut noise = NoiseRng::from_rng(rng);
    add_breath_noise(out, SAMPLE_RATE, level, &breath, &mut noise);
    let db = rng.gen_range(6.0f32..10.0);
    add_white_noise(out, level * 10f32.powf(db / 20.0), &mut noise);
    let n = out.len();
    for _ in 0..rng.gen_range(6..=14) {
        let len = frame_of_ms(rng.gen_range(50..=400)).min(n);
        let start = rng.gen_range(0..=n - len);
        let gain = level * rng.gen_range(4.0f32..8.0);
        add_white_noise(&mut out[start..start + len], gain, &mut noise);
    }
}

/// The samples (floats, full scale 1) of `rec`, `duration_ms` long.
pub fn render_recording<R: Rng + ?Sized>(rec: &PlannedRecording, rng: &mut R) -> Vec<f32> {
    let level = rng.gen_range(0.02f32..0.05);
    let mut out = vec![0.0f32; frame_of_ms(rec.duration_ms)];
    let mut noise = NoiseRng::from_rng(rng);
    add_white_noise(&mut out, level * HISS_RELATIVE, &mut noise);
    if rec.record_label == RecordLabel::PoorQuality {
        add_poor_quality(&mut out, level, rng);
    }
    for e in &rec.events {
        let end = frame_of_ms(e.end_ms).min(out.len());
        let start = frame_of_ms(e.start_ms).min(end);
        render_event(&mut out[start..end], e.kind, level, rng);
    }
    out
}
