//! The supervised-contrastive family (scl.py `train_scl`): two independently augmented views of
//! the batch, each through the encoder in its own train-mode pass (so BatchNorm sees each view's
//! statistics, as the official `encoder(data_t1), encoder(data_t2)`), one projector per head,
//! and `Σ λ_i · SupCon_i` over the heads:
//!
//! - `scl`: one head on the class label, or on a metadata label spec (`--labels`);
//! - `simclr`: one head without labels (each view's only positive is its twin);
//! - `mscl`: several heads (`--heads class:0.25,sex+age_group:0.75`), each with its own
//!   projector and labels, rows without a label excluded from that head.

use anyhow::{Context, Result};
use candle_core::{Device, Tensor, Var};
use serde_json::{json, Map, Value};

use super::{LossOut, MethodKind};
use crate::data::labels::{parse_heads, HeadSpec, LabelSpec, TableLabels};
use crate::data::{CacheData, RunData};
use crate::model::projector::Projector;
use crate::train::experiment::{ContrastiveSettings, DEFAULT_MSCL_HEADS};
use crate::train::losses::{multi_head_supcon, SupConHead};

/// Where a head's positives come from.
enum HeadTargets {
    /// No labels (SimCLR).
    Instance,
    /// The batch's class labels.
    Class,
    /// Metadata labels of the training split's rows, resident on the device.
    Metadata {
        /// `[N]` u32 label ids.
        ids: Tensor,
        /// `[N]` u8, 1 where the row has a label.
        valid: Tensor,
        /// Distinct labels over the whole table.
        distinct: usize,
        /// Training rows without a label.
        missing: usize,
    },
}

/// One SupCon head: its name (the label spec), weight λ, targets and projector.
struct Head {
    name: String,
    weight: f64,
    targets: HeadTargets,
    projector: Projector,
}

/// The heads of a contrastive method and the SupCon temperature.
pub(super) struct Contrastive {
    heads: Vec<Head>,
    temperature: f64,
    train_rows: usize,
}

impl Contrastive {
    /// The heads `kind` asks for (per `settings`), projectors initialised from `seed`, with
    /// labels built once for every training row.
    pub(super) fn new(
        kind: MethodKind,
        settings: &ContrastiveSettings,
        seed: u64,
        cache: &CacheData,
        data: &RunData,
        device: &Device,
    ) -> Result<Self> {
        let specs: Vec<Option<HeadSpec>> = match kind {
            MethodKind::Simclr => vec![None],
            MethodKind::Scl => {
                let labels = match settings.labels {
                    Some(s) => s.parse::<LabelSpec>()?,
                    None => LabelSpec::class(),
                };
                vec![Some(HeadSpec {
                    labels,
                    weight: 1.0,
                })]
            }
            MethodKind::Mscl => parse_heads(settings.heads.unwrap_or(DEFAULT_MSCL_HEADS))?
                .into_iter()
                .map(Some)
                .collect(),
            other => anyhow::bail!("method `{}` is not contrastive", other.name()),
        };
        let mut heads = Vec::with_capacity(specs.len());
        for (i, spec) in specs.into_iter().enumerate() {
            let projector = Projector::new_seeded(settings.projection_dim, seed, i as u64, device)?;
            let head = match spec {
                None => Head {
                    name: "instance".into(),
                    weight: 1.0,
                    targets: HeadTargets::Instance,
                    projector,
                },
                Some(HeadSpec { labels, weight }) if labels.is_class() => Head {
                    name: labels.to_string(),
                    weight,
                    targets: HeadTargets::Class,
                    projector,
                },
                Some(HeadSpec { labels, weight }) => {
                    let table = TableLabels::build(&cache.table, &labels)?;
                    let split = table
                        .for_rows(&data.train.cycle_ids)
                        .context("labelling the training split")?;
                    let missing = split.missing();
                    let n = split.ids.len();
                    tracing::info!(
                        "head `{labels}`: {} distinct labels; {missing} of {n} training rows lack it (excluded from its loss)",
                        table.values.len()
                    );
                    if missing == n {
                        tracing::warn!(
                            "head `{labels}`: no training row has this label; its loss is always 0"
                        );
                    }
                    let valid: Vec<u8> = split.valid.iter().map(|&v| v as u8).collect();
                    let targets = HeadTargets::Metadata {
                        ids: Tensor::from_vec(split.ids, n, device)?,
                        valid: Tensor::from_vec(valid, n, device)?,
                        distinct: table.values.len(),
                        missing,
                    };
                    Head {
                        name: labels.to_string(),
                        weight,
                        targets,
                        projector,
                    }
                }
            };
            heads.push(head);
        }
        Ok(Contrastive {
            heads,
            temperature: settings.temperature,
            train_rows: data.train.len(),
        })
    }

