//! A Slurm array task that finishes a long run across several time slots (`auscult sweep
//! --slurm --requeue`): it learns when its slot ends, stops at the last epoch boundary that fits
//! (or at Slurm's warning signal), and puts itself back in the queue with `scontrol requeue`;
//! the next slot resumes from the saved state.

use std::process::Command;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};

use super::slurm_args::slurm_seconds;
use crate::rundir::lock::slurm_job;
use crate::train::interrupt;

/// Set (to 1) in the environment of array tasks submitted with `--requeue`.
pub const REQUEUE_ENV: &str = "AUSCULT_REQUEUE";

/// This task's Slurm job, when it may requeue itself.
pub struct TimeSlot {
    /// `<array job>_<task>` or `<job>`.
    pub job: String,
}

impl TimeSlot {
    /// The slot of this process when it runs under Slurm with [`REQUEUE_ENV`] set; installs
    /// the SIGUSR1 handler and sets the training deadline from the time Slurm says is left.
    pub fn from_env() -> Result<Option<TimeSlot>> {
        if std::env::var(REQUEUE_ENV).ok().as_deref() != Some("1") {
            return Ok(None);
        }
        let Some(job) = slurm_job() else {
            tracing::warn!("{REQUEUE_ENV}=1 outside a Slurm job: no requeue");
            return Ok(None);
        };
        interrupt::install_requeue_handler()?;
        match time_left(&job) {
            Some(left) => {
                let margin = margin_for(left);
                interrupt::set_deadline(SystemTime::now() + left.saturating_sub(margin));
                tracing::info!(
                    "Slurm job {job}: {} s left in this slot; stopping for a requeue {} s \
                     before its end",
                    left.as_secs(),
                    margin.as_secs()
                );
            }
            None => tracing::info!(
                "Slurm job {job}: no time limit known; a requeue follows Slurm's warning signal"
            ),
        }
        Ok(Some(TimeSlot { job }))
    }

    /// Puts this task back in the queue after it stopped for a requeue; refuses when this slot
    /// completed no epoch (the next would do no better).
    pub fn requeue(&self) -> Result<()> {
        if interrupt::epochs_finished() == 0 {
            bail!(
                "Slurm job {}: the slot ended before one epoch finished, so a requeue would make \
                 no progress; give the tasks a longer --time",
                self.job
            );
        }
        let out = Command::new("scontrol")
            .args(["requeue", &self.job])
            .output()
            .context("running scontrol requeue")?;
        anyhow::ensure!(
            out.status.success(),
            "scontrol requeue {} failed: {}",
            self.job,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(())
    }
}

/// The safety margin before a slot's end: a tenth of it, between 5 s and 2 min (time to write
/// the last state and requeue before Slurm's SIGTERM).
pub fn margin_for(left: Duration) -> Duration {
    (left / 10).clamp(Duration::from_secs(5), Duration::from_secs(120))
}

/// Time left to `job`, as `squeue` says (None without a limit or without squeue).
fn time_left(job: &str) -> Option<Duration> {
    let out = Command::new("squeue")
        .args(["-h", "-j", job, "-o", "%L"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    slurm_seconds(text.lines().next()?).map(Duration::from_secs)
}
