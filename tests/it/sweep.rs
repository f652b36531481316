//! `auscult sweep`: the Slurm script and index of a grid, submission through a fake `sbatch`,
//! and a local sweep that is interrupted and rerun without redoing finished runs.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::{auscult, ok, synth_icbhi_cache};

const CE: &str = "method = \"ce\"\nepochs = 2\nbatch_size = 16\n";
const SCL: &str = "method = \"scl\"\nepochs = 1\nbatch_size = 16\n\n[linear_eval]\nepochs = 2\n";

/// A grid of two configs in `dir` (configs in a sub-folder, paths relative to the grid).
fn grid(dir: &Path, seeds: usize) -> PathBuf {
    let configs = dir.join("configs");
    std::fs::create_dir_all(&configs).unwrap();
    std::fs::write(configs.join("ce_small.toml"), CE).unwrap();
    std::fs::write(configs.join("scl_small.toml"), SCL).unwrap();
    let g = dir.join("grid.toml");
    std::fs::write(
        &g,
        format!(
            "configs = [\"configs/ce_small.toml\", \"configs/scl_small.toml\"]\nseeds = {seeds}\n"
        ),
    )
    .unwrap();
    g
}

/// A work folder holding [`grid`] of `seeds` seeds: `(folder, grid file, runs folder)`.
fn work_with_grid(seeds: usize) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let g = grid(work.path(), seeds);
    let out = work.path().join("runs");
    (work, g, out)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `sweep --grid <grid> --data <data> --out <out>`, then `more`.
fn sweep_args<'a>(grid: &'a Path, data: &'a Path, out: &'a Path, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "sweep",
        "--grid",
        s(grid),
        "--data",
        s(data),
        "--out",
        s(out),
    ];
    args.extend_from_slice(more);
    args
}

