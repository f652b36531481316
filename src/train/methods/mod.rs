//! Training methods: each is a loss plus heads over the one CNN6 encoder; the loop in
//! [`fit`](crate::train::fit) is shared. The experiment names the method ([`MethodKind`]) and carries
//! its section.
//!
//! - `ce` ([`ce`]): the encoder's linear head, class-weighted cross-entropy.
//! - `scl`, `simclr`, `mscl` ([`contrastive`]): SupCon on projections of two augmented views
//!   (class labels, no labels, or several metadata heads), then linear evaluation
//!   ([`linear_eval`]) of the frozen encoder.
//! - `hybrid` ([`hybrid`]): α·SupCon + (1 − α)·CE, evaluated through the linear head.

mod ce;
mod contrastive;
mod hybrid;
mod linear_eval;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use candle_core::{Device, Tensor, Var};
use rand_chacha::ChaCha8Rng;

use crate::data::transforms::InputTransform;
use crate::data::{Batch, CacheData, RunData, SplitData};
use crate::model::cnn6::Cnn6;
use crate::model::projector::Projector;
use crate::tensor::file::write_safetensors;
use crate::tensor::readback;
use crate::train::experiment::Experiment;
pub use crate::train::experiment::{MethodKind, DEFAULT_MSCL_HEADS};
use crate::train::losses::cross_entropy;
use contrastive::Contrastive;
use hybrid::Hybrid;
use linear_eval::LinearEval;

/// One batch's loss, its named terms, and (for classifying methods) train-mode logits, all on
/// the training device (the loop accumulates them there and reads them once per epoch).
pub struct LossOut {
    pub loss: Tensor,
    /// Named scalar loss terms, detached.
    pub terms: Vec<(String, Tensor)>,
    /// `[B, C]` logits of the batch, or `[2B, C]` for two views (targets repeated).
    pub logits: Option<Tensor>,
}

/// What a method trains besides the encoder.
enum Stage {
    Ce,
    Contrastive(Contrastive),
    Hybrid(Hybrid),
    LinearEval(LinearEval),
}

/// A method bound to its encoder and heads.
pub struct Method {
    pub kind: MethodKind,
    pub model: Cnn6,
    class_weights: Option<Tensor>,
    stage: Stage,
}

/// Train-mode embedding of one augmented view of the dB log-mels `x`.
fn embed_view(
    model: &Cnn6,
    x: &Tensor,
    transform: &InputTransform,
    rng: &mut ChaCha8Rng,
) -> Result<Tensor> {
    let x = transform.apply(x, true, rng)?;
    Ok(model.embed_train(&x, rng)?)
}

/// Train-mode embeddings of two independently augmented views of `x`, each in its own encoder
/// pass (so BatchNorm sees each view's statistics, as the official
/// `encoder(data_t1), encoder(data_t2)`).
fn embed_two_views(
    model: &Cnn6,
    x: &Tensor,
    transform: &InputTransform,
    rng: &mut ChaCha8Rng,
) -> Result<(Tensor, Tensor)> {
    let f1 = embed_view(model, x, transform, rng)?;
    let f2 = embed_view(model, x, transform, rng)?;
    Ok((f1, f2))
}

/// `<dir>/<stem>.projectors.safetensors` beside a checkpoint.
fn projectors_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}.projectors.safetensors"))
}

impl Method {
    /// The method `exp` names, over `model`, with its heads initialised from `exp.seed`.
    pub fn new(
        exp: &Experiment,
        model: Cnn6,
        cache: &CacheData,
        data: &RunData,
        class_weights: Option<Tensor>,
        device: &Device,
    ) -> Result<Self> {
        let kind = exp.method()?;
        let stage = match kind {
            MethodKind::Ce => Stage::Ce,
            MethodKind::Hybrid => Stage::Hybrid(Hybrid::new(
                &exp.hybrid.clone().unwrap_or_default(),
                exp.seed,
                device,
            )?),
            MethodKind::Scl | MethodKind::Simclr | MethodKind::Mscl => {
                let settings = exp
                    .contrastive()
                    .context("the experiment has no section for its contrastive method")?;
                Stage::Contrastive(Contrastive::new(
                    kind, &settings, exp.seed, cache, data, device,
                )?)
            }
        };
        Ok(Method {
            kind,
            model,
            class_weights,
            stage,
        })
    }

