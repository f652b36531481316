//! The tests' reference for a CNN6 block's tail, BatchNorm2d → ReLU → avg-pool 2×2, in plain
//! candle ops (any device, any dtype, autograd through every op).

use auscult::model::cnn6::bn_relu_pool::{BatchMoments, BnStats};
use auscult::model::cnn6::device_block::BlockInput;
use auscult::tensor::synthetic::{max_abs_diff, pseudo_random};
use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};

/// One block's inputs for `x: [b, c, h, w]` and `o` output channels: the trainable tensors,
/// running statistics, and a fixed projection of the pooled output (the loss is
/// `sum(y · proj)`).
pub struct Case {
    pub dims: (usize, usize, usize, usize, usize),
    pub x: Var,
    pub wt: Var,
    pub gamma: Var,
    pub beta: Var,
    rm: Tensor,
    rv: Tensor,
    pub proj: Tensor,
}

impl Case {
    pub fn new((b, c, o, h, w): (usize, usize, usize, usize, usize)) -> Result<Self> {
        Ok(Case {
            dims: (b, c, o, h, w),
            x: Var::from_tensor(&pseudo_random(&[b, c, h, w], 1, -1.0, 1.5))?,
            wt: Var::from_tensor(&pseudo_random(&[o, c, 5, 5], 2, -0.3, 0.3))?,
            gamma: Var::from_tensor(&pseudo_random(&[o], 3, 0.5, 1.5))?,
            beta: Var::from_tensor(&pseudo_random(&[o], 4, -0.3, 0.3))?,
            rm: pseudo_random(&[o], 5, -0.2, 0.2),
            rv: pseudo_random(&[o], 6, 0.5, 1.5),
            proj: pseudo_random(&[b, o, h / 2, w / 2], 7, -1.0, 1.0),
        })
    }

    /// Batch statistics in training, the running ones in evaluation.
    pub fn stats(&self, train: bool) -> BnStats<'_> {
        match train {
            true => BnStats::Batch,
            false => BnStats::Running {
                mean: &self.rm,
                var: &self.rv,
            },
        }
    }

    /// The block's operands with input `x` (the case's own, or a detached copy): padding 2,
    /// eps 1e-5.
    pub fn input<'a>(&'a self, x: &'a Tensor, train: bool) -> BlockInput<'a> {
        BlockInput {
            x,
            weight: self.wt.as_tensor(),
            gamma: self.gamma.as_tensor(),
            beta: self.beta.as_tensor(),
            stats: self.stats(train),
            padding: 2,
            eps: 1e-5,
        }
    }

    /// The reference: candle's conv2d, then [`bn_relu_pool_generic`]; its output, batch moments
    /// and the gradients of the loss.
    pub fn reference(&self, train: bool) -> Result<(Tensor, Option<BatchMoments>, GradStore)> {
        let conv = self.x.as_tensor().conv2d(self.wt.as_tensor(), 2, 1, 1, 1)?;
        let (y, m) = bn_relu_pool_generic(
            &conv,
            self.gamma.as_tensor(),
            self.beta.as_tensor(),
            self.stats(train),
            1e-5,
        )?;
        let grads = (&y * &self.proj)?.sum_all()?.backward()?;
        Ok((y, m, grads))
    }

    /// A candidate's output and batch moments agree with the reference's.
    pub fn check_output(
        &self,
        what: &str,
        train: bool,
        (ya, ma): (&Tensor, Option<BatchMoments>),
        (yb, mb): (&Tensor, &Option<BatchMoments>),
    ) {
        let (b, _, _, h, w) = self.dims;
        let d = max_abs_diff(ya, yb);
        assert!(d < 1e-5, "{what} train={train} output differs by {d}");
        assert_eq!(ma.is_some(), train);
        if let (Some(ma), Some(mb)) = (ma, mb) {
            assert!(max_abs_diff(&ma.mean, &mb.mean) < 1e-5);
            assert!(max_abs_diff(&ma.var, &mb.var) < 1e-4);
            assert_eq!(ma.count, b * h * w);
        }
    }
}

/// `avg_pool2x2(relu(batch_norm(x)))` with candle ops (any device / dtype): the tests'
/// reference for the fused and device block ops. For
/// `x: [B, C, H, W]`, `gamma`/`beta: [C]`. Returns the pooled `[B, C, H/2, W/2]` and, in batch
/// mode, the batch moments.
pub fn bn_relu_pool_generic(
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
