//! The random plan of a synthetic ICBHI database: patients (demographics, diagnosis, split),
//! recordings (name, device format) and their cycles (timing in integer milliseconds, class).
//! Drawn from one ChaCha8 stream, so a seed fixes everything.

use rand::distributions::{Distribution, WeightedIndex};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::signals::SoundClass;
use super::wav::PcmFormat;

/// A recording device with the rate and bit depth of one of its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceFormat {
    /// ICBHI device name as in recording names: AKGC417L, LittC2SE, Litt3200 or Meditron.
    pub device: &'static str,
    pub format: PcmFormat,
}

const fn device(device: &'static str, rate: u32, bits: u16) -> DeviceFormat {
    DeviceFormat {
        device,
        format: PcmFormat::new(rate, bits),
    }
}

/// Formats forced onto the first patients (in a shuffled order) so that every rate (44.1 kHz,
/// 10 kHz, 4 kHz) and both bit depths appear.
const REQUIRED_FORMATS: [DeviceFormat; 4] = [
    device("Meditron", 44100, 24),
    device("Litt3200", 4000, 16),
    device("AKGC417L", 10000, 24),
    device("LittC2SE", 44100, 16),
];

/// The other patients draw their format with these weights (AKGC417L dominates, as in ICBHI).
const WEIGHTED_FORMATS: [(DeviceFormat, u32); 8] = [
    (device("AKGC417L", 44100, 24), 60),
    (device("AKGC417L", 44100, 16), 5),
    (device("AKGC417L", 10000, 24), 3),
    (device("Meditron", 44100, 24), 12),
    (device("LittC2SE", 44100, 24), 6),
    (device("LittC2SE", 44100, 16), 3),
    (device("LittC2SE", 10000, 16), 2),
    (device("Litt3200", 4000, 16), 7),
];

/// Diagnoses with their patient counts in ICBHI, and the chance a patient with it is a child.
const DIAGNOSES: [(&str, u32, f64); 8] = [
    ("COPD", 64, 0.0),
    ("Healthy", 26, 0.6),
    ("URTI", 14, 0.7),
    ("Bronchiectasis", 7, 0.2),
    ("Bronchiolitis", 6, 1.0),
    ("Pneumonia", 6, 0.3),
    ("LRTI", 2, 0.5),
    ("Asthma", 1, 0.3),
];

/// Chest locations in recording names (`Tc` trachea, `Al`/`Ar` anterior, `Pl`/`Pr` posterior,
/// `Ll`/`Lr` lateral; left/right).
pub const LOCATIONS: [&str; 7] = ["Tc", "Al", "Ar", "Pl", "Pr", "Ll", "Lr"];

/// ICBHI label mix (percent): normal, crackle, wheeze, both.
const LABEL_WEIGHTS: [u32; 4] = [50, 27, 13, 10];

/// One row of the demographics file; `None` is written `NA`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Demographics {
    pub age: Option<f64>,
    pub sex: Option<char>,
    pub adult_bmi: Option<f64>,
    pub child_weight_kg: Option<f64>,
    pub child_height_cm: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    pub id: u32,
    pub demographics: Demographics,
    pub diagnosis: &'static str,
    pub train: bool,
}

/// One respiratory cycle, in integer milliseconds (written with 3 decimals in seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cycle {
    pub onset_ms: u64,
    pub offset_ms: u64,
    pub class: SoundClass,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// `<patient>_<index>_<location>_<mode>_<device>`.
    pub name: String,
    /// Index into [`Plan::patients`].
    pub patient: usize,
    pub device: DeviceFormat,
    pub cycles: Vec<Cycle>,
    /// Length of the audio, past the last cycle's offset.
    pub duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub patients: Vec<Patient>,
    /// Sorted by name.
    pub recordings: Vec<Recording>,
}

/// A recording before its timeline: name, patient index, format, (duration ms, class) per cycle.
type Draft = (String, usize, DeviceFormat, Vec<(u64, SoundClass)>);