#[test]
fn slurm_dry_run_writes_one_array_and_its_index_and_a_fake_sbatch_receives_it() {
    let (work, g, out) = work_with_grid(3);
    // The cache is only read by the runs; an empty folder will do for writing the script.
    let cache = work.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let slurm = [
        "--slurm",
        "--partition",
        "gpu",
        "--gres",
        "gpu:1",
        "--time",
        "01:00:00",
        "--cpus-per-task",
        "4",
        "--array-parallelism",
        "2",
        "--device",
        "cuda:0",
    ];
    let mut args = sweep_args(&g, &cache, &out, &["--protocol", "val"]);
    args.extend(slurm);
    let mut dry = args.clone();
    dry.push("--dry-run");
    let (stdout, _) = ok(&auscult(&dry));
    let script = std::fs::read_to_string(out.join("sweep.sbatch")).unwrap();
    assert!(stdout.contains(&script), "{stdout}");
    let index_path = std::path::absolute(out.join("sweep-index.json")).unwrap();
    for line in [
        "#!/bin/bash",
        "#SBATCH --array=0-5%2",
        "#SBATCH --partition=gpu",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --time=01:00:00",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --signal=B:TERM@120",
    ] {
        assert!(
            script.lines().any(|l| l == line),
            "missing `{line}` in\n{script}"
        );
    }
    let exec = script.lines().find(|l| l.starts_with("exec ")).unwrap();
    assert!(
        exec.ends_with(&format!(
            "sweep --index {} --task \"$SLURM_ARRAY_TASK_ID\" --threads \"$SLURM_CPUS_PER_TASK\" --device cuda:0 --kernels auto",
            index_path.display()
        )),
        "{exec}"
    );
    // The index maps every array id to one config × seed and its run dir.
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let tasks = index["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 6);
    assert_eq!(index["overrides"], serde_json::json!(["data.protocol=val"]));
    for (i, t) in tasks.iter().enumerate() {
        let (name, seed) = (if i < 3 { "ce_small" } else { "scl_small" }, (i % 3) as u64);
        assert_eq!(t["id"], i);
        assert_eq!(t["name"], name);
        assert_eq!(t["seed"], seed);
        assert!(t["config"]
            .as_str()
            .unwrap()
            .ends_with(&format!("configs/{name}.toml")));
        assert_eq!(
            Path::new(t["run_dir"].as_str().unwrap()),
            std::path::absolute(&out)
                .unwrap()
                .join(name)
                .join(format!("seed_{seed}"))
        );
    }

    // A bad override is refused before anything is written.
    let other = work.path().join("other");
    let more = ["--set", "epochs=-3", "--slurm", "--dry-run"];
    let o = auscult(&sweep_args(&g, &cache, &other, &more));
    assert!(!o.status.success());
    assert!(!other.exists());

    // Submission through a fake sbatch on PATH.
    let bin = work.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let record = work.path().join("sbatch-args");
    let fake = bin.join("sbatch");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\necho '4242;cluster'\n",
            record.display()
        ),
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&fake).status().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let o = Command::new(env!("CARGO_BIN_EXE_auscult"))
        .args(&args)
        .env("PATH", path)
        .output()
        .unwrap();
    let (stdout, stderr) = ok(&o);
    assert_eq!(stdout.trim(), "4242");
    assert!(stderr.contains("submitted job array 4242"), "{stderr}");
    let got = std::fs::read_to_string(&record).unwrap();
    assert_eq!(
        got.lines().collect::<Vec<_>>(),
        ["--parsable", s(&out.join("sweep.sbatch"))]
    );
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn a_local_sweep_interrupted_and_rerun_finishes_without_redoing_finished_runs() {
    let (_db, cache) = synth_icbhi_cache(16, 31, 8000, 16, None);
    let (_work, g, out) = work_with_grid(2);
    let args = |extra: &[&str]| {
        let mut a = sweep_args(&g, cache.path(), &out, &["--threads", "1"]);
        a.extend(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    // One seed first: two runs.
    let (stdout, _) = ok(&Command::new(env!("CARGO_BIN_EXE_auscult"))
        .args(args(&["--seeds", "1"]))
        .output()
        .unwrap());
    assert!(
        stdout.contains("ce_small") && stdout.contains("scl_small"),
        "{stdout}"
    );
    let ce0 = out.join("ce_small/seed_0/summary.json");
    let scl0 = out.join("scl_small/seed_0/summary.json");
    let (t_ce0, t_scl0) = (mtime(&ce0), mtime(&scl0));

    // Two seeds: seed 1 of each is new; stop the sweep with SIGTERM once a run has started.
    let child = Command::new(env!("CARGO_BIN_EXE_auscult"))
        .args(args(&[]))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let first = out.join("ce_small/seed_1/metrics.jsonl");
    while !first.exists() || std::fs::metadata(&first).unwrap().len() == 0 {
        assert!(start.elapsed() < Duration::from_secs(300), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.code() == Some(130) || o.status.success(),
        "{:?} {err}",
        o.status
    );

    // Rerun: it finishes, seed 0 untouched.
    let (stdout, stderr) = ok(&Command::new(env!("CARGO_BIN_EXE_auscult"))
        .args(args(&[]))
        .output()
        .unwrap());
    // 2 finished before, maybe 3 if the stop came after ce seed 1's last epoch.
    assert!(
        stderr.contains("2 configs × 2 seeds = 4 runs, 2 finished")
            || stderr.contains("2 configs × 2 seeds = 4 runs, 3 finished"),
        "{stderr}"
    );
    assert_eq!(mtime(&ce0), t_ce0, "a finished run was redone");
    assert_eq!(mtime(&scl0), t_scl0, "a finished run was redone");
    for name in ["ce_small", "scl_small"] {
        let agg: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(name).join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(agg["seeds"], serde_json::json!([0, 1]), "{name}");
        // The seeds evaluated together, as `train --runs 2` does.
        assert!(
            agg["evaluation"].as_array().is_some_and(|e| !e.is_empty()),
            "{name}: {agg}"
        );
        assert!(!out
            .join(name)
            .join("seed_1/checkpoints/state.safetensors")
            .exists());
    }
    // The table: one row per config, two seeds each.
    let rows: Vec<&str> = stdout.lines().filter(|l| l.contains("_small")).collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(rows.iter().all(|r| r.contains("| 2 |")), "{stdout}");
    let (report, _) = ok(&auscult(&["report", s(&out)]));
    assert_eq!(report.lines().filter(|l| l.contains("_small")).count(), 2);

    // Nothing left: a Slurm submission has nothing to do; one task run directly is a no-op.
    let (_, stderr) = ok(&Command::new(env!("CARGO_BIN_EXE_auscult"))
        .args(args(&["--slurm", "--dry-run"]))
        .output()
        .unwrap());
    assert!(stderr.contains("nothing to submit"), "{stderr}");
    let (_, stderr) = ok(&auscult(&[
        "sweep",
        "--index",
        s(&out.join("sweep-index.json")),
        "--task",
        "3",
    ]));
    assert!(
        stderr.contains("task 3: scl_small seed 1 already finished"),
        "{stderr}"
    );
}

#[test]
fn grids_of_the_paper_name_existing_configs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (grid, n) in [("table1", 6), ("table2", 6), ("table3", 3)] {
        let g =
            auscult::sweep::Grid::load(&root.join(format!("configs/grids/{grid}.toml"))).unwrap();
        assert_eq!(g.configs.len(), n, "{grid}");
        assert_eq!(g.seeds, 10, "{grid}: the paper reports 10 runs");
        for c in &g.configs {
            let stem = c.file_stem().unwrap().to_string_lossy();
            assert!(stem.starts_with(grid), "{grid}: {}", c.display());
        }
    }
    let bad = tempfile::tempdir().unwrap();
    let p = bad.path().join("g.toml");
    std::fs::write(&p, "configs = [\"missing.toml\"]\nseeds = 2\n").unwrap();
    let e = format!("{:#}", auscult::sweep::Grid::load(&p).unwrap_err());
    assert!(e.contains("missing.toml"), "{e}");
}

#[test]
fn plan_projects_hours_from_measured_samples_per_second() {
    let (_db, cache) = synth_icbhi_cache(12, 41, 8000, 16, None);
    let work = tempfile::tempdir().unwrap();
    let g = grid(work.path(), 3);
    // Measured throughput (made slow so a tiny cache takes hours): ce at 0.01 samples/s, scl at
    // 0.005, linear evaluation at 1 (the fastest last epoch of each stage counts).
    let bench = work.path().join("bench");
    for (dir, lines) in [
        ("a", vec![("ce", 0.004), ("ce", 0.01)]),
        ("b", vec![("scl", 0.005), ("linear_eval", 1.0)]),
    ] {
        let d = bench.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        let text: String = lines
            .iter()
            .map(|(st, sps)| format!("{{\"stage\":\"{st}\",\"samples_per_s\":{sps}}}\n"))
            .collect();
        std::fs::write(d.join("metrics.jsonl"), text).unwrap();
    }
    let out = work.path().join("runs");
    let more = ["--plan", "--throughput", s(&bench)];
    let (stdout, _) = ok(&auscult(&sweep_args(&g, cache.path(), &out, &more)));
    assert!(!out.exists(), "--plan starts nothing");
    let train = auscult_cache::CacheReader::open_manifest_only(cache.path())
        .unwrap()
        .manifest()
        .split_rows("train")
        .unwrap() as f64;
    // ce: 2 epochs × train rows at 0.01/s; scl: 1 epoch at 0.005/s + 2 linear epochs at 1/s.
    let ce_h = 2.0 * train / 0.01 / 3600.0;
    let scl_h = train / 0.005 / 3600.0 + 2.0 * train / 1.0 / 3600.0;
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("{name}: {stdout}"))
            .to_string()
    };
    assert!(
        row("ce_small").contains(&format!("| {ce_h:.2} |")),
        "{stdout}"
    );
    assert!(
        row("scl_small").contains(&format!("| {scl_h:.2} |")),
        "{stdout}"
    );
    assert!(
        stdout.contains("6 runs (2 configs × 3 seeds), 6 left"),
        "{stdout}"
    );
    let total = 3.0 * (ce_h + scl_h);
    assert!(
        stdout.contains(&format!(": {total:.1} h of training")),
        "{stdout}"
    );
}

