//! One fused CNN6 block tail: BatchNorm2d → ReLU → avg-pool 2×2 (floor), as a candle custom op
//! with its own backward (CPU, `f32`), plus the same computation with plain candle ops for other
//! devices (and as the reference in tests).
//!
//! Fusing keeps the full-resolution activation (131 MB per block-1 batch of 32) from being
//! written and re-read by ~10 separate elementwise ops and their gradients. Semantics are
//! PyTorch's: train mode normalises with the biased batch variance (eps inside the sqrt) and
//! reports the batch mean / biased variance so the caller can update running statistics; eval
//! mode normalises with the given running statistics.

use candle_core::{bail, CpuStorage, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

/// Which statistics normalise the input.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BnStats<'a> {
    /// Batch statistics (training).
    Batch,
    /// Running mean and variance, each `[C]` (evaluation).
    Running { mean: &'a Tensor, var: &'a Tensor },
}

/// Per-channel statistics of one train-mode batch, each `[C]`, detached.
pub(crate) struct BatchMoments {
    /// Batch mean.
    pub mean: Tensor,
    /// Biased batch variance (divided by `count`).
    pub var: Tensor,
    /// Elements per channel (`B·H·W`).
    pub count: usize,
}

/// `avg_pool2x2(relu(batch_norm(x)))` for `x: [B, C, H, W]`, `gamma`/`beta: [C]`.
/// Returns the pooled `[B, C, H/2, W/2]` and, in batch mode, the batch moments.
pub(crate) fn bn_relu_pool(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    stats: BnStats<'_>,
    eps: f64,
) -> Result<(Tensor, Option<BatchMoments>)> {
    let cpu_f32 = x.device().is_cpu() && x.dtype() == DType::F32;
    if !cpu_f32 {
        return bn_relu_pool_generic(x, gamma, beta, stats, eps);
    }
    let (b, c, h, w) = x.dims4()?;
    let fixed = match stats {
        BnStats::Batch => None,
        BnStats::Running { mean, var } => {
            let mean = mean.to_dtype(DType::F32)?.to_vec1::<f32>()?;
            let var = var.to_dtype(DType::F32)?.to_vec1::<f32>()?;
            let invstd = var
                .iter()
                .map(|v| (1.0 / (*v as f64 + eps).sqrt()) as f32)
                .collect();
            Some(Norm { mean, var, invstd })
        }
    };
    let slot = Arc::new(Mutex::new(None));
    let op = BnReluPoolOp {
        eps,
        fixed,
        slot: slot.clone(),
    };
    let y = x
        .contiguous()?
        .apply_op3(&gamma.contiguous()?, &beta.contiguous()?, op)?;
    let moments = match stats {
        BnStats::Running { .. } => None,
        BnStats::Batch => {
            let guard = slot
                .lock()
                .map_err(|_| candle_core::Error::Msg("bn stats lock poisoned".into()))?;
            let norm: &Norm = guard
                .as_ref()
                .ok_or_else(|| candle_core::Error::Msg("bn stats missing".into()))?;
            let dev = x.device();
            Some(BatchMoments {
                mean: Tensor::from_vec(norm.mean.clone(), c, dev)?,
                var: Tensor::from_vec(norm.var.clone(), c, dev)?,
                count: b * h * w,
            })
        }
    };
    Ok((y, moments))
}

