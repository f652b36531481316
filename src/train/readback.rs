//! Every device → host read of the trainer goes through here, and is counted.
//!
//! On a GPU a read stalls the host until the device has finished everything queued before it, so
//! a training step of a few milliseconds cannot afford one. The trainer therefore accumulates
//! losses, loss terms and confusion matrices on the device and reads them once per epoch; the
//! counter lets a test prove that an epoch's reads do not grow with its number of steps.
//! (The fused CPU kernels read CPU memory directly; that is not a device read and not counted.)

use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::{DType, Result, Tensor};

static READS: AtomicU64 = AtomicU64::new(0);

/// Device → host reads so far in this process.
pub fn count() -> u64 {
    READS.load(Ordering::Relaxed)
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
