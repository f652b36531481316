//! `auscult sweep --slurm` against a real Slurm: the one-node cluster of
//! `scripts/slurm-local.sh` (Debian's slurm-wlm and munge), which `.ci/run` starts where it can.
//! Without a cluster (`sinfo` does not answer) the tests skip with a printed reason; with
//! `AUSCULT_REQUIRE_SLURM=1` a skip is a failure.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{json, lines_without_timing, ok, shared_icbhi_cache};

/// Whether a Slurm cluster answers here (else says why the test skips, or fails when one is
/// required).
fn slurm_up(test: &str) -> bool {
    let up = Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| ["idle", "mixed", "allocated"].contains(&l.trim()))
        });
    if !up {
        let why = "no Slurm cluster answers `sinfo` (start one with scripts/slurm-local.sh)";
        assert!(
            std::env::var("AUSCULT_REQUIRE_SLURM").ok().as_deref() != Some("1"),
            "{test}: AUSCULT_REQUIRE_SLURM=1 but {why}"
        );
        eprintln!("skipping {test}: {why}");
    }
    up
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A grid of the given configs (name, TOML) with `seeds` seeds in `dir`.
fn grid(dir: &Path, configs: &[(&str, &str)], seeds: usize) -> PathBuf {
    let list: Vec<String> = configs
        .iter()
        .map(|(name, text)| {
            std::fs::write(dir.join(format!("{name}.toml")), text).unwrap();
            format!("\"{name}.toml\"")
        })
        .collect();
    let g = dir.join("grid.toml");
    std::fs::write(
        &g,
        format!("configs = [{}]\nseeds = {seeds}\n", list.join(", ")),
    )
    .unwrap();
    g
}

/// Submits the sweep of `g` into `out` (extra flags `extra`); returns the job id.
fn submit(g: &Path, cache: &Path, out: &Path, extra: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_auscult"))
        .args(["sweep", "--grid", s(g), "--data", s(cache), "--out", s(out)])
        .args(["--slurm", "--threads", "1"])
        .args(extra)
        .output()
        .unwrap();
    let (stdout, _) = ok(&o);
    let id = stdout.trim().to_string();
    assert!(
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
        "{stdout}"
    );
    id
}

