//! Evaluation protocols through the CLI on a synthetic database whose split file puts one
//! patient on both sides (as ICBHI's does with patients 156 and 218): `leakage-free` evaluates
//! without that patient, `kfold:3` runs three patient-wise folds, `val` selects on held-out
//! patients, and `report` shows the selections side by side and the paper's layout.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use auscult_cache::table::{read_table, string_column};
use common::{auscult, build_cache_into, json, ok, process_tempdir, synth_icbhi_db_into};

/// A database with one test recording moved to train: returns (db, cache, the shared patient).
/// Built once per process, shared by the tests (read-only).
fn leaky_cache() -> &'static (tempfile::TempDir, tempfile::TempDir, String) {
    static LEAKY: OnceLock<(tempfile::TempDir, tempfile::TempDir, String)> = OnceLock::new();
    LEAKY.get_or_init(build_leaky_cache)
}

fn build_leaky_cache() -> (tempfile::TempDir, tempfile::TempDir, String) {
    let db = process_tempdir();
    synth_icbhi_db_into(db.path(), 20, 9);
    let split_file = db.path().join("ICBHI_challenge_train_test.txt");
    let text = std::fs::read_to_string(&split_file).unwrap();
    let lines: Vec<(String, String)> = text
        .lines()
        .map(|l| {
            let (a, b) = l.split_once('\t').unwrap();
            (a.to_string(), b.to_string())
        })
        .collect();
    let patient = |rec: &str| rec.split('_').next().unwrap().to_string();
    // A test patient with at least two recordings: its first goes to train.
    let shared = lines
        .iter()
        .filter(|(_, s)| s == "test")
        .map(|(r, _)| patient(r))
        .find(|p| {
            lines
                .iter()
                .filter(|(r, s)| s == "test" && patient(r) == *p)
                .count()
                >= 2
        })
        .expect("a test patient with two recordings");
    let mut moved = false;
    let out: Vec<String> = lines
        .iter()
        .map(|(r, s)| {
            if !moved && patient(r) == shared {
                moved = true;
                format!("{r}\ttrain")
            } else {
                format!("{r}\t{s}")
            }
        })
        .collect();
    std::fs::write(&split_file, out.join("\n") + "\n").unwrap();
    let cache = process_tempdir();
    build_cache_into(
        auscult_pipeline::build::Dataset::Icbhi,
        db.path(),
        cache.path(),
        8000,
        16,
        None,
    );
    (db, cache, shared)
}

fn train(cache: &Path, out: &Path, extra: &[&str]) {
    let mut a = vec![
        "train",
        "ce",
        "--data",
        cache.to_str().unwrap(),
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--out",
        out.to_str().unwrap(),
    ];
    a.extend_from_slice(extra);
    ok(&auscult(&a));
}

