//! One whole CNN6 block — conv 5×5 → BatchNorm2d → ReLU → avg-pool 2×2 — as a single candle
//! custom op on CPU `f32` tensors, with its own backward.
//!
//! Why one op: as separate graph nodes, the full-resolution conv output (131 MB for block 1 at
//! batch 32) and its gradient are candle tensors, and candle's backprop adds every gradient into
//! a fresh `zeros_like` buffer; those allocations (fresh pages, kernel zeroing, extra passes)
//! cost about a tenth of a training step. Here the conv output lives in a recycled buffer held by
//! the op until its graph is dropped, and its gradient never leaves the backward kernel. Only
//! the pooled output, the block's input gradient and the small parameter gradients are tensors.
//! Other devices use [`device_block`] (the same maths in candle ops).

use super::bn_relu_pool::{
    batch_norm_params, forward as bn_forward, grad_input, grad_sums, Affine, BatchMoments, BnStats,
    Dims, Norm,
};
use super::device_block::{device_block, BlockInput};
use super::Kernels;
use crate::model::conv::{conv_backward, conv_forward, f32_data, geometry, ConvEngine, ConvGeom};
use candle_core::{bail, CpuStorage, CustomOp3, DType, Layout, Result, Shape, Tensor};
use std::sync::{Arc, Mutex};

/// `avg_pool2x2(relu(batch_norm(conv2d(x, weight, padding))))` for `x: [B, C, H, W]`,
/// `weight: [O, C, K, K]`, `gamma`/`beta: [O]`; returns the pooled output and, with batch
/// statistics, the batch moments (for the running-statistics update).
///
/// [`Kernels::Auto`] runs the fused CPU op for `f32` CPU tensors, the device block op
/// ([`device_block`]) elsewhere — with cuDNN's convolutions in a `cudnn` build on CUDA, the
/// GEMM engine otherwise; [`Kernels::Generic`] and [`Kernels::Cudnn`] pick the device block op
/// and its engine on any device.
pub fn conv_bn_relu_pool(
    input: BlockInput<'_>,
    kernels: Kernels,
) -> Result<(Tensor, Option<BatchMoments>)> {
    let (x, weight, gamma, beta) = (input.x, input.weight, input.gamma, input.beta);
    let (stats, padding, eps) = (input.stats, input.padding, input.eps);
    let all_f32 = [x, weight, gamma, beta]
        .iter()
        .all(|t| t.dtype() == DType::F32);
    let fused_cpu = x.device().is_cpu() && all_f32;
    let engine = match kernels {
        Kernels::Auto if fused_cpu => None,
        Kernels::Auto if x.device().is_cuda() && cfg!(feature = "cudnn") && all_f32 => {
            Some(ConvEngine::Cudnn)
        }
        Kernels::Auto | Kernels::Generic => Some(ConvEngine::Gemm),
        Kernels::Cudnn => Some(ConvEngine::Cudnn),
    };
    if let Some(engine) = engine {
        return device_block(input, engine);
    }
    let fixed = match stats {
        BnStats::Batch => None,
        BnStats::Running { mean, var } => Some(Norm::from_running(
            mean.to_dtype(DType::F32)?.to_vec1()?,
            var.to_dtype(DType::F32)?.to_vec1()?,
            eps,
        )),
    };
    let slot = Arc::new(Mutex::new(None));
    let forward = Forward {
        eps,
        fixed,
        slot: slot.clone(),
    };
    let op = BlockOp {
        padding,
        pass: Pass::Forward(forward),
    };
    let affine = Tensor::cat(&[gamma, beta], 0)?;
    let out = x
        .contiguous()?
        .apply_op3(&weight.contiguous()?, &affine, op)?;
    let moments = match stats {
        BnStats::Running { .. } => None,
        BnStats::Batch => {
            let saved = lock(&slot)?
                .clone()
                .ok_or_else(|| candle_core::Error::Msg("block stats missing".into()))?;
            let (b, _, h, w) = saved.dims;
            Some(BatchMoments {
                mean: Tensor::from_vec(saved.norm.mean.clone(), gamma.dims(), x.device())?,
                var: Tensor::from_vec(saved.norm.var.clone(), gamma.dims(), x.device())?,
                count: b * h * w,
            })
        }
    };
    Ok((out, moments))
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| candle_core::Error::Msg("fused block: lock poisoned".into()))
}

