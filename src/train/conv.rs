//! Stride-1 2-D convolution with zero padding, with a CPU forward *and* backward we own.
//!
//! candle 0.11's own CPU `conv2d` backward goes through conv-transpose and dominates a CNN6
//! training step (15 of 18 s at batch 32). [`conv2d`] instead runs, on CPU `f32` tensors, a
//! custom op whose forward is im2col + GEMM and whose backward is one more custom op computing
//! both gradients with im2col + GEMM (`grad_w = Σ_b grad_out_b · cols_bᵀ`,
//! `grad_x_b = col2im(Wᵀ · grad_out_b)`), parallel over the batch with rayon. On other devices
//! or dtypes it falls back to candle's `Tensor::conv2d`, so callers never care.

mod im2col;

use candle_core::{bail, CpuStorage, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor};
use gemm::Parallelism;
use im2col::{col2im_add, gemm_forward, gemm_grad_cols, gemm_grad_weight, im2col, ConvGeom};
use rayon::prelude::*;
use std::cell::RefCell;

/// 2-D convolution, stride 1, dilation 1, no groups, zero padding `padding` on all sides.
/// `x`: `[B, C, H, W]`, `weight`: `[O, C, KH, KW]` → `[B, O, H + 2p − KH + 1, W + 2p − KW + 1]`.
/// Differentiable with respect to both arguments.
pub fn conv2d(x: &Tensor, weight: &Tensor, padding: usize) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 && weight.dtype() == DType::F32 {
        let x = x.contiguous()?;
        let weight = weight.contiguous()?;
        x.apply_op2(&weight, Conv2dOp { pad: padding })
    } else {
        x.conv2d(weight, padding, 1, 1, 1)
    }
}

/// The forward custom op; its `bwd` applies [`Conv2dBackward`].
struct Conv2dOp {
    pad: usize,
}

/// The backward custom op on `(x, weight, grad_out)`: returns one flat tensor holding
/// `grad_x` (if `need_x`, `B·C·H·W` values) followed by `grad_w` (if `need_w`, `O·C·KH·KW`).
struct Conv2dBackward {
    pad: usize,
    need_x: bool,
    need_w: bool,
}

/// Borrows the contiguous `f32` data of a CPU storage.
fn f32_data<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    let data = match s {
        CpuStorage::F32(v) => v.as_slice(),
        other => bail!(
            "auscult conv2d: {what} must be f32, got {:?}",
            candle_core::backend::BackendStorage::dtype(other)
        ),
    };
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => bail!("auscult conv2d: {what} must be contiguous"),
    }
}

/// Checks the shapes of `(x, weight)` and returns the convolution geometry and batch size.
fn geometry(xs: &Shape, ws: &Shape, pad: usize) -> Result<(usize, ConvGeom)> {
    let (b, c, h, w) = xs.dims4()?;
    let (o, wc, kh, kw) = ws.dims4()?;
    if wc != c {
        bail!("auscult conv2d: input has {c} channels but weight {ws:?} expects {wc}");
    }
    if h + 2 * pad < kh || w + 2 * pad < kw {
        bail!("auscult conv2d: input {xs:?} with padding {pad} is smaller than kernel {ws:?}");
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

thread_local! {
    /// Per-thread column buffer, kept between calls (no page faults after the first step).
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on a scratch slice of `len` floats (contents unspecified): this thread's buffer,
/// or a fresh one when it is already in use further up the stack (rayon work stealing).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
            f(&mut buf[..len])
        }
        Err(_) => f(&mut vec![0.0; len]),
    })
}

/// Samples per task in the backward pass (each task holds one partial weight gradient).
const SAMPLES_PER_CHUNK: usize = 4;

/// Threads to use: rayon's pool size (RAYON_NUM_THREADS).
fn threads() -> usize {
    rayon::current_num_threads().max(1)
}