/// `squeue`'s lines for job `id` (its array tasks), as `<task id> <state> <reason>`.
fn queued(id: &str) -> Vec<String> {
    let o = Command::new("squeue")
        .args(["-h", "-j", id, "-o", "%i %T %r"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits until job `id` has left the queue (absent from three `squeue`s in a row: a task being
/// requeued may be missing from one). A task requeued by itself waits out Slurm's fixed 120 s
/// begin-time delay; `hurry` lets it start sooner (`scontrol update … StartTime=now+3`).
fn wait_done(id: &str, limit: Duration, hurry: bool) {
    wait_until(id, limit, hurry, || true)
}

/// [`wait_done`], once `done` also holds.
fn wait_until(id: &str, limit: Duration, hurry: bool, done: impl Fn() -> bool) {
    let start = Instant::now();
    let mut absent = 0;
    let mut last_hurry = None;
    loop {
        let q = queued(id);
        absent = if q.is_empty() { absent + 1 } else { 0 };
        // Gone for 20 s without `done`: it will not come back.
        if absent >= 3 && done() || absent >= 40 {
            return;
        }
        assert!(start.elapsed() < limit, "job {id} still queued: {q:?}");
        // Once per requeue, and a few seconds ahead: a task restarted in the second its last
        // run ended is refused by slurmd ("Job credential revoked").
        if hurry && last_hurry.is_none_or(|t: Instant| t.elapsed() > Duration::from_secs(15)) {
            for line in q
                .iter()
                .filter(|l| l.contains("PENDING") && l.contains("BeginTime"))
            {
                let task = line.split_whitespace().next().unwrap();
                let _ = Command::new("scontrol")
                    .args(["update", &format!("JobId={task}"), "StartTime=now+3"])
                    .status();
                last_hurry = Some(Instant::now());
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

const CE: &str = "method = \"ce\"\nepochs = 2\nbatch_size = 16\n";
const SCL: &str = "method = \"scl\"\nepochs = 1\nbatch_size = 16\n\n[linear_eval]\nepochs = 1\n";

#[test]
fn a_two_by_two_grid_runs_as_one_real_job_array_with_the_sbatch_options_given() {
    if !slurm_up("a_two_by_two_grid_runs_as_one_real_job_array") {
        return;
    }
    let cache = shared_icbhi_cache(16, 41, 8000, 16, None).1.path();
    let work = tempfile::tempdir().unwrap();
    let g = grid(work.path(), &[("ce_s", CE), ("scl_s", SCL)], 2);
    let out = work.path().join("runs");
    let id = submit(
        &g,
        cache,
        &out,
        &["--mem", "1G", "--sbatch-arg=--comment=auscult-test"],
    );
    let script = std::fs::read_to_string(out.join("sweep.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-3\n"), "{script}");
    assert!(
        script.contains("#SBATCH --mem=1G\n")
            && script.contains("#SBATCH --comment=auscult-test\n")
    );
    wait_done(&id, Duration::from_secs(600), false);
    for name in ["ce_s", "scl_s"] {
        for seed in [0, 1] {
            let run = out.join(format!("{name}/seed_{seed}"));
            assert!(run.join("summary.json").is_file(), "{}", run.display());
            assert!(!run.join("run.lock").exists());
        }
        assert_eq!(
            json(&out.join(format!("{name}/summary.json")))["seeds"],
            serde_json::json!([0, 1])
        );
    }
    let logs = std::fs::read_dir(out.join("logs")).unwrap().count();
    assert_eq!(logs, 4, "one log per array task");
}

#[test]
fn a_scancelled_task_resubmitted_ends_as_an_uninterrupted_run() {
    if !slurm_up("a_scancelled_task_resubmitted_ends_as_an_uninterrupted_run") {
        return;
    }
    let cache = shared_icbhi_cache(16, 41, 8000, 16, None).1.path();
    let work = tempfile::tempdir().unwrap();
    let ce = "method = \"ce\"\nepochs = 10\nbatch_size = 16\n";
    let g = grid(work.path(), &[("ce_long", ce)], 1);
    let out = work.path().join("runs");
    let id = submit(&g, cache, &out, &[]);
    let log = out.join("ce_long/seed_0/metrics.jsonl");
    let start = Instant::now();
    while !std::fs::metadata(&log).is_ok_and(|m| m.len() > 0) {
        assert!(start.elapsed() < Duration::from_secs(300), "no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(Command::new("scancel").arg(&id).status().unwrap().success());
    wait_done(&id, Duration::from_secs(120), false);
    let run = out.join("ce_long/seed_0");
    assert!(
        !run.join("summary.json").exists(),
        "cancelled before the end"
    );
    assert!(run.join("checkpoints/state.safetensors").exists());

    let id = submit(&g, cache, &out, &[]);
    wait_done(&id, Duration::from_secs(600), false);
    let reference = work.path().join("reference");
    ok(&common::auscult(&[
        "train",
        "--config",
        s(&work.path().join("ce_long.toml")),
        "--data",
        s(cache),
        "--out",
        s(&reference),
        "--threads",
        "1",
    ]));
    assert_eq!(
        lines_without_timing(&reference.join("metrics.jsonl")),
        lines_without_timing(&run.join("metrics.jsonl"))
    );
}

#[test]
fn a_task_longer_than_its_time_limit_finishes_by_requeueing_itself() {
    if !slurm_up("a_task_longer_than_its_time_limit_finishes_by_requeueing_itself") {
        return;
    }
    let cache = shared_icbhi_cache(16, 41, 8000, 16, None).1.path();
    let work = tempfile::tempdir().unwrap();
    // About a second an epoch on one thread: more than the one-minute slot.
    let epochs = 80;
    let ce = format!("method = \"ce\"\nepochs = {epochs}\nbatch_size = 16\n");
    let g = grid(work.path(), &[("ce_slots", &ce)], 1);
    let out = work.path().join("runs");
    let id = submit(&g, cache, &out, &["--time=00:01:00", "--requeue"]);
    let script = std::fs::read_to_string(out.join("sweep.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --signal=B:USR1@15\n"), "{script}");
    let run = out.join("ce_slots/seed_0");
    // Between slots a task may be missing from `squeue` for a moment: wait for the run's end.
    wait_until(&id, Duration::from_secs(900), true, || {
        run.join("summary.json").is_file()
    });
    let logs: Vec<PathBuf> = std::fs::read_dir(out.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let log: String = logs
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(run.join("summary.json").is_file(), "not finished:\n{log}");
    assert!(log.contains("requeued as Slurm job"), "{log}");
    let epochs_logged: Vec<u64> = lines_without_timing(&run.join("metrics.jsonl"))
        .iter()
        .map(|l| l["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(epochs_logged, (1..=epochs as u64).collect::<Vec<_>>());
}
