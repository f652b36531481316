//! Stride-1 2-D convolution kernels on CPU `f32` slices, forward *and* backward, that we own.
//!
//! candle 0.11's own CPU `conv2d` backward goes through conv-transpose and dominates a CNN6
//! training step (15 of 18 s at batch 32). These kernels are im2col + GEMM for the forward and
//! for both gradients (`grad_w = Σ_b grad_out_b · cols_bᵀ`, `grad_x_b = col2im(Wᵀ · grad_out_b)`),
//! parallel over the batch with rayon. The fused CNN6 block op
//! ([`fused_block`](super::cnn6)) is their one user. On other devices (and on CPU when asked:
//! [`Kernels::Generic`](super::cnn6::Kernels)) CNN6 uses [`conv2d_gemm`], im2col + GEMM built from
//! candle ops.

mod cpu;
mod gemm;
mod im2col;

pub(crate) use cpu::{conv_backward, conv_forward};
pub use gemm::conv2d_gemm;
pub(crate) use im2col::ConvGeom;

use candle_core::{bail, CpuStorage, Layout, Result, Shape};

/// Borrows the contiguous `f32` data of a CPU storage (`what` names it in errors).
pub(crate) fn f32_data<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    let data = match s {
        CpuStorage::F32(v) => v.as_slice(),
        other => bail!(
            "{what} must be f32, got {:?}",
            candle_core::backend::BackendStorage::dtype(other)
        ),
    };
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => bail!("{what} must be contiguous"),
    }
}

/// Checks the shapes of `(x, weight)` and returns the batch size and convolution geometry.
pub(crate) fn geometry(xs: &Shape, ws: &Shape, pad: usize) -> Result<(usize, ConvGeom)> {
    let (b, c, h, w) = xs.dims4()?;
    let (o, wc, kh, kw) = ws.dims4()?;
    if wc != c {
        bail!("conv2d: input has {c} channels but weight {ws:?} expects {wc}");
    }
    if h + 2 * pad < kh || w + 2 * pad < kw {
        bail!("conv2d: input {xs:?} with padding {pad} is smaller than kernel {ws:?}");
    }
    let g = ConvGeom {
        c,
        h,
        w,
        o,
        kh,
        kw,
        pad,
        oh: h + 2 * pad + 1 - kh,
        ow: w + 2 * pad + 1 - kw,
    };
    Ok((b, g))
}
