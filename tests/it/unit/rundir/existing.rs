//! Unit tests of `auscult::rundir::existing` (`src/rundir/existing.rs`).

use auscult::rundir::existing::*;

const CE: &str = "method = \"ce\"\nepochs = 3\n";
const SCL: &str = "method = \"scl\"\nepochs = 3\n";

#[test]
fn an_unfinished_run_is_told_apart_from_another_experiment() {
    let d = tempfile::tempdir().unwrap();
    assert_eq!(Existing::of(d.path(), CE).unwrap(), Existing::Nothing);
    std::fs::write(d.path().join("notes.txt"), "mine").unwrap();
    assert_eq!(Existing::of(d.path(), CE).unwrap(), Existing::Nothing);
    std::fs::write(
        d.path().join("config.toml"),
        "epochs = 3\nmethod = \"ce\"\n",
    )
    .unwrap();
    // Refused at set-up, before one epoch: nothing to keep, replaced without asking.
    assert_eq!(Existing::of(d.path(), SCL).unwrap(), Existing::Abandoned);
    std::fs::create_dir(d.path().join("seed_1")).unwrap();
    std::fs::write(d.path().join("seed_1/metrics.jsonl"), "{}\n").unwrap();
    assert!(matches!(
        Existing::of(d.path(), SCL).unwrap(),
        Existing::Unfinished {
            epochs_logged: 1,
            ..
        }
    ));
    std::fs::remove_dir_all(d.path().join("seed_1")).unwrap();
    std::fs::write(d.path().join("metrics.jsonl"), "{}\n{}\n").unwrap();
    assert_eq!(
        Existing::of(d.path(), CE).unwrap(),
        Existing::Unfinished {
            method: Some("ce".into()),
            same: true,
            epochs_logged: 2
        }
    );
    let e = Existing::check_start(d.path(), CE, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--resume"), "{e}");
    let e = Existing::check_start(d.path(), SCL, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("another experiment (method `ce`)"), "{e}");
}

#[test]
fn overwrite_removes_only_the_runs_files() {
    let d = tempfile::tempdir().unwrap();
    for f in ["config.toml", "metrics.jsonl", "notes.txt"] {
        std::fs::write(d.path().join(f), CE).unwrap();
    }
    for sub in ["seed_0/checkpoints", "checkpoints", "seed_x", "data"] {
        std::fs::create_dir_all(d.path().join(sub)).unwrap();
    }
    Existing::check_start(d.path(), SCL, true).unwrap();
    let mut left: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["data", "notes.txt", "seed_x"]);
    assert_eq!(Existing::of(d.path(), SCL).unwrap(), Existing::Nothing);
}
