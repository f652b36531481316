//! One CNN6 block — conv 5×5 → BatchNorm2d → ReLU → avg-pool 2×2 — for any device: what a GPU
//! runs (and, with `--kernels generic|cudnn`, the CPU too, to test and measure it).
//!
//! It is one candle custom op whose forward and backward are written with tensor ops on
//! detached tensors, so autograd records one node per block, not the dozens of full-size
//! intermediates (im2col copies, BatchNorm's centred / normalised / affine tensors, the ReLU
//! output) that separate graph nodes would keep alive until the backward pass. What it keeps
//! is what its backward needs, no more: the conv output `y` (as PyTorch keeps it) and a few
//! per-channel vectors; the ReLU mask and the normalised values are recomputed from `y`.
//!
//! The batch runs in chunks ([`ConvEngine::chunk_len`]): the conv of a chunk, its BatchNorm
//! sums, later its pooled output; in the backward, a first pass over the chunks gathers the
//! BatchNorm gradient sums, a second computes each chunk's conv-output gradient and hands it to
//! the conv engine at once. No transient buffer grows with the batch beyond one chunk.

use super::bn_relu_pool::{BatchMoments, BnStats};
use crate::model::conv::{geometry, ConvEngine, Need};
use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use std::sync::Mutex;

/// One CNN6 block's operands: `avg_pool2x2(relu(batch_norm(conv2d(x, weight, padding))))` for
/// `x: [B, C, H, W]`, `weight: [O, C, K, K]`, BatchNorm's `gamma`/`beta: [O]`, its statistics
/// and `eps`.
#[derive(Clone, Copy)]
pub struct BlockInput<'a> {
    pub x: &'a Tensor,
    pub weight: &'a Tensor,
    pub gamma: &'a Tensor,
    pub beta: &'a Tensor,
    pub stats: BnStats<'a>,
    pub padding: usize,
    pub eps: f64,
}

/// The block on `x`'s device with `engine`'s convolutions; returns the pooled output and, with
/// batch statistics, the batch moments. With running statistics (evaluation) nothing is
/// recorded for autograd.
pub fn device_block(
    input: BlockInput<'_>,
    engine: ConvEngine,
) -> Result<(Tensor, Option<BatchMoments>)> {
    let BlockInput {
        x,
        weight,
        gamma,
        beta,
        stats,
        padding,
        eps,
    } = input;
    let (b, g) = geometry(x.shape(), weight.shape(), padding)?;
    if g.oh < 2 || g.ow < 2 {
        bail!("block input {:?} too small for a 2×2 pool", x.dims());
    }
    let chunks = chunks(b, chunk_len(engine, &g, x)?);
    let (xd, wd) = (x.detach(), weight.detach());
    let dtype = x.dtype();
    let channel = |t: &Tensor| t.detach().to_dtype(dtype)?.reshape((1, g.o, 1, 1));
    let (gamma_c, beta_c) = (channel(gamma)?, channel(beta)?);
    let conv =
        |&(start, len): &(usize, usize)| engine.forward(&xd.narrow(0, start, len)?, &wd, padding);

    if let BnStats::Running { mean, var } = stats {
        // Evaluation: each chunk through conv → affine → ReLU → pool, then dropped.
        let invstd = (channel(var)? + eps)?.sqrt()?.recip()?;
        let (scale, shift) = affine(&gamma_c, &beta_c, &channel(mean)?, &invstd)?;
        let outs = chunks
            .iter()
            .map(|c| pool_relu(&conv(c)?, &scale, &shift))
            .collect::<Result<Vec<_>>>()?;
        return Ok((Tensor::cat(&outs, 0)?, None));
    }

    let ys = chunks.iter().map(conv).collect::<Result<Vec<_>>>()?;
    let count = b * g.oh * g.ow;
    let n = count as f64;
    // Two passes (the mean, then centred squares): no cancellation in the variance.
    let mean = (channel_sum(&ys, |y| Ok(y.clone()))? / n)?.to_dtype(dtype)?;
    let var = (channel_sum(&ys, |y| y.broadcast_sub(&mean)?.sqr())? / n)?.to_dtype(dtype)?;
    let invstd = (&var + eps)?.sqrt()?.recip()?;
    let (scale, shift) = affine(&gamma_c, &beta_c, &mean, &invstd)?;
    let outs = ys
        .iter()
        .map(|y| pool_relu(y, &scale, &shift))
        .collect::<Result<Vec<_>>>()?;
    let pooled = Tensor::cat(&outs, 0)?;
    drop(outs);
    let moments = BatchMoments {
        mean: mean.flatten_all()?,
        var: var.flatten_all()?,
        count,
    };
    let tracked = [x, weight, gamma, beta].iter().any(|t| t.track_op());
    if !tracked {
        return Ok((pooled, Some(moments)));
    }
    let op = BlockOp {
        out: Mutex::new(Some(pooled)),
        saved: Saved {
            ys,
            chunks,
            mean,
            invstd,
            gamma: gamma_c,
            scale,
            shift,
            count,
            padding,
            engine,
        },
    };
    let affine_params = Tensor::cat(&[gamma, beta], 0)?;
    let out = x.apply_op3(weight, &affine_params, op)?;
    Ok((out, Some(moments)))
}

