//! What a synthetic SPRSound database holds: splits, patients, file names, events and the order
//! in which each JSON lists them. Drawn from one random stream, before any audio.

use std::collections::BTreeSet;

use rand::seq::SliceRandom;
use rand::Rng;

use auscult_pipeline::sprsound::{EventType, RecordLabel};

/// The three 2022 splits, with their folders under the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Split {
    Train,
    InterTest,
    IntraTest,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::InterTest, Split::IntraTest];

    /// Split name as the scanner reports it.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::InterTest => "inter_test",
            Split::IntraTest => "intra_test",
        }
    }

    /// Annotation folder, relative to the output.
    pub fn json_dir(self) -> &'static str {
        match self {
            Split::Train => "BioCAS2022/train2022_json",
            Split::InterTest => "BioCAS2022/test2022_json/inter_test_json",
            Split::IntraTest => "BioCAS2022/test2022_json/intra_test_json",
        }
    }

    /// Audio folder, relative to the output (both test splits share one).
    pub fn wav_dir(self) -> &'static str {
        match self {
            Split::Train => "BioCAS2022/train2022_wav",
            Split::InterTest | Split::IntraTest => "BioCAS2022/test2022_wav",
        }
    }

    /// Where this split starts in the template rotation, so small test splits still see
    /// different templates (including a Poor Quality one at the default size).
    fn template_offset(self) -> usize {
        match self {
            Split::Train => 0,
            Split::InterTest => 3,
            Split::IntraTest => 6,
        }
    }
}

/// One annotated event, whole milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannedEvent {
    pub start_ms: u64,
    pub end_ms: u64,
    pub kind: EventType,
}

/// One recording: a WAV and its JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRecording {
    pub split: Split,
    /// `patient_age_gender_location_recording`.
    pub stem: String,
    pub patient_id: String,
    pub duration_ms: u64,
    pub record_label: RecordLabel,
    /// Sorted by start; empty for Poor Quality records.
    pub events: Vec<PlannedEvent>,
    /// Order in which the JSON lists `events` (indices into it); not sorted in some files.
    pub json_order: Vec<usize>,
}

impl PlannedRecording {
    /// True when the JSON lists the events out of time order.
    pub fn unsorted(&self) -> bool {
        self.json_order.windows(2).any(|w| w[0] > w[1])
    }
}

/// Kind of record to draw, cycled through so every event type and Poor Quality appear.
#[derive(Debug, Clone, Copy)]
enum Template {
    Normal,
    /// Normal events plus at least one of this adventitious type.
    With(EventType),
    /// Wheeze+Crackle events mixed with wheezes, fine crackles and normal events.
    Mixed,
    PoorQuality,
}

const TEMPLATES: [Template; 8] = [
    Template::Normal,
    Template::With(EventType::Wheeze),
    Template::With(EventType::FineCrackle),
    Template::With(EventType::Rhonchi),
    Template::With(EventType::CoarseCrackle),
    Template::With(EventType::Stridor),
    Template::Mixed,
    Template::PoorQuality,
];

/// Fewest recordings that give every split at least one.
pub const MIN_RECORDINGS: usize = 3;

#[derive(Debug, Clone)]
struct Patient {
    id: String,
    age_tenths: u32,
    gender: u8,
}

struct Drawer<'r, R: Rng> {
    rng: &'r mut R,
    used_ids: BTreeSet<String>,
    next_recording_no: u32,
}

