//! ICBHI stage-1 tests: real metadata and the real mini database (from ../shared/data when
//! present), and the synth → build → inspect round trip through the CLI.

use crate::common;

use std::path::{Path, PathBuf};

use auscult_cache::table::{f64_column, read_table, string_column};
use auscult_cache::{CacheReader, Manifest};
use auscult_pipeline::build::{build, BuildOptions, Dataset};
use common::shared::resolve_shared;
use common::{auscult, mini_database, shared_data, synth_icbhi_db};

#[test]
fn missing_real_data_skips_unless_required() {
    let dir = tempfile::tempdir().unwrap();
    let present = dir.path().join("icbhi");
    std::fs::create_dir(&present).unwrap();
    for require in [false, true] {
        assert_eq!(resolve_shared(&present, require), Ok(Some(present.clone())));
    }
    let absent = dir.path().join("no-such-data");
    assert_eq!(resolve_shared(&absent, false), Ok(None));
    let err = resolve_shared(&absent, true).unwrap_err();
    assert!(
        err.contains(&absent.display().to_string()) && err.contains("AUSCULT_REQUIRE_DATA=1"),
        "{err}"
    );
}

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

#[test]
fn full_build_of_the_real_mini_database() {
    let Some(icbhi) = mini_database() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let mut o = BuildOptions::new(Dataset::Icbhi, &icbhi, out.path());
    o.shard_size = 64;
    let report = build(&o).unwrap();
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.recordings, 19);
    let df = read_table(&out.path().join("metadata.parquet")).unwrap();
    assert_eq!(df.height(), report.rows);

    let reader = CacheReader::open(out.path()).unwrap();
    reader.verify().unwrap();
    assert_eq!(reader.manifest().feature_shape, [64, 251]);
    let labels = f64_column(&df, "label").unwrap();
    let shard_col = f64_column(&df, "shard").unwrap();
    let shard_row = f64_column(&df, "shard_row").unwrap();
    let rates = f64_column(&df, "source_sample_rate").unwrap();
    assert!(rates
        .iter()
        .all(|r| matches!(r, Some(r) if *r == 44100.0 || *r == 4000.0)));
    let mut seen = 0;
    for shard in reader.shards() {
        let shard = shard.unwrap();
        for i in 0..shard.rows() {
            let id = shard.cycle_id[i] as usize;
            assert_eq!(id, seen, "rows are contiguous");
            assert_eq!(shard.label[i] as f64, labels[id].unwrap());
            assert_eq!(shard_col[id], Some(shard.index as f64));
            assert_eq!(shard_row[id], Some(i as f64));
            let mel = shard.mel_row(i);
            assert_eq!(mel.len(), 64 * 251);
            assert!(mel.iter().all(|v| v.is_finite()));
            // dB of a power spectrogram floored at 1e-10: never below -100 dB.
            assert!(mel.iter().all(|v| *v >= -100.0 - 1e-3));
            seen += 1;
        }
    }
    assert_eq!(seen, report.rows);
}

#[test]
fn synth_build_inspect_round_trip_through_the_cli() {
    let db = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out = auscult(&[
        "pipeline",
        "synth",
        "--dataset",
        "icbhi",
        "--output",
        p(db.path()),
        "--recordings",
        "6",
        "--seed",
        "3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = auscult(&[
        "pipeline",
        "build",
        "--input",
        p(db.path()),
        "--output",
        p(cache.path()),
        "--shard-size",
        "16",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = auscult(&["pipeline", "inspect", p(cache.path()), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["rows"].as_u64().unwrap();
    assert!(rows > 0);
    let by_split: u64 = v["by_split_label"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|m| m.as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(by_split, rows);
    let reader = CacheReader::open(cache.path()).unwrap();
    assert_eq!(reader.manifest().rows, rows);
    let text = auscult(&["pipeline", "inspect", p(cache.path())]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("split") && text.contains("device"), "{text}");
}

#[test]
fn output_bytes_do_not_depend_on_jobs() {
    let db = synth_icbhi_db(5, 11);
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for (dir, jobs) in [(a.path(), 1), (b.path(), 2)] {
        let mut o = BuildOptions::new(Dataset::Icbhi, db.path(), dir);
        o.jobs = Some(jobs);
        o.shard_size = 7;
        build(&o).unwrap();
    }
    for f in ["manifest.json", "metadata.parquet"] {
        assert_eq!(
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
            "{f}"
        );
    }
    let shards = std::fs::read_dir(a.path().join("shards")).unwrap().count();
    assert!(shards > 1);
    for e in std::fs::read_dir(a.path().join("shards")).unwrap() {
        let name = e.unwrap().file_name();
        assert_eq!(
            std::fs::read(a.path().join("shards").join(&name)).unwrap(),
            std::fs::read(b.path().join("shards").join(&name)).unwrap()
        );
    }
}

#[test]
fn the_manifest_lists_classes_splits_and_the_default_evaluation_split() {
    let db = synth_icbhi_db(8, 5);
    for metadata_only in [false, true] {
        let cache = tempfile::tempdir().unwrap();
        let mut o = BuildOptions::new(Dataset::Icbhi, db.path(), cache.path());
        o.metadata_only = metadata_only;
        o.shard_size = 16;
        build(&o).unwrap();
        let m = Manifest::load(cache.path()).unwrap();
        let classes = common::class_table(&m);
        assert_eq!(
            classes,
            [
                (0, "normal", true),
                (1, "crackle", false),
                (2, "wheeze", false),
                (3, "both", false)
            ]
        );
        assert_eq!(m.normal_ids(), [0]);
        let splits: Vec<(String, u64)> =
            m.splits.iter().map(|s| (s.name.clone(), s.rows)).collect();
        assert_eq!(
            splits,
            common::table_split_counts(cache.path()),
            "metadata_only {metadata_only}"
        );
        let names: Vec<&str> = splits.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["test", "train"]);
        assert_eq!(m.default_eval_split.as_deref(), Some("test"));
        if metadata_only {
            assert_eq!(m.rows, 0);
        } else {
            assert_eq!(splits.iter().map(|(_, n)| n).sum::<u64>(), m.rows);
        }
    }
}

#[test]
fn inspect_prints_the_manifest_classes_and_splits() {
    let db = synth_icbhi_db(6, 2);
    let cache = tempfile::tempdir().unwrap();
    build(&BuildOptions::new(Dataset::Icbhi, db.path(), cache.path())).unwrap();
    let i = auscult_pipeline::inspect::inspect(cache.path()).unwrap();
    assert_eq!(i.labels, ["normal", "crackle", "wheeze", "both"]);
    assert_eq!(i.classes.len(), 4);
    let text = i.to_string();
    assert!(text.contains("classes (4):"), "{text}");
    assert!(
        text.contains(" 0  normal") && text.contains(" 3  both"),
        "{text}"
    );
    for s in &i.splits {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&s.name)
                    && l.contains(&format!("{} rows", s.rows))),
            "{}: {text}",
            s.name
        );
    }
    assert!(text.contains("(default evaluation split)"), "{text}");
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}
