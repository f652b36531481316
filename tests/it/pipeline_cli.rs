//! The stage-1 CLI round trips: `auscult pipeline synth/build/inspect` on ICBHI and SPRSound
//! (the pipeline's API tests are in pipeline/tests/it).

use std::path::Path;

use auscult_cache::table::{f64_column, read_table, string_column};
use auscult_cache::CacheReader;
use auscult_pipeline::build::{build, BuildOptions, Dataset};

use crate::common::{auscult, synth_sprsound_db};

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

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn synth_build_inspect_round_trip() {
    let db = synth_sprsound_db(1);
    let cache = tempfile::tempdir().unwrap();
    let r = build(&BuildOptions::new(
        Dataset::Sprsound,
        db.path(),
        cache.path(),
    ))
    .unwrap();
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    let df = read_table(&cache.path().join("metadata.parquet")).unwrap();
    assert_eq!(df.height(), r.rows);
    let split = string_column(&df, "split").unwrap();
    for s in ["train", "inter_test", "intra_test"] {
        assert!(split.iter().any(|v| v.as_deref() == Some(s)), "no {s} rows");
    }
    // 7-class labels with Normal = 0, binary label consistent with it.
    let label = f64_column(&df, "label").unwrap();
    let binary = f64_column(&df, "label_binary").unwrap();
    for (l, b) in label.iter().zip(&binary) {
        assert_eq!((l.unwrap() > 0.0) as i64 as f64, b.unwrap());
    }
    let reader = CacheReader::open(cache.path()).unwrap();
    reader.verify().unwrap();
    let counts = &reader.manifest().counts;
    assert!(
        counts["dataset"]["splits"]["train"]["poor_quality_records"]
            .as_u64()
            .is_some(),
        "{counts}"
    );
    let out = auscult(&["pipeline", "inspect", cache.path().to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("inter_test") && text.contains("age_group"),
        "{text}"
    );
}
