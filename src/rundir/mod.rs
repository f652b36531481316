//! A run dir and everything written into it:
//!
//! ```text
//! <run>/config.toml        the complete effective experiment (re-runnable as it stands)
//! <run>/transform.json     the input transform, with any statistics measured on the training split
//! <run>/features.json      the cache's feature parameters and classes (what `predict` needs)
//! <run>/invocation.json    the cache dir and runtime it was started with (what `--resume` needs)
//! <run>/metrics.jsonl      one line per epoch and stage
//! <run>/summary.json       selections, runtime, cache, git revision
//! <run>/run.lock           while a process writes it (see `lock`)
//! <run>/checkpoints/       best, best_val, last (+ pretrain_* of contrastive methods), and
//!                          state.safetensors while the run is unfinished (see `resume`)
//! ```
//!
//! Every file except the append-only `metrics.jsonl` is written under a temporary name and
//! renamed, so a crash never leaves a half-written file.

pub mod existing;
pub mod lock;
pub mod schema;

pub use schema::*;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::data::transforms::InputTransform;
use crate::train::experiment::Experiment;

/// The folder of one seed's run.
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates `path` and its `checkpoints/` folder.
    pub fn create(path: &Path) -> Result<Self> {
        let ck = path.join("checkpoints");
        std::fs::create_dir_all(&ck)
            .with_context(|| format!("creating run dir {}", path.display()))?;
        Ok(RunDir { path: path.into() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `checkpoints/<name>.safetensors`.
    pub fn checkpoint(&self, name: &str) -> PathBuf {
        self.path
            .join("checkpoints")
            .join(format!("{name}.safetensors"))
    }

    /// Writes `config.toml`.
    pub fn write_experiment(&self, exp: &Experiment) -> Result<()> {
        write_atomic(&self.path.join("config.toml"), exp.to_toml().as_bytes())
    }

    /// Writes `transform.json`.
    pub fn write_transform(&self, t: &InputTransform) -> Result<()> {
        write_json_atomic(&self.path.join("transform.json"), t)
    }

    /// Reads `transform.json`.
    pub fn read_transform(&self) -> Result<InputTransform> {
        read_transform(&self.path)
    }

    /// Writes `summary.json`.
    pub fn write_summary(&self, summary: &impl Serialize) -> Result<()> {
        write_json_atomic(&self.path.join("summary.json"), summary)
    }

    /// A fresh `metrics.jsonl`.
    pub fn metrics_log(&self) -> Result<MetricsLog> {
        MetricsLog::create(&self.path.join("metrics.jsonl"))
    }

    /// `metrics.jsonl` cut back to its first `bytes` bytes (what a resumed state recorded),
    /// appended to from there.
    pub fn resume_metrics_log(&self, bytes: u64) -> Result<MetricsLog> {
        MetricsLog::truncated(&self.path.join("metrics.jsonl"), bytes)
    }

    /// `checkpoints/state.safetensors`: the resumable state of the stage in progress.
    pub fn state_path(&self) -> PathBuf {
        self.path.join("checkpoints").join("state.safetensors")
    }
}

/// Appends one JSON line per record to `metrics.jsonl`, counting the bytes written.
pub struct MetricsLog {
    file: std::fs::File,
    path: PathBuf,
    len: u64,
}

impl MetricsLog {
    fn create(path: &Path) -> Result<Self> {
        Ok(MetricsLog {
            file: std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?,
            path: path.into(),
            len: 0,
        })
    }

    fn truncated(path: &Path, len: u64) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("opening {} to resume", path.display()))?;
        let have = file.metadata()?.len();
        anyhow::ensure!(
            have >= len,
            "{}: {have} bytes, fewer than the {len} the saved state recorded (was it edited?)",
            path.display()
        );
        file.set_len(len)?;
        let mut log = MetricsLog {
            file,
            path: path.into(),
            len,
        };
        std::io::Seek::seek(&mut log.file, std::io::SeekFrom::End(0))?;
        Ok(log)
    }

    /// Appends `record` as one line (one write).
    pub fn write(&mut self, record: &impl Serialize) -> Result<()> {
        let mut line = serde_json::to_string(record)?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.len += line.len() as u64;
        Ok(())
    }

    /// Another handle to the file (to flush it from another thread).
    pub fn handle(&self) -> Result<std::fs::File> {
        self.file
            .try_clone()
            .with_context(|| format!("{}", self.path.display()))
    }

    /// Bytes written so far (the resumable state's `metrics_bytes`).
    pub fn bytes(&self) -> u64 {
        self.len
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    auscult_cache::write_atomic(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// The input transform a run dir recorded (`<run>/transform.json`).
pub fn read_transform(run: &Path) -> Result<InputTransform> {
    let file = run.join("transform.json");
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not an input transform", file.display()))
}

/// Pretty JSON, written atomically.
pub fn write_json_atomic(path: &Path, v: &impl Serialize) -> Result<()> {
    write_atomic(path, serde_json::to_string_pretty(v)?.as_bytes())
}

/// The git revision of the working directory, when it is a checkout.
pub fn git_revision() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
