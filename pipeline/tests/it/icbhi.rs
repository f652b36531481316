//! ICBHI stage-1 tests: real metadata and the real mini database (from ../shared/data when
//! present), the build's determinism and its manifest (the synth → build → inspect round trip
//! through the CLI is in the root crate's tests/it/pipeline_cli.rs).

use crate::shared::{mini_database, resolve_shared};
use crate::support::{class_table, synth_icbhi_db, table_split_counts};
use auscult_cache::table::{f64_column, read_table};
use auscult_cache::{CacheReader, Manifest};
use auscult_pipeline::build::{build, BuildOptions, Dataset};

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
        let classes = class_table(&m);
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
            table_split_counts(cache.path()),
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
