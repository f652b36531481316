//! Unit tests of `src/sprsound/json.rs`.

use std::path::Path;

use auscult_pipeline::sprsound::json::*;
use auscult_pipeline::sprsound::labels::{EventType, RecordLabel};

fn parse(text: &str) -> Result<ParsedAnnotation, AnnotationError> {
    parse_annotation_json(Path::new("dir/a_1.0_0_p1_1.json"), text)
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn string_times_and_record_key() {
    let a = parse(r#"{"record_annotation": "CAS", "event_annotation": [{"start": "1666", "end": "2206", "type": "Wheeze"}]}"#).unwrap();
    assert_eq!(a.record_label, Some(RecordLabel::Cas));
    assert_eq!(
        a.events,
        vec![AnnotationEvent {
            start_ms: 1666,
            end_ms: 2206,
            event_type: EventType::Wheeze,
            index_in_file: 0
        }]
    );
}

#[test]
fn integer_times_and_recording_key() {
    let a = parse(r#"{"recording_annotation": "Normal", "event_annotation": [{"start": 342, "end": 2515, "type": "Normal"}]}"#).unwrap();
    assert_eq!(a.record_label, Some(RecordLabel::Normal));
    assert_eq!((a.events[0].start_ms, a.events[0].end_ms), (342, 2515));
}

#[test]
fn both_keys_must_agree() {
    let same =
        r#"{"record_annotation": "DAS", "recording_annotation": "DAS", "event_annotation": []}"#;
    assert_eq!(parse(same).unwrap().record_label, Some(RecordLabel::Das));
    let differ =
        r#"{"record_annotation": "DAS", "recording_annotation": "CAS", "event_annotation": []}"#;
    assert!(
        err(differ).contains("`record_annotation` is `DAS` but `recording_annotation` is `CAS`")
    );
}

#[test]
fn missing_record_key_is_none() {
    let a = parse("{\n  \"event_annotation\": [\n {\"start\": \"25\", \"end\": \"4563\", \"type\": \"Normal\"}]\n}").unwrap();
    assert_eq!(a.record_label, None);
    assert_eq!(a.events.len(), 1);
}

#[test]
fn events_sorted_stably_keeping_file_index() {
    let a = parse(
        r#"{"record_annotation": "CAS & DAS", "event_annotation": [
        {"start": "3000", "end": "4000", "type": "Wheeze"},
        {"start": "1000", "end": "2000", "type": "Fine Crackle"},
        {"start": "3000", "end": "3500", "type": "Normal"},
        {"start": "2000", "end": "3000", "type": "Wheeze & Crackle"}]}"#,
    )
    .unwrap();
    let order: Vec<usize> = a.events.iter().map(|e| e.index_in_file).collect();
    assert_eq!(order, vec![1, 3, 0, 2]);
    assert_eq!(a.events[1].event_type, EventType::WheezeCrackle);
}

#[test]
fn poor_quality_with_no_events() {
    let a = parse(r#"{"record_annotation": "Poor Quality", "event_annotation": []}"#).unwrap();
    assert_eq!(a.record_label, Some(RecordLabel::PoorQuality));
    assert!(a.events.is_empty());
}

#[test]
fn bom_is_ignored() {
    assert!(parse("\u{feff}{\"event_annotation\": []}").is_ok());
}

#[test]
fn each_bad_input_names_file_and_json_path() {
    let ok_event = r#"{"start": "1", "end": "2", "type": "Normal"}"#;
    let cases = [
        (
            r#"{"record_annotation": "Normal", "event_annotation": ["#.to_string(),
            "malformed JSON at line 1",
        ),
        (
            "[]".to_string(),
            "`(top level)` is an array, expected an object",
        ),
        (
            r#"{"record_annotation": "Normal"}"#.to_string(),
            "missing key `event_annotation`",
        ),
        (
            r#"{"event_annotation": {}}"#.to_string(),
            "`event_annotation` is an object, expected an array",
        ),
        (
            r#"{"record_annotation": 3, "event_annotation": []}"#.to_string(),
            "`record_annotation` is number 3, expected a string",
        ),
        (
            r#"{"record_annotation": "Bad", "event_annotation": []}"#.to_string(),
            "unknown record label `Bad`",
        ),
        (
            format!(r#"{{"event_annotation": [{ok_event}, "x"]}}"#),
            "`event_annotation[1]` is string \"x\", expected an object",
        ),
        (
            format!(r#"{{"event_annotation": [{ok_event}, {{"end": "2", "type": "Normal"}}]}}"#),
            "missing key `event_annotation[1].start`",
        ),
        (
            format!(r#"{{"event_annotation": [{ok_event}, {{"start": "1", "type": "Normal"}}]}}"#),
            "missing key `event_annotation[1].end`",
        ),
        (
            format!(r#"{{"event_annotation": [{ok_event}, {{"start": "1", "end": "2"}}]}}"#),
            "missing key `event_annotation[1].type`",
        ),
        (
            format!(
                r#"{{"event_annotation": [{ok_event}, {{"start": "1", "end": "2", "type": "Crackle"}}]}}"#
            ),
            "`event_annotation[1].type` has unknown event type `Crackle`",
        ),
        (
            format!(
                r#"{{"event_annotation": [{ok_event}, {{"start": "1", "end": "2", "type": 5}}]}}"#
            ),
            "`event_annotation[1].type` is number 5, expected a string",
        ),
        (
            format!(
                r#"{{"event_annotation": [{ok_event}, {{"start": "1a", "end": "2", "type": "Normal"}}]}}"#
            ),
            "`event_annotation[1].start` is string \"1a\", expected a whole",
        ),
        (
            format!(
                r#"{{"event_annotation": [{ok_event}, {{"start": "1", "end": "", "type": "Normal"}}]}}"#
            ),
            "`event_annotation[1].end` is string \"\", expected a whole",
        ),
        (
            format!(
                r#"{{"event_annotation": [{ok_event}, {{"start": -1, "end": "2", "type": "Normal"}}]}}"#
            ),
            "`event_annotation[1].start` is number -1",
        ),
        (
            format!(
                r#"{{"event_annotation": [{ok_event}, {{"start": 1.5, "end": "2", "type": "Normal"}}]}}"#
            ),
            "`event_annotation[1].start` is number 1.5",
        ),
        (
            format!(
                r#"{{"event_annotation": [{ok_event}, {{"start": null, "end": "2", "type": "Normal"}}]}}"#
            ),
            "`event_annotation[1].start` is null",
        ),
        (
            format!(
                r#"{{"event_annotation": [{ok_event}, {{"start": "5", "end": "5", "type": "Normal"}}]}}"#
            ),
            "`event_annotation[1]` starts at 5 ms but ends at 5 ms",
        ),
        (
            format!(
                r#"{{"event_annotation": [{ok_event}, {{"start": "6", "end": "5", "type": "Normal"}}]}}"#
            ),
            "`event_annotation[1]` starts at 6 ms but ends at 5 ms",
        ),
    ];
    for (text, needle) in cases {
        let msg = err(&text);
        assert!(msg.starts_with("dir/a_1.0_0_p1_1.json: "), "{msg}");
        assert!(msg.contains(needle), "{text}\n  → {msg}");
    }
}

#[test]
fn error_index_is_the_index_in_the_file_not_after_sorting() {
    let text = r#"{"event_annotation": [{"start": "900", "end": "950", "type": "Normal"}, {"start": "100", "end": "200", "type": "Nope"}]}"#;
    assert!(err(text).contains("event_annotation[1].type"));
}