/// Per-channel `(scale, shift)` with `BN(y) = y · scale + shift`, each `[1, O, 1, 1]`.
fn affine(
    gamma: &Tensor,
    beta: &Tensor,
    mean: &Tensor,
    invstd: &Tensor,
) -> Result<(Tensor, Tensor)> {
    let scale = (gamma * invstd)?;
    let shift = (beta - (mean * &scale)?)?;
    Ok((scale, shift))
}

/// Per-channel sum of `t` (`[n, O, H, W]` → `[1, O, 1, 1]`), accumulated in f64 (as the fused
/// CPU kernels do): BatchNorm's backward subtracts these sums' means from the gradient, and
/// where the two nearly cancel (SupCon's gradients do) f32 sums lose the result's digits.
fn csum(t: &Tensor) -> Result<Tensor> {
    t.to_dtype(candle_core::DType::F64)?.sum_keepdim((0, 2, 3))
}

/// `Σ f(y)` over batch, height and width of every chunk: `[1, O, 1, 1]`, in f64.
fn channel_sum(ys: &[Tensor], f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
    let mut acc: Option<Tensor> = None;
    for y in ys {
        let s = csum(&f(y)?)?;
        acc = Some(match acc {
            None => s,
            Some(a) => (a + s)?,
        });
    }
    acc.ok_or_else(|| candle_core::Error::Msg("block: empty batch".into()))
}

/// `avg_pool2x2(relu(y · scale + shift))`, floor mode (an odd last row / column is dropped).
fn pool_relu(y: &Tensor, scale: &Tensor, shift: &Tensor) -> Result<Tensor> {
    let (_, _, h, w) = y.dims4()?;
    let a = y.broadcast_mul(scale)?.broadcast_add(shift)?.relu()?;
    a.narrow(2, 0, 2 * (h / 2))?
        .narrow(3, 0, 2 * (w / 2))?
        .avg_pool2d(2)
}

