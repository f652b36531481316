//! The splits of one run (train, optional validation, evaluation) and where their features are
//! placed: resident on the training device when they fit the runtime's memory budget, else
//! streamed from the shards.

use anyhow::{Context, Result};
use candle_core::Device;
use serde::{Deserialize, Serialize};

use super::protocol::{self, Protocol};
use super::{CacheData, Placement, SplitData};
use crate::data::config::DataConfig;
use crate::eval::metrics::ConfusionMatrix;

/// Where the splits' features are held during training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataResidency {
    /// Resident when the run's splits fit `memory_budget_mib`, else streamed (default).
    #[default]
    Auto,
    /// Always copied onto the training device.
    Resident,
    /// Always streamed from the shards.
    Stream,
}

impl std::str::FromStr for DataResidency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(DataResidency::Auto),
            "resident" => Ok(DataResidency::Resident),
            "stream" => Ok(DataResidency::Stream),
            _ => Err(format!(
                "data residency `{s}`: expected auto, resident or stream"
            )),
        }
    }
}

/// Where a run's features are held: the runtime's residency settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Residency {
    pub policy: DataResidency,
    /// `auto`: the most MiB of f32 features (train + validation + evaluation rows) kept resident.
    pub memory_budget_mib: u64,
    /// Streaming: shards read and verified ahead by a background thread.
    pub stream_prefetch: usize,
}

impl Residency {
    /// Where `bytes` of features (`rows` rows) go: resident when the policy says so or, for
    /// `auto`, when they fit the memory budget; else streamed `window` shards at a time.
    fn placement(&self, bytes: u64, rows: usize, window: usize) -> Placement {
        let resident = match self.policy {
            DataResidency::Resident => true,
            DataResidency::Stream => false,
            DataResidency::Auto => bytes <= self.memory_budget_mib.saturating_mul(1 << 20),
        };
        tracing::info!(
            "features: {:.1} MiB for {rows} rows, {} (data residency {:?}, budget {} MiB)",
            bytes as f64 / (1 << 20) as f64,
            if resident {
                "resident on the device"
            } else {
                "streamed from the shards"
            },
            self.policy,
            self.memory_budget_mib
        );
        if resident {
            Placement::Resident
        } else {
            Placement::Streamed {
                prefetch: self.stream_prefetch,
                window,
            }
        }
    }
}

/// The cache rows of one run's splits ([`RunData::rows`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RunRows {
    pub train: Vec<usize>,
    pub val: Option<Vec<usize>>,
    pub eval: Vec<usize>,
    /// The evaluation split's name (`fold_<f>` under `kfold:K`).
    pub eval_split: String,
}

/// Train / validation / evaluation splits of one run, with the cache's classes.
pub struct RunData {
    pub train: SplitData,
    pub val: Option<SplitData>,
    pub eval: SplitData,
    pub n_classes: usize,
    /// Ids of the normal classes (from the cache's manifest).
    pub normal: Vec<usize>,
    /// How the features are held.
    pub placement: Placement,
}

impl RunData {
    /// The cache rows of the splits `data` names (the validation patients drawn with `seed`),
    /// without loading any feature: what [`RunData::load`] loads, for a caller that needs only
    /// some of them (the evaluation of a finished run).
    pub fn rows(cache: &CacheData, data: &DataConfig, seed: u64) -> Result<RunRows> {
        let named_eval = || -> Result<String> {
            Ok(match &data.eval_split {
                Some(s) => s.clone(),
                None => cache.default_eval_split.clone().with_context(|| {
                    format!(
                        "the cache names no default evaluation split: set data.eval_split \
                     (--eval-split) to one of {}",
                        cache.split_names().join(", ")
                    )
                })?,
            })
        };
        let (train_rows, eval_rows, eval_split) = match data.protocol {
            Protocol::Official | Protocol::Val => {
                let eval_split = named_eval()?;
                (
                    cache.rows_of(&data.train_split),
                    cache.rows_of(&eval_split),
                    eval_split,
                )
            }
            Protocol::LeakageFree => {
                let eval_split = named_eval()?;
                let all = cache.rows_of(&eval_split);
                let (kept, dropped) = protocol::leakage_free(
                    &cache.split_of,
                    &cache.patient_of,
                    &data.train_split,
                    &all,
                );
                tracing::info!(
                    "leakage-free: {} of {} `{eval_split}` rows kept; dropped the rows of {} \
                     patient(s) also in `{}`: {}",
                    kept.len(),
                    all.len(),
                    dropped.len(),
                    data.train_split,
                    dropped.into_iter().collect::<Vec<_>>().join(", ")
                );
                (cache.rows_of(&data.train_split), kept, eval_split)
            }
            Protocol::KFold(k) => {
                let f = data.fold.with_context(|| {
                    format!("kfold:{k}: data.fold (the fold to evaluate, 0..{k}) is not set")
                })?;
                let (t, e) = protocol::kfold(&cache.patient_of, k, f, data.fold_seed)
                    .map_err(anyhow::Error::msg)?;
                tracing::info!(
                    "kfold:{k} fold {f}: {} train / {} evaluation rows (patient-wise over all splits)",
                    t.len(),
                    e.len()
                );
                (t, e, format!("fold_{f}"))
            }
        };
        let have = || cache.split_names().join(", ");
        anyhow::ensure!(
            !train_rows.is_empty(),
            "no rows in split `{}` (cache has: {})",
            data.train_split,
            have()
        );
        anyhow::ensure!(
            !eval_rows.is_empty(),
            "no rows in split `{eval_split}` (cache has: {})",
            have()
        );
        let (train_rows, val_rows) = if data.val_fraction > 0.0 {
            let (t, v) = cache.patient_holdout(&train_rows, data.val_fraction, seed)?;
            (t, Some(v))
        } else {
            (train_rows, None)
        };
        Ok(RunRows {
            train: train_rows,
            val: val_rows,
            eval: eval_rows,
            eval_split,
        })
    }

    /// Loads the splits `data` names (the validation patients drawn with `seed`), placed as
    /// `residency` says, onto `device`.
    pub fn load(
        cache: &CacheData,
        data: &DataConfig,
        seed: u64,
        residency: impl Into<Residency>,
        device: &Device,
    ) -> Result<RunData> {
        let RunRows {
            train: train_rows,
            val: val_rows,
            eval: eval_rows,
            eval_split,
        } = Self::rows(cache, data, seed)?;
        let total_rows = train_rows.len() + eval_rows.len() + val_rows.as_ref().map_or(0, Vec::len);
        let placement = residency.into().placement(
            cache.feature_bytes(total_rows),
            total_rows,
            data.stream_window,
        );
        let mut named: Vec<(&str, &[usize])> =
            vec![(&data.train_split, &train_rows), (&eval_split, &eval_rows)];
        if let Some(v) = &val_rows {
            named.push(("val", v));
        }
        let mut splits = cache.load_splits(&named, device, placement)?.into_iter();
        let (train, eval) = (splits.next(), splits.next());
        Ok(RunData {
            train: train.context("train split")?,
            eval: eval.context("evaluation split")?,
            val: splits.next(),
            n_classes: cache.n_classes(),
            normal: cache.normal_ids(),
            placement,
        })
    }

    /// An empty confusion matrix over the cache's classes.
    pub fn confusion(&self) -> Result<ConfusionMatrix> {
        Ok(ConfusionMatrix::new(self.n_classes, &self.normal)?)
    }
}