/// The same computation with candle ops (any device / dtype).
pub(crate) fn bn_relu_pool_generic(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    stats: BnStats<'_>,
    eps: f64,
) -> Result<(Tensor, Option<BatchMoments>)> {
    let (b, c, h, w) = x.dims4()?;
    let (mean, var, moments) = match stats {
        BnStats::Batch => {
            let mean = x.mean_keepdim(0)?.mean_keepdim(2)?.mean_keepdim(3)?;
            let centred = x.broadcast_sub(&mean)?;
            let var = centred
                .sqr()?
                .mean_keepdim(0)?
                .mean_keepdim(2)?
                .mean_keepdim(3)?;
            let moments = BatchMoments {
                mean: mean.flatten_all()?.detach(),
                var: var.flatten_all()?.detach(),
                count: b * h * w,
            };
            (mean, var, Some(moments))
        }
        BnStats::Running { mean, var } => (
            mean.reshape((1, c, 1, 1))?,
            var.reshape((1, c, 1, 1))?,
            None,
        ),
    };
    let xhat = x
        .broadcast_sub(&mean)?
        .broadcast_div(&(var + eps)?.sqrt()?)?;
    let z = xhat
        .broadcast_mul(&gamma.reshape((1, c, 1, 1))?)?
        .broadcast_add(&beta.reshape((1, c, 1, 1))?)?;
    // candle's avg_pool2d backward upsamples to the full input size, which misplaces gradients
    // when H or W is odd: crop to the pooled area first (PyTorch's floor mode drops it too).
    let cropped = z
        .relu()?
        .narrow(2, 0, 2 * (h / 2))?
        .narrow(3, 0, 2 * (w / 2))?;
    let pooled = cropped.avg_pool2d(2)?;
    Ok((pooled, moments))
}

/// Normalisation parameters of one call, each `[C]`: mean, (biased) variance and
/// `invstd = 1/sqrt(var + eps)`.
#[derive(Debug, Clone)]
struct Norm {
    mean: Vec<f32>,
    var: Vec<f32>,
    invstd: Vec<f32>,
}

/// Forward op on `(x, gamma, beta)`. Train mode (`fixed == None`) computes the batch statistics
/// and leaves them in `slot` for the caller and for `bwd`.
struct BnReluPoolOp {
    eps: f64,
    fixed: Option<Norm>,
    slot: Arc<Mutex<Option<Norm>>>,
}

/// Borrows the contiguous `f32` data of a CPU storage.
fn f32_data<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    let data = match s {
        CpuStorage::F32(v) => v.as_slice(),
        other => bail!(
            "bn-relu-pool: {what} must be f32, got {:?}",
            candle_core::backend::BackendStorage::dtype(other)
        ),
    };
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => bail!("bn-relu-pool: {what} must be contiguous"),
    }
}

/// Sum of `f(v)` over a slice with 8 independent f64 accumulators (vectorisable, accurate).
#[inline]
fn sum8(xs: &[f32], f: impl Fn(f32) -> f64) -> f64 {
    let mut acc = [0.0f64; 8];
    let mut chunks = xs.chunks_exact(8);
    for ch in &mut chunks {
        for k in 0..8 {
            acc[k] += f(ch[k]);
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|v| f(*v)).sum();
    acc.iter().sum::<f64>() + tail
}

/// Per-channel mean and biased variance (two passes, f64 accumulation).
fn batch_norm_params(x: &[f32], b: usize, c: usize, hw: usize, eps: f64) -> Norm {
    let n = (b * hw) as f64;
    let per_channel: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ci| {
            let planes = || (0..b).map(|bi| &x[(bi * c + ci) * hw..(bi * c + ci + 1) * hw]);
            let mean = planes().map(|p| sum8(p, |v| v as f64)).sum::<f64>() / n;
            let var = planes()
                .map(|p| sum8(p, |v| (v as f64 - mean).powi(2)))
                .sum::<f64>()
                / n;
            (mean, var)
        })
        .collect();
    Norm {
        mean: per_channel.iter().map(|p| p.0 as f32).collect(),
        var: per_channel.iter().map(|p| p.1 as f32).collect(),
        invstd: per_channel
            .iter()
            .map(|p| (1.0 / (p.1 + eps).sqrt()) as f32)
            .collect(),
    }
}

/// Shapes used by the kernels.
#[derive(Clone, Copy)]
struct Dims {
    b: usize,
    c: usize,
    h: usize,
    w: usize,
    ph: usize,
    pw: usize,
}

fn dims(l: &Layout) -> Result<Dims> {
    let (b, c, h, w) = l.shape().dims4()?;
    if h < 2 || w < 2 {
        bail!(
            "bn-relu-pool: input {:?} too small for a 2×2 pool",
            l.shape()
        );
    }
    Ok(Dims {
        b,
        c,
        h,
        w,
        ph: h / 2,
        pw: w / 2,
    })
}

