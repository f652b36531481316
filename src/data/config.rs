//! Which rows of the cache train, select and evaluate (the experiment's `[data]` section).

use serde::{Deserialize, Serialize};

use super::protocol::Protocol;

/// Which rows train, select and evaluate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// Split used for training.
    pub train_split: String,
    /// Split evaluated each epoch (None: the cache's default evaluation split).
    pub eval_split: Option<String>,
    /// Fraction of the training split's patients held out to select the epoch honestly (0: off).
    pub val_fraction: f64,
    /// Streamed runs only: shards whose rows are shuffled together in a training epoch. (Resident
    /// runs shuffle globally, as `DataLoader(shuffle=True)`; a streamed epoch's order differs.)
    pub stream_window: usize,
    /// Evaluation protocol: `official`, `val`, `leakage-free` or `kfold:K` (see
    /// [`crate::data::protocol`]).
    pub protocol: Protocol,
    /// `kfold:K`: the fold evaluated (0..K); unset, `auscult train` runs every fold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fold: Option<usize>,
    /// `kfold:K`: the seed that deals patients into folds (the same folds for every run seed).
    pub fold_seed: u64,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            train_split: "train".into(),
            eval_split: None,
            val_fraction: 0.0,
            stream_window: 4,
            protocol: Protocol::Official,
            fold: None,
            fold_seed: 0,
        }
    }
}

impl DataConfig {
    /// `val` without a `val_fraction` holds out [`Protocol::DEFAULT_VAL_FRACTION`].
    pub fn apply_protocol_defaults(&mut self) {
        if self.protocol == Protocol::Val && self.val_fraction == 0.0 {
            self.val_fraction = Protocol::DEFAULT_VAL_FRACTION;
        }
    }
}
