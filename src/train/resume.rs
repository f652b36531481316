//! Resumable runs: the whole state of a training stage, written atomically at the end of every
//! epoch to `<run>/checkpoints/state.safetensors`, and the interrupt flag that SIGINT / SIGTERM
//! raise.
//!
//! The state file holds every tensor of the method (encoder, BatchNorm buffers, head,
//! projectors: `model.*`, `proj.*`) and both Adam moments of every parameter (`adam.<i>.m`,
//! `adam.<i>.v`); its safetensors metadata (`auscult_state`) is a JSON [`StageState`]: the stage
//! and its completed epochs, the generator's position, Adam's steps and rate, the schedule, the
//! selections so far and the length of `metrics.jsonl` they correspond to. One file, renamed into
//! place, so the tensors and the bookkeeping can never disagree.
//!
//! A resumed run continues from the last completed epoch: it truncates `metrics.jsonl` to the
//! recorded length (dropping a line a kill may have torn) and replays the rest of the run with
//! the generator where it was, so on the same device and thread count it writes the same lines as
//! an uninterrupted run (timings aside). The file is removed once `summary.json` is written.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use candle_core::{Device, Tensor, Var};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::train::fit::Selected;
use crate::train::schedule::CosineAnnealingLr;

/// Format version of [`StageState`].
pub const STATE_VERSION: u32 = 1;
/// The metadata key holding the JSON state.
const META_KEY: &str = "auscult_state";

/// Position of a ChaCha8 generator: seed, stream and word position (exactly restorable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RngState {
    /// The 32-byte seed, hex.
    pub seed: String,
    pub stream: u64,
    /// The word position (a u128, as a decimal string).
    pub word_pos: String,
}

impl RngState {
    pub fn of(rng: &ChaCha8Rng) -> Self {
        RngState {
            seed: rng.get_seed().iter().map(|b| format!("{b:02x}")).collect(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    pub fn restore(&self) -> Result<ChaCha8Rng> {
        use rand::SeedableRng;
        anyhow::ensure!(self.seed.len() == 64, "rng seed must be 64 hex digits");
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&self.seed[2 * i..2 * i + 2], 16)
                .context("rng seed is not hex")?;
        }
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(self.word_pos.parse().context("rng word_pos")?);
        Ok(rng)
    }
}

/// A stage's best epoch so far by some score.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BestState {
    pub score: f64,
    pub selected: Selected,
}

/// Everything but the tensors: where a stage stands after `epoch` completed epochs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageState {
    pub version: u32,
    /// 0: the method's stage; 1: linear evaluation after a contrastive stage.
    pub stage_index: usize,
    /// The stage's name in `metrics.jsonl`.
    pub stage: String,
    /// Completed epochs of the stage.
    pub epoch: usize,
    /// The run's generator after those epochs.
    pub rng: RngState,
    /// Adam's learning rate for the next epoch.
    pub lr: f64,
    /// Adam updates per parameter (0: no moments yet).
    pub adam_steps: Vec<u64>,
    pub schedule: Option<CosineAnnealingLr>,
    pub best_eval: Option<BestState>,
    pub best_val: Option<BestState>,
    /// Lowest training loss so far (stages without evaluation).
    pub best_loss: Option<f64>,
    pub last: Option<Selected>,
    pub terms_last: serde_json::Map<String, serde_json::Value>,
    /// The contrastive stage's last loss terms, carried into the summary (linear evaluation).
    pub pretrain_terms: Option<serde_json::Map<String, serde_json::Value>>,
    /// Bytes of `metrics.jsonl` written up to and including this epoch.
    pub metrics_bytes: u64,
    /// Training seconds before this state was written (summed over interruptions).
    pub elapsed_seconds: f64,
}

/// The state file with its tensors.
pub struct SavedState {
    pub state: StageState,
    pub tensors: HashMap<String, Tensor>,
}

/// Writes states in the background: [`StateWriter::save`] copies the tensors to the host at
/// the epoch boundary (the snapshot, through [`crate::tensor::readback::to_host_all`]: one counted read
/// per dtype), then a thread serialises them, writes the file under a
/// temporary name, fsyncs and renames it while the next epoch trains. A save first waits for
/// the previous one, so at most one write is in flight and states land in order.
#[derive(Default)]
pub struct StateWriter {
    pending: Option<std::thread::JoinHandle<Result<()>>>,
}

