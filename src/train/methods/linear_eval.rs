//! Linear evaluation of a frozen encoder (scl.py `linear_scl`): the projector is dropped, the
//! encoder runs in eval mode without gradients on un-augmented inputs (`val_transform`), and
//! only a linear classifier 512 → n_classes is trained (the encoder's own `linear` head, still at
//! its seeded PyTorch-default init — the official `LinearClassifier`).
//!
//! Eval-mode embeddings of un-augmented inputs do not change from epoch to epoch when inputs are
//! scaled per example, so they are computed once per split here and every epoch only runs the
//! classifier. With per-batch min-max scaling (`minmax = "per-batch"`, official replication) an
//! example's input depends on its batch mates, so embeddings are recomputed every batch instead.

use std::collections::HashMap;

use anyhow::Result;
use candle_core::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::transforms::{InputTransform, MinMax};
use crate::data::{Batch, RunData, SplitData};
use crate::model::cnn6::Cnn6;

/// Precomputed embeddings, keyed by the split ([`SplitData::key`]).
pub(super) struct LinearEval {
    embeddings: HashMap<u64, Tensor>,
    /// Key of the training split (the rows `Method::loss` is given).
    pub(super) train_key: u64,
}

/// Eval-mode embeddings `[N, 512]` of a whole split.
pub(crate) fn embed_split(
    model: &Cnn6,
    split: &SplitData,
    transform: &InputTransform,
    batch: usize,
) -> Result<Tensor> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut parts = Vec::new();
    for b in split.ordered(batch, true)? {
        let x = transform.apply(&b?.x()?, false, &mut rng)?;
        parts.push(model.embed(&x, false)?.detach());
    }
    Ok(Tensor::cat(&parts, 0)?)
}

impl LinearEval {
    /// Embeds every split of `data` once (unless inputs are scaled per batch).
    pub(super) fn new(
        model: &Cnn6,
        data: &RunData,
        transform: &InputTransform,
        batch: usize,
    ) -> Result<Self> {
        let mut embeddings = HashMap::new();
        if transform.minmax == MinMax::PerBatch {
            tracing::info!(
                "linear evaluation: per-batch scaling, embeddings recomputed every batch"
            );
        } else {
            for split in [Some(&data.train), data.val.as_ref(), Some(&data.eval)]
                .into_iter()
                .flatten()
            {
                embeddings.insert(split.key(), embed_split(model, split, transform, batch)?);
            }
            tracing::info!("linear evaluation: frozen-encoder embeddings computed once per split");
        }
        Ok(LinearEval {
            embeddings,
            train_key: data.train.key(),
        })
    }

    /// Whether embeddings were computed once per split (else every batch embeds its features).
    pub(super) fn precomputed(&self) -> bool {
        !self.embeddings.is_empty()
    }

    /// The embeddings of the whole split with key `key`, when they were computed once.
    pub(super) fn split_embeddings(&self, key: u64) -> Option<&Tensor> {
        self.embeddings.get(&key)
    }

    /// Frozen-encoder embeddings of `batch`, a batch of the split with key `key`.
    pub(super) fn embed(
        &self,
        model: &Cnn6,
        key: u64,
        batch: &Batch,
        transform: &InputTransform,
    ) -> Result<Tensor> {
        if let Some(all) = self.embeddings.get(&key) {
            let ids = Tensor::from_slice(&batch.idx, batch.idx.len(), all.device())?;
            return Ok(all.index_select(&ids, 0)?);
        }
        let x = transform.apply(&batch.x()?, false, &mut ChaCha8Rng::seed_from_u64(0))?;
        Ok(model.embed(&x, false)?.detach())
    }
}