    /// Projector parameters (the encoder's are added by the caller).
    pub(super) fn vars(&self) -> Vec<Var> {
        self.heads.iter().flat_map(|h| h.projector.vars()).collect()
    }

    /// `(checkpoint prefix, projector)` of each head.
    pub(super) fn projectors(&self) -> Vec<(String, &Projector)> {
        self.heads
            .iter()
            .enumerate()
            .map(|(i, h)| (format!("head{i}."), &h.projector))
            .collect()
    }

    /// Loss of one batch (training-split rows `rows`) whose two augmented views embed to
    /// `(f1, f2)`; `terms` holds each head's unweighted SupCon as `supcon[<spec>]`.
    pub(super) fn loss(
        &self,
        (f1, f2): &(Tensor, Tensor),
        y: &Tensor,
        rows: &[u32],
    ) -> Result<LossOut> {
        let idx = Tensor::from_slice(rows, rows.len(), f1.device())?;
        let mut projections = Vec::with_capacity(self.heads.len());
        let mut labels = Vec::with_capacity(self.heads.len());
        for h in &self.heads {
            projections.push((h.projector.forward(f1)?, h.projector.forward(f2)?));
            labels.push(match &h.targets {
                HeadTargets::Instance => (None, None),
                HeadTargets::Class => (Some(y.clone()), None),
                HeadTargets::Metadata { ids, valid, .. } => (
                    Some(ids.index_select(&idx, 0)?),
                    Some(valid.index_select(&idx, 0)?),
                ),
            });
        }
        let specs: Vec<SupConHead> = self
            .heads
            .iter()
            .zip(&projections)
            .zip(&labels)
            .map(|((h, (p1, p2)), (l, v))| SupConHead {
                proj1: p1,
                proj2: p2,
                labels: l.as_ref(),
                valid: v.as_ref(),
                weight: h.weight,
            })
            .collect();
        let out = multi_head_supcon(&specs, self.temperature)?;
        let terms = self
            .heads
            .iter()
            .zip(&out.per_head)
            .map(|(h, t)| (format!("supcon[{}]", h.name), t.detach()))
            .collect();
        Ok(LossOut {
            loss: out.total,
            terms,
            logits: None,
        })
    }

    /// What the heads are, for the run summary (`method_info`).
    pub(super) fn info(&self) -> Map<String, Value> {
        let heads: Vec<Value> = self
            .heads
            .iter()
            .map(|h| {
                let mut m = json!({ "labels": h.name, "weight": h.weight });
                if let HeadTargets::Metadata {
                    distinct, missing, ..
                } = &h.targets
                {
                    m["distinct_labels"] = json!(distinct);
                    m["train_rows_missing_label"] = json!(missing);
                    m["train_rows"] = json!(self.train_rows);
                }
                m
            })
            .collect();
        let mut m = Map::new();
        m.insert("temperature".into(), json!(self.temperature));
        m.insert("heads".into(), Value::Array(heads));
        m
    }
}