impl<R: Rng> Drawer<'_, R> {
    fn patient(&mut self) -> Patient {
        let id = loop {
            let id = self.rng.gen_range(40_000_000u32..67_000_000).to_string();
            if self.used_ids.insert(id.clone()) {
                break id;
            }
        };
        Patient {
            id,
            age_tenths: self.rng.gen_range(1..=150),
            gender: self.rng.gen_range(0..=1),
        }
    }

    /// Patients for `count` recordings, 1–3 recordings each.
    fn patient_per_recording(&mut self, count: usize) -> Vec<Patient> {
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let group = self.rng.gen_range(1..=3).min(count - out.len());
            let p = self.patient();
            out.extend(std::iter::repeat_n(p, group));
        }
        out
    }

    fn stem(&mut self, patient: &Patient, age_tenths: u32) -> String {
        self.next_recording_no += self.rng.gen_range(1..=40);
        format!(
            "{}_{}.{}_{}_p{}_{}",
            patient.id,
            age_tenths / 10,
            age_tenths % 10,
            patient.gender,
            self.rng.gen_range(1..=4),
            self.next_recording_no
        )
    }

    /// Back-to-back breathing phases of 0.9–2.5 s with 0–0.6 s gaps (sometimes touching).
    fn spans(&mut self, duration_ms: u64) -> Vec<(u64, u64)> {
        let mut spans = Vec::new();
        let mut t = self.rng.gen_range(100..=1000);
        loop {
            let len = self.rng.gen_range(900..=2500);
            if t + len > duration_ms - 100 {
                break;
            }
            spans.push((t, t + len));
            let gap = if self.rng.gen_bool(0.15) {
                0
            } else {
                self.rng.gen_range(50..=600)
            };
            t += len + gap;
        }
        spans
    }

    fn kinds(&mut self, template: Template, n: usize) -> Vec<EventType> {
        let (pool, forced): (&[EventType], EventType) = match template {
            Template::Normal | Template::PoorQuality => return vec![EventType::Normal; n],
            Template::With(kind) => (&[EventType::Normal], kind),
            Template::Mixed => (
                &[EventType::Normal, EventType::Wheeze, EventType::FineCrackle],
                EventType::WheezeCrackle,
            ),
        };
        let mut kinds: Vec<EventType> = (0..n)
            .map(|_| {
                if self.rng.gen_bool(0.5) {
                    forced
                } else {
                    *pool.choose(self.rng).expect("non-empty pool")
                }
            })
            .collect();
        let i = self.rng.gen_range(0..n);
        kinds[i] = forced;
        kinds
    }

    fn recording(
        &mut self,
        split: Split,
        patient: &Patient,
        age_tenths: u32,
        template: Template,
        force_unsorted: bool,
    ) -> PlannedRecording {
        let stem = self.stem(patient, age_tenths);
        let duration_ms = self.rng.gen_range(10_000..=15_000);
        let spans = self.spans(duration_ms);
        let (events, record_label) = match template {
            Template::PoorQuality => (Vec::new(), RecordLabel::PoorQuality),
            _ => {
                let kinds = self.kinds(template, spans.len());
                let events: Vec<PlannedEvent> = spans
                    .iter()
                    .zip(kinds)
                    .map(|(&(start_ms, end_ms), kind)| PlannedEvent {
                        start_ms,
                        end_ms,
                        kind,
                    })
                    .collect();
                let label = record_label_of(&events);
                (events, label)
            }
        };
        let mut json_order: Vec<usize> = (0..events.len()).collect();
        if events.len() >= 2 && (force_unsorted || self.rng.gen_bool(0.35)) {
            let k = self.rng.gen_range(1..events.len());
            json_order.rotate_left(k);
        }
        PlannedRecording {
            split,
            stem,
            patient_id: patient.id.clone(),
            duration_ms,
            record_label,
            events,
            json_order,
        }
    }
}

/// `CAS` when a continuous sound is present (rhonchi, wheeze, stridor), `DAS` for crackles,
/// `CAS & DAS` for both (Wheeze+Crackle counts as both), else `Normal`.
pub fn record_label_of(events: &[PlannedEvent]) -> RecordLabel {
    use EventType::*;
    let cas = events
        .iter()
        .any(|e| matches!(e.kind, Rhonchi | Wheeze | Stridor | WheezeCrackle));
    let das = events
        .iter()
        .any(|e| matches!(e.kind, CoarseCrackle | FineCrackle | WheezeCrackle));
    match (cas, das) {
        (false, false) => RecordLabel::Normal,
        (true, false) => RecordLabel::Cas,
        (false, true) => RecordLabel::Das,
        (true, true) => RecordLabel::CasDas,
    }
}

/// Draws `recordings` (≥ [`MIN_RECORDINGS`]) recordings: a fifth (at least one) inter-test on
/// new patients, a fifth (at least one) intra-test on training patients at the same or a
/// 0.1-year older age, the rest training. In each split the second recording lists its events
/// out of order; others do with probability 0.35.
pub fn draw_plan<R: Rng>(rng: &mut R, recordings: usize) -> Vec<PlannedRecording> {
    let n_inter = (recordings / 5).max(1);
    let n_intra = (recordings / 5).max(1);
    let n_train = recordings - n_inter - n_intra;
    let first_no = rng.gen_range(100..1000);
    let mut d = Drawer {
        rng,
        used_ids: BTreeSet::new(),
        next_recording_no: first_no,
    };
    let train_patients = d.patient_per_recording(n_train);
    let inter_patients = d.patient_per_recording(n_inter);
    let intra_patients: Vec<(Patient, u32)> = (0..n_intra)
        .map(|_| {
            let p = train_patients[d.rng.gen_range(0..n_train)].clone();
            let age = p.age_tenths + d.rng.gen_range(0..=1);
            (p, age)
        })
        .collect();

    let mut plan = Vec::with_capacity(recordings);
    let mut add = |d: &mut Drawer<R>, split: Split, people: Vec<(Patient, u32)>| {
        for (i, (p, age)) in people.iter().enumerate() {
            let template = TEMPLATES[(i + split.template_offset()) % TEMPLATES.len()];
            plan.push(d.recording(split, p, *age, template, i == 1));
        }
    };
    let with_age = |ps: Vec<Patient>| -> Vec<(Patient, u32)> {
        ps.into_iter().map(|p| (p.clone(), p.age_tenths)).collect()
    };
    add(&mut d, Split::Train, with_age(train_patients));
    add(&mut d, Split::InterTest, with_age(inter_patients));
    add(&mut d, Split::IntraTest, intra_patients);
    plan
}
