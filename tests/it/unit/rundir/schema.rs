//! Unit tests of `auscult::rundir::schema` (`src/rundir/schema.rs`).

use auscult::eval::metrics::ConfusionMatrix;
use auscult::rundir::schema::*;
use auscult::train::experiment::Protocol;
use std::path::Path;

fn selected() -> serde_json::Value {
    let eval = ConfusionMatrix::from_labels(&[0, 1], &[0, 0], 2, &[0])
        .unwrap()
        .metrics();
    serde_json::json!({ "epoch": 3, "eval": eval, "val": null })
}

#[test]
fn an_old_single_seed_summary_loads() {
    let dir = tempfile::tempdir().unwrap();
    let old = serde_json::json!({
        "method": "ce",
        "config_name": null,
        "seed": 4,
        "dataset": "synth",
        "eval_split": "test",
        "best_by_eval": selected(),
        "best_by_val": null,
        "final_epoch": selected(),
    });
    std::fs::write(dir.path().join(SUMMARY_JSON), old.to_string()).unwrap();
    let Summary::Single(s) = read_summary(dir.path()).unwrap() else {
        panic!("not a single-seed summary")
    };
    assert_eq!((s.seed, s.split(), s.best_by_eval.epoch), (4, "test", 3));
    assert!(recorded_signature(&s.signature).is_none() && s.class_names.is_empty());
    assert_eq!(s.protocol, Protocol::default());
    assert!(s.selected(SelectionKey::BestByVal).is_none());
}

#[test]
fn a_multi_seed_summary_is_told_by_its_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let multi = serde_json::json!({
        "method": "scl",
        "config_name": "x",
        "signature": { "method": "scl", "init": "scratch" },
        "dataset": "synth",
        "seeds": [0, 1],
        "best_by_eval": null,
        "best_by_val": null,
        "final_epoch": null,
        "runs": ["a/seed_0", "a/seed_1"],
    });
    std::fs::write(dir.path().join(SUMMARY_JSON), multi.to_string()).unwrap();
    let Summary::Multi(m) = read_summary(dir.path()).unwrap() else {
        panic!("not a multi-seed summary")
    };
    assert_eq!(m.seeds, [0, 1]);
    assert_eq!(recorded_signature(&m.signature).unwrap().init, "scratch");
    // A summary lacking what every run records names the file and the field.
    std::fs::write(dir.path().join(SUMMARY_JSON), r#"{"method": "ce"}"#).unwrap();
    let err = read_summary(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains(SUMMARY_JSON) && err.contains("best_by_eval"),
        "{err}"
    );
}

#[test]
fn predictions_round_trip_and_bad_lines_are_named() {
    let p = Predictions {
        class_names: vec!["normal".into(), "a,b".into()],
        group_columns: vec!["device".into()],
        rows: vec![
            PredictionRow {
                cycle_id: 7,
                split: "test".into(),
                patient: "101".into(),
                recording: "r1".into(),
                label: 1,
                probabilities: vec![0.25, 0.75],
                groups: vec![Some("X".into())],
            },
            PredictionRow {
                cycle_id: 9,
                split: "val".into(),
                patient: "102".into(),
                recording: "r2".into(),
                label: 0,
                probabilities: vec![0.1, 0.9],
                groups: vec![None],
            },
        ],
    };
    let dir = tempfile::tempdir().unwrap();
    p.write(dir.path(), "best").unwrap();
    assert_eq!(Predictions::read(dir.path(), "best").unwrap(), p);
    assert_eq!(p.of_split("val").count(), 1);
    let text = p.to_csv().replace("0.25,0.75", "0.25");
    let err = Predictions::parse(&text, Path::new("x.csv"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("x.csv") && err.contains("line 2"), "{err}");
}

#[test]
fn metrics_lines_round_trip_and_timings_skip_partial_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(METRICS_JSONL);
    let rec = EpochRecord {
        stage: "ce".into(),
        epoch: 2,
        lr: 1e-3,
        train_loss: 0.5,
        loss_terms: Default::default(),
        train: None,
        val: None,
        eval: None,
        seconds: 2.0,
        samples_per_s: 8.0,
    };
    let line = serde_json::to_string(&rec).unwrap();
    std::fs::write(
        &path,
        format!("{line}\n\n{{\"stage\":\"scl\",\"samples_per_s\":3}}\n{{\"sta"),
    )
    .unwrap();
    let timings = read_stage_timings(&path).unwrap();
    assert_eq!(
        timings,
        [
            StageTiming {
                stage: "ce".into(),
                samples_per_s: 8.0,
                seconds: Some(2.0)
            },
            StageTiming {
                stage: "scl".into(),
                samples_per_s: 3.0,
                seconds: None
            }
        ]
    );
    let err = format!("{:#}", read_metrics(&path).unwrap_err());
    assert!(
        err.contains(METRICS_JSONL) && err.contains("line 3"),
        "{err}"
    );
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let back = read_metrics(&path).unwrap();
    assert_eq!(serde_json::to_string(&back[0]).unwrap(), line);
}
