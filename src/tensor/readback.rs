//! Every device → host read of auscult's tensors goes through here, and is counted: the
//! trainer's (epoch losses and loss terms, confusion matrices, per-batch scaling statistics), the
//! savers' (checkpoints and projectors, the resumable training state, embeddings) and
//! `predict`'s.
//!
//! On a GPU a read stalls the host until the device has finished everything queued before it, so
//! a training step of a few milliseconds cannot afford one. The trainer therefore accumulates
//! losses, loss terms and confusion matrices on the device and reads them once per epoch, and a
//! save copies all its tensors with one read per dtype ([`to_host_all`]); the counter lets a test
//! prove that an epoch's reads do not grow with its number of steps (`tests/readback.rs`).
//! A read is counted on every device, CPU included (where it costs no stall), so the CPU tests
//! count what a GPU run would read.
//!
//! Not counted, by design (no device is involved):
//! - the fused CPU kernels (`src/model/conv/`, `src/model/cnn6/`), which run only on CPU `f32`
//!   tensors and read CPU memory directly (their running-statistics and affine `to_vec1`s
//!   included);
//! - host tensors made from host data: a `predict` batch cut from features loaded on
//!   `Device::Cpu`, and tensors already returned by this module;
//! - the tests, and `train::device_check` (a diagnostic that reads every tensor of one step to
//!   compare it: not training).
//!
//! One exception remains outside this module: `Cnn6::save_state_dict` (`src/model/cnn6/mod.rs`)
//! hands its variables to `candle_core::safetensors::save`, which reads each tensor itself.
//! auscult's own savers no longer call it ([`crate::train::methods::Method::save`] writes the
//! same file through [`to_host_all`]); a direct caller's reads are not counted.

use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::{DType, Device, Result, Tensor};

static READS: AtomicU64 = AtomicU64::new(0);
static COPIES: AtomicU64 = AtomicU64::new(0);

/// Device → host reads so far in this process.
pub fn count() -> u64 {
    READS.load(Ordering::Relaxed)
}

/// Of [`count`], the reads of whole tensors for saving ([`to_host`], [`to_host_all`]).
pub fn copies() -> u64 {
    COPIES.load(Ordering::Relaxed)
}

fn counted() {
    READS.fetch_add(1, Ordering::Relaxed);
}

/// A scalar tensor's value as f64.
pub fn scalar(t: &Tensor) -> Result<f64> {
    counted();
    t.to_dtype(DType::F64)?.to_scalar::<f64>()
}

/// A 1-D tensor's values as f64.
pub fn vec1(t: &Tensor) -> Result<Vec<f64>> {
    counted();
    t.to_dtype(DType::F64)?.to_vec1::<f64>()
}

/// A 2-D tensor's values as f64 rows.
pub fn vec2(t: &Tensor) -> Result<Vec<Vec<f64>>> {
    counted();
    t.to_dtype(DType::F64)?.to_vec2::<f64>()
}

/// A copy of `t` on the host (same shape and dtype): one read. See [`to_host_all`].
pub fn to_host(t: &Tensor) -> Result<Tensor> {
    Ok(to_host_all(std::slice::from_ref(t))?.remove(0))
}

/// Copies of `tensors` on the host, in order, same shapes and dtypes: one read per distinct dtype
/// among them (the tensors of a dtype are flattened and concatenated on their device, copied at
/// once and split on the host).
///
/// The copies share no memory with the originals, on CPU too: they are a snapshot that later
/// in-place updates (`Var::set`, the optimiser) do not change, so a background writer may
/// serialise them while training goes on.
pub fn to_host_all(tensors: &[Tensor]) -> Result<Vec<Tensor>> {
    let mut out: Vec<Option<Tensor>> = vec![None; tensors.len()];
    let mut dtypes: Vec<DType> = Vec::new();
    for t in tensors {
        if !dtypes.contains(&t.dtype()) {
            dtypes.push(t.dtype());
        }
    }
    for dtype in dtypes {
        let idx: Vec<usize> = (0..tensors.len())
            .filter(|&i| tensors[i].dtype() == dtype)
            .collect();
        let flat = idx
            .iter()
            .map(|&i| tensors[i].flatten_all())
            .collect::<Result<Vec<_>>>()?;
        let joined = Tensor::cat(&flat, 0)?;
        counted();
        COPIES.fetch_add(1, Ordering::Relaxed);
        let host = if !joined.device().is_cpu() {
            joined.to_device(&Device::Cpu)?
        } else if flat.len() == 1 {
            // `cat` of one tensor returns it (and `flatten_all` is a view): copy.
            joined.copy()?
        } else {
            joined
        };
        let mut offset = 0;
        for (&i, f) in idx.iter().zip(&flat) {
            let n = f.elem_count();
            out[i] = Some(host.narrow(0, offset, n)?.reshape(tensors[i].shape())?);
            offset += n;
        }
    }
    Ok(out
        .into_iter()
        .map(|t| t.expect("every tensor has a dtype group"))
        .collect())
}
