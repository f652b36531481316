//! Scanner tests on generated folders (JSON text written here, empty WAV placeholders: the
//! scanner only checks that audio files exist).

use std::fs;
use std::path::Path;

use auscult_pipeline::record::{Origin, RecordMeta};
use auscult_pipeline::sprsound::*;

const TRAIN: &str = "BioCAS2022/train2022_json";
const TRAIN_WAV: &str = "BioCAS2022/train2022_wav";
const INTER: &str = "BioCAS2022/test2022_json/inter_test_json";
const INTRA: &str = "BioCAS2022/test2022_json/intra_test_json";
const TEST_WAV: &str = "BioCAS2022/test2022_wav";

fn put(root: &Path, dir: &str, stem: &str, json: Option<&str>, wav: Option<&str>) {
    if let Some(text) = json {
        fs::create_dir_all(root.join(dir)).unwrap();
        fs::write(root.join(dir).join(format!("{stem}.json")), text).unwrap();
    }
    if let Some(wav_dir) = wav {
        fs::create_dir_all(root.join(wav_dir)).unwrap();
        fs::write(root.join(wav_dir).join(format!("{stem}.wav")), b"").unwrap();
    }
}

const CAS_DAS: &str = r#"{"record_annotation": "CAS & DAS", "event_annotation": [{"start": "3000", "end": "4000", "type": "Wheeze"}, {"start": "1000", "end": "2000", "type": "Fine Crackle"}, {"start": "2000", "end": "3000", "type": "Normal"}]}"#;
const NORMAL: &str = r#"{"record_annotation": "Normal", "event_annotation": [{"start": 10, "end": 900, "type": "Normal"}]}"#;

fn scan(root: &Path) -> SprsoundScan {
    scan_sprsound(&SprsoundOptions::new(root)).unwrap()
}

fn meta(r: &auscult_pipeline::record::CycleRecord) -> &auscult_pipeline::record::SprsoundMeta {
    match &r.meta {
        RecordMeta::Sprsound(m) => m,
        other => panic!("not SPRSound meta: {other:?}"),
    }
}

#[test]
fn rows_carry_sorted_events_and_file_name_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(
        root,
        TRAIN,
        "41173389_4.1_1_p4_1541",
        Some(CAS_DAS),
        Some(TRAIN_WAV),
    );
    put(
        root,
        INTER,
        "65109516_2.9_0_p7_3659",
        Some(NORMAL),
        Some(TEST_WAV),
    );
    put(
        root,
        INTRA,
        "41173389_3.0_1_p1_625",
        Some(NORMAL),
        Some(TEST_WAV),
    );
    let s = scan(root);
    assert!(s.issues.is_empty(), "{:?}", s.issues);
    assert_eq!(s.records.len(), 5);

    let train: Vec<_> = s.records.iter().filter(|r| r.split == "train").collect();
    let spans: Vec<_> = train.iter().map(|r| r.span_ms.unwrap()).collect();
    assert_eq!(spans, vec![(1000, 2000), (2000, 3000), (3000, 4000)]);
    let labels: Vec<_> = train
        .iter()
        .map(|r| (r.label, r.label_name.as_str()))
        .collect();
    assert_eq!(
        labels,
        vec![(5, "Fine Crackle"), (0, "Normal"), (2, "Wheeze")]
    );
    let origins: Vec<_> = train.iter().map(|r| r.origin.clone()).collect();
    assert_eq!(
        origins,
        vec![Origin::Event(0), Origin::Event(1), Origin::Event(2)]
    );
    let in_file: Vec<_> = train.iter().map(|r| meta(r).event_index_in_file).collect();
    assert_eq!(in_file, vec![1, 2, 0]);
    let r = train[0];
    assert_eq!((r.onset_s, r.offset_s), (1.0, 2.0));
    assert_eq!(r.recording, "41173389_4.1_1_p4_1541");
    assert_eq!(
        r.audio_path,
        root.join(TRAIN_WAV).join("41173389_4.1_1_p4_1541.wav")
    );
    assert_eq!(
        r.annotation_path,
        root.join(TRAIN).join("41173389_4.1_1_p4_1541.json")
    );
    let m = meta(r);
    assert_eq!(m.patient_id, "41173389");
    assert_eq!(
        (m.age, m.sex.as_str(), m.age_group.as_str()),
        (4.1, "F", "kid")
    );
    assert_eq!(m.chest_location, "p4");
    assert_eq!(m.chest_location_name.as_deref(), Some("right lateral"));
    assert_eq!((m.recording_id.as_str(), m.year), ("1541", 2022));
    assert_eq!(m.record_label.as_deref(), Some("CAS & DAS"));
    assert_eq!((m.event_type.as_str(), m.label_binary), ("Fine Crackle", 1));
    assert_eq!(meta(train[1]).label_binary, 0);

    let inter = s.records.iter().find(|r| r.split == "inter_test").unwrap();
    let m = meta(inter);
    assert_eq!((m.sex.as_str(), m.age_group.as_str()), ("M", "baby"));
    assert_eq!(
        (m.chest_location.as_str(), m.chest_location_name.as_deref()),
        ("p7", None)
    );
    assert_eq!(
        inter.audio_path,
        root.join(TEST_WAV).join("65109516_2.9_0_p7_3659.wav")
    );
    // Age exactly at the threshold is `kid`.
    let intra = s.records.iter().find(|r| r.split == "intra_test").unwrap();
    assert_eq!(meta(intra).age_group, "kid");
    assert_eq!(s.counts.wav_files, 3);

    let baby_all = scan_sprsound(&SprsoundOptions {
        age_group_threshold_years: 100.0,
        ..SprsoundOptions::new(root)
    })
    .unwrap();
    assert!(baby_all.records.iter().all(|r| meta(r).age_group == "baby"));
}

