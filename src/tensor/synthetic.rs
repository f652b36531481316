//! Helpers shared by the unit tests and the integration tests (not part of the API).

use candle_core::{Device, Tensor};

/// A deterministic `[shape]` f32 CPU tensor of values in `[lo, hi)` (xorshift from `seed`).
pub fn pseudo_random(shape: &[usize], seed: u64, lo: f32, hi: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).expect("a shape's element count matches")
}

/// The largest `|a − b|` over all elements (panics on a shape mismatch: tests only).
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    let d: Vec<f32> = (a - b)
        .and_then(|d| d.abs())
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.to_dtype(candle_core::DType::F32))
        .and_then(|d| d.to_vec1())
        .expect("tensors of one shape");
    d.into_iter().fold(0.0, f32::max)
}
