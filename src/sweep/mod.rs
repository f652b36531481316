//! Sweeps: many experiments × seeds, run locally or as one Slurm job array.
//!
//! A grid (`configs/grids/table1.toml`) lists experiment files and a number of seeds. The sweep
//! expands it into tasks — one per config × seed, each a single-seed run in
//! `<out>/<config stem>/seed_<s>/` — and writes them to `<out>/sweep-index.json`, so a task id
//! (a Slurm array index) names one run. A task is idempotent: a run with a `summary.json` is
//! finished and skipped, a run with a saved state resumes (see [`crate::train::resume`]), any
//! other starts. Rerunning a sweep after a crash therefore finishes it, redoing at most the
//! epochs in progress. When every seed of a config is finished, `<out>/<config stem>/` gets the
//! mean ± std `summary.json` (and its `config.toml`) that `auscult report` reads, the same layout
//! as `auscult train --runs N`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::rundir::write_json_atomic;
use crate::train::experiment::Experiment;
use crate::train::launch::{self, MultiRunSummary};
use crate::train::run::RunSummary;
use crate::train::runtime::Runtime;

/// A grid file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// Experiment files, relative to the grid file or absolute.
    pub configs: Vec<PathBuf>,
    /// Seeds `first_seed..first_seed + seeds`.
    pub seeds: usize,
    #[serde(default)]
    pub first_seed: u64,
    /// The cache dir (relative to the grid file or absolute); `--data` overrides it.
    #[serde(default)]
    pub data: Option<PathBuf>,
}

impl Grid {
    /// Reads a grid, resolving its paths against the grid file's folder; every config must
    /// exist and load.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut g: Grid =
            toml::from_str(&text).with_context(|| format!("{}: not a grid", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        anyhow::ensure!(
            !g.configs.is_empty(),
            "{}: `configs` is empty",
            path.display()
        );
        anyhow::ensure!(g.seeds > 0, "{}: `seeds` must be ≥ 1", path.display());
        g.configs = g.configs.iter().map(|c| resolve(c)).collect();
        g.data = g.data.as_deref().map(resolve);
        let mut stems = std::collections::BTreeSet::new();
        for c in &g.configs {
            Experiment::load(c)
                .with_context(|| format!("{}: config {}", path.display(), c.display()))?;
            anyhow::ensure!(
                stems.insert(stem(c)),
                "{}: two configs are named `{}` (their runs would share a folder)",
                path.display(),
                stem(c)
            );
        }
        Ok(g)
    }
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One run of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: usize,
    /// The experiment file (absolute).
    pub config: PathBuf,
    /// Its stem: the run's `config_name` and folder.
    pub name: String,
    pub seed: u64,
    /// `<out>/<name>/seed_<seed>` (absolute).
    pub run_dir: PathBuf,
}

/// `<out>/sweep-index.json`: every task of a sweep, by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepIndex {
    /// The cache dir (absolute).
    pub data: PathBuf,
    /// The sweep's folder (absolute).
    pub out: PathBuf,
    pub seeds: usize,
    /// `field=value` overrides applied to every config (`--set`, `--protocol`), in order.
    #[serde(default)]
    pub overrides: Vec<String>,
    pub tasks: Vec<Task>,
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// `summary.json` written.
    Finished,
    /// Begun (its invocation and config are written): resumed, keeping what it finished.
    Started,
    /// Nothing yet.
    Pending,
}

impl SweepIndex {
    /// The tasks of `grid` with `seeds` seeds into `out`, on the cache `data`.
    pub fn new(grid: &Grid, data: &Path, seeds: usize, out: &Path) -> Result<Self> {
        let abs =
            |p: &Path| std::path::absolute(p).with_context(|| format!("resolving {}", p.display()));
        let out = abs(out)?;
        let mut tasks = Vec::new();
        for c in &grid.configs {
            let name = stem(c);
            for s in 0..seeds as u64 {
                let seed = grid.first_seed + s;
                tasks.push(Task {
                    id: tasks.len(),
                    config: abs(c)?,
                    name: name.clone(),
                    seed,
                    run_dir: out.join(&name).join(format!("seed_{seed}")),
                });
            }
        }
        Ok(SweepIndex {
            data: abs(data)?,
            out,
            seeds,
            overrides: Vec::new(),
            tasks,
        })
    }

