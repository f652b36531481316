//! Stride-1 2-D convolutions, forward *and* backward, that we own.
//!
//! - CPU kernels on `f32` slices (`cpu`, `im2col`): candle 0.11's own CPU `conv2d` backward
//!   goes through conv-transpose and dominates a CNN6 training step (15 of 18 s at batch 32).
//!   These are im2col + GEMM for the forward and both gradients, parallel over the batch with
//!   rayon; the fused CPU block op ([`fused_block`](crate::model::cnn6)) uses them directly.
//! - Two engines for the device block op, each a forward and a backward over detached tensors
//!   ([`ConvEngine`]): `gemm` (im2col + rank-2 GEMM from candle ops, any device) and `cudnn`
//!   (custom ops calling cuDNN on CUDA, the CPU kernels on CPU).

pub mod cpu;
pub mod cudnn;
pub mod gemm;
pub mod im2col;

pub use cpu::{conv_backward, conv_forward};
pub use im2col::ConvGeom;

use candle_core::{bail, CpuStorage, Device, Layout, Result, Shape, Tensor};

/// The largest element count one GPU kernel launch is trusted to index (candle's CUDA kernels,
/// cuBLAS' and cuDNN's dimensions are 32-bit signed).
pub(crate) const INDEX_LIMIT: usize = (1 << 31) - 1;

/// Which gradients a backward pass computes: the input's (CNN6's first block, whose input is
/// data, skips it) and the weight's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub x: bool,
    pub w: bool,
}

/// What a backward pass returns: the input gradient and the weight gradient, each `None` when
/// not needed.
pub type Grads = (Option<Tensor>, Option<Tensor>);

/// A backward: `(x, w, dy, pad, need)` → the gradients `need` asks for, given `dy`; detached
/// inputs, no graph.
pub type Backward = fn(&Tensor, &Tensor, &Tensor, usize, Need) -> Result<Grads>;

/// Which implementation runs the convolutions of the device block op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvEngine {
    /// im2col + GEMM from candle ops (any device).
    Gemm,
    /// cuDNN on CUDA, the fused CPU kernels on CPU.
    Cudnn,
}

impl ConvEngine {
    /// `conv(x, w)` with zero padding `pad`, stride 1; detached inputs, no graph.
    pub fn forward(self, x: &Tensor, w: &Tensor, pad: usize) -> Result<Tensor> {
        match self {
            ConvEngine::Gemm => gemm::forward(x, w, pad),
            ConvEngine::Cudnn => cudnn::forward(x, w, pad),
        }
    }

    /// This engine's backward ([`Backward`]).
    pub fn backward(self) -> Backward {
        match self {
            ConvEngine::Gemm => gemm::backward,
            ConvEngine::Cudnn => cudnn::backward,
        }
    }

    /// Samples per chunk: the block op runs a batch in chunks so that no transient buffer
    /// passes a budget (the GEMM engine's column matrices: 256 MiB on CPU, 1 GiB elsewhere;
    /// cuDNN's conv outputs: 512 MiB) and no kernel indexes past [`INDEX_LIMIT`]. An example
    /// too large for one chunk on its own is refused, naming the limit.
    pub fn chunk_len(self, g: &ConvGeom, device: &Device) -> Result<usize> {
        let (per_sample, budget, what) = match self {
            ConvEngine::Gemm => (
                gemm::cols_per_sample(g),
                if device.is_cpu() { 1 << 26 } else { 1 << 28 },
                "im2col column matrix",
            ),
            ConvEngine::Cudnn => (g.in_len().max(g.out_len()), 1 << 27, "conv input/output"),
        };
        if per_sample > INDEX_LIMIT {
            bail!(
                "one example's {what} has {per_sample} elements, past the {INDEX_LIMIT} (2^31 − 1) a GPU kernel can index: use a shorter input"
            );
        }
        Ok((budget / per_sample).max(1))
    }
}

/// Borrows the contiguous `f32` data of a CPU storage (`what` names it in errors).
pub fn f32_data<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
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
pub fn geometry(xs: &Shape, ws: &Shape, pad: usize) -> Result<(usize, ConvGeom)> {
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