thread_local! {
    /// Samples per chunk set by [`with_chunk_len`], instead of the engine's memory budget.
    static FORCED_CHUNK: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with every device block on this thread cut into chunks of `n` samples (`None`: the
/// engine's memory budget decides, as always outside this call). Chunk boundaries must change
/// nothing: the tests compare chunk sizes 1, 2 and the whole batch through this.
pub fn with_chunk_len<T>(n: Option<usize>, f: impl FnOnce() -> T) -> T {
    /// Puts the previous setting back, even when `f` panics.
    struct Restore(Option<usize>);
    impl Drop for Restore {
        fn drop(&mut self) {
            FORCED_CHUNK.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(FORCED_CHUNK.with(|c| c.replace(n)));
    f()
}

/// Samples per chunk for `x`.
fn chunk_len(engine: ConvEngine, g: &crate::model::conv::ConvGeom, x: &Tensor) -> Result<usize> {
    match FORCED_CHUNK.with(|c| c.get()) {
        Some(n) => Ok(n),
        None => engine.chunk_len(g, x.device()),
    }
}

/// `(start, len)` of each chunk of `b` samples, `len ≤ chunk`.
pub fn chunks(b: usize, chunk: usize) -> Vec<(usize, usize)> {
    let chunk = chunk.max(1);
    (0..b)
        .step_by(chunk)
        .map(|s| (s, chunk.min(b - s)))
        .collect()
}

/// What the backward pass needs.
struct Saved {
    /// The conv output, one tensor per chunk, `[len, O, OH, OW]`.
    ys: Vec<Tensor>,
    chunks: Vec<(usize, usize)>,
    /// Batch mean and `1/sqrt(var + eps)`, `[1, O, 1, 1]`.
    mean: Tensor,
    invstd: Tensor,
    /// `gamma`, and the affine form of the normalisation, `[1, O, 1, 1]`.
    gamma: Tensor,
    scale: Tensor,
    shift: Tensor,
    /// Elements per channel (`B·OH·OW`).
    count: usize,
    padding: usize,
    engine: ConvEngine,
}

impl Saved {
    /// `dL/d(BN output)` of one chunk from the pooled output's gradient `gp` (ReLU mask
    /// recomputed from `y`), and the chunk's normalised values.
    fn grad_z(&self, y: &Tensor, gp: &Tensor) -> Result<(Tensor, Tensor)> {
        let (_, _, h, w) = y.dims4()?;
        let (_, _, ph, pw) = gp.dims4()?;
        let mut up = (gp.upsample_nearest2d(2 * ph, 2 * pw)? * 0.25)?;
        if h > 2 * ph {
            up = up.pad_with_zeros(2, 0, h - 2 * ph)?;
        }
        if w > 2 * pw {
            up = up.pad_with_zeros(3, 0, w - 2 * pw)?;
        }
        let z = y.broadcast_mul(&self.scale)?.broadcast_add(&self.shift)?;
        let dz = (up * z.gt(0f64)?.to_dtype(y.dtype())?)?;
        let xhat = y.broadcast_sub(&self.mean)?.broadcast_mul(&self.invstd)?;
        Ok((dz, xhat))
    }
}

/// The block as one autograd node over `(x, weight, [gamma; beta])`. Its forward hands over the
/// pooled output computed beforehand (a copy of the small pooled tensor: candle builds a node
/// only from an op's forward); its backward is [`Saved`]'s two passes.
struct BlockOp {
    out: Mutex<Option<Tensor>>,
    saved: Saved,
}

impl BlockOp {
    fn take_out(&self) -> Result<Tensor> {
        self.out
            .lock()
            .map_err(|_| candle_core::Error::Msg("device block: lock poisoned".into()))?
            .take()
            .ok_or_else(|| candle_core::Error::Msg("device block: forward run twice".into()))
    }
}

impl CustomOp3 for BlockOp {
    fn name(&self) -> &'static str {
        "auscult-cnn6-device-block"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let out = self.take_out()?;
        let (storage, layout) = out.storage_and_layout();
        match &*storage {
            candle_core::Storage::Cpu(s) => Ok((
                candle_core::backend::BackendStorage::try_clone(s, layout)?,
                out.shape().clone(),
            )),
            _ => bail!("device block: output not on the CPU"),
        }
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        _: &candle_core::CudaStorage,
        _: &Layout,
        _: &candle_core::CudaStorage,
        _: &Layout,
        _: &candle_core::CudaStorage,
        _: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let out = self.take_out()?;
        let (storage, layout) = out.storage_and_layout();
        match &*storage {
            candle_core::Storage::Cuda(s) => Ok((
                candle_core::backend::BackendStorage::try_clone(s, layout)?,
                out.shape().clone(),
            )),
            _ => bail!("device block: output not on the CUDA device"),
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
        let s = &self.saved;
        let need = Need {
            x: x.track_op(),
            w: weight.track_op(),
        };
        let (xd, wd, gp) = (x.detach(), weight.detach(), grad.detach());
        // Pass 1: dβ = Σ dz, dγ = Σ dz·x̂.
        let mut sums: Option<(Tensor, Tensor)> = None;
        for (y, &(start, len)) in s.ys.iter().zip(&s.chunks) {
            let (dz, xhat) = s.grad_z(y, &gp.narrow(0, start, len)?)?;
            let db = csum(&dz)?;
            let dg = csum(&(&dz * &xhat)?)?;
            sums = Some(match sums {
                None => (db, dg),
                Some((a, b)) => ((a + db)?, (b + dg)?),
            });
        }
        let (dbeta, dgamma) =
            sums.ok_or_else(|| candle_core::Error::Msg("block backward: empty batch".into()))?;
        // Pass 2: dy = γ·invstd·(dz − (dβ + x̂·dγ)/n), then the conv backward of the chunk.
        let n = s.count as f64;
        let k = (&s.gamma * &s.invstd)?;
        let dtype = x.dtype();
        let (dbeta, dgamma) = (dbeta.to_dtype(dtype)?, dgamma.to_dtype(dtype)?);
        let (db_n, dg_n) = ((&dbeta / n)?, (&dgamma / n)?);
        let mut dxs = Vec::with_capacity(s.chunks.len());
        let mut dw: Option<Tensor> = None;
        if need.x || need.w {
            for (y, &(start, len)) in s.ys.iter().zip(&s.chunks) {
                let (dz, xhat) = s.grad_z(y, &gp.narrow(0, start, len)?)?;
                let dy = dz
                    .broadcast_sub(&xhat.broadcast_mul(&dg_n)?.broadcast_add(&db_n)?)?
                    .broadcast_mul(&k)?;
                drop((dz, xhat));
                let xc = xd.narrow(0, start, len)?;
                let (dx_c, dw_c) = s.engine.backward()(&xc, &wd, &dy, s.padding, need)?;
                if let Some(d) = dx_c {
                    dxs.push(d);
                }
                if let Some(d) = dw_c {
                    dw = Some(match dw {
                        None => d,
                        Some(a) => (a + d)?,
                    });
                }
            }
        }
        let grad_x = match need.x {
            true => Some(Tensor::cat(&dxs, 0)?),
            false => None,
        };
        let grad_affine = match affine.track_op() {
            true => Some(
                Tensor::cat(&[dgamma.flatten_all()?, dbeta.flatten_all()?], 0)?
                    .to_dtype(affine.dtype())?,
            ),
            false => None,
        };
        Ok((grad_x, dw, grad_affine))
    }
}
