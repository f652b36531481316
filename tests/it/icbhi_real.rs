//! ICBHI metadata-only build of the real annotations (from ../shared/data when present),
//! checked through the pipeline and the trainer's leakage-free protocol (the `auscult` library:
//! the pipeline's own tests are in pipeline/tests/it).

use std::path::PathBuf;

use auscult_cache::table::{f64_column, read_table, string_column};
use auscult_pipeline::build::{build, BuildOptions, Dataset};

use crate::common::shared_data;

fn count(values: &[Option<String>], want: &str) -> usize {
    values.iter().filter(|v| v.as_deref() == Some(want)).count()
}

#[test]
fn metadata_only_on_the_real_annotations_gives_the_official_counts() {
    let Some(icbhi) = shared_data("icbhi") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let mut o = BuildOptions::new(Dataset::Icbhi, &icbhi, out.path());
    o.metadata_only = true;
    o.recordings_dir = Some(PathBuf::from("all_annotations"));
    let report = build(&o).unwrap();
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.rows, 6898);
    assert_eq!(report.recordings, 920);
    assert!(
        !out.path().join("shards").exists()
            || std::fs::read_dir(out.path().join("shards"))
                .unwrap()
                .count()
                == 0
    );

    let df = read_table(&out.path().join("metadata.parquet")).unwrap();
    assert_eq!(df.height(), 6898);
    let labels = string_column(&df, "label_name").unwrap();
    assert_eq!(
        ["normal", "crackle", "wheeze", "both"].map(|l| count(&labels, l)),
        [3642, 1864, 886, 506]
    );
    let split = string_column(&df, "split").unwrap();
    assert_eq!(
        (count(&split, "train"), count(&split, "test")),
        (4142, 2756)
    );
    // A metadata-only manifest has no shard rows but counts the table's rows per split.
    let m = &report.manifest;
    assert_eq!((m.rows, m.shards.len()), (0, 0));
    assert_eq!(
        (m.split_rows("train"), m.split_rows("test")),
        (Some(4142), Some(2756))
    );
    assert_eq!(m.default_eval_split.as_deref(), Some("test"));
    let train_labels: Vec<Option<String>> = labels
        .iter()
        .zip(&split)
        .filter(|(_, s)| s.as_deref() == Some("train"))
        .map(|(l, _)| l.clone())
        .collect();
    assert_eq!(
        ["normal", "crackle", "wheeze", "both"].map(|l| count(&train_labels, l)),
        [2063, 1215, 501, 363]
    );
    // Missing demographics are nulls, never invented (patient 223 has none).
    let patient = f64_column(&df, "patient_id").unwrap();
    let age = f64_column(&df, "age").unwrap();
    let rows_223: Vec<_> = patient
        .iter()
        .zip(&age)
        .filter(|(p, _)| **p == Some(223.0))
        .collect();
    assert!(!rows_223.is_empty());
    assert!(rows_223.iter().all(|(_, a)| a.is_none()));
    // Audio-derived columns are null without audio.
    assert!(f64_column(&df, "source_sample_rate")
        .unwrap()
        .iter()
        .all(Option::is_none));
    // Device-suffix mismatch: 226_1b1_Pl_sc_LittC2SE is matched to the split's ..._Meditron.
    let rec = string_column(&df, "recording").unwrap();
    assert!(rec
        .iter()
        .any(|r| r.as_deref() == Some("226_1b1_Pl_sc_LittC2SE")));
    let dur = f64_column(&df, "duration_s").unwrap();
    assert_eq!(dur.iter().filter(|d| d.unwrap() > 8.0).count(), 15);

    // The official split file puts patients 156 and 218 on both sides: found from the data,
    // and the leakage-free test set is the test split without them.
    let shared = auscult_cache::table::patients_in_several_splits(&df).unwrap();
    assert_eq!(
        shared.keys().map(String::as_str).collect::<Vec<_>>(),
        ["156", "218"]
    );
    let split_of: Vec<String> = split.iter().map(|s| s.clone().unwrap()).collect();
    let patient_of = string_column(&df, "patient_id").unwrap();
    let test: Vec<usize> = (0..split_of.len())
        .filter(|&r| split_of[r] == "test")
        .collect();
    let (kept, dropped) =
        auscult::data::protocol::leakage_free(&split_of, &patient_of, "train", &test);
    assert_eq!((kept.len(), test.len()), (2636, 2756));
    assert_eq!(dropped.into_iter().collect::<Vec<_>>(), ["156", "218"]);
    let shown = auscult_pipeline::inspect::inspect(out.path())
        .unwrap()
        .to_string();
    assert!(
        shown.contains("2 patient(s) in more than one split: 156 (test, train); 218 (test, train)"),
        "{shown}"
    );
}