    /// Parameters the optimiser updates: the encoder and its head (CE), the encoder and the
    /// projectors (contrastive; the unused linear head is left out), all of them (hybrid), or the
    /// linear classifier alone (linear evaluation).
    pub fn trainable_vars(&self) -> Vec<Var> {
        let encoder = || -> Vec<Var> {
            self.model
                .state_dict()
                .into_iter()
                .filter(|e| e.trainable && !e.name.starts_with("linear."))
                .map(|e| e.var)
                .collect()
        };
        match &self.stage {
            Stage::Ce => self.model.trainable_vars(),
            Stage::Contrastive(c) => encoder().into_iter().chain(c.vars()).collect(),
            Stage::Hybrid(h) => self
                .model
                .trainable_vars()
                .into_iter()
                .chain(h.vars())
                .collect(),
            Stage::LinearEval(_) => vec![
                self.model.linear_weight.clone(),
                self.model.linear_bias.clone(),
            ],
        }
    }

    /// Whether the method classifies during training (evaluated every epoch); the contrastive
    /// family does not, and is evaluated by linear evaluation afterwards.
    pub fn has_classifier(&self) -> bool {
        !matches!(self.stage, Stage::Contrastive(_))
    }

    /// Whether passes over a split must load its features (false once linear evaluation reads
    /// precomputed embeddings).
    pub fn needs_features(&self) -> bool {
        !matches!(&self.stage, Stage::LinearEval(le) if le.precomputed())
    }

    /// Training loss of one batch of the training split (its rows index metadata-derived labels
    /// and cached embeddings).
    pub fn loss(
        &mut self,
        batch: &Batch,
        transform: &InputTransform,
        rng: &mut ChaCha8Rng,
    ) -> Result<LossOut> {
        let cw = self.class_weights.as_ref();
        let y = batch.y();
        match &self.stage {
            Stage::Ce => {
                let f = embed_view(&self.model, &batch.x()?, transform, rng)?;
                ce::loss(&self.model, &f, y, cw)
            }
            Stage::Contrastive(c) => {
                let views = embed_two_views(&self.model, &batch.x()?, transform, rng)?;
                c.loss(&views, y, &batch.idx)
            }
            Stage::Hybrid(h) => {
                let views = embed_two_views(&self.model, &batch.x()?, transform, rng)?;
                h.loss(&self.model, &views, y, cw)
            }
            Stage::LinearEval(le) => {
                let emb = le.embed(&self.model, le.train_key, batch, transform)?;
                let logits = self.model.head(&emb)?;
                let loss = cross_entropy(&logits, y, cw)?;
                Ok(LossOut {
                    loss,
                    terms: Vec::new(),
                    logits: Some(logits.detach()),
                })
            }
        }
    }

    /// Eval-mode class logits of transformed inputs (through the encoder and its linear head).
    pub fn logits(&self, x: &Tensor) -> Result<Tensor> {
        anyhow::ensure!(
            self.has_classifier(),
            "method `{}` has no classifier before linear evaluation",
            self.kind.name()
        );
        Ok(self.model.forward(x, false)?)
    }

    /// Eval-mode class logits of a batch of `split` (un-augmented): what evaluation uses.
    /// Linear evaluation reads the frozen encoder's precomputed embeddings.
    pub fn split_logits(
        &self,
        split: &SplitData,
        batch: &Batch,
        transform: &InputTransform,
        rng: &mut ChaCha8Rng,
    ) -> Result<Tensor> {
        if let Stage::LinearEval(le) = &self.stage {
            let emb = le.embed(&self.model, split.key(), batch, transform)?;
            return Ok(self.model.head(&emb)?);
        }
        self.logits(&transform.apply(&batch.x()?, false, rng)?)
    }

    fn projectors(&self) -> Vec<(String, &Projector)> {
        match &self.stage {
            Stage::Contrastive(c) => c.projectors(),
            Stage::Hybrid(h) => vec![("head0.".to_string(), &h.projector)],
            Stage::Ce | Stage::LinearEval(_) => Vec::new(),
        }
    }

    /// Every tensor of the method, named for a resumable state: the encoder with its head and
    /// BatchNorm buffers (`model.<PyTorch key>`) and the projectors (`proj.head<i>.…`).
    pub fn state_vars(&self) -> Vec<(String, Var)> {
        let model = self
            .model
            .state_dict()
            .into_iter()
            .map(|e| (format!("model.{}", e.name), e.var));
        let projectors = self
            .projectors()
            .into_iter()
            .flat_map(|(prefix, p)| p.named(&format!("proj.{prefix}")));
        model.chain(projectors).collect()
    }

