//! The device-generic convolution: im2col by tensor copies, then one batched GEMM — built only
//! from candle ops that have kernels on every device (zero padding, `narrow`, `cat`, `reshape`,
//! `matmul`), so on CUDA the forward *and* both gradients run through cuBLAS:
//!
//! - forward: `cols = im2col(x)` `[B, C·K·K, OH·OW]`, `y = W · cols` (`W` as `[O, C·K·K]`);
//! - weight gradient (autograd of the matmul): `Σ_b dy_b · cols_bᵀ` — a GEMM;
//! - input gradient (autograd of the matmul, then of the copies): `Wᵀ · dy` — a GEMM — then
//!   col2im as the sum of the shifted copies' zero-padded gradients.
//!
//! It replaces candle's CUDA conv backward (a naive conv-transpose kernel for the input gradient,
//! and a non-contiguous kernel operand that defeats cuDNN for the weight gradient). When the
//! input is data rather than a variable (CNN6's first block) autograd records nothing for it, so
//! its gradient is never computed. On CPU the fused kernels of [`super::super::cnn6`] are used
//! instead; tests run this path on CPU and prove it equal to them.

use candle_core::{Result, Tensor};

/// Stride-1 convolution of `x` `[B, C, H, W]` with `weight` `[O, C, KH, KW]`, zero padding
/// `pad` on every side: `[B, O, H + 2·pad − KH + 1, W + 2·pad − KW + 1]`.
pub fn conv2d_gemm(x: &Tensor, weight: &Tensor, pad: usize) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    let (o, wc, kh, kw) = weight.dims4()?;
    if wc != c {
        candle_core::bail!(
            "conv2d: input has {c} channels but weight {:?} expects {wc}",
            weight.dims()
        );
    }
    if h + 2 * pad < kh || w + 2 * pad < kw {
        candle_core::bail!(
            "conv2d: input {:?} with padding {pad} is smaller than kernel {:?}",
            x.dims(),
            weight.dims()
        );
    }
    let (oh, ow) = (h + 2 * pad + 1 - kh, w + 2 * pad + 1 - kw);
    let xp = x.pad_with_zeros(2, pad, pad)?.pad_with_zeros(3, pad, pad)?;
    // One shifted copy per kernel tap, in the weight's (c, i, j) order.
    let mut taps = Vec::with_capacity(kh * kw);
    for i in 0..kh {
        let rows = xp.narrow(2, i, oh)?;
        for j in 0..kw {
            taps.push(rows.narrow(3, j, ow)?.unsqueeze(2)?);
        }
    }
    // [B, C, KH·KW, OH, OW] → [B, C·KH·KW, OH·OW]
    let cols = Tensor::cat(&taps, 2)?.reshape((b, c * kh * kw, oh * ow))?;
    let w2 = weight.reshape((1, o, c * kh * kw))?;
    w2.broadcast_matmul(&cols)?.reshape((b, o, oh, ow))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::test_support::{max_abs_diff, pseudo_random};
    use candle_core::Var;

    /// Forward and both gradients agree with candle's own conv2d (an independent
    /// implementation), for 5×5 and 3×3 kernels and odd sizes.
    #[test]
    fn matches_candle_conv2d_forward_and_backward() -> Result<()> {
        for (b, c, h, w, o, k, pad) in [(2, 3, 9, 11, 4, 5, 2), (3, 1, 16, 7, 2, 3, 1)] {
            let x = Var::from_tensor(&pseudo_random(&[b, c, h, w], 1, -1.0, 1.0))?;
            let wt = Var::from_tensor(&pseudo_random(&[o, c, k, k], 2, -1.0, 1.0))?;
            let gy = pseudo_random(
                &[b, o, h + 2 * pad + 1 - k, w + 2 * pad + 1 - k],
                3,
                -1.0,
                1.0,
            );
            let ours = conv2d_gemm(x.as_tensor(), wt.as_tensor(), pad)?;
            let theirs = x.as_tensor().conv2d(wt.as_tensor(), pad, 1, 1, 1)?;
            assert!(max_abs_diff(&ours, &theirs) < 1e-5);
            let g1 = (ours * &gy)?.sum_all()?.backward()?;
            let g2 = (theirs * &gy)?.sum_all()?.backward()?;
            for v in [&x, &wt] {
                let (a, e) = (g1.get(v).unwrap(), g2.get(v).unwrap());
                assert!(
                    max_abs_diff(a, e) < 1e-4,
                    "gradient differs by {}",
                    max_abs_diff(a, e)
                );
            }
        }
        Ok(())
    }

    #[test]
    fn data_inputs_get_no_gradient_and_bad_shapes_are_errors() -> Result<()> {
        let x = pseudo_random(&[1, 2, 8, 8], 4, -1.0, 1.0);
        let wt = Var::from_tensor(&pseudo_random(&[3, 2, 5, 5], 5, -1.0, 1.0))?;
        let g = conv2d_gemm(&x, wt.as_tensor(), 2)?.sum_all()?.backward()?;
        assert!(g.get(&x).is_none() && g.get(wt.as_tensor()).is_some());
        let bad = pseudo_random(&[3, 4, 5, 5], 6, -1.0, 1.0);
        assert!(conv2d_gemm(&x, &bad, 2).is_err());
        Ok(())
    }
}