/// Per-channel affine `z = x·scale + shift` folding normalisation and gamma/beta.
fn scale_shift(norm: &Norm, gamma: &[f32], beta: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let scale: Vec<f32> = norm.invstd.iter().zip(gamma).map(|(s, g)| s * g).collect();
    let shift = beta
        .iter()
        .zip(&norm.mean)
        .zip(&scale)
        .map(|((bt, m), s)| bt - m * s)
        .collect();
    (scale, shift)
}

impl CustomOp3 for BnReluPoolOp {
    fn name(&self) -> &'static str {
        "auscult-bn-relu-pool"
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
        let x = f32_data(s1, l1, "input")?;
        let gamma = f32_data(s2, l2, "weight")?;
        let beta = f32_data(s3, l3, "bias")?;
        let d = dims(l1)?;
        if gamma.len() != d.c || beta.len() != d.c {
            bail!(
                "bn-relu-pool: {} channels but weight/bias have {}/{}",
                d.c,
                gamma.len(),
                beta.len()
            );
        }
        let hw = d.h * d.w;
        let norm = match &self.fixed {
            Some(n) if n.mean.len() == d.c => n.clone(),
            Some(n) => bail!(
                "bn-relu-pool: {} channels but running stats have {}",
                d.c,
                n.mean.len()
            ),
            None => batch_norm_params(x, d.b, d.c, hw, self.eps),
        };
        let (scale, shift) = scale_shift(&norm, gamma, beta);
        let mut out = vec![0.0f32; d.b * d.c * d.ph * d.pw];
        out.par_chunks_mut(d.ph * d.pw)
            .enumerate()
            .for_each(|(plane, out_p)| {
                let ci = plane % d.c;
                let (s, t) = (scale[ci], shift[ci]);
                let xp = &x[plane * hw..(plane + 1) * hw];
                for oy in 0..d.ph {
                    let r0 = &xp[2 * oy * d.w..(2 * oy + 1) * d.w];
                    let r1 = &xp[(2 * oy + 1) * d.w..(2 * oy + 2) * d.w];
                    let orow = &mut out_p[oy * d.pw..(oy + 1) * d.pw];
                    let f = |v: f32| (v * s + t).max(0.0);
                    for ((o, a), b) in orow
                        .iter_mut()
                        .zip(r0.chunks_exact(2))
                        .zip(r1.chunks_exact(2))
                    {
                        *o = 0.25 * ((f(a[0]) + f(a[1])) + (f(b[0]) + f(b[1])));
                    }
                }
            });
        *self
            .slot
            .lock()
            .map_err(|_| candle_core::Error::Msg("bn stats lock poisoned".into()))? = Some(norm);
        Ok((CpuStorage::F32(out), Shape::from((d.b, d.c, d.ph, d.pw))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let norm = self
            .slot
            .lock()
            .map_err(|_| candle_core::Error::Msg("bn stats lock poisoned".into()))?
            .clone()
            .ok_or_else(|| {
                candle_core::Error::Msg("bn-relu-pool backward before forward".into())
            })?;
        let gamma_v = gamma.to_vec1::<f32>()?;
        let beta_v = beta.to_vec1::<f32>()?;
        let (scale, shift) = scale_shift(&norm, &gamma_v, &beta_v);
        let grad = grad.contiguous()?;
        // sums[0] = Σ g_z (grad beta), sums[1] = Σ g_z·x̂ (grad gamma), each [C].
        let sums_op = GradSums {
            norm: norm.clone(),
            scale: scale.clone(),
            shift: shift.clone(),
        };
        let sums = x.apply_op2_no_bwd(&grad, &sums_op)?;
        let grad_x = if x.track_op() {
            let op = GradInput {
                norm,
                scale,
                shift,
                batch_stats: self.fixed.is_none(),
            };
            Some(x.apply_op3_no_bwd(&grad, &sums, &op)?)
        } else {
            None
        };
        let grad_gamma = gamma.track_op().then(|| sums.get(1)).transpose()?;
        let grad_beta = beta.track_op().then(|| sums.get(0)).transpose()?;
        Ok((grad_x, grad_gamma, grad_beta))
    }
}

/// Gradient of the pooled output with respect to the pre-ReLU value `z = x·s + t` along input
/// row `y` of a plane: `g_pool[y/2][x/2] / 4` inside the pooled area where `z > 0`, else 0.
#[inline]
fn grad_z(gp: &[f32], d: &Dims, y: usize, xr: &[f32], s: f32, t: f32, out: &mut [f32]) {
    if y >= 2 * d.ph {
        out.fill(0.0);
        return;
    }
    let grow = &gp[(y / 2) * d.pw..(y / 2 + 1) * d.pw];
    let (inside, outside) = out.split_at_mut(2 * d.pw);
    for ((o2, x2), g) in inside.chunks_exact_mut(2).zip(xr.chunks_exact(2)).zip(grow) {
        let g = 0.25 * g;
        o2[0] = if x2[0] * s + t > 0.0 { g } else { 0.0 };
        o2[1] = if x2[1] * s + t > 0.0 { g } else { 0.0 };
    }
    outside.fill(0.0);
}

/// Backward pass 1 on `(x, grad_pooled)` → `[2, C]`: Σ g_z and Σ g_z·x̂ per channel.
struct GradSums {
    norm: Norm,
    scale: Vec<f32>,
    shift: Vec<f32>,
}

impl CustomOp2 for GradSums {
    fn name(&self) -> &'static str {
        "auscult-bn-relu-pool-grad-sums"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_data(s1, l1, "input")?;
        let gp = f32_data(s2, l2, "output gradient")?;
        let d = dims(l1)?;
        if l2.shape().dims() != [d.b, d.c, d.ph, d.pw] {
            bail!(
                "bn-relu-pool backward: gradient {:?} does not match the output",
                l2.shape()
            );
        }
        let hw = d.h * d.w;
        let phw = d.ph * d.pw;
        let per_channel: Vec<(f32, f32)> = (0..d.c)
            .into_par_iter()
            .map(|ci| {
                let (s, t, m, is) = (
                    self.scale[ci],
                    self.shift[ci],
                    self.norm.mean[ci],
                    self.norm.invstd[ci],
                );
                let mut gz = vec![0.0f32; d.w];
                let (mut sum_g, mut sum_gx) = (0.0f64, 0.0f64);
                for bi in 0..d.b {
                    let plane = bi * d.c + ci;
                    let xp = &x[plane * hw..(plane + 1) * hw];
                    let gpp = &gp[plane * phw..(plane + 1) * phw];
                    for y in 0..2 * d.ph {
                        let xr = &xp[y * d.w..(y + 1) * d.w];
                        grad_z(gpp, &d, y, xr, s, t, &mut gz);
                        let (mut a, mut bsum) = (0.0f32, 0.0f32);
                        for (g, v) in gz.iter().zip(xr) {
                            a += g;
                            bsum += g * (v - m);
                        }
                        sum_g += a as f64;
                        sum_gx += bsum as f64 * is as f64;
                    }
                }
                (sum_g as f32, sum_gx as f32)
            })
            .collect();
        let mut out: Vec<f32> = per_channel.iter().map(|p| p.0).collect();
        out.extend(per_channel.iter().map(|p| p.1));
        Ok((CpuStorage::F32(out), Shape::from((2, d.c))))
    }
}