/// Draws the plan for `recordings` recordings of at most `max_cycles` cycles each.
pub fn draw_plan(rng: &mut ChaCha8Rng, recordings: usize, max_cycles: usize) -> Plan {
    let group_sizes = draw_group_sizes(rng, recordings);
    let mut patients: Vec<Patient> = (0..group_sizes.len())
        .map(|i| draw_patient(rng, 101 + i as u32))
        .collect();
    if patients.len() >= 2 {
        // Like real patient 223: a row of NA only.
        patients.last_mut().unwrap().demographics = Demographics::default();
    }
    assign_split(rng, &mut patients);
    let formats = draw_patient_formats(rng, patients.len());

    // Per recording: name, format, then cycle durations and classes (timeline comes later).
    let label_dist = WeightedIndex::new(LABEL_WEIGHTS).expect("constant weights");
    let mut drafts: Vec<Draft> = Vec::new();
    for (p, &size) in group_sizes.iter().enumerate() {
        let names = draw_names(rng, patients[p].id, size, formats[p].device);
        for name in names {
            let lo = max_cycles.div_ceil(2).max(1);
            let count = rng.gen_range(lo..=max_cycles);
            let cycles = (0..count)
                .map(|_| {
                    let class = SoundClass::ALL[label_dist.sample(rng)];
                    (draw_cycle_ms(rng), class)
                })
                .collect();
            drafts.push((name, p, formats[p], cycles));
        }
    }
    force_duration_extremes(&mut drafts);
    let train_of = |d: &Draft| patients[d.1].train;
    for train in [true, false] {
        let mut classes: Vec<&mut SoundClass> = drafts
            .iter_mut()
            .filter(|d| train_of(d) == train)
            .flat_map(|d| d.3.iter_mut().map(|c| &mut c.1))
            .collect();
        cover_all_classes(&mut classes);
    }

    let mut recordings: Vec<Recording> = drafts
        .into_iter()
        .map(|(name, patient, device, cycles)| {
            let (cycles, duration_ms) = lay_out(rng, &cycles);
            Recording {
                name,
                patient,
                device,
                cycles,
                duration_ms,
            }
        })
        .collect();
    recordings.sort_by(|a, b| a.name.cmp(&b.name));
    Plan {
        patients,
        recordings,
    }
}

/// Recordings per patient: 1 to 3, summing to `recordings`.
fn draw_group_sizes(rng: &mut ChaCha8Rng, recordings: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut left = recordings;
    while left > 0 {
        let size = rng.gen_range(1..=3).min(left);
        sizes.push(size);
        left -= size;
    }
    sizes
}

fn draw_patient(rng: &mut ChaCha8Rng, id: u32) -> Patient {
    let dist = WeightedIndex::new(DIAGNOSES.iter().map(|d| d.1)).expect("constant weights");
    let (diagnosis, _, child_chance) = DIAGNOSES[dist.sample(rng)];
    let sex = Some(if rng.gen_bool(0.5) { 'M' } else { 'F' });
    let demographics = if rng.gen_bool(child_chance) {
        let age: f64 = if diagnosis == "Bronchiolitis" {
            rng.gen_range(0.1..3.0)
        } else {
            rng.gen_range(0.25..17.0)
        };
        let age = if age < 2.0 {
            (age * 100.0).round() / 100.0
        } else {
            age.floor()
        };
        let weight = (3.3 + 2.6 * age) * rng.gen_range(0.85..1.15);
        let height = if age < 2.0 {
            50.0 + 25.0 * age
        } else {
            85.0 + 6.2 * (age - 2.0)
        } * rng.gen_range(0.95..1.05);
        Demographics {
            age: Some(age),
            sex,
            adult_bmi: None,
            child_weight_kg: Some((weight * 10.0).round() / 10.0),
            child_height_cm: Some(height.round()),
        }
    } else {
        let age: f64 = if diagnosis == "COPD" {
            rng.gen_range(55.0..90.0)
        } else {
            rng.gen_range(18.0..80.0)
        };
        let bmi: f64 = rng.gen_range(16.0..40.0);
        Demographics {
            age: Some(age.floor()),
            sex,
            adult_bmi: Some((bmi * 100.0).round() / 100.0),
            child_weight_kg: None,
            child_height_cm: None,
        }
    };
    Patient {
        id,
        demographics,
        diagnosis,
        train: true,
    }
}

