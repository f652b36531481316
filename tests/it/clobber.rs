//! A run dir has one writer, and nothing finished is replaced by accident: `auscult train` and
//! `auscult pipeline build` through the CLI, with real processes and signals.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{auscult, json, lines_without_timing, ok, shared_icbhi_cache};

fn cache() -> &'static Path {
    shared_icbhi_cache(16, 23, 8000, 16, None).1.path()
}

fn train_args<'a>(method: &'a str, epochs: &'a str, out: &'a Path) -> Vec<&'a str> {
    let mut a = vec![
        "train",
        method,
        "--data",
        cache().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        epochs,
        "--batch-size",
        "16",
        "--threads",
        "1",
    ];
    if method == "scl" {
        a.extend(["--set", "linear_eval.epochs=1"]);
    }
    a
}

fn refused(args: &[&str]) -> String {
    let o = auscult(args);
    assert!(!o.status.success(), "{args:?} was accepted");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "waited for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_second_writer_is_refused_while_the_first_finishes_intact() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("run");
    let first = Command::new(env!("CARGO_BIN_EXE_auscult"))
        .args(train_args("ce", "6", &out))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lock = out.join("run.lock");
    wait_for("the lock", || {
        std::fs::read_to_string(&lock).is_ok_and(|t| t.contains("\"pid\""))
    });
    // The same command, another experiment, and a resume: each names the holder.
    for args in [
        train_args("ce", "6", &out),
        train_args("scl", "2", &out),
        vec!["train", "--resume", out.to_str().unwrap()],
    ] {
        let err = refused(&args);
        assert!(
            err.contains("being written by another auscult process")
                && err.contains(&format!("pid {}", first.id()))
                && err.contains("run.lock"),
            "{err}"
        );
    }
    let o = first.wait_with_output().unwrap();
    ok(&o);
    // The first run's log is whole: six epochs, every line JSON.
    assert_eq!(lines_without_timing(&out.join("metrics.jsonl")).len(), 6);
    assert!(!lock.exists(), "the lock is released at the end");
}

#[test]
fn a_finished_run_is_replaced_only_with_overwrite() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("runs_ce");
    ok(&auscult(&train_args("ce", "2", &out)));
    let summary = std::fs::read(out.join("summary.json")).unwrap();

    let err = refused(&train_args("scl", "1", &out));
    assert!(
        err.contains("holds a finished `ce` run") && err.contains("--overwrite"),
        "{err}"
    );
    // Even the same experiment does not silently redo a finished run.
    let err = refused(&train_args("ce", "2", &out));
    assert!(err.contains("holds a finished `ce` run"), "{err}");
    assert_eq!(std::fs::read(out.join("summary.json")).unwrap(), summary);

    // A file of the user's own in the dir survives an overwrite.
    std::fs::write(out.join("notes.md"), "mine").unwrap();
    let mut args = train_args("scl", "1", &out);
    args.push("--overwrite");
    ok(&auscult(&args));
    assert_eq!(json(&out.join("summary.json"))["method"], "scl");
    assert_eq!(
        std::fs::read_to_string(out.join("notes.md")).unwrap(),
        "mine"
    );
    // Nothing of the ce run is left in the log: one scl epoch, one linear-evaluation epoch.
    let log = lines_without_timing(&out.join("metrics.jsonl"));
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|l| l["stage"] != "ce"), "{log:?}");
}

#[test]
fn an_unfinished_run_points_to_resume_and_a_killed_holder_is_taken_over() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_auscult"))
        .args(train_args("ce", "6", &out))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = out.join("checkpoints/state.safetensors");
    wait_for("a saved state", || state.exists());
    child.kill().unwrap(); // SIGKILL: no chance to release the lock
    child.wait().unwrap();
    assert!(
        out.join("run.lock").exists(),
        "a killed run leaves its record"
    );

    // The next command takes the dead holder's lock over (saying so), then refuses to start
    // afresh over its unfinished run.
    let err = refused(&train_args("ce", "6", &out));
    assert!(
        err.contains("taking over the lock of a run that ended without releasing it"),
        "{err}"
    );
    assert!(
        err.contains("unfinished run of this experiment")
            && err.contains(&format!("auscult train --resume {}", out.display())),
        "{err}"
    );
    let err = refused(&train_args("ce", "5", &out));
    assert!(
        err.contains("unfinished run of another experiment (method `ce`)"),
        "{err}"
    );

    ok(&auscult(&["train", "--resume", out.to_str().unwrap()]));
    assert_eq!(lines_without_timing(&out.join("metrics.jsonl")).len(), 6);
}

#[test]
fn a_cache_built_otherwise_is_replaced_only_with_overwrite() {
    let db = common::synth_icbhi_db(6, 5);
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("cache");
    let build = |extra: &[&str]| {
        let mut a = vec![
            "pipeline",
            "build",
            "--dataset",
            "icbhi",
            "--input",
            db.path().to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--metadata-only",
        ];
        a.extend_from_slice(extra);
        auscult(&a)
    };
    ok(&build(&[]));
    let manifest = json(&out.join("manifest.json"));
    assert_eq!(
        manifest["synthetic"], true,
        "built from auscult-synth's database"
    );
    // Same parameters: a rebuild, as before.
    ok(&build(&[]));
    // Other parameters: refused, the cache untouched.
    let o = build(&["--f-max", "1000"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success()
            && err.contains("built with other parameters")
            && err.contains("--overwrite"),
        "{err}"
    );
    assert_eq!(json(&out.join("manifest.json")), manifest);
    ok(&build(&["--f-max", "1000", "--overwrite"]));
    assert_ne!(
        json(&out.join("manifest.json"))["params_hash"],
        manifest["params_hash"]
    );
}
