//! The tests' reference for a CNN6 block's tail, BatchNorm2d → ReLU → avg-pool 2×2, in plain
//! candle ops (any device, any dtype, autograd through every op).

use auscult::model::cnn6::bn_relu_pool::{BatchMoments, BnStats};
use candle_core::{Result, Tensor};

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