/// Backward pass 2 on `(x, grad_pooled, sums)` → `grad_x [B, C, H, W]`.
/// Batch stats: `dx = scale·(g_z − Σg_z/N − x̂·Σ(g_z·x̂)/N)`; running stats: `dx = scale·g_z`.
struct GradInput {
    norm: Norm,
    scale: Vec<f32>,
    shift: Vec<f32>,
    batch_stats: bool,
}

impl CustomOp3 for GradInput {
    fn name(&self) -> &'static str {
        "auscult-bn-relu-pool-grad-input"
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
        let x = f32_data(s1, l1, "input")?;
        let gp = f32_data(s2, l2, "output gradient")?;
        let sums = f32_data(s3, l3, "gradient sums")?;
        let d = dims(l1)?;
        let hw = d.h * d.w;
        let phw = d.ph * d.pw;
        let n = (d.b * hw) as f32;
        let mut gx = vec![0.0f32; x.len()];
        gx.par_chunks_mut(hw).enumerate().for_each(|(plane, gxp)| {
            let ci = plane % d.c;
            let (s, t, m, is) = (
                self.scale[ci],
                self.shift[ci],
                self.norm.mean[ci],
                self.norm.invstd[ci],
            );
            let (mean_g, mean_gx) = if self.batch_stats {
                (sums[ci] / n, sums[d.c + ci] / n)
            } else {
                (0.0, 0.0)
            };
            let xp = &x[plane * hw..(plane + 1) * hw];
            let gpp = &gp[plane * phw..(plane + 1) * phw];
            for y in 0..d.h {
                let xr = &xp[y * d.w..(y + 1) * d.w];
                let row = &mut gxp[y * d.w..(y + 1) * d.w];
                grad_z(gpp, &d, y, xr, s, t, row);
                for (g, v) in row.iter_mut().zip(xr) {
                    *g = s * (*g - mean_g - (v - m) * is * mean_gx);
                }
            }
        });
        Ok((CpuStorage::F32(gx), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn pseudo_random(shape: &[usize], seed: u64, lo: f32, hi: f32) -> Tensor {
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
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// The fused op and the composed candle ops agree on outputs, moments and all gradients, in
    /// train and eval mode, including odd spatial sizes (floor pooling drops the last row/col).
    #[test]
    fn fused_matches_composed_candle_ops() {
        for &(b, c, h, w) in &[(3, 4, 6, 8), (2, 3, 7, 5)] {
            let x = Var::from_tensor(&pseudo_random(&[b, c, h, w], 1, -1.0, 1.5)).unwrap();
            let gamma = Var::from_tensor(&pseudo_random(&[c], 2, 0.5, 1.5)).unwrap();
            let beta = Var::from_tensor(&pseudo_random(&[c], 3, -0.3, 0.3)).unwrap();
            let rm = pseudo_random(&[c], 4, -0.2, 0.2);
            let rv = pseudo_random(&[c], 5, 0.5, 1.5);
            let proj = pseudo_random(&[b, c, h / 2, w / 2], 6, -1.0, 1.0);
            for train in [true, false] {
                let stats = if train {
                    BnStats::Batch
                } else {
                    BnStats::Running {
                        mean: &rm,
                        var: &rv,
                    }
                };
                let (ya, ma) = bn_relu_pool(
                    x.as_tensor(),
                    gamma.as_tensor(),
                    beta.as_tensor(),
                    stats,
                    1e-5,
                )
                .unwrap();
                let (yb, mb) = bn_relu_pool_generic(
                    x.as_tensor(),
                    gamma.as_tensor(),
                    beta.as_tensor(),
                    stats,
                    1e-5,
                )
                .unwrap();
                assert!(max_abs_diff(&ya, &yb) < 1e-5);
                assert_eq!(ma.is_some(), train);
                if let (Some(ma), Some(mb)) = (ma, mb) {
                    assert!(max_abs_diff(&ma.mean, &mb.mean) < 1e-6);
                    assert!(max_abs_diff(&ma.var, &mb.var) < 1e-5);
                    assert_eq!(ma.count, b * h * w);
                }
                let ga = (ya * &proj).unwrap().sum_all().unwrap().backward().unwrap();
                let gb = (yb * &proj).unwrap().sum_all().unwrap().backward().unwrap();
                for v in [&x, &gamma, &beta] {
                    let diff = max_abs_diff(
                        ga.get(v.as_tensor()).unwrap(),
                        gb.get(v.as_tensor()).unwrap(),
                    );
                    assert!(
                        diff < 1e-5,
                        "train={train} grad diff {diff} for shape {:?}",
                        v.dims()
                    );
                }
            }
        }
    }
}
