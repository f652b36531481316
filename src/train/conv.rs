//! Stride-1 2-D convolution with zero padding, with a CPU forward *and* backward we own.
//!
//! candle 0.11's own CPU `conv2d` backward goes through conv-transpose and dominates a CNN6
//! training step (15 of 18 s at batch 32). [`conv2d`] instead runs, on CPU `f32` tensors, a
//! custom op whose forward is im2col + GEMM and whose backward is one more custom op computing
//! both gradients with im2col + GEMM (`grad_w = Σ_b grad_out_b · cols_bᵀ`,
//! `grad_x_b = col2im(Wᵀ · grad_out_b)`), parallel over the batch with rayon. On other devices
//! or dtypes it falls back to candle's `Tensor::conv2d`, so callers never care. The slice-level
//! kernels ([`conv_forward`], [`conv_backward`]) are shared with the fused CNN6 block op.

mod cpu;
mod im2col;

pub(crate) use cpu::{conv_backward, conv_forward};
pub(crate) use im2col::ConvGeom;

use candle_core::{bail, CpuStorage, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor};

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
        let x = f32_data(s1, l1, "conv2d input")?;
        let wt = f32_data(s2, l2, "conv2d weight")?;
        let (b, g) = geometry(l1.shape(), l2.shape(), self.pad)?;
        let mut out = vec![0.0f32; b * g.out_len()];
        conv_forward(x, wt, b, &g, &mut out);
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
        let x = f32_data(s1, l1, "conv2d input")?;
        let wt = f32_data(s2, l2, "conv2d weight")?;
        let gout = f32_data(s3, l3, "conv2d output gradient")?;
        let (b, g) = geometry(l1.shape(), l2.shape(), self.pad)?;
        if l3.shape().dims() != [b, g.o, g.oh, g.ow] {
            bail!(
                "conv2d backward: output gradient {:?} does not match the forward output",
                l3.shape()
            );
        }
        let x_len = if self.need_x { b * g.in_len() } else { 0 };
        let w_len = if self.need_w { g.o * g.ckk() } else { 0 };
        let mut packed = vec![0.0f32; x_len + w_len];
        let (gx, gw) = packed.split_at_mut(x_len);
        conv_backward(
            x,
            wt,
            gout,
            b,
            &g,
            self.need_x.then_some(gx),
            self.need_w.then_some(gw),
        );
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