#[test]
fn poor_quality_and_empty_records_are_counted_not_emitted() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let pq_with_event = r#"{"record_annotation": "Poor Quality", "event_annotation": [{"start": "1", "end": "2", "type": "Normal"}]}"#;
    put(
        root,
        TRAIN,
        "1_1.0_0_p1_1",
        Some(r#"{"record_annotation": "Poor Quality", "event_annotation": []}"#),
        Some(TRAIN_WAV),
    );
    put(
        root,
        TRAIN,
        "1_1.0_0_p1_2",
        Some(pq_with_event),
        Some(TRAIN_WAV),
    );
    put(
        root,
        TRAIN,
        "1_1.0_0_p1_3",
        Some(r#"{"record_annotation": "Normal", "event_annotation": []}"#),
        Some(TRAIN_WAV),
    );
    put(root, TRAIN, "1_1.0_0_p1_4", Some(NORMAL), Some(TRAIN_WAV));
    let s = scan(root);
    assert!(s.issues.is_empty(), "{:?}", s.issues);
    assert_eq!(s.records.len(), 1);
    let c = &s.counts.splits["train"];
    assert_eq!((c.json_files, c.files_with_issues), (4, 0));
    assert_eq!(
        (c.poor_quality, c.poor_quality_events, c.without_events),
        (2, 1, 1)
    );
    assert_eq!(c.record_labels["Poor Quality"], 2);
    assert_eq!(c.record_labels["Normal"], 2);
    assert_eq!((c.events, c.event_types["Normal"]), (1, 1));
}

#[test]
fn each_bad_input_is_an_issue_naming_the_file_and_other_files_still_load() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(root, TRAIN, "1_1.0_0_p1_1", Some(NORMAL), Some(TRAIN_WAV));
    put(root, TRAIN, "1_1.0_0_p1_2", Some(NORMAL), None); // JSON without WAV
    put(root, TRAIN, "1_1.0_0_p1_3", None, Some(TRAIN_WAV)); // WAV without JSON
    put(root, TRAIN, "1_1.0_0_p1", Some(NORMAL), Some(TRAIN_WAV)); // 4 fields
    put(
        root,
        TRAIN,
        "1_1.0_0_p1_5",
        Some(r#"{"event_annotation": [{"#),
        Some(TRAIN_WAV),
    );
    let bad_type = r#"{"event_annotation": [{"start": "1", "end": "2", "type": "Normal"}, {"start": "1", "end": "2", "type": "Squawk"}]}"#;
    put(root, TRAIN, "1_1.0_0_p1_6", Some(bad_type), Some(TRAIN_WAV));
    let s = scan(root);
    let reasons: Vec<&str> = s.issues.iter().map(|i| i.reason.as_str()).collect();
    assert_eq!(s.issues.len(), 5, "{reasons:#?}");
    let expect = [
        ("1_1.0_0_p1.json", "field"),
        (
            "1_1.0_0_p1_2.json",
            "annotation without audio: no 1_1.0_0_p1_2.wav",
        ),
        ("1_1.0_0_p1_5.json", "malformed JSON"),
        (
            "1_1.0_0_p1_6.json",
            "event_annotation[1].type` has unknown event type `Squawk`",
        ),
        (
            "1_1.0_0_p1_3.wav",
            "audio without annotation: no 1_1.0_0_p1_3.json",
        ),
    ];
    for (file, needle) in expect {
        let issue = s
            .issues
            .iter()
            .find(|i| i.input.ends_with(file))
            .unwrap_or_else(|| panic!("no issue for {file}: {reasons:#?}"));
        assert!(
            issue.reason.contains(file) && issue.reason.contains(needle),
            "{issue}"
        );
    }
    // Only the good file gives rows.
    assert_eq!(s.records.len(), 1);
    assert_eq!(s.records[0].recording, "1_1.0_0_p1_1");
    let c = &s.counts.splits["train"];
    assert_eq!((c.json_files, c.files_with_issues), (5, 4));
    assert_eq!((s.counts.wav_files, s.counts.wav_without_json), (5, 1));
}

#[test]
fn audio_can_be_optional() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(root, INTER, "1_1.0_0_p1_1", Some(NORMAL), None);
    let s = scan_sprsound(&SprsoundOptions {
        require_audio: false,
        ..SprsoundOptions::new(root)
    })
    .unwrap();
    assert!(s.issues.is_empty(), "{:?}", s.issues);
    assert_eq!(
        s.records[0].audio_path,
        root.join(TEST_WAV).join("1_1.0_0_p1_1.wav")
    );
    assert_eq!(scan(root).issues.len(), 1);
}