/// What the forward pass keeps for the backward: the conv output and its normalisation.
struct Saved {
    conv_out: RecycledBuf,
    /// `(B, O, OH, OW)` of `conv_out`.
    dims: (usize, usize, usize, usize),
    norm: Norm,
}

/// The fused block as one candle op on `(x, weight, third)`, in either pass.
struct BlockOp {
    padding: usize,
    pass: Pass,
}

enum Pass {
    /// Third operand `[gamma; beta]` → the pooled output.
    Forward(Forward),
    /// Third operand the pooled output's gradient → flat `[grad_x (if need_x) | grad_w (if
    /// need_w) | grad_gamma | grad_beta]`. Run by the forward op's backward.
    Backward(Backward),
}

struct Forward {
    eps: f64,
    /// Running statistics (eval mode); `None`: batch statistics.
    fixed: Option<Norm>,
    slot: Arc<Mutex<Option<Arc<Saved>>>>,
}

struct Backward {
    saved: Arc<Saved>,
    /// `[gamma; beta]` values.
    affine: Vec<f32>,
    batch_stats: bool,
    need_x: bool,
    need_w: bool,
}

/// What either pass reads: the operands' data, the shapes of the first and third, the batch size
/// and the conv geometry.
struct Operands<'a> {
    x: &'a [f32],
    wt: &'a [f32],
    third: &'a [f32],
    x_shape: &'a Shape,
    third_shape: &'a Shape,
    b: usize,
    g: ConvGeom,
}

impl CustomOp3 for BlockOp {
    fn name(&self) -> &'static str {
        match self.pass {
            Pass::Forward(_) => "auscult-cnn6-block",
            Pass::Backward(_) => "auscult-cnn6-block-backward",
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let third = match self.pass {
            Pass::Forward(_) => "batch-norm weight/bias",
            Pass::Backward(_) => "block output gradient",
        };
        let x = f32_data(s1, l1, "block input")?;
        let wt = f32_data(s2, l2, "conv weight")?;
        let third = f32_data(s3, l3, third)?;
        let (b, g) = geometry(l1.shape(), l2.shape(), self.padding)?;
        let o = Operands {
            x,
            wt,
            third,
            x_shape: l1.shape(),
            third_shape: l3.shape(),
            b,
            g,
        };
        match &self.pass {
            Pass::Forward(f) => f.run(&o),
            Pass::Backward(bk) => bk.run(&o),
        }
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        affine: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let Pass::Forward(forward) = &self.pass else {
            bail!("block backward: not differentiable");
        };
        let saved = lock(&forward.slot)?
            .clone()
            .ok_or_else(|| candle_core::Error::Msg("block backward before forward".into()))?;
        let (need_x, need_w) = (x.track_op(), weight.track_op());
        let backward = Backward {
            saved,
            affine: affine.to_vec1()?,
            batch_stats: forward.fixed.is_none(),
            need_x,
            need_w,
        };
        let op = BlockOp {
            padding: self.padding,
            pass: Pass::Backward(backward),
        };
        let packed = x.apply_op3_no_bwd(weight, &grad.contiguous()?, &op)?;
        let (x_len, w_len) = (
            if need_x { x.elem_count() } else { 0 },
            if need_w { weight.elem_count() } else { 0 },
        );
        let grad_x = match need_x {
            true => Some(packed.narrow(0, 0, x_len)?.reshape(x.shape())?),
            false => None,
        };
        // Copies so that the small gradients do not keep the grad_x buffer alive.
        let grad_w = match need_w {
            true => Some(
                packed
                    .narrow(0, x_len, w_len)?
                    .reshape(weight.shape())?
                    .copy()?,
            ),
            false => None,
        };
        let grad_affine = match affine.track_op() {
            true => Some(
                packed
                    .narrow(0, x_len + w_len, affine.elem_count())?
                    .copy()?,
            ),
            false => None,
        };
        Ok((grad_x, grad_w, grad_affine))
    }
}