impl StateWriter {
    /// Snapshots `state`, the method's variables and Adam's moments now; writes them to `path`
    /// in the background, after flushing `log` (the `metrics.jsonl` lines the state counts) to
    /// disk, so a state never counts lines a power cut could lose.
    pub fn save(
        &mut self,
        path: &Path,
        state: &StageState,
        method_vars: &[(String, Var)],
        adam: &[Option<(u64, Tensor, Tensor)>],
        log: std::fs::File,
    ) -> Result<()> {
        self.wait()?;
        let mut names = Vec::new();
        let mut device = Vec::new();
        for (n, v) in method_vars {
            names.push(n.clone());
            device.push(v.as_tensor().clone());
        }
        for (i, s) in adam.iter().enumerate() {
            if let Some((_, m, v)) = s {
                names.push(format!("adam.{i}.m"));
                device.push(m.clone());
                names.push(format!("adam.{i}.v"));
                device.push(v.clone());
            }
        }
        // The snapshot: one counted read per dtype (f32 weights and moments, i64 counters).
        let host = crate::tensor::readback::to_host_all(&device)?;
        let meta = HashMap::from([(META_KEY.to_string(), serde_json::to_string(state)?)]);
        let path = path.to_path_buf();
        self.pending = Some(std::thread::spawn(move || {
            log.sync_data().context("flushing metrics.jsonl")?;
            // Host tensors (a `readback` copy): candle's `View` serialises them without a
            // device read.
            for t in &host {
                anyhow::ensure!(
                    t.device().is_cpu(),
                    "the state snapshot must be on the host"
                );
            }
            let tensors: Vec<(String, Tensor)> = names.into_iter().zip(host).collect();
            let bytes = safetensors::serialize(tensors, Some(meta))
                .context("serialising the training state")?;
            auscult_cache::write_atomic(&path, &bytes)
                .with_context(|| format!("writing {}", path.display()))
        }));
        Ok(())
    }

    /// Waits for the write in flight, if any, and returns its result.
    pub fn wait(&mut self) -> Result<()> {
        match self.pending.take() {
            Some(h) => h
                .join()
                .map_err(|_| anyhow::anyhow!("the state writer thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for StateWriter {
    fn drop(&mut self) {
        if let Err(e) = self.wait() {
            tracing::warn!("{e:#}");
        }
    }
}

/// Reads a state file onto `device`.
pub fn load(path: &Path, device: &Device) -> Result<SavedState> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .with_context(|| format!("{}: not a safetensors file", path.display()))?;
    let json = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get(META_KEY))
        .with_context(|| {
            format!(
                "{}: no `{META_KEY}` metadata (not a training state file)",
                path.display()
            )
        })?;
    let state: StageState = serde_json::from_str(json)
        .with_context(|| format!("{}: metadata `{META_KEY}`", path.display()))?;
    anyhow::ensure!(
        state.version == STATE_VERSION,
        "{}: state format {} (this auscult reads {STATE_VERSION})",
        path.display(),
        state.version
    );
    let tensors = candle_core::safetensors::load_buffer(&bytes, device)
        .with_context(|| format!("reading the tensors of {}", path.display()))?;
    Ok(SavedState { state, tensors })
}

/// Sets each named variable from `tensors`, checking shapes and dtypes.
pub fn restore_vars(vars: &[(String, Var)], tensors: &HashMap<String, Tensor>) -> Result<()> {
    for (name, var) in vars {
        let t = tensors
            .get(name)
            .with_context(|| format!("the state has no tensor `{name}`"))?;
        anyhow::ensure!(
            t.dims() == var.dims() && t.dtype() == var.dtype(),
            "state tensor `{name}` is {:?} {:?}, the run expects {:?} {:?}",
            t.dtype(),
            t.dims(),
            var.dtype(),
            var.dims()
        );
        var.set(t)?;
    }
    Ok(())
}

/// Adam moments of parameter `i` from a state (None when it had no update yet).
pub fn adam_moments(saved: &SavedState, i: usize) -> Result<Option<(u64, Tensor, Tensor)>> {
    let step = saved.state.adam_steps.get(i).copied().unwrap_or(0);
    if step == 0 {
        return Ok(None);
    }
    let get = |k: &str| {
        saved
            .tensors
            .get(&format!("adam.{i}.{k}"))
            .cloned()
            .with_context(|| format!("the state has no tensor `adam.{i}.{k}`"))
    };
    Ok(Some((step, get("m")?, get("v")?)))
}
