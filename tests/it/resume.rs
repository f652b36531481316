//! Resumable runs through the CLI, with real signals: a run killed with SIGKILL at arbitrary
//! moments (or stopped with SIGTERM) and continued with `auscult train --resume` ends with the
//! same `metrics.jsonl` (timings aside), selections and checkpoints as an uninterrupted run.

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{auscult, lines_without_timing, ok, shared_icbhi_cache};

/// A cache of 0.5 s, 16-mel clips.
fn tiny_cache(shard_size: Option<usize>) -> &'static (tempfile::TempDir, tempfile::TempDir) {
    shared_icbhi_cache(16, 21, 8000, 16, shard_size)
}

const CE: &str = "method = \"ce\"\nepochs = 6\nbatch_size = 16\n";

const SCL: &str = r#"method = "scl"
epochs = 3
batch_size = 16
runs = 2

[scl]
labels = "sex+age_group"

[linear_eval]
epochs = 3
lr = 0.01
"#;

fn args<'a>(config: &'a Path, cache: &'a Path, out: &'a Path) -> Vec<&'a str> {
    vec![
        "train",
        "--config",
        config.to_str().unwrap(),
        "--data",
        cache.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--threads",
        "1",
    ]
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_auscult"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start auscult")
}

/// Lines of every `metrics.jsonl` under `dir` (sorted by path), timing removed.
fn all_metrics(dir: &Path) -> Vec<(String, Vec<serde_json::Value>)> {
    let mut out = Vec::new();
    for p in [dir.to_path_buf()]
        .into_iter()
        .chain((0..4).map(|s| dir.join(format!("seed_{s}"))))
    {
        let m = p.join("metrics.jsonl");
        if m.exists() {
            out.push((p.display().to_string(), lines_without_timing(&m)));
        }
    }
    out
}

/// Bytes of every checkpoint under `dir`'s run dirs, by relative path.
fn checkpoints(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "safetensors") {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Selections of a single-seed or multi-seed summary (everything but timings and paths).
fn selections(dir: &Path) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    serde_json::json!([v["best_by_eval"], v["best_by_val"], v["final_epoch"]])
}

/// Bytes of every metrics.jsonl under `dir` (how far a run got).
fn progress(dir: &Path) -> u64 {
    let mut n = 0;
    for p in [dir.to_path_buf()]
        .into_iter()
        .chain((0..4).map(|s| dir.join(format!("seed_{s}"))))
    {
        n += std::fs::metadata(p.join("metrics.jsonl")).map_or(0, |m| m.len());
    }
    n
}

/// Modification time of the run's newest saved state (None before the first).
fn state_stamp(dir: &Path) -> Option<std::time::SystemTime> {
    [dir.to_path_buf()]
        .into_iter()
        .chain((0..4).map(|s| dir.join(format!("seed_{s}"))))
        .filter_map(|p| std::fs::metadata(p.join("checkpoints/state.safetensors")).ok())
        .filter_map(|m| m.modified().ok())
        .max()
}

/// Starts the run and, for each of `delays_ms`, waits for a newly saved state, lets it run
/// that much longer, kills it with SIGKILL and resumes it; then lets the last resume finish.
/// Returns (kills that landed while it ran, resumes that continued from a saved state).
fn kill_and_resume(
    cfg: &Path,
    cache: &Path,
    out: &Path,
    delays_ms: &[u64],
    runtime: &[&str],
) -> (usize, usize) {
    let (mut landed, mut from_state) = (0, 0);
    let mut first = args(cfg, cache, out);
    first.extend_from_slice(runtime);
    let mut child = spawn(&first);
    let resumed = |stderr: &[u8]| String::from_utf8_lossy(stderr).contains("resumed after epoch");
    for (i, &d) in delays_ms.iter().enumerate() {
        let start = Instant::now();
        let before = state_stamp(out);
        while state_stamp(out) == before && child.try_wait().unwrap().is_none() {
            assert!(start.elapsed() < Duration::from_secs(300), "no progress");
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(d));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            landed += 1;
        }
        let o = child.wait_with_output().unwrap();
        from_state += usize::from(i > 0 && resumed(&o.stderr));
        child = spawn(&["train", "--resume", out.to_str().unwrap()]);
    }
    let o = child.wait_with_output().unwrap();
    ok(&o);
    from_state += usize::from(resumed(&o.stderr));
    (landed, from_state)
}