#[test]
fn protocols_select_the_rows_they_promise_and_report_shows_them_side_by_side() {
    let (_db, cache, shared) = leaky_cache();
    let df = read_table(&cache.path().join("metadata.parquet")).unwrap();
    let split = string_column(&df, "split").unwrap();
    let patient = string_column(&df, "patient_id").unwrap();
    let rows = split.len();
    let test_rows = split
        .iter()
        .filter(|s| s.as_deref() == Some("test"))
        .count();
    let shared_test_rows = (0..rows)
        .filter(|&r| {
            split[r].as_deref() == Some("test") && patient[r].as_deref() == Some(shared.as_str())
        })
        .count();
    assert!(shared_test_rows > 0);

    // inspect names the shared patient.
    let (shown, _) = ok(&auscult(&[
        "pipeline",
        "inspect",
        cache.path().to_str().unwrap(),
    ]));
    assert!(
        shown.contains(&format!(
            "1 patient(s) in more than one split: {shared} (test, train)"
        )),
        "{shown}"
    );

    let runs = tempfile::tempdir().unwrap();
    // leakage-free: the test split without the shared patient's rows.
    let lf = runs.path().join("leakage_free");
    train(cache.path(), &lf, &["--protocol", "leakage-free"]);
    let s = json(&lf.join("summary.json"));
    assert_eq!(s["protocol"], "leakage-free");
    assert_eq!(
        s["eval_rows"].as_u64().unwrap() as usize,
        test_rows - shared_test_rows
    );
    let official = runs.path().join("official");
    train(cache.path(), &official, &[]);
    assert_eq!(
        json(&official.join("summary.json"))["eval_rows"]
            .as_u64()
            .unwrap() as usize,
        test_rows
    );

    // kfold:3: three folds, patient-disjoint, each row evaluated once.
    let kf = runs.path().join("kfold");
    train(cache.path(), &kf, &["--protocol", "kfold:3"]);
    let parent = json(&kf.join("summary.json"));
    assert_eq!(parent["protocol"], "kfold:3");
    assert_eq!(parent["runs"].as_array().unwrap().len(), 3);
    let mut evaluated = 0;
    for f in 0..3 {
        let s = json(&kf.join(format!("fold_{f}/summary.json")));
        assert_eq!(s["fold"], f);
        assert_eq!(s["eval_split"], format!("fold_{f}"));
        let (t, e) = (
            s["train_rows"].as_u64().unwrap() as usize,
            s["eval_rows"].as_u64().unwrap() as usize,
        );
        assert_eq!(t + e, rows, "fold {f}");
        evaluated += e;
    }
    assert_eq!(evaluated, rows);
    assert!(std::fs::read_to_string(kf.join("config.toml"))
        .unwrap()
        .contains("protocol = \"kfold:3\""));

    // val: 20 % of the training patients held out unless said otherwise; the epoch chosen there.
    let val = runs.path().join("val");
    train(cache.path(), &val, &["--protocol", "val"]);
    let config = std::fs::read_to_string(val.join("config.toml")).unwrap();
    assert!(config.contains("protocol = \"val\"") && config.contains("val_fraction = 0.2"));
    let s = json(&val.join("summary.json"));
    assert!(s["best_by_val"].is_object(), "{s}");
    assert!(s["val_rows"].as_u64().unwrap() > 0);

    // report: the selections side by side, and the paper's layout.
    let (out, _) = ok(&auscult(&[
        "report",
        runs.path().to_str().unwrap(),
        "--layout",
        "paper",
        "--protocols",
    ]));
    assert!(
        out.contains("### Table 1") && out.contains("not run"),
        "{out}"
    );
    let protocols: BTreeSet<&str> = ["official", "leakage-free", "kfold:3", "val"].into();
    for p in &protocols {
        assert!(out.contains(&format!("| {p} |")), "{p}: {out}");
    }
    let side = out
        .split("test-selection gain")
        .nth(1)
        .expect("side-by-side table");
    let val_line = side.lines().find(|l| l.starts_with("| val |")).unwrap();
    let cells: Vec<&str> = val_line.split('|').map(str::trim).collect();
    // | val | val | 1 | best test | best val | last | gain |
    assert!(cells[5] != "–" && cells[7] != "–", "{val_line}");
    let off_line = side
        .lines()
        .find(|l| l.starts_with("| official |"))
        .unwrap();
    assert!(
        off_line.contains("| – |"),
        "no validation split: {off_line}"
    );
}

#[test]
fn kfold_refuses_several_seeds_and_a_fold_out_of_range() {
    let (_db, cache, _) = leaky_cache();
    let runs = tempfile::tempdir().unwrap();
    let refused = |out: &str, extra: &[&str], why: &str| {
        let out = runs.path().join(out);
        let mut a = vec![
            "train",
            "ce",
            "--data",
            cache.path().to_str().unwrap(),
            "--protocol",
            "kfold:3",
            "--out",
            out.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        let o = auscult(&a);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(why), "{err}");
    };
    refused("a", &["--runs", "2"], "one seed per fold");
    refused("b", &["--fold", "3"], "fold 3 of kfold:3");
    // `kfold:1` is a parse error: src/cli/tests.rs.
}
