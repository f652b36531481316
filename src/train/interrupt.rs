//! Stopping a run cleanly: SIGINT / SIGTERM raise a flag the training loop checks between
//! batches; the run then ends with [`Interrupted`] after its last completed epoch's state is on
//! disk (see [`crate::train::resume`]).
//!
//! A run in a time slot (a Slurm task with `--requeue`) can also be asked to stop for a
//! requeue: by SIGUSR1 (Slurm's warning signal, see [`install_requeue_handler`]), or by a
//! deadline ([`set_deadline`]) checked after every epoch, which stops at the epoch boundary
//! where the next epoch would not fit, so no work is lost.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use anyhow::Result;

/// Raised by SIGINT / SIGTERM once [`install_interrupt_handler`] ran.
static INTERRUPT: OnceLock<Arc<AtomicBool>> = OnceLock::new();
/// Raised with [`INTERRUPT`] when the stop is for a requeue (SIGUSR1, or the deadline).
static REQUEUE: OnceLock<Arc<AtomicBool>> = OnceLock::new();
/// When this process's time slot ends.
static DEADLINE: OnceLock<SystemTime> = OnceLock::new();
/// Epochs completed by this process (any stage).
static EPOCHS: AtomicUsize = AtomicUsize::new(0);

fn flag(f: &'static OnceLock<Arc<AtomicBool>>) -> &'static Arc<AtomicBool> {
    f.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Makes SIGINT and SIGTERM ask the training loop to stop at the next batch (the last
/// completed epoch's state is on disk); a second signal ends the process at once.
pub fn install_interrupt_handler() -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = flag(&INTERRUPT);
    for sig in [SIGINT, SIGTERM] {
        // Exit immediately (status 130) when a signal arrives with the flag already set.
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(flag))?;
        signal_hook::flag::register(sig, Arc::clone(flag))?;
    }
    Ok(())
}

/// Whether a stop was requested.
pub fn interrupted() -> bool {
    INTERRUPT.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

/// Makes SIGUSR1 ask the training loop to stop at the next batch for a requeue (Slurm sends it
/// ahead of the time limit with `--signal=B:USR1@<s>`).
pub fn install_requeue_handler() -> Result<()> {
    use signal_hook::consts::SIGUSR1;
    signal_hook::flag::register(SIGUSR1, Arc::clone(flag(&REQUEUE)))?;
    signal_hook::flag::register(SIGUSR1, Arc::clone(flag(&INTERRUPT)))?;
    Ok(())
}

/// Sets when this process must have stopped (the end of its time slot less a safety margin;
/// once, later calls are ignored).
pub fn set_deadline(at: SystemTime) {
    let _ = DEADLINE.set(at);
}

/// Told by the training loop after every epoch, which took `took`: when a deadline is set and
/// another such epoch (with a quarter more) would end past it, asks for a stop and a requeue.
pub fn epoch_finished(took: Duration) {
    EPOCHS.fetch_add(1, Ordering::Relaxed);
    let Some(deadline) = DEADLINE.get() else {
        return;
    };
    let next_end = SystemTime::now() + took.mul_f64(1.25);
    if next_end > *deadline && !interrupted() {
        tracing::info!(
            "the time slot ends in {:.0} s, too soon for another epoch of {:.1} s: stopping \
             for a requeue",
            deadline
                .duration_since(SystemTime::now())
                .unwrap_or_default()
                .as_secs_f64(),
            took.as_secs_f64()
        );
        flag(&REQUEUE).store(true, Ordering::Relaxed);
        flag(&INTERRUPT).store(true, Ordering::Relaxed);
    }
}

/// Whether the stop requested is for a requeue.
pub fn requeue_requested() -> bool {
    REQUEUE.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

/// Epochs this process completed.
pub fn epochs_finished() -> usize {
    EPOCHS.load(Ordering::Relaxed)
}

/// The error a stopped run ends with; the CLI turns it into exit status 130.
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted during {stage} epoch {epoch}; the state after epoch {saved} is saved. \
     Continue with: auscult train --resume {}",
    run_dir.display()
)]
pub struct Interrupted {
    pub stage: String,
    pub epoch: usize,
    pub saved: usize,
    pub run_dir: std::path::PathBuf,
}
