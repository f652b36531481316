//! The device-generic convolution: im2col by one tensor copy, then one rank-2 GEMM — built only
//! from candle ops that have kernels on every device (zero padding, `narrow`, `cat`, `matmul`),
//! so on CUDA every product runs through cuBLAS. All three passes take detached tensors and
//! record nothing; the CNN6 block op ([`super::super::cnn6`]) calls them batch chunk by batch
//! chunk and owns the gradient bookkeeping.
//!
//! Layout: the column matrix of `n` samples is `[K·K·C, n·OH·OW]`, tap-major (row `t·C + c` is
//! kernel tap `t = i·K + j` of channel `c`), written by one `cat` of the 25 shifted views of the
//! padded input. With the weight reordered the same way (`Wp = [O, K·K·C]`, a copy of the small
//! weight, not of the data):
//!
//! - forward: `yᵀ = Wp · cols` `[O, n·OH·OW]`;
//! - weight gradient: `dWp = dyᵀ · colsᵀ` — one GEMM over the whole chunk (no per-sample
//!   gradients, no per-sample weight copies);
//! - input gradient: the stride-1 identity `dx = conv(dy, W flipped and transposed, K−1−pad)`,
//!   i.e. the forward machinery again on `dy`: no col2im, no per-tap gradient buffers.

use candle_core::{bail, Result, Tensor};

use super::{ConvGeom, Grads, Need};

/// The column matrix `[K·K·C, n·OH·OW]` of `t` (`[n, C, H, W]`) for a `kh×kw` stride-1 kernel
/// with zero padding `pad`: one materialised copy (plus the padded input).
fn cols(t: &Tensor, kh: usize, kw: usize, pad: usize) -> Result<Tensor> {
    let (n, c, h, w) = t.dims4()?;
    let (oh, ow) = (h + 2 * pad + 1 - kh, w + 2 * pad + 1 - kw);
    let tp = match pad {
        0 => t.clone(),
        p => t.pad_with_zeros(2, p, p)?.pad_with_zeros(3, p, p)?,
    };
    // [C, n, Hp, Wp]: each tap's view is then [C, n, OH, OW], so the rows come out channel by
    // channel within a tap and the columns sample by sample.
    let tt = tp.transpose(0, 1)?;
    let mut taps = Vec::with_capacity(kh * kw);
    for i in 0..kh {
        let rows = tt.narrow(2, i, oh)?;
        for j in 0..kw {
            taps.push(rows.narrow(3, j, ow)?.unsqueeze(0)?);
        }
    }
    Tensor::cat(&taps, 0)?.reshape((kh * kw * c, n * oh * ow))
}

/// `w` `[O, C, KH, KW]` as `[O, KH·KW·C]` in the column matrix's tap-major order.
fn tap_major(w: &Tensor) -> Result<Tensor> {
    let (o, c, kh, kw) = w.dims4()?;
    w.reshape((o, c, kh * kw))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((o, kh * kw * c))
}

/// `yᵀ` `[O, n, OH, OW]` → `y` `[n, O, OH, OW]`.
fn batch_major(yt: Tensor, o: usize, n: usize, oh: usize, ow: usize) -> Result<Tensor> {
    yt.reshape((o, n, oh, ow))?.transpose(0, 1)?.contiguous()
}

/// Forward: `y = conv(x, w)`, `x` `[n, C, H, W]` → `[n, O, OH, OW]`.
pub fn forward(x: &Tensor, w: &Tensor, pad: usize) -> Result<Tensor> {
    let (n, _, h, wd) = x.dims4()?;
    let (o, _, kh, kw) = w.dims4()?;
    let (oh, ow) = (h + 2 * pad + 1 - kh, wd + 2 * pad + 1 - kw);
    let yt = tap_major(w)?.matmul(&cols(x, kh, kw, pad)?)?;
    batch_major(yt, o, n, oh, ow)
}

/// Backward of [`forward`] given `dy` `[n, O, OH, OW]`: the gradients `need` asks for
/// ([`Need`]).
pub fn backward(x: &Tensor, w: &Tensor, dy: &Tensor, pad: usize, need: Need) -> Result<Grads> {
    let (n, c, h, wd) = x.dims4()?;
    let (o, _, kh, kw) = w.dims4()?;
    let dw = match need.w {
        false => None,
        true => {
            let (_, _, oh, ow) = dy.dims4()?;
            let dyt = dy
                .transpose(0, 1)?
                .contiguous()?
                .reshape((o, n * oh * ow))?;
            let dwp = dyt.matmul(&cols(x, kh, kw, pad)?.t()?)?; // [O, KK·C]
            Some(
                dwp.reshape((o, kh * kw, c))?
                    .transpose(1, 2)?
                    .contiguous()?
                    .reshape((o, c, kh, kw))?,
            )
        }
    };
    let dx = match need.x {
        false => None,
        true => {
            if kh != kw || pad >= kh {
                bail!("conv2d input gradient: needs a square kernel wider than its padding, got {kh}×{kw} with padding {pad}");
            }
            // dx = conv(dy, W'), W'[c, o, i, j] = W[o, c, K−1−i, K−1−j], padding K−1−pad.
            let wf = w.flip(&[2, 3])?.transpose(0, 1)?.contiguous()?;
            let dxt = tap_major(&wf)?.matmul(&cols(dy, kh, kw, kh - 1 - pad)?)?;
            Some(batch_major(dxt, c, n, h, wd)?)
        }
    };
    Ok((dx, dw))
}

/// Elements of the largest column matrix one sample needs (forward / weight gradient: `K·K·C ×
/// OH·OW`; input gradient: `K·K·O × H·W`).
pub fn cols_per_sample(g: &ConvGeom) -> usize {
    (g.ckk() * g.ohw()).max(g.kh * g.kw * g.o * g.h * g.w)
}
