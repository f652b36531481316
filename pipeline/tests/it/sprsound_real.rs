//! The SPRSound reader on the real annotation sample in `../shared/data/sprsound` (JSON only, no
//! audio; see its README). Expected numbers come from that README's tables and its
//! `manifest.csv`, which were produced independently of this code. Skips when the folder is
//! absent, fails instead with `AUSCULT_REQUIRE_DATA=1`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use auscult_pipeline::record::{CycleRecord, Origin, RecordMeta, SprsoundMeta};
use auscult_pipeline::sprsound::{
    parse_annotation_json, parse_stem, scan_sprsound, SprsoundOptions, SprsoundScan,
};

use crate::shared;

/// `<workspace>/../shared/data/sprsound` when it holds `BioCAS2022/`, or None (with a message)
/// when absent; with `AUSCULT_REQUIRE_DATA=1` a missing folder fails the test instead.
fn data_root() -> Option<PathBuf> {
    // This package's manifest dir is `<workspace>/pipeline`.
    let workspace = shared::manifest_dir().parent()?.to_path_buf();
    let root = shared::shared_data_root(&workspace).join("sprsound");
    shared::shared_or_skip(&root.join("BioCAS2022"))?;
    Some(root)
}

fn scan(root: &Path) -> SprsoundScan {
    let opts = SprsoundOptions {
        require_audio: false,
        ..SprsoundOptions::new(root)
    };
    scan_sprsound(&opts).unwrap()
}

fn meta(r: &CycleRecord) -> &SprsoundMeta {
    match &r.meta {
        RecordMeta::Sprsound(m) => m,
        other => panic!("not SPRSound meta: {other:?}"),
    }
}

const SPLITS: [&str; 3] = ["train", "inter_test", "intra_test"];

#[test]
fn counts_per_split_match_the_readme_tables() {
    let Some(root) = data_root() else { return };
    let s = scan(&root);
    assert!(s.issues.is_empty(), "{:#?}", s.issues);
    let mut expected_splits = SPLITS.to_vec();
    expected_splits.sort();
    assert_eq!(s.counts.splits.keys().collect::<Vec<_>>(), expected_splits);

    // README "Record-level labels": train (30), inter (17), intra (17).
    let files = [30, 17, 17];
    let records: [(&str, [usize; 3]); 5] = [
        ("Normal", [17, 5, 3]),
        ("CAS", [1, 6, 2]),
        ("DAS", [10, 3, 10]),
        ("CAS & DAS", [2, 3, 2]),
        ("Poor Quality", [0, 0, 0]),
    ];
    // README "Event-level labels".
    let events: [(&str, [usize; 3]); 7] = [
        ("Normal", [76, 30, 22]),
        ("Fine Crackle", [31, 14, 22]),
        ("Wheeze", [6, 21, 6]),
        ("Coarse Crackle", [1, 0, 0]),
        ("Rhonchi", [0, 0, 0]),
        ("Stridor", [0, 0, 0]),
        ("Wheeze+Crackle", [0, 0, 0]),
    ];
    let totals = [114, 65, 50];
    for (k, split) in SPLITS.iter().enumerate() {
        let c = &s.counts.splits[*split];
        assert_eq!(c.json_files, files[k], "{split} files");
        assert_eq!(c.files_with_issues, 0);
        for (label, n) in records {
            assert_eq!(
                c.record_labels.get(label).copied().unwrap_or(0),
                n[k],
                "{split} {label}"
            );
        }
        for (kind, n) in events {
            assert_eq!(
                c.event_types.get(kind).copied().unwrap_or(0),
                n[k],
                "{split} {kind}"
            );
        }
        assert_eq!(c.events, totals[k], "{split} events");
        assert_eq!(
            (c.poor_quality, c.without_events, c.without_record_label),
            (0, 0, 0)
        );
        let rows = s.records.iter().filter(|r| r.split == *split).count();
        assert_eq!(rows, totals[k], "{split} rows");
    }
    assert_eq!(s.records.len(), 229);
    assert!(s.records.iter().all(|r| meta(r).year == 2022));
}

