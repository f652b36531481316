//! A run dir and everything written into it:
//!
//! ```text
//! <run>/config.toml        the complete effective experiment (re-runnable as it stands)
//! <run>/transform.json     the input transform, with any statistics measured on the training split
//! <run>/metrics.jsonl      one line per epoch and stage
//! <run>/summary.json       selections, runtime, cache, git revision
//! <run>/checkpoints/       best, best_val, last (+ pretrain_* of contrastive methods)
//! ```
//!
//! Every file except the append-only `metrics.jsonl` is written under a temporary name and
//! renamed, so a crash never leaves a half-written file.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::experiment::Experiment;
use super::transforms::InputTransform;

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

    /// Writes `summary.json`.
    pub fn write_summary(&self, summary: &impl Serialize) -> Result<()> {
        write_json_atomic(&self.path.join("summary.json"), summary)
    }

    /// A fresh `metrics.jsonl`.
    pub fn metrics_log(&self) -> Result<MetricsLog> {
        MetricsLog::create(&self.path.join("metrics.jsonl"))
    }
}

/// Appends one JSON line per record to `metrics.jsonl`.
pub struct MetricsLog(std::fs::File);

impl MetricsLog {
    fn create(path: &Path) -> Result<Self> {
        Ok(MetricsLog(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ))
    }

    pub fn write(&mut self, record: &impl Serialize) -> Result<()> {
        writeln!(self.0, "{}", serde_json::to_string(record)?)?;
        Ok(())
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    auscult_cache::write_atomic(path, bytes).with_context(|| format!("writing {}", path.display()))
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
