//! The hybrid objective (hybrid.py `train_epoch_supconce`): two augmented views, each through the
//! encoder in its own train-mode pass; the encoder's linear head gives both views' logits, a
//! projector gives both views' projections, and the loss is
//! `α·SupCon(proj1, proj2, y) + (1 − α)·CE(cat[logits1, logits2], cat[y, y])`.

use anyhow::Result;
use candle_core::{Device, Tensor, Var};

use super::LossOut;
use crate::model::cnn6::Cnn6;
use crate::model::projector::Projector;
use crate::train::experiment::HybridConfig;
use crate::train::losses::supcon_ce_loss;

/// The projector and trade-off of the hybrid method.
pub(super) struct Hybrid {
    pub(super) projector: Projector,
    alpha: f64,
    temperature: f64,
}

impl Hybrid {
    pub(super) fn new(cfg: &HybridConfig, seed: u64, device: &Device) -> Result<Self> {
        Ok(Hybrid {
            projector: Projector::new_seeded(cfg.projection_dim, seed, 0, device)?,
            alpha: cfg.alpha,
            temperature: cfg.temperature,
        })
    }

    pub(super) fn vars(&self) -> Vec<Var> {
        self.projector.vars()
    }

    /// Loss of one batch whose two augmented views embed to `(f1, f2)`; `terms` holds `supcon`
    /// and `ce`; `logits` are both views' logits (`[2B, C]`, view 1 first), as the official
    /// training metrics count them.
    pub(super) fn loss(
        &self,
        model: &Cnn6,
        (f1, f2): &(Tensor, Tensor),
        y: &Tensor,
        class_weights: Option<&Tensor>,
    ) -> Result<LossOut> {
        let (l1, l2) = (model.head(f1)?, model.head(f2)?);
        let (p1, p2) = (self.projector.forward(f1)?, self.projector.forward(f2)?);
        let out = supcon_ce_loss(
            &p1,
            &p2,
            &l1,
            &l2,
            y,
            class_weights,
            self.alpha,
            self.temperature,
        )?;
        let terms = vec![
            ("supcon".to_string(), out.supcon.detach()),
            ("ce".to_string(), out.ce.detach()),
        ];
        Ok(LossOut {
            loss: out.total,
            terms,
            logits: Some(Tensor::cat(&[&l1, &l2], 0)?.detach()),
        })
    }
}
