//! Unit tests of `auscult::report::plots` (`src/report/plots/mod.rs`).

mod confusion;
mod curves;
mod embedding;
mod pca;

use auscult::report::plots::input::*;
use auscult::report::plots::series::*;
use auscult::report::plots::*;

const LINE: &str = r#"{"stage":"ce","epoch":1,"lr":0.001,"train_loss":1.5,"loss_terms":{},"train":null,"val":null,"eval":{"se":0.25,"sp":0.75,"score":0.5,"hs":0.375},"seconds":1.0,"samples_per_s":10.0}"#;

#[test]
fn metrics_jsonl_is_read_by_stage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.jsonl");
    let pre = r#"{"stage":"scl","epoch":1,"lr":0.001,"train_loss":4.0,"loss_terms":{"supcon[a]":3.0,"supcon[b]":5.0},"train":null,"val":null,"eval":null,"seconds":1.0,"samples_per_s":10.0}"#;
    let second = LINE
        .replace("\"epoch\":1", "\"epoch\":2")
        .replace("1.5", "1.25");
    std::fs::write(&path, format!("{pre}\n{LINE}\n\n{second}\n")).unwrap();
    let stages = read_metrics(&path).unwrap();
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0].name, "scl");
    assert!(!stages[0].evaluates());
    assert_eq!(stages[0].term_names(), ["supcon[a]", "supcon[b]"]);
    assert_eq!(stages[0].epochs[0].terms["supcon[b]"], 5.0);
    assert_eq!(stages[1].name, "ce");
    assert!(stages[1].evaluates() && !stages[1].has_val());
    assert_eq!(
        stages[1]
            .epochs
            .iter()
            .map(|e| (e.epoch, e.loss))
            .collect::<Vec<_>>(),
        [(1, 1.5), (2, 1.25)]
    );
    assert_eq!(
        stages[1].epochs[0].eval,
        Some(Scores {
            se: 0.25,
            sp: 0.75,
            score: 0.5
        })
    );
    assert_eq!(stage_title(&stages, 0), "scl pretraining");
}

#[test]
fn a_malformed_metrics_line_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.jsonl");
    std::fs::write(
        &path,
        format!("{LINE}\n{LINE}\n{{\"stage\": \"ce\", \"epo\n"),
    )
    .unwrap();
    let err = format!("{:#}", read_metrics(&path).unwrap_err());
    assert!(
        err.contains(&path.display().to_string()) && err.contains("line 3"),
        "{err}"
    );
    // A line of valid JSON that is no epoch record is refused the same way.
    std::fs::write(&path, format!("{LINE}\n{{\"stage\": \"ce\"}}\n")).unwrap();
    let err = format!("{:#}", read_metrics(&path).unwrap_err());
    assert!(err.contains("line 2") && err.contains("epoch"), "{err}");
    // Empty and missing files name the file.
    std::fs::write(&path, "\n").unwrap();
    let err = format!("{:#}", read_metrics(&path).unwrap_err());
    assert!(err.contains("no epoch records"), "{err}");
    let missing = dir.path().join("nope.jsonl");
    let err = format!("{:#}", read_metrics(&missing).unwrap_err());
    assert!(err.contains("nope.jsonl"), "{err}");
}

#[test]
fn run_plots_of_a_bad_run_dir_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = format!("{:#}", write_run_plots(dir.path()).unwrap_err());
    assert!(err.contains("summary.json"), "{err}");
    std::fs::write(dir.path().join("summary.json"), "{\"method\": \"ce\"}").unwrap();
    let err = format!("{:#}", write_run_plots(dir.path()).unwrap_err());
    assert!(
        err.contains("summary.json") && err.contains("best_by_eval"),
        "{err}"
    );
}