impl Forward {
    fn run(&self, o: &Operands) -> Result<(CpuStorage, Shape)> {
        let (b, g) = (o.b, &o.g);
        if o.third.len() != 2 * g.o {
            bail!(
                "batch-norm weight/bias: {} values for {} channels",
                o.third.len(),
                g.o
            );
        }
        if g.oh < 2 || g.ow < 2 {
            bail!("block input {:?} too small for a 2×2 pool", o.x_shape);
        }
        let mut conv_out = RecycledBuf::take(b * g.out_len());
        conv_forward(o.x, o.wt, b, g, &mut conv_out);
        let d = Dims::new(b, g.o, g.oh, g.ow);
        let norm = match &self.fixed {
            Some(n) if n.mean.len() == g.o => n.clone(),
            Some(n) => bail!("{} channels but running stats have {}", g.o, n.mean.len()),
            None => batch_norm_params(&conv_out, &d, self.eps),
        };
        let (gamma, beta) = o.third.split_at(g.o);
        let mut out = vec![0.0f32; d.out_len()];
        bn_forward(&conv_out, &d, &Affine::new(&norm, gamma, beta), &mut out);
        let saved = Saved {
            conv_out,
            dims: (b, g.o, g.oh, g.ow),
            norm,
        };
        *lock(&self.slot)? = Some(Arc::new(saved));
        Ok((CpuStorage::F32(out), Shape::from((b, g.o, d.ph, d.pw))))
    }
}

impl Backward {
    fn run(&self, o: &Operands) -> Result<(CpuStorage, Shape)> {
        let (b, g, gout) = (o.b, &o.g, o.third);
        let d = Dims::new(b, g.o, g.oh, g.ow);
        if self.saved.dims != (b, g.o, g.oh, g.ow) || o.third_shape.dims() != [b, g.o, d.ph, d.pw] {
            bail!("block backward: shapes differ from the forward pass");
        }
        let y = &self.saved.conv_out[..];
        let norm = &self.saved.norm;
        let (gamma, beta) = self.affine.split_at(g.o);
        let af = Affine::new(norm, gamma, beta);
        let sums = grad_sums(y, gout, &d, norm, &af);
        let x_len = if self.need_x { b * g.in_len() } else { 0 };
        let w_len = if self.need_w { g.o * g.ckk() } else { 0 };
        let mut packed = vec![0.0f32; x_len + w_len + 2 * g.o];
        let (gx, rest) = packed.split_at_mut(x_len);
        let (gw, g_affine) = rest.split_at_mut(w_len);
        g_affine[..g.o].copy_from_slice(&sums[g.o..]);
        g_affine[g.o..].copy_from_slice(&sums[..g.o]);
        if self.need_x || self.need_w {
            let mut gz = RecycledBuf::take(y.len());
            grad_input(y, gout, &sums, &d, norm, &af, self.batch_stats, &mut gz);
            let gx = self.need_x.then_some(gx);
            conv_backward(o.x, o.wt, &gz, b, g, gx, self.need_w.then_some(gw));
        }
        let n = packed.len();
        Ok((CpuStorage::F32(packed), Shape::from(n)))
    }
}

/// Large `f32` buffers recycled between calls (the conv outputs and their gradients have the
/// same few sizes every step), so they are not fresh, page-faulting allocations each time.
/// Contents of a taken buffer are unspecified.
pub struct RecycledBuf(Vec<f32>);

/// Free buffers, and the most bytes kept there.
static FREE: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());
const FREE_MAX_BYTES: usize = 2 << 30;

impl RecycledBuf {
    /// A buffer of `len` elements: the smallest free one that fits, else a new one.
    pub fn take(len: usize) -> Self {
        let reuse = FREE.lock().ok().and_then(|mut free| {
            let best = best_fit(&free, len)?;
            Some(free.swap_remove(best))
        });
        let mut v = reuse.unwrap_or_default();
        v.resize(len, 0.0);
        v.truncate(len);
        Self(v)
    }
}

/// Index of the smallest buffer in `free` with room for `len` values.
pub fn best_fit(free: &[Vec<f32>], len: usize) -> Option<usize> {
    free.iter()
        .enumerate()
        .filter(|(_, v)| v.capacity() >= len)
        .min_by_key(|(_, v)| v.capacity())
        .map(|(i, _)| i)
}

impl Drop for RecycledBuf {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        if let Ok(mut free) = FREE.lock() {
            let kept: usize = free.iter().map(|b| b.capacity() * 4).sum();
            if kept + v.capacity() * 4 <= FREE_MAX_BYTES {
                free.push(v);
            }
        }
    }
}

impl std::ops::Deref for RecycledBuf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl std::ops::DerefMut for RecycledBuf {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}
