//! The tail of a CNN6 block: BatchNorm2d → ReLU → avg-pool 2×2 (floor). CPU kernels on `f32`
//! slices (used by the fused block op; other devices run [`super::device_block`]). The tests
//! compare both with the same computation written in plain candle ops.
//!
//! Semantics are PyTorch's: train mode normalises with the biased batch variance (eps inside
//! the sqrt) and reports the batch mean / biased variance so the caller can update running
//! statistics; eval mode normalises with the running statistics.

use candle_core::Tensor;
use rayon::prelude::*;

/// Which statistics normalise the input.
#[derive(Debug, Clone, Copy)]
pub enum BnStats<'a> {
    /// Batch statistics (training).
    Batch,
    /// Running mean and variance, each `[C]` (evaluation).
    Running { mean: &'a Tensor, var: &'a Tensor },
}

/// Per-channel statistics of one train-mode batch, each `[C]`, detached.
pub struct BatchMoments {
    /// Batch mean.
    pub mean: Tensor,
    /// Biased batch variance (divided by `count`).
    pub var: Tensor,
    /// Elements per channel (`B·H·W`).
    pub count: usize,
}

/// Normalisation parameters, each `[C]`: mean, (biased) variance, `invstd = 1/sqrt(var + eps)`.
#[derive(Debug, Clone)]
pub struct Norm {
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
    pub invstd: Vec<f32>,
}

impl Norm {
    /// From running statistics.
    pub fn from_running(mean: Vec<f32>, var: Vec<f32>, eps: f64) -> Self {
        let invstd = var
            .iter()
            .map(|v| (1.0 / (*v as f64 + eps).sqrt()) as f32)
            .collect();
        Self { mean, var, invstd }
    }
}

/// Shapes of the block tail: input `[b, c, h, w]`, pooled output `[b, c, ph, pw]`.
#[derive(Debug, Clone, Copy)]
pub struct Dims {
    pub b: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub ph: usize,
    pub pw: usize,
}

impl Dims {
    pub fn new(b: usize, c: usize, h: usize, w: usize) -> Self {
        Self {
            b,
            c,
            h,
            w,
            ph: h / 2,
            pw: w / 2,
        }
    }
    fn hw(&self) -> usize {
        self.h * self.w
    }
    fn phw(&self) -> usize {
        self.ph * self.pw
    }
    /// Elements of the pooled output.
    pub fn out_len(&self) -> usize {
        self.b * self.c * self.phw()
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

/// Per-channel batch mean and biased variance of `x` (two passes, f64 accumulation).
pub fn batch_norm_params(x: &[f32], d: &Dims, eps: f64) -> Norm {
    let (b, c, hw) = (d.b, d.c, d.hw());
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

/// Per-channel affine `z = x·scale + shift` folding normalisation and gamma / beta.
pub struct Affine {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

impl Affine {
    pub fn new(norm: &Norm, gamma: &[f32], beta: &[f32]) -> Self {
        let scale: Vec<f32> = norm.invstd.iter().zip(gamma).map(|(s, g)| s * g).collect();
        let shift = beta
            .iter()
            .zip(&norm.mean)
            .zip(&scale)
            .map(|((bt, m), s)| bt - m * s)
            .collect();
        Self { scale, shift }
    }
}

/// Forward: `out = avg_pool2x2(relu(x·scale + shift))`, `out` `[b, c, ph, pw]` overwritten.
pub fn forward(x: &[f32], d: &Dims, af: &Affine, out: &mut [f32]) {
    let (hw, w) = (d.hw(), d.w);
    out[..d.out_len()]
        .par_chunks_mut(d.phw())
        .enumerate()
        .for_each(|(plane, out_p)| {
            let ci = plane % d.c;
            let (s, t) = (af.scale[ci], af.shift[ci]);
            let xp = &x[plane * hw..(plane + 1) * hw];
            let f = |v: f32| (v * s + t).max(0.0);
            for oy in 0..d.ph {
                let r0 = &xp[2 * oy * w..(2 * oy + 1) * w];
                let r1 = &xp[(2 * oy + 1) * w..(2 * oy + 2) * w];
                let orow = &mut out_p[oy * d.pw..(oy + 1) * d.pw];
                for ((o, a), b) in orow
                    .iter_mut()
                    .zip(r0.chunks_exact(2))
                    .zip(r1.chunks_exact(2))
                {
                    *o = 0.25 * ((f(a[0]) + f(a[1])) + (f(b[0]) + f(b[1])));
                }
            }
        });
}

/// Gradient with respect to the pre-ReLU value `z = x·s + t` along input row `y` of a plane:
/// `g_pool[y/2][x/2] / 4` inside the pooled area where `z > 0`, else 0.
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

/// Backward pass 1: per channel `[Σ g_z (grad beta) …, Σ g_z·x̂ (grad gamma) …]`, `2·c` values.
pub fn grad_sums(x: &[f32], gp: &[f32], d: &Dims, norm: &Norm, af: &Affine) -> Vec<f32> {
    let (hw, phw) = (d.hw(), d.phw());
    let per_channel: Vec<(f32, f32)> = (0..d.c)
        .into_par_iter()
        .map(|ci| {
            let (s, t) = (af.scale[ci], af.shift[ci]);
            let (m, is) = (norm.mean[ci], norm.invstd[ci]);
            let mut gz = vec![0.0f32; d.w];
            let (mut sum_g, mut sum_gx) = (0.0f64, 0.0f64);
            for bi in 0..d.b {
                let plane = bi * d.c + ci;
                let xp = &x[plane * hw..(plane + 1) * hw];
                let gpp = &gp[plane * phw..(plane + 1) * phw];
                for y in 0..2 * d.ph {
                    let xr = &xp[y * d.w..(y + 1) * d.w];
                    grad_z(gpp, d, y, xr, s, t, &mut gz);
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
    let mut sums: Vec<f32> = per_channel.iter().map(|p| p.0).collect();
    sums.extend(per_channel.iter().map(|p| p.1));
    sums
}

/// Backward pass 2: `gx` (`[b, c, h, w]`, overwritten). Batch statistics:
/// `gx = scale·(g_z − Σg_z/N − x̂·Σ(g_z·x̂)/N)`; running statistics: `gx = scale·g_z`.
#[allow(clippy::too_many_arguments)]
pub fn grad_input(
    x: &[f32],
    gp: &[f32],
    sums: &[f32],
    d: &Dims,
    norm: &Norm,
    af: &Affine,
    batch_stats: bool,
    gx: &mut [f32],
) {
    let (hw, phw) = (d.hw(), d.phw());
    let n = (d.b * hw) as f32;
    gx[..d.b * d.c * hw]
        .par_chunks_mut(hw)
        .enumerate()
        .for_each(|(plane, gxp)| {
            let ci = plane % d.c;
            let (s, t) = (af.scale[ci], af.shift[ci]);
            let (m, is) = (norm.mean[ci], norm.invstd[ci]);
            let (mean_g, mean_gx) = if batch_stats {
                (sums[ci] / n, sums[d.c + ci] / n)
            } else {
                (0.0, 0.0)
            };
            let xp = &x[plane * hw..(plane + 1) * hw];
            let gpp = &gp[plane * phw..(plane + 1) * phw];
            for y in 0..d.h {
                let xr = &xp[y * d.w..(y + 1) * d.w];
                let row = &mut gxp[y * d.w..(y + 1) * d.w];
                grad_z(gpp, d, y, xr, s, t, row);
                for (g, v) in row.iter_mut().zip(xr) {
                    *g = s * (*g - mean_g - (v - m) * is * mean_gx);
                }
            }
        });
}
