//! Unit tests of `src/sprsound/labels.rs`.

use auscult_pipeline::sprsound::labels::*;

#[test]
fn class_ids_follow_the_task_1_2_order() {
    for (i, name) in SPRSOUND_CLASSES.iter().enumerate() {
        let t = EventType::from_annotation(name).unwrap();
        assert_eq!(t.class_id(), i as i64);
        assert_eq!(t.name(), *name);
    }
    assert_eq!(EventType::Normal.binary_label(), 0);
    assert!(EventType::ALL[1..].iter().all(|t| t.binary_label() == 1));
}

#[test]
fn manifest_classes_are_the_event_types_with_only_normal_normal() {
    let classes = sprsound_classes();
    assert_eq!(classes.len(), 7);
    for (i, (c, t)) in classes.iter().zip(EventType::ALL).enumerate() {
        assert_eq!(c.id, i as i64);
        assert_eq!(c.id, t.class_id());
        assert_eq!(c.name, SPRSOUND_CLASSES[i]);
        assert_eq!(c.normal, t == EventType::Normal);
    }
}

#[test]
fn wheeze_and_crackle_spellings_are_one_class() {
    assert_eq!(
        EventType::from_annotation("Wheeze & Crackle"),
        Some(EventType::WheezeCrackle)
    );
    assert_eq!(EventType::from_annotation("wheeze"), None);
    assert_eq!(EventType::from_annotation("Crackle"), None);
}

#[test]
fn record_labels_round_trip() {
    for name in SPRSOUND_RECORD_LABELS {
        assert_eq!(RecordLabel::from_annotation(name).unwrap().name(), name);
    }
    assert_eq!(RecordLabel::from_annotation("CAS&DAS"), None);
}