#[test]
fn a_stem_annotated_in_both_test_splits_is_an_issue() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(root, INTER, "1_1.0_0_p1_1", Some(NORMAL), Some(TEST_WAV));
    put(root, INTRA, "1_1.0_0_p1_1", Some(NORMAL), None);
    let s = scan(root);
    assert_eq!(s.issues.len(), 1);
    assert!(
        s.issues[0].reason.contains("already annotated by"),
        "{}",
        s.issues[0]
    );
    assert!(s.issues[0].input.starts_with(root.join(INTRA)));
    assert_eq!(s.records.len(), 1);
}

#[test]
fn later_years_are_test_year_splits_and_can_be_filtered() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(root, TRAIN, "1_1.0_0_p1_1", Some(NORMAL), Some(TRAIN_WAV));
    let no_record_key = r#"{"event_annotation": [{"start": "5", "end": "9", "type": "Rhonchi"}]}"#;
    put(
        root,
        "BioCAS2024/test2024_json",
        "00016281_3.7_1_p8_11865",
        Some(no_record_key),
        Some("BioCAS2024/test2024_wav"),
    );
    let s = scan(root);
    assert!(s.issues.is_empty(), "{:?}", s.issues);
    let later = s.records.iter().find(|r| r.split == "test_2024").unwrap();
    assert_eq!(
        (meta(later).year, meta(later).record_label.as_deref()),
        (2024, None)
    );
    assert_eq!(meta(later).patient_id, "00016281");
    assert_eq!(s.counts.splits["test_2024"].without_record_label, 1);

    let only_2022 = scan_sprsound(&SprsoundOptions {
        years: Some(vec![2022]),
        ..SprsoundOptions::new(root)
    })
    .unwrap();
    assert!(only_2022.records.iter().all(|r| r.split == "train"));
    let none = scan_sprsound(&SprsoundOptions {
        years: Some(vec![2030]),
        ..SprsoundOptions::new(root)
    });
    assert!(matches!(none, Err(SprsoundError::NoFoldersForYears { .. })));
}

#[test]
fn bad_threshold_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = SprsoundOptions {
        age_group_threshold_years: f64::NAN,
        ..SprsoundOptions::new(tmp.path())
    };
    assert!(matches!(
        scan_sprsound(&opts),
        Err(SprsoundError::BadAgeThreshold(_))
    ));
}