    /// Writes the encoder (+ head) with the official `_CNN6` key names to `path` (the file
    /// `Cnn6::save_state_dict` writes: f32 tensors, `num_batches_tracked` as i64 scalars), and
    /// the projectors (if any) to `<stem>.projectors.safetensors` beside it (keys
    /// `head<i>.linear{1,2}.{weight,bias}`). Both are written to a temporary name first. A
    /// method without projectors removes a stale projectors file of the same name.
    ///
    /// All tensors come to the host in one [`readback::to_host_all`] (one counted read per
    /// dtype: two, f32 and i64).
    pub fn save(&self, path: &Path) -> Result<()> {
        let projectors = self.projectors();
        let model: Vec<(String, Tensor)> = self
            .model
            .state_dict()
            .into_iter()
            .map(|e| (e.name, e.var.as_detached_tensor()))
            .collect();
        let heads: Vec<(String, Tensor)> = projectors
            .iter()
            .flat_map(|(prefix, p)| p.named(prefix))
            .map(|(n, v)| (n, v.as_detached_tensor()))
            .collect();
        let all: Vec<Tensor> = model.iter().chain(&heads).map(|(_, t)| t.clone()).collect();
        let mut host = readback::to_host_all(&all)?.into_iter();
        let mut named = |entries: Vec<(String, Tensor)>| -> HashMap<String, Tensor> {
            entries
                .into_iter()
                .map(|(n, _)| (n, host.next().expect("one host copy per tensor")))
                .collect()
        };
        let (model, heads) = (named(model), named(heads));
        write_safetensors(path, model, None)?;
        let dest = projectors_path(path);
        if projectors.is_empty() {
            if dest.exists() {
                std::fs::remove_file(&dest)
                    .with_context(|| format!("removing stale {}", dest.display()))?;
            }
            return Ok(());
        }
        write_safetensors(&dest, heads, None)
    }

    /// Restores what [`Method::save`] wrote (projectors too when their file exists).
    pub fn load(&mut self, path: &Path) -> Result<()> {
        self.model.load_state_dict(path, "")?;
        let projectors = self.projectors();
        let file = projectors_path(path);
        if projectors.is_empty() || !file.exists() {
            return Ok(());
        }
        let tensors = candle_core::safetensors::load(&file, self.model.linear_weight.device())
            .with_context(|| format!("reading {}", file.display()))?;
        for (prefix, p) in projectors {
            p.load(&tensors, &prefix)
                .with_context(|| format!("{}", file.display()))?;
        }
        Ok(())
    }

    /// Eval-mode encoder embeddings `[N, 512]` of `split` (un-augmented, in split order); those
    /// linear evaluation already computed are reused.
    pub fn embeddings(
        &self,
        split: &SplitData,
        transform: &InputTransform,
        batch: usize,
    ) -> Result<Tensor> {
        if let Stage::LinearEval(le) = &self.stage {
            if let Some(e) = le.split_embeddings(split.key()) {
                return Ok(e.clone());
            }
        }
        linear_eval::embed_split(&self.model, split, transform, batch)
    }

    /// Facts about the method for the run summary (`method_info`): contrastive heads, their
    /// labels and how many training rows lack each metadata label.
    pub fn info(&self) -> serde_json::Map<String, serde_json::Value> {
        match &self.stage {
            Stage::Contrastive(c) => c.info(),
            _ => serde_json::Map::new(),
        }
    }

    /// The linear-evaluation stage of a contrastive method: projectors dropped, encoder frozen
    /// (eval mode, embeddings computed once per split where possible), only the linear head
    /// trained. Methods that already classify are returned unchanged.
    pub fn into_linear_eval(
        self,
        data: &RunData,
        transform: &InputTransform,
        eval_batch_size: usize,
    ) -> Result<Method> {
        if self.has_classifier() {
            return Ok(self);
        }
        let le = LinearEval::new(&self.model, data, transform, eval_batch_size)?;
        Ok(Method {
            kind: self.kind,
            model: self.model,
            class_weights: self.class_weights,
            stage: Stage::LinearEval(le),
        })
    }
}