    /// The experiment of `config` with the sweep's overrides applied.
    pub fn experiment(&self, config: &Path) -> Result<Experiment> {
        let mut exp = Experiment::load(config)?;
        for o in &self.overrides {
            exp.set(o)
                .with_context(|| format!("override `{o}` on {}", config.display()))?;
        }
        exp.fill_method_section();
        Ok(exp)
    }

    /// `<out>/sweep-index.json`.
    pub fn path(out: &Path) -> PathBuf {
        out.join("sweep-index.json")
    }

    pub fn write(&self) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.out)
            .with_context(|| format!("creating {}", self.out.display()))?;
        let p = Self::path(&self.out);
        write_json_atomic(&p, self)?;
        Ok(p)
    }

    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not a sweep index", path.display()))
    }

    pub fn task(&self, id: usize) -> Result<&Task> {
        self.tasks.get(id).with_context(|| {
            format!(
                "task {id}: the sweep has tasks 0..{} ({})",
                self.tasks.len(),
                Self::path(&self.out).display()
            )
        })
    }
}

impl Task {
    pub fn state(&self) -> TaskState {
        if self.run_dir.join("summary.json").is_file() {
            TaskState::Finished
        } else if launch::invocation_path(&self.run_dir).is_file()
            && self.run_dir.join("config.toml").is_file()
        {
            // Begun: resuming keeps what is finished in it (a saved state, finished folds).
            TaskState::Started
        } else {
            TaskState::Pending
        }
    }

    /// Runs the task to its end in this process: nothing when finished, a resume when started,
    /// else a fresh single-seed run. Then writes the config's aggregate if all its seeds are
    /// finished.
    pub fn run(&self, index: &SweepIndex, runtime: &Runtime) -> Result<TaskState> {
        let before = self.state();
        match before {
            TaskState::Finished => {}
            TaskState::Started => {
                launch::resume(&self.run_dir, Some(&index.data), Some(runtime))
                    .with_context(|| format!("resuming {}", self.run_dir.display()))?;
            }
            TaskState::Pending => {
                let mut exp = index.experiment(&self.config)?;
                exp.seed = self.seed;
                exp.runs = 1;
                launch::train_named(&exp, runtime, Some(&self.name), &index.data, &self.run_dir)
                    .with_context(|| format!("training {}", self.run_dir.display()))?;
            }
        }
        aggregate(index, &self.name)?;
        Ok(before)
    }
}

/// Writes `<out>/<name>/summary.json` (mean ± std over seeds) and `config.toml` once every seed
/// of config `name` is finished; returns it, or None while some are not.
pub fn aggregate(index: &SweepIndex, name: &str) -> Result<Option<MultiRunSummary>> {
    let tasks: Vec<&Task> = index.tasks.iter().filter(|t| t.name == name).collect();
    let mut summaries = Vec::new();
    for t in &tasks {
        match launch::finished(&t.run_dir)? {
            Some(s) => summaries.push(s),
            None => return Ok(None),
        }
    }
    let first = tasks.first().context("no such config in the sweep")?;
    let mut exp = index.experiment(&first.config)?;
    exp.seed = first.seed;
    exp.runs = tasks.len();
    let dirs = tasks
        .iter()
        .map(|t| t.run_dir.display().to_string())
        .collect();
    let multi = launch::aggregate(&exp, Some(name), &summaries, dirs)?;
    let dir = index.out.join(name);
    write_json_atomic(&dir.join("summary.json"), &multi)?;
    auscult_cache::write_atomic(&dir.join("config.toml"), exp.to_toml().as_bytes())
        .with_context(|| format!("writing {}", dir.join("config.toml").display()))?;
    launch::multi_plots(&dir);
    Ok(Some(multi))
}

/// Run summaries of a finished task, for progress lines.
pub fn finished_summary(task: &Task) -> Option<RunSummary> {
    launch::finished(&task.run_dir).ok().flatten()
}

