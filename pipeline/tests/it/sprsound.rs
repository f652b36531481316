//! SPRSound stage-1 tests: the manifest, bad inputs, and metadata-only on the real annotation
//! sample (from ../shared/data when present). The synth → build → inspect round trip through
//! the CLI is in the root crate's tests/it/pipeline_cli.rs.

use std::path::Path;

use auscult_cache::table::{f64_column, read_table, string_column};
use auscult_cache::Manifest;
use auscult_pipeline::build::{build, BuildOptions, Dataset, OnError};

use crate::shared::{shared_data, synth_sprsound_db};
use crate::support::{class_table, table_split_counts};

fn json_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = walk(root)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn the_manifest_lists_the_seven_event_classes_and_the_splits() {
    let db = synth_sprsound_db(4);
    let cache = tempfile::tempdir().unwrap();
    build(&BuildOptions::new(
        Dataset::Sprsound,
        db.path(),
        cache.path(),
    ))
    .unwrap();
    let m = Manifest::load(cache.path()).unwrap();
    let classes = class_table(&m);
    assert_eq!(
        classes,
        [
            (0, "Normal", true),
            (1, "Rhonchi", false),
            (2, "Wheeze", false),
            (3, "Stridor", false),
            (4, "Coarse Crackle", false),
            (5, "Fine Crackle", false),
            (6, "Wheeze+Crackle", false),
        ]
    );
    // The table's label names are the manifest's class names of its label ids.
    let df = read_table(&cache.path().join("metadata.parquet")).unwrap();
    let names = m.class_names();
    for (l, n) in f64_column(&df, "label")
        .unwrap()
        .iter()
        .zip(string_column(&df, "label_name").unwrap())
    {
        assert_eq!(names[l.unwrap() as usize], n.unwrap());
    }
    let splits: Vec<(String, u64)> = m.splits.iter().map(|s| (s.name.clone(), s.rows)).collect();
    assert_eq!(splits, table_split_counts(cache.path()));
    let split_names: Vec<&str> = splits.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(split_names, ["inter_test", "intra_test", "train"]);
    assert_eq!(m.default_eval_split.as_deref(), Some("inter_test"));
    assert_eq!(splits.iter().map(|(_, n)| n).sum::<u64>(), m.rows);

    // Without an inter_test split there is no default evaluation split.
    let inter = db.path().join("BioCAS2022/test2022_json/inter_test_json");
    assert!(inter.is_dir());
    for json in json_files(&inter) {
        let stem = json.file_stem().unwrap().to_string_lossy().into_owned();
        let wav = db
            .path()
            .join(format!("BioCAS2022/test2022_wav/{stem}.wav"));
        std::fs::remove_file(wav).unwrap();
    }
    std::fs::remove_dir_all(&inter).unwrap();
    let mut o = BuildOptions::new(Dataset::Sprsound, db.path(), cache.path());
    o.metadata_only = true;
    // The first build had audio: other parameters, replaced on purpose.
    o.overwrite = true;
    build(&o).unwrap();
    let m = Manifest::load(cache.path()).unwrap();
    assert_eq!(m.default_eval_split, None);
    assert_eq!(m.split_rows("inter_test"), None);
    assert_eq!(
        m.splits
            .iter()
            .map(|s| (s.name.clone(), s.rows))
            .collect::<Vec<_>>(),
        table_split_counts(cache.path())
    );
}

#[test]
fn bad_json_fails_naming_the_file_and_skip_lists_it() {
    let db = synth_sprsound_db(2);
    let files = json_files(db.path());
    std::fs::write(&files[0], b"{\"record_annotation\": \"Normal\", \"event_annotation\": [{\"start\": \"900\", \"end\": \"100\", \"type\": \"Normal\"}]}").unwrap();
    std::fs::write(&files[1], b"{not json").unwrap();
    let out = tempfile::tempdir().unwrap();
    let e = build(&BuildOptions::new(Dataset::Sprsound, db.path(), out.path()))
        .unwrap_err()
        .to_string();
    let n0 = files[0].file_name().unwrap().to_string_lossy().into_owned();
    let n1 = files[1].file_name().unwrap().to_string_lossy().into_owned();
    assert!(e.contains(&n0) && e.contains(&n1), "{e}");
    assert!(
        !out.path().join("manifest.json").exists() && !out.path().join("metadata.parquet").exists()
    );
    let mut o = BuildOptions::new(Dataset::Sprsound, db.path(), out.path());
    o.on_error = OnError::Skip;
    let r = build(&o).unwrap();
    assert_eq!(r.skipped.len(), 2, "{:?}", r.skipped);
}

#[test]
fn event_past_the_end_of_the_audio_names_the_event() {
    let db = synth_sprsound_db(3);
    let f = &json_files(db.path())[0];
    std::fs::write(f, b"{\"record_annotation\": \"Normal\", \"event_annotation\": [{\"start\": \"100\", \"end\": \"900\", \"type\": \"Normal\"}, {\"start\": \"99000\", \"end\": \"99900\", \"type\": \"Normal\"}]}").unwrap();
    let out = tempfile::tempdir().unwrap();
    let e = build(&BuildOptions::new(Dataset::Sprsound, db.path(), out.path()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("event_annotation[1]") && e.contains("past the end"),
        "{e}"
    );
}

#[test]
fn metadata_only_on_the_real_annotation_sample() {
    let Some(root) = shared_data("sprsound") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let mut o = BuildOptions::new(Dataset::Sprsound, &root, out.path());
    o.metadata_only = true;
    let r = build(&o).unwrap();
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    // The sample's README: 114 + 65 + 50 events in train / inter / intra.
    assert_eq!(r.rows, 229);
    let df = read_table(&out.path().join("metadata.parquet")).unwrap();
    let split = string_column(&df, "split").unwrap();
    let n = |s: &str| split.iter().filter(|v| v.as_deref() == Some(s)).count();
    assert_eq!(
        (n("train"), n("inter_test"), n("intra_test")),
        (114, 65, 50)
    );
    let pid = string_column(&df, "patient_id").unwrap();
    assert!(pid.iter().all(|p| p.as_ref().is_some_and(|p| p.len() == 8)));
}