/// About 60 % of patients train, the rest test, at least one of each when there are two.
fn assign_split(rng: &mut ChaCha8Rng, patients: &mut [Patient]) {
    let n = patients.len();
    let n_train = if n >= 2 {
        ((0.6 * n as f64).round() as usize).clamp(1, n - 1)
    } else {
        n
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    for (rank, &p) in order.iter().enumerate() {
        patients[p].train = rank < n_train;
    }
}

/// One format per patient: the required ones on randomly chosen patients, the rest weighted.
fn draw_patient_formats(rng: &mut ChaCha8Rng, patients: usize) -> Vec<DeviceFormat> {
    let dist = WeightedIndex::new(WEIGHTED_FORMATS.iter().map(|f| f.1)).expect("constant weights");
    let mut formats: Vec<DeviceFormat> = (0..patients)
        .map(|_| WEIGHTED_FORMATS[dist.sample(rng)].0)
        .collect();
    let mut order: Vec<usize> = (0..patients).collect();
    order.shuffle(rng);
    for (&p, required) in order.iter().zip(REQUIRED_FORMATS) {
        formats[p] = required;
    }
    formats
}

/// Distinct names for one patient's recordings: multichannel (`mc`, mostly AKGC417L) recordings
/// share an index at distinct locations; single-channel (`sc`) ones get distinct indices.
fn draw_names(rng: &mut ChaCha8Rng, id: u32, count: usize, device: &str) -> Vec<String> {
    let mc = rng.gen_bool(if device == "AKGC417L" { 0.9 } else { 0.2 });
    let letter = |rng: &mut ChaCha8Rng| if rng.gen_bool(0.3) { 'p' } else { 'b' };
    if mc {
        let index = format!(
            "{}{}{}",
            rng.gen_range(1..=3),
            letter(rng),
            rng.gen_range(1..=5)
        );
        let mut locations = LOCATIONS;
        locations.shuffle(rng);
        locations[..count]
            .iter()
            .map(|loc| format!("{id}_{index}_{loc}_mc_{device}"))
            .collect()
    } else {
        (1..=count)
            .map(|session| {
                let index = format!("{session}{}{}", letter(rng), rng.gen_range(1..=4));
                let loc = LOCATIONS[rng.gen_range(0..LOCATIONS.len())];
                format!("{id}_{index}_{loc}_sc_{device}")
            })
            .collect()
    }
}

/// Cycle duration: mostly 0.5–6 s (skewed short, mean ≈ 2.6 s), 6 % very short (0.2–0.48 s),
/// 6 % long (8.1–11 s, longer than the 8 s crop).
fn draw_cycle_ms(rng: &mut ChaCha8Rng) -> u64 {
    let kind: f64 = rng.gen();
    if kind < 0.06 {
        rng.gen_range(200..=480)
    } else if kind < 0.12 {
        rng.gen_range(8100..=11000)
    } else {
        let u: f64 = rng.gen();
        500 + (5500.0 * u.powf(1.6)).round() as u64
    }
}

/// Makes sure at least one cycle is longer than 8 s and one shorter than 0.5 s.
fn force_duration_extremes(drafts: &mut [Draft]) {
    let all = || drafts.iter().flat_map(|d| d.3.iter().map(|c| c.0));
    let has_long = all().any(|ms| ms > 8000);
    let has_short = all().any(|ms| ms < 500);
    let n_cycles: usize = drafts.iter().map(|d| d.3.len()).sum();
    if !has_long {
        if let Some(c) = drafts.first_mut().and_then(|d| d.3.first_mut()) {
            c.0 = 9250;
        }
    }
    if !has_short && n_cycles >= 2 {
        if let Some(c) = drafts.last_mut().and_then(|d| d.3.last_mut()) {
            c.0 = 350;
        }
    }
}

/// Relabels cycles so that every class appears, taking them from the most frequent class
/// (possible once there are at least 4 cycles).
pub fn cover_all_classes(classes: &mut [&mut SoundClass]) {
    for missing in SoundClass::ALL {
        if classes.iter().any(|c| **c == missing) {
            continue;
        }
        let count = |k: SoundClass| classes.iter().filter(|c| ***c == k).count();
        let donor = SoundClass::ALL
            .into_iter()
            .max_by_key(|&k| (count(k), std::cmp::Reverse(k.label())))
            .expect("four classes");
        if count(donor) < 2 {
            return;
        }
        if let Some(c) = classes.iter_mut().find(|c| ***c == donor) {
            **c = missing;
        }
    }
}

/// Places cycles on a timeline: first onset 20–600 ms, then mostly contiguous (75 %) or with a
/// 10–300 ms gap; the audio ends 0.2–1.5 s after the last offset.
fn lay_out(rng: &mut ChaCha8Rng, cycles: &[(u64, SoundClass)]) -> (Vec<Cycle>, u64) {
    let mut cursor: u64 = rng.gen_range(20..=600);
    let mut out = Vec::with_capacity(cycles.len());
    for &(ms, class) in cycles {
        let onset_ms = cursor;
        let offset_ms = onset_ms + ms;
        out.push(Cycle {
            onset_ms,
            offset_ms,
            class,
        });
        cursor = offset_ms
            + if rng.gen_bool(0.75) {
                0
            } else {
                rng.gen_range(10..=300)
            };
    }
    let end = out.last().map_or(cursor, |c| c.offset_ms) + rng.gen_range(200..=1500);
    (out, end)
}