/// Slurm settings of `auscult sweep --slurm`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    pub gres: Option<String>,
    pub time: Option<String>,
    pub cpus_per_task: Option<usize>,
    /// At most this many array tasks at once (`%K`).
    pub array_parallelism: Option<usize>,
    /// Extra arguments for each task's `auscult sweep --task` (runtime flags).
    pub task_args: Vec<String>,
}

/// `0-3,5,7-9`: Slurm's array syntax for sorted ids.
pub fn array_ranges(ids: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            ids[i].to_string()
        } else {
            format!("{}-{}", ids[i], ids[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

/// Single-quotes `s` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The sbatch script running task ids `ids` of `index` as one job array: each array task runs
/// `auscult sweep --index <index> --task $SLURM_ARRAY_TASK_ID` with `exe`. Slurm sends SIGTERM
/// two minutes before the time limit, so a task killed by its limit saves its state and the next
/// submission resumes it.
pub fn sbatch_script(index: &SweepIndex, ids: &[usize], exe: &Path, o: &SlurmOptions) -> String {
    let name = index
        .out
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sweep".into());
    let logs = index.out.join("logs");
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!("#SBATCH --job-name=auscult-{}\n", sh_quote(&name)));
    let par = o
        .array_parallelism
        .map(|k| format!("%{k}"))
        .unwrap_or_default();
    s.push_str(&format!("#SBATCH --array={}{par}\n", array_ranges(ids)));
    s.push_str(&format!(
        "#SBATCH --output={}\n",
        sh_quote(&logs.join("%A_%a.log").display().to_string())
    ));
    if let Some(p) = &o.partition {
        s.push_str(&format!("#SBATCH --partition={}\n", sh_quote(p)));
    }
    if let Some(g) = &o.gres {
        s.push_str(&format!("#SBATCH --gres={}\n", sh_quote(g)));
    }
    if let Some(t) = &o.time {
        s.push_str(&format!("#SBATCH --time={}\n", sh_quote(t)));
    }
    if let Some(c) = o.cpus_per_task {
        s.push_str(&format!("#SBATCH --cpus-per-task={c}\n"));
    }
    s.push_str("#SBATCH --signal=B:TERM@120\n");
    s.push_str(&format!(
        "# {} task(s) of {}; task id → run: {}\n",
        ids.len(),
        index.tasks.len(),
        SweepIndex::path(&index.out).display()
    ));
    s.push_str("set -euo pipefail\n");
    let mut cmd = vec![
        sh_quote(&exe.display().to_string()),
        "sweep".into(),
        "--index".into(),
        sh_quote(&SweepIndex::path(&index.out).display().to_string()),
        "--task".into(),
        "\"$SLURM_ARRAY_TASK_ID\"".into(),
    ];
    if o.cpus_per_task.is_some() {
        cmd.push("--threads".into());
        cmd.push("\"$SLURM_CPUS_PER_TASK\"".into());
    }
    cmd.extend(o.task_args.iter().map(|a| sh_quote(a)));
    // exec: the signal reaches auscult itself.
    s.push_str(&format!("exec {}\n", cmd.join(" ")));
    s
}

/// Measured training throughput (samples/s) by stage name (`ce`, `scl`, `linear_eval`, …),
/// read from the last epoch of each `metrics.jsonl` under `dir` (e.g. an `auscult bench train
/// --out` folder, or finished runs). The highest figure per stage wins.
pub fn measured_throughput(dir: &Path) -> Result<std::collections::BTreeMap<String, f64>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))?;
        for e in entries {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "metrics.jsonl") {
                files += 1;
                let mut last: std::collections::BTreeMap<String, f64> = Default::default();
                for t in crate::rundir::read_stage_timings(&p)? {
                    last.insert(t.stage, t.samples_per_s);
                }
                for (k, v) in last {
                    let e = out.entry(k).or_insert(0.0f64);
                    *e = e.max(v);
                }
            }
        }
    }
    anyhow::ensure!(
        files > 0,
        "{}: no metrics.jsonl (measure with `auscult bench train --methods ce,scl,hybrid --out {}`)",
        dir.display(),
        dir.display()
    );
    Ok(out)
}
