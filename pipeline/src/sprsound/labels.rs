//! The SPRSound label vocabularies: event types (Task 1) and record labels (Task 2).

use auscult_cache::ClassInfo;

/// Event types in the Task 1-2 class order of the SPRSound challenge docs
/// ("Normal (N), Rhonchi (R), Wheeze (W), Stridor (S), Coarse Crackle (CC), Fine Crackle (FC),
/// Wheeze & Crackle (WC)"): the index of a name is its class id, Normal = 0.
pub const SPRSOUND_CLASSES: [&str; 7] = [
    "Normal",
    "Rhonchi",
    "Wheeze",
    "Stridor",
    "Coarse Crackle",
    "Fine Crackle",
    "Wheeze+Crackle",
];

/// One `event_annotation[].type` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    Normal,
    Rhonchi,
    Wheeze,
    Stridor,
    CoarseCrackle,
    FineCrackle,
    WheezeCrackle,
}

impl EventType {
    /// All types, in class-id order.
    pub const ALL: [EventType; 7] = [
        EventType::Normal,
        EventType::Rhonchi,
        EventType::Wheeze,
        EventType::Stridor,
        EventType::CoarseCrackle,
        EventType::FineCrackle,
        EventType::WheezeCrackle,
    ];

    /// Parses the annotation spelling. `Wheeze & Crackle` (the spelling of the top-level upstream
    /// README) is accepted as `Wheeze+Crackle`; anything else must match exactly.
    pub fn from_annotation(text: &str) -> Option<EventType> {
        if text == "Wheeze & Crackle" {
            return Some(EventType::WheezeCrackle);
        }
        SPRSOUND_CLASSES
            .iter()
            .position(|name| *name == text)
            .map(|i| EventType::ALL[i])
    }

    /// Task 1-2 class id (index into [`SPRSOUND_CLASSES`]).
    pub fn class_id(self) -> i64 {
        self as i64
    }

    /// Task 1-1 label: 0 for `Normal`, 1 for any adventitious sound.
    pub fn binary_label(self) -> i64 {
        i64::from(self != EventType::Normal)
    }

    /// Normalised spelling, as in [`SPRSOUND_CLASSES`].
    pub fn name(self) -> &'static str {
        SPRSOUND_CLASSES[self as usize]
    }
}

/// The class list a SPRSound cache's manifest declares: the event types in class-id order
/// ([`EventType::ALL`], names as in [`SPRSOUND_CLASSES`]), with `Normal` the only normal class.
pub fn sprsound_classes() -> Vec<ClassInfo> {
    EventType::ALL
        .iter()
        .map(|t| ClassInfo {
            id: t.class_id(),
            name: t.name().to_string(),
            normal: t.binary_label() == 0,
        })
        .collect()
}

/// Record-level labels (`record_annotation`), in Task 2-2 order.
pub const SPRSOUND_RECORD_LABELS: [&str; 5] = ["Normal", "CAS", "DAS", "CAS & DAS", "Poor Quality"];

/// One `record_annotation` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordLabel {
    Normal,
    Cas,
    Das,
    CasDas,
    PoorQuality,
}

impl RecordLabel {
    /// All labels, in Task 2-2 order.
    pub const ALL: [RecordLabel; 5] = [
        RecordLabel::Normal,
        RecordLabel::Cas,
        RecordLabel::Das,
        RecordLabel::CasDas,
        RecordLabel::PoorQuality,
    ];

    /// Parses the exact annotation spelling.
    pub fn from_annotation(text: &str) -> Option<RecordLabel> {
        SPRSOUND_RECORD_LABELS
            .iter()
            .position(|name| *name == text)
            .map(|i| RecordLabel::ALL[i])
    }

    /// Spelling as in [`SPRSOUND_RECORD_LABELS`].
    pub fn name(self) -> &'static str {
        SPRSOUND_RECORD_LABELS[self as usize]
    }
}
