//! Cross-entropy (ce.py): one augmented view through the encoder and its linear head,
//! class-weighted CE.

use anyhow::Result;
use candle_core::Tensor;
use rand_chacha::ChaCha8Rng;

use super::LossOut;
use crate::train::cnn6::Cnn6;
use crate::train::losses::cross_entropy;
use crate::train::transforms::InputTransform;

/// Loss of one batch of dB log-mels `x` with classes `y`.
pub(super) fn loss(
    model: &Cnn6,
    x: &Tensor,
    y: &Tensor,
    class_weights: Option<&Tensor>,
    transform: &InputTransform,
    rng: &mut ChaCha8Rng,
) -> Result<LossOut> {
    let xt = transform.apply(x, true, rng)?;
    let logits = model.forward(&xt, true)?;
    let loss = cross_entropy(&logits, y, class_weights)?;
    Ok(LossOut {
        loss,
        terms: Vec::new(),
        logits: Some(logits.detach()),
    })
}
