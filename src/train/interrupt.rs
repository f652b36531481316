//! Stopping a run cleanly: SIGINT / SIGTERM raise a flag the training loop checks between
//! batches; the run then ends with [`Interrupted`] after its last completed epoch's state is on
//! disk (see [`crate::train::resume`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use anyhow::Result;

/// Raised by SIGINT / SIGTERM once [`install_interrupt_handler`] ran.
static INTERRUPT: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Makes SIGINT and SIGTERM ask the training loop to stop at the next batch (the last
/// completed epoch's state is on disk); a second signal ends the process at once.
pub fn install_interrupt_handler() -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = INTERRUPT.get_or_init(|| Arc::new(AtomicBool::new(false)));
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