impl CustomOp2 for Conv2dOp {
    fn name(&self) -> &'static str {
        "auscult-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_data(s1, l1, "input")?;
        let wt = f32_data(s2, l2, "weight")?;
        let (b, g) = geometry(l1.shape(), l2.shape(), self.pad)?;
        let mut out = vec![0.0f32; b * g.out_len()];
        let cols_len = g.ckk() * g.ohw();
        let one_sample = |out_b: &mut [f32], x_b: &[f32], par: Parallelism| {
            with_scratch(cols_len, |cols| {
                im2col(x_b, &g, cols);
                gemm_forward(wt, cols, &g, out_b, par);
            })
        };
        if b >= threads() {
            // One sample per task with a single-threaded GEMM: no synchronisation inside GEMMs.
            out.par_chunks_mut(g.out_len())
                .zip(x.par_chunks(g.in_len()))
                .for_each(|(out_b, x_b)| one_sample(out_b, x_b, Parallelism::None));
        } else {
            for (out_b, x_b) in out.chunks_mut(g.out_len()).zip(x.chunks(g.in_len())) {
                one_sample(out_b, x_b, Parallelism::Rayon(threads()));
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((b, g.o, g.oh, g.ow))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let need_x = x.track_op();
        let need_w = weight.track_op();
        if !need_x && !need_w {
            return Ok((None, None));
        }
        let grad = grad.contiguous()?;
        let op = Conv2dBackward {
            pad: self.pad,
            need_x,
            need_w,
        };
        let packed = x.apply_op3_no_bwd(weight, &grad, &op)?;
        let x_len = if need_x { x.elem_count() } else { 0 };
        let grad_x = if need_x {
            Some(packed.narrow(0, 0, x_len)?.reshape(x.shape())?)
        } else {
            None
        };
        // Copy grad_w out so that it does not keep the (larger) grad_x buffer alive.
        let grad_w = if need_w {
            Some(
                packed
                    .narrow(0, x_len, weight.elem_count())?
                    .reshape(weight.shape())?
                    .copy()?,
            )
        } else {
            None
        };
        Ok((grad_x, grad_w))
    }
}

impl CustomOp3 for Conv2dBackward {
    fn name(&self) -> &'static str {
        "auscult-conv2d-backward"
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
        let wt = f32_data(s2, l2, "weight")?;
        let gout = f32_data(s3, l3, "output gradient")?;
        let (b, g) = geometry(l1.shape(), l2.shape(), self.pad)?;
        if l3.shape().dims() != [b, g.o, g.oh, g.ow] {
            bail!(
                "auscult conv2d backward: output gradient {:?} does not match the forward output",
                l3.shape()
            );
        }
        if b == 0 {
            bail!("auscult conv2d backward: empty batch");
        }
        let x_len = if self.need_x { b * g.in_len() } else { 0 };
        let w_len = if self.need_w { g.o * g.ckk() } else { 0 };
        let mut packed = vec![0.0f32; x_len + w_len];
        let (gx_all, gw_out) = packed.split_at_mut(x_len);
        let cols_len = g.ckk() * g.ohw();
        // Adds sample `bi`'s weight gradient to `gw_acc` and writes its input gradient to `gx_b`.
        let one_sample = |bi: usize, gx_b: &mut [f32], gw_acc: &mut [f32], par: Parallelism| {
            let gout_b = &gout[bi * g.out_len()..(bi + 1) * g.out_len()];
            with_scratch(cols_len, |cols| {
                if self.need_w {
                    im2col(&x[bi * g.in_len()..(bi + 1) * g.in_len()], &g, cols);
                    gemm_grad_weight(gout_b, cols, &g, gw_acc, true, par);
                }
                if self.need_x {
                    gemm_grad_cols(wt, gout_b, &g, cols, par);
                    col2im_add(cols, &g, gx_b);
                }
            })
        };
        if b >= 2 * SAMPLES_PER_CHUNK {
            // Fixed chunks of samples in parallel, each with its own partial weight gradient,
            // summed in chunk order: the result does not depend on threads or scheduling.
            let run_chunk = |ci: usize, gx_chunk: &mut [f32]| -> Vec<f32> {
                let mut acc = vec![0.0f32; w_len];
                let first = ci * SAMPLES_PER_CHUNK;
                for bi in first..(first + SAMPLES_PER_CHUNK).min(b) {
                    let k = bi - first;
                    let gx_b = if self.need_x {
                        &mut gx_chunk[k * g.in_len()..(k + 1) * g.in_len()]
                    } else {
                        &mut [][..]
                    };
                    one_sample(bi, gx_b, &mut acc, Parallelism::None);
                }
                acc
            };
            let parts: Vec<Vec<f32>> = if self.need_x {
                gx_all
                    .par_chunks_mut(SAMPLES_PER_CHUNK * g.in_len())
                    .enumerate()
                    .map(|(ci, gx_chunk)| run_chunk(ci, gx_chunk))
                    .collect()
            } else {
                (0..b.div_ceil(SAMPLES_PER_CHUNK))
                    .into_par_iter()
                    .map(|ci| run_chunk(ci, &mut []))
                    .collect()
            };
            for part in &parts {
                gw_out.iter_mut().zip(part).for_each(|(d, s)| *d += *s);
            }
        } else {
            for bi in 0..b {
                let gx_b = if self.need_x {
                    &mut gx_all[bi * g.in_len()..(bi + 1) * g.in_len()]
                } else {
                    &mut [][..]
                };
                one_sample(bi, gx_b, gw_out, Parallelism::Rayon(threads()));
            }
        }
        let n = packed.len();
        Ok((CpuStorage::F32(packed), Shape::from(n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn pseudo_random(shape: &[usize], seed: u64) -> Tensor {
        let n: usize = shape.iter().product();
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let v: Vec<f32> = (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
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

    /// Forward and both gradients agree with candle's own conv2d (an independent implementation),
    /// for batch sizes below and above the thread count and for kernels 5×5 and 3×3.
    #[test]
    fn matches_candle_conv2d_forward_and_backward() {
        // Batch 9 takes the chunked parallel backward path (two full chunks and a partial one).
        let cases = [
            (3, 2, 7, 6, 4, 5, 2),
            (1, 3, 5, 8, 2, 3, 1),
            (4, 1, 9, 4, 3, 5, 2),
            (2, 2, 4, 4, 3, 3, 0),
            (9, 2, 5, 4, 3, 5, 2),
        ];
        for &(b, c, h, w, o, k, pad) in &cases {
            let x = Var::from_tensor(&pseudo_random(&[b, c, h, w], 1)).unwrap();
            let wt = Var::from_tensor(&pseudo_random(&[o, c, k, k], 2)).unwrap();
            let oh = h + 2 * pad + 1 - k;
            let ow = w + 2 * pad + 1 - k;
            let proj = pseudo_random(&[b, o, oh, ow], 3);

            let ours = conv2d(x.as_tensor(), wt.as_tensor(), pad).unwrap();
            let theirs = x.as_tensor().conv2d(wt.as_tensor(), pad, 1, 1, 1).unwrap();
            assert!(max_abs_diff(&ours, &theirs) < 1e-5);

            let g_ours = (ours * &proj)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let g_theirs = (theirs * &proj)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for v in [&x, &wt] {
                let a = g_ours.get(v.as_tensor()).unwrap();
                let e = g_theirs.get(v.as_tensor()).unwrap();
                assert_eq!(a.dims(), e.dims());
                assert!(
                    max_abs_diff(a, e) < 1e-4,
                    "grad mismatch for shape {:?}",
                    v.dims()
                );
            }
        }
    }

    /// An input that does not require a gradient gets none (and the weight still gets one).
    #[test]
    fn constant_input_gets_no_gradient() {
        let x = pseudo_random(&[2, 1, 6, 5], 4);
        let wt = Var::from_tensor(&pseudo_random(&[3, 1, 5, 5], 5)).unwrap();
        let y = conv2d(&x, wt.as_tensor(), 2).unwrap();
        let grads = y.sum_all().unwrap().backward().unwrap();
        assert!(grads.get(&x).is_none());
        let gw = grads.get(wt.as_tensor()).unwrap();
        let expect = x
            .conv2d(wt.as_tensor(), 2, 1, 1, 1)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert!(max_abs_diff(gw, expect.get(wt.as_tensor()).unwrap()) < 1e-4);
    }

    #[test]
    fn mismatched_channels_is_an_error() {
        let x = pseudo_random(&[1, 2, 6, 5], 4);
        let wt = pseudo_random(&[3, 1, 5, 5], 5);
        let err = conv2d(&x, &wt, 2).unwrap_err().to_string();
        assert!(err.contains("channels"), "{err}");
    }
}