/// Ctrl-C in a terminal: SIGINT to the whole foreground process group. The sweep's children
/// (in groups of their own) each get exactly one SIGTERM from the sweep, stop at a batch
/// boundary with their state saved, and the rerun ends with the metrics of uninterrupted runs.
#[test]
fn ctrl_c_to_a_parallel_sweep_stops_every_child_once_and_the_rerun_is_identical() {
    use std::os::unix::process::CommandExt;
    let (_db, cache) = synth_icbhi_cache(16, 37, 8000, 16, None);
    let work = tempfile::tempdir().unwrap();
    let configs = work.path().join("configs");
    std::fs::create_dir_all(&configs).unwrap();
    let ce = "method = \"ce\"\nepochs = 8\nbatch_size = 16\n";
    std::fs::write(configs.join("ce_long.toml"), ce).unwrap();
    let g = work.path().join("grid.toml");
    std::fs::write(&g, "configs = [\"configs/ce_long.toml\"]\nseeds = 2\n").unwrap();
    let out = work.path().join("runs");
    let sweep = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_auscult"));
        c.args(sweep_args(
            &g,
            cache.path(),
            &out,
            &["--jobs", "2", "--threads", "1"],
        ));
        c
    };
    // The sweep leads a process group of its own, as a shell's foreground job does.
    let child = sweep()
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let logs = [0, 1].map(|s| out.join(format!("ce_long/seed_{s}/metrics.jsonl")));
    let start = Instant::now();
    while !logs
        .iter()
        .all(|l| std::fs::metadata(l).is_ok_and(|m| m.len() > 0))
    {
        assert!(start.elapsed() < Duration::from_secs(300), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    let group = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on the process group this test started.
    assert_eq!(unsafe { libc::kill(-group, libc::SIGINT) }, 0);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    for task in [0, 1] {
        let log = std::fs::read_to_string(out.join(format!("logs/task_{task}.log"))).unwrap();
        // Stopped at a batch by the first signal: the message the clean stop prints (a second
        // signal would have ended it at once, silently).
        if !err.contains(&format!("task {task}: ce_long seed {task}  best")) {
            assert!(
                log.contains("interrupted during ce epoch"),
                "task {task}:\n{log}"
            );
            assert!(
                err.contains(&format!("[stopping] task {task}"))
                    && err.contains(&format!("[stopped] task {task}")),
                "{err}"
            );
        }
    }
    assert_eq!(err.matches("[stopping] task").count(), 2, "{err}");

    ok(&sweep().output().unwrap());
    // Uninterrupted references, seed by seed.
    for seed in ["0", "1"] {
        let reference = work.path().join(format!("ref_{seed}"));
        ok(&auscult(&[
            "train",
            "--config",
            s(&configs.join("ce_long.toml")),
            "--seed",
            seed,
            "--data",
            s(cache.path()),
            "--out",
            s(&reference),
            "--threads",
            "1",
        ]));
        assert_eq!(
            common::lines_without_timing(&reference.join("metrics.jsonl")),
            common::lines_without_timing(&out.join(format!("ce_long/seed_{seed}/metrics.jsonl"))),
            "seed {seed}"
        );
    }
}

#[test]
fn a_mistyped_sbatch_option_is_refused_before_anything_is_written() {
    let (work, g, out) = work_with_grid(1);
    let cache = work.path().join("no-cache-needed");
    for (bad, says) in [
        ("--sbatch-arg=--memory=16G", "did you mean --mem"),
        ("--sbatch-arg=--output=x.log", "sets --output itself"),
        ("--time=12h", "not a Slurm time"),
    ] {
        let o = auscult(&sweep_args(
            &g,
            &cache,
            &out,
            &["--slurm", "--dry-run", bad],
        ));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(says), "{bad}: {err}");
        assert!(!out.join("sweep-index.json").exists() && !out.join("sweep.sbatch").exists());
    }
}
