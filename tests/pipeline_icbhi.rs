//! ICBHI stage-1 tests: real metadata and the real mini database (from ../shared/data when
//! present), and the synth → build → inspect round trip through the CLI.

mod common;

use std::path::{Path, PathBuf};

use auscult_cache::CacheReader;
use auscult_pipeline::build::{build, BuildOptions, Dataset};
use auscult_pipeline::metadata::{f64_column, read_table, string_column};
use common::{auscult, mini_database, shared_data, synth_icbhi_db};

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

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}