fn check_same(reference: &Path, resumed: &Path) {
    assert_eq!(all_metrics(reference).len(), all_metrics(resumed).len());
    for ((_, a), (_, b)) in all_metrics(reference).iter().zip(all_metrics(resumed)) {
        assert_eq!(*a, b, "metrics.jsonl differs");
    }
    assert_eq!(selections(reference), selections(resumed));
    let (a, b) = (checkpoints(reference), checkpoints(resumed));
    assert_eq!(
        a.iter().map(|x| &x.0).collect::<Vec<_>>(),
        b.iter().map(|x| &x.0).collect::<Vec<_>>(),
        "checkpoint files differ"
    );
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs");
    }
    // A finished run keeps no state file.
    assert!(!b.iter().any(|(n, _)| n.ends_with("state.safetensors")));
}

fn run_case(config: &str, delays_ms: &[u64]) {
    run_case_with(config, delays_ms, &[], None);
}

/// [`run_case`] with extra runtime flags for both runs, on a cache of `shard_size`-row shards.
fn run_case_with(config: &str, delays_ms: &[u64], runtime: &[&str], shard_size: Option<usize>) {
    let (_db, cache) = tiny_cache(shard_size);
    let work = tempfile::tempdir().unwrap();
    let cfg = work.path().join("exp.toml");
    std::fs::write(&cfg, config).unwrap();
    let (reference, resumed) = (work.path().join("ref"), work.path().join("resumed"));
    let mut a = args(&cfg, cache.path(), &reference);
    a.extend_from_slice(runtime);
    ok(&auscult(&a));
    let (landed, from_state) = kill_and_resume(&cfg, cache.path(), &resumed, delays_ms, runtime);
    assert!(
        landed >= 2,
        "only {landed} kills landed before the run finished"
    );
    assert!(
        from_state >= 2,
        "only {from_state} resumes continued from a saved state"
    );
    check_same(&reference, &resumed);
}

#[test]
fn ce_killed_at_arbitrary_moments_resumes_to_identical_metrics_and_checkpoints() {
    // Kills land mid-epoch, at an epoch's end and during evaluation, depending on timing.
    run_case(CE, &[0, 37, 113]);
}

#[test]
fn streamed_data_resumes_identically_too() {
    // Streaming shuffles windows of shards and the rows within them, drawing from the run's
    // generator: 8-row shards make that order matter.
    run_case_with(CE, &[3, 29], &["--data-residency", "stream"], Some(8));
}

#[test]
fn multi_seed_scl_with_linear_eval_resumes_at_the_seed_and_stage_it_was_in() {
    // Two seeds × (3 SCL + 3 linear evaluation epochs): kills land in both stages and seeds.
    run_case(SCL, &[11, 0, 53, 5, 29]);
}

#[test]
fn sigterm_stops_cleanly_with_the_resume_command_and_resume_finishes_identically() {
    let (_db, cache) = tiny_cache(None);
    let work = tempfile::tempdir().unwrap();
    let cfg = work.path().join("exp.toml");
    std::fs::write(&cfg, CE).unwrap();
    let (reference, resumed) = (work.path().join("ref"), work.path().join("resumed"));
    ok(&auscult(&args(&cfg, cache.path(), &reference)));
    let child = spawn(&args(&cfg, cache.path(), &resumed));
    let start = Instant::now();
    while state_stamp(&resumed).is_none() {
        assert!(start.elapsed() < Duration::from_secs(300), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(progress(&resumed) > 0);
    assert!(
        err.contains("interrupted during ce epoch")
            && err.contains(&format!("auscult train --resume {}", resumed.display())),
        "{err}"
    );
    assert!(resumed.join("checkpoints/state.safetensors").exists());
    // A runtime flag given with --resume overrides that one setting; the rest stay as recorded.
    ok(&auscult(&[
        "train",
        "--resume",
        resumed.to_str().unwrap(),
        "--stream-prefetch",
        "3",
    ]));
    check_same(&reference, &resumed);
    let rt = &serde_json::from_slice::<serde_json::Value>(
        &std::fs::read(resumed.join("summary.json")).unwrap(),
    )
    .unwrap()["runtime"];
    assert_eq!(
        (rt["threads"].as_u64(), rt["stream_prefetch"].as_u64()),
        (Some(1), Some(3))
    );
    // Resuming a finished run trains nothing and leaves it as it is.
    let before = std::fs::read(resumed.join("metrics.jsonl")).unwrap();
    let o = auscult(&["train", "--resume", resumed.to_str().unwrap()]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("finished earlier"));
    assert_eq!(
        before,
        std::fs::read(resumed.join("metrics.jsonl")).unwrap()
    );
}

#[test]
fn resume_refuses_a_dir_that_is_not_a_run_and_experiment_flags() {
    let work = tempfile::tempdir().unwrap();
    let o = auscult(&["train", "--resume", work.path().to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("invocation.json") && err.contains("a run dir of `auscult train`"),
        "{err}"
    );
    // Experiment flags beside --resume are a parse error: src/cli/tests.rs.
}
