//! Training methods: each is a loss plus heads over the one CNN6 encoder; the loop in
//! [`run`](super::run) is shared.
//!
//! - `ce`: the encoder's linear head, class-weighted cross-entropy.

use std::path::Path;

use anyhow::Result;
use candle_core::{Device, Tensor, Var};
use rand_chacha::ChaCha8Rng;

use super::cnn6::Cnn6;
use super::config::TrainConfig;
use super::data::CacheData;
use super::losses::cross_entropy;
use super::run::RunData;
use super::transforms::InputTransform;

/// The methods `auscult train <method>` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    /// Cross-entropy through the encoder's linear head.
    Ce,
}

impl MethodKind {
    pub fn name(self) -> &'static str {
        match self {
            MethodKind::Ce => "ce",
        }
    }
}

/// One batch's loss, its named terms, and (for classifying methods) train-mode logits.
pub struct LossOut {
    pub loss: Tensor,
    pub terms: Vec<(String, f64)>,
    pub logits: Option<Tensor>,
}

/// A method bound to its encoder and heads.
pub struct Method {
    pub kind: MethodKind,
    pub model: Cnn6,
    class_weights: Option<Tensor>,
}

impl Method {
    pub fn new(
        kind: MethodKind,
        model: Cnn6,
        _cfg: &TrainConfig,
        _cache: &CacheData,
        _data: &RunData,
        class_weights: Option<Tensor>,
        _device: &Device,
    ) -> Result<Self> {
        Ok(Method { kind, model, class_weights })
    }

    /// Parameters the optimiser updates.
    pub fn trainable_vars(&self) -> Vec<Var> {
        self.model.trainable_vars()
    }

    /// Whether the method classifies during training (evaluated every epoch); the SCL family
    /// does not, and is evaluated by linear evaluation afterwards.
    pub fn has_classifier(&self) -> bool {
        true
    }

    /// Training loss of one batch of dB log-mels `x` with labels `y`; `rows` are the batch's
    /// indices into the training split (for metadata-derived labels).
    pub fn loss(&mut self, x: &Tensor, y: &Tensor, _rows: &[u32], transform: &InputTransform, rng: &mut ChaCha8Rng) -> Result<LossOut> {
        let xt = transform.apply(x, true, rng)?;
        let logits = self.model.forward(&xt, true)?;
        let loss = cross_entropy(&logits, y, self.class_weights.as_ref())?;
        Ok(LossOut { loss, terms: Vec::new(), logits: Some(logits.detach()) })
    }

    /// Eval-mode class logits of transformed inputs.
    pub fn logits(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.model.forward(x, false)?)
    }

    /// Writes the encoder (+ head) with the official `_CNN6` key names.
    pub fn save(&self, path: &Path) -> Result<()> {
        Ok(self.model.save_state_dict(path, "")?)
    }

    /// Restores what [`Method::save`] wrote.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        Ok(self.model.load_state_dict(path, "")?)
    }

    /// The linear-evaluation stage of a non-classifying method.
    pub fn into_linear_eval(self, _cfg: &TrainConfig, _data: &RunData, _device: &Device) -> Result<Method> {
        Ok(self)
    }
}
