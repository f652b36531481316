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
//! - the fused CPU kernels (`src/train/conv*`, `src/train/cnn6/`), which run only on CPU `f32`
//!   tensors and read CPU memory directly (their running-statistics and affine `to_vec1`s
//!   included);
//! - host tensors made from host data: a `predict` batch cut from features loaded on
//!   `Device::Cpu`, and tensors already returned by this module;
//! - `#[cfg(test)]` code, `test_support` and `parity` (a diagnostic that reads every tensor of
//!   one step to compare it: not training).
//!
//! One exception remains outside this module: `Cnn6::save_state_dict` (`src/train/cnn6.rs`)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_host_all_is_one_read_per_dtype_and_a_snapshot() -> Result<()> {
        let dev = Device::Cpu;
        let a = candle_core::Var::new(&[[1f32, 2.], [3., 4.]], &dev)?;
        let b = Tensor::new(&[5f32, 6., 7.], &dev)?;
        let c = Tensor::new(9i64, &dev)?;
        let d = Tensor::new(&[8i64], &dev)?;
        let before = (count(), copies());
        let host = to_host_all(&[a.as_tensor().clone(), c.clone(), b.clone(), d.clone()])?;
        // Other tests of this binary may read at the same time: at least our 2 reads.
        assert!(count() - before.0 >= 2 && copies() - before.1 >= 2);
        assert_eq!(host[0].to_vec2::<f32>()?, [[1., 2.], [3., 4.]]);
        assert_eq!(host[1].dims(), [] as [usize; 0]);
        assert_eq!(host[1].to_scalar::<i64>()?, 9);
        assert_eq!(host[2].to_vec1::<f32>()?, [5., 6., 7.]);
        assert_eq!(host[3].to_vec1::<i64>()?, [8]);
        // Updating the variable in place does not change the copy…
        a.set(&Tensor::zeros((2, 2), DType::F32, &dev)?)?;
        assert_eq!(host[0].to_vec2::<f32>()?, [[1., 2.], [3., 4.]]);
        // …also when the tensor is alone of its dtype.
        let v = candle_core::Var::new(&[1f32, 2.], &dev)?;
        let h = to_host(v.as_tensor())?;
        v.set(&Tensor::zeros(2, DType::F32, &dev)?)?;
        assert_eq!(h.to_vec1::<f32>()?, [1., 2.]);
        Ok(())
    }
}