#[test]
fn every_file_parses_and_agrees_with_the_manifest() {
    let Some(root) = data_root() else { return };
    let manifest = fs::read_to_string(root.join("manifest.csv")).unwrap();
    let mut rows = 0;
    for line in manifest.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 11, "{line}");
        let path = root.join(f[0]);
        let text = fs::read_to_string(&path).unwrap();
        let parsed = parse_annotation_json(&path, &text).unwrap();
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let fields = parse_stem(stem).unwrap();
        assert_eq!(fields.patient_id, f[2]);
        assert_eq!(fields.age_years, f[3].parse::<f64>().unwrap());
        assert_eq!(fields.sex, if f[4] == "0" { "M" } else { "F" });
        assert_eq!(fields.location_code, f[5]);
        assert_eq!(fields.recording_id, f[6]);
        assert_eq!(parsed.record_label.unwrap().name(), f[7]);
        assert_eq!(parsed.events.len(), f[8].parse::<usize>().unwrap());
        let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &parsed.events {
            *by_type.entry(e.event_type.name()).or_default() += 1;
        }
        let expected: BTreeMap<&str, usize> = f[9]
            .split(';')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k, v.parse().unwrap())
            })
            .collect();
        assert_eq!(by_type, expected, "{}", f[0]);
        rows += 1;
    }
    assert_eq!(rows, 64);
}

#[test]
fn event_order_facts_from_the_readme() {
    let Some(root) = data_root() else { return };
    let s = scan(&root);
    let mut by_file: BTreeMap<&str, Vec<&CycleRecord>> = BTreeMap::new();
    for r in &s.records {
        by_file.entry(r.recording.as_str()).or_default().push(r);
    }
    assert_eq!(by_file.len(), 64);
    // "24 of the 64 saved files list events out of order"; one touching pair; max end 15347.
    let mut unsorted = 0;
    let mut touching = 0;
    for rows in by_file.values() {
        let in_file: Vec<usize> = rows.iter().map(|r| meta(r).event_index_in_file).collect();
        if in_file.windows(2).any(|w| w[0] > w[1]) {
            unsorted += 1;
        }
        for (i, w) in rows.windows(2).enumerate() {
            let (a, b) = (w[0].span_ms.unwrap(), w[1].span_ms.unwrap());
            assert!(a.0 <= b.0, "{} not sorted", w[0].recording);
            touching += usize::from(a.1 == b.0);
            assert_eq!(w[0].origin, Origin::Event(i));
        }
    }
    assert_eq!(unsorted, 24);
    assert_eq!(touching, 1);
    let max_end = s.records.iter().map(|r| r.span_ms.unwrap().1).max();
    assert_eq!(max_end, Some(15347));

    // The README's verbatim example file.
    let rows = &by_file["41173389_4.1_1_p4_1541"];
    let spans: Vec<(u64, u64)> = rows.iter().map(|r| r.span_ms.unwrap()).collect();
    assert_eq!(
        spans,
        [
            (1666, 2206),
            (2206, 3519),
            (3932, 5293),
            (7216, 8197),
            (10194, 10892),
            (12717, 13665),
            (13752, 14479)
        ]
    );
    let in_file: Vec<usize> = rows.iter().map(|r| meta(r).event_index_in_file).collect();
    assert_eq!(in_file, [0, 6, 1, 3, 2, 4, 5]);
    let r = rows[1];
    assert_eq!((r.label_name.as_str(), r.label), ("Fine Crackle", 5));
    assert_eq!((r.onset_s, r.offset_s), (2.206, 3.519));
    assert_eq!(r.split, "train");
    let m = meta(r);
    assert_eq!(m.record_label.as_deref(), Some("CAS & DAS"));
    assert_eq!(
        (m.patient_id.as_str(), m.age, m.sex.as_str()),
        ("41173389", 4.1, "F")
    );
    assert_eq!(m.chest_location_name.as_deref(), Some("right lateral"));
    assert_eq!(m.age_group, "kid");
    assert_eq!(
        r.audio_path,
        root.join("BioCAS2022/train2022_wav/41173389_4.1_1_p4_1541.wav")
    );
}

#[test]
fn intra_test_patients_appear_in_train_and_inter_test_patients_do_not() {
    let Some(root) = data_root() else { return };
    let s = scan(&root);
    let patients = |split: &str| -> std::collections::BTreeSet<String> {
        s.records
            .iter()
            .filter(|r| r.split == split)
            .map(|r| meta(r).patient_id.clone())
            .collect()
    };
    let (train, inter) = (patients("train"), patients("inter_test"));
    assert!(train.is_disjoint(&inter));
    // README: 41227367 has a training file and an intra-test file.
    assert!(train.contains("41227367") && patients("intra_test").contains("41227367"));
}

#[test]
fn requiring_audio_reports_every_json_without_its_wav() {
    let Some(root) = data_root() else { return };
    let s = scan_sprsound(&SprsoundOptions::new(&root)).unwrap();
    assert_eq!(s.issues.len(), 64);
    assert!(s.records.is_empty());
    assert!(s
        .issues
        .iter()
        .all(|i| i.reason.contains("annotation without audio")));
}
