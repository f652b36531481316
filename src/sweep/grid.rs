//! Grids, their tasks (one run per config × seed) and `sweep-index.json`.

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

/// What `auscult sweep --grid` is given: the grid file and what overrides it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepSpec {
    /// The grid file.
    pub grid: PathBuf,
    /// The cache dir (default the grid's `data`).
    pub data: Option<PathBuf>,
    /// Seeds per config (default the grid's `seeds`).
    pub seeds: Option<usize>,
    /// The sweep's folder (default `runs/<grid stem>`).
    pub out: Option<PathBuf>,
    /// `field=value` overrides of every config (`--set`).
    pub overrides: Vec<String>,
    /// Evaluation protocol of every run (`--protocol`).
    pub protocol: Option<String>,
}

impl SweepSpec {
    /// The grid and its index, every config checked with the overrides applied (nothing is
    /// written).
    pub fn index(&self) -> Result<(Grid, SweepIndex)> {
        let grid = Grid::load(&self.grid)?;
        let data = self
            .data
            .clone()
            .or_else(|| grid.data.clone())
            .with_context(|| format!("{}: no `data`; pass --data <cache>", self.grid.display()))?;
        let seeds = self.seeds.unwrap_or(grid.seeds);
        anyhow::ensure!(seeds > 0, "--seeds must be ≥ 1");
        let out = self.out.clone().unwrap_or_else(|| {
            PathBuf::from("runs").join(
                self.grid
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "sweep".into()),
            )
        });
        let mut index = SweepIndex::new(&grid, &data, seeds, &out)?;
        index.overrides = self.overrides.clone();
        if let Some(p) = &self.protocol {
            p.parse::<crate::train::experiment::Protocol>()
                .map_err(anyhow::Error::msg)?;
            index.overrides.push(format!("data.protocol={p}"));
        }
        // Refuse a bad override before anything is written.
        for c in &grid.configs {
            index.experiment(c)?.validate()?;
        }
        Ok((grid, index))
    }
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

    /// The tasks not finished yet.
    pub fn pending(&self) -> Vec<&Task> {
        self.tasks
            .iter()
            .filter(|t| t.state() != TaskState::Finished)
            .collect()
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
                crate::jobs::resume(&self.run_dir, Some(&index.data), Some(runtime))
                    .with_context(|| format!("resuming {}", self.run_dir.display()))?;
            }
            TaskState::Pending => {
                let mut exp = index.experiment(&self.config)?;
                exp.seed = self.seed;
                exp.runs = 1;
                crate::jobs::train_named(
                    &exp,
                    runtime,
                    Some(&self.name),
                    &index.data,
                    &self.run_dir,
                    false,
                )
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
    let multi = launch::seed_summary(&exp, Some(name), &summaries, dirs)?;
    let dir = index.out.join(name);
    write_json_atomic(&dir.join("summary.json"), &multi)?;
    auscult_cache::write_atomic(&dir.join("config.toml"), exp.to_toml().as_bytes())
        .with_context(|| format!("writing {}", dir.join("config.toml").display()))?;
    crate::jobs::seeds_finished(&dir, &Default::default());
    Ok(Some(multi))
}

/// Run summaries of a finished task, for progress lines.
pub fn finished_summary(task: &Task) -> Option<RunSummary> {
    launch::finished(&task.run_dir).ok().flatten()
}
