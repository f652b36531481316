//! Cross-entropy (ce.py): one augmented view through the encoder and its linear head,
//! class-weighted CE.

use anyhow::Result;
use candle_core::Tensor;

use super::LossOut;
use crate::model::cnn6::Cnn6;
use crate::train::losses::cross_entropy;

/// Loss of one batch whose augmented view embeds to `f`, with classes `y`.
pub(super) fn loss(
    model: &Cnn6,
    f: &Tensor,
    y: &Tensor,
    class_weights: Option<&Tensor>,
) -> Result<LossOut> {
    let logits = model.head(f)?;
    let loss = cross_entropy(&logits, y, class_weights)?;
    Ok(LossOut {
        loss,
        terms: Vec::new(),
        logits: Some(logits.detach()),
    })
}
