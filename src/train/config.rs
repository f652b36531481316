//! One experiment's configuration: loaded from `configs/*.toml`, overridden by flags, written
//! back as `config.toml` into the run dir. Every default is the paper's / official code's value.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::transforms::{
    BandFormula, InputTransform, MinMax, SpecAugmentApply, SpecAugmentParams, Standardize,
};

/// How scaled inputs are standardised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StandardizeChoice {
    /// mean 0.3690, std 0.0255 (official; fits per-batch-scaled data only loosely).
    #[default]
    Official,
    /// Mean/std measured over the training split of the cache (stored in the run config).
    TrainStats,
    /// Leave inputs in [0, 1].
    None,
}

/// When SpecAugment runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpecAugmentChoice {
    /// Every training batch (default).
    #[default]
    Always,
    /// The official gate `1.0 > randn()`: ≈ 84% of batches.
    OfficialRandn,
    /// Never.
    Off,
}

/// Min-max scaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MinMaxChoice {
    /// Each example by its own range (default; batch-independent).
    #[default]
    PerSample,
    /// The whole batch by its range (exact official replication).
    PerBatch,
}

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

/// Linear evaluation of a frozen encoder (SCL-style methods).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinearEvalConfig {
    pub epochs: usize,
    pub lr: f64,
    pub weight_decay: f64,
}

impl Default for LinearEvalConfig {
    fn default() -> Self {
        LinearEvalConfig {
            epochs: 50,
            lr: 0.1,
            weight_decay: 1e-4,
        }
    }
}

/// Everything one training experiment needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Epochs (paper: 400 on ICBHI, 200 on SPRSound).
    pub epochs: usize,
    pub batch_size: usize,
    /// Adam learning rate (paper: 1e-3 from scratch, 1e-4 from AudioSet weights).
    pub lr: f64,
    /// Coupled L2 weight decay (added to the gradient, as `torch.optim.Adam`).
    pub weight_decay: f64,
    /// CosineAnnealingLR T_max (stepped per epoch over all epochs: period 2·T_max).
    pub cosine_t_max: u64,
    pub cosine_eta_min: f64,
    /// First seed; `runs` seeds are seed..seed+runs-1.
    pub seed: u64,
    pub runs: usize,
    /// PANNs AudioSet checkpoint (`Cnn6_mAP=0.343.pth` or a .safetensors); None: from scratch.
    pub pretrained: Option<PathBuf>,
    /// Class-weighted cross-entropy with the official weights from the training counts.
    pub class_weights: bool,
    /// Dropout 0.2 after each conv block (official option, off).
    pub dropout: bool,
    pub minmax: MinMaxChoice,
    pub standardize: StandardizeChoice,
    /// Filled in by the trainer when `standardize = "train-stats"`: (mean, std).
    pub train_stats: Option<(f64, f64)>,
    pub specaugment: SpecAugmentChoice,
    pub freq_mask_param: usize,
    pub freq_masks: usize,
    pub time_mask_param: usize,
    pub time_masks: usize,
    /// Fraction of the training split's patients held out to select the epoch honestly (0: off).
    pub val_fraction: f64,
    /// Split used for training.
    pub train_split: String,
    /// Split evaluated each epoch (None: `test` for ICBHI, `inter_test` for SPRSound).
    pub eval_split: Option<String>,
    /// `cpu` or `cuda:N`.
    pub device: String,
    /// Batch size for evaluation passes (no effect on results).
    pub eval_batch_size: usize,
    /// Supervised-contrastive temperature.
    pub temperature: f64,
    /// Hybrid: weight of the SupCon term (CE gets 1 − alpha).
    pub alpha: f64,
    /// SCL-style methods: projector output size.
    pub projection_dim: usize,
    /// Metadata label spec for `scl --labels` (e.g. `sex+age_group`; None: the class label).
    pub labels: Option<String>,
    /// M-SCL heads `spec:weight,...` (e.g. `class:0.25,sex+age_group:0.75`).
    pub heads: Option<String>,
    /// Which encoder SCL-style methods hand to linear evaluation: `last` (official) or `best-loss`.
    pub encoder_checkpoint: String,
    pub linear_eval: LinearEvalConfig,
    /// Where split features live: `auto`, `resident` or `stream` (not a paper setting: streamed
    /// epochs shuffle shard order and rows within `stream_window` shards, not globally).
    pub data_residency: DataResidency,
    /// `auto`: the most MiB of f32 features (train + validation + evaluation rows) kept resident.
    pub memory_budget_mib: u64,
    /// Streaming: shards read and verified ahead by a background thread.
    pub stream_prefetch: usize,
    /// Streaming: shards whose rows are shuffled together in a training epoch.
    pub stream_window: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 400,
            batch_size: 128,
            lr: 1e-3,
            weight_decay: 1e-4,
            cosine_t_max: 40,
            cosine_eta_min: 1e-6,
            seed: 0,
            runs: 1,
            pretrained: None,
            class_weights: true,
            dropout: false,
            minmax: MinMaxChoice::PerSample,
            standardize: StandardizeChoice::Official,
            train_stats: None,
            specaugment: SpecAugmentChoice::Always,
            freq_mask_param: 20,
            freq_masks: 2,
            time_mask_param: 40,
            time_masks: 2,
            val_fraction: 0.0,
            train_split: "train".into(),
            eval_split: None,
            device: "cpu".into(),
            eval_batch_size: 256,
            temperature: 0.06,
            alpha: 0.5,
            projection_dim: 128,
            labels: None,
            heads: None,
            encoder_checkpoint: "last".into(),
            linear_eval: LinearEvalConfig::default(),
            data_residency: DataResidency::Auto,
            memory_budget_mib: 4096,
            stream_prefetch: 2,
            stream_window: 4,
        }
    }
}

/// Config loading errors, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {msg}", path.display())]
    Toml { path: PathBuf, msg: String },
    #[error("--set {0}")]
    Override(String),
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl TrainConfig {
    /// Reads a TOML file; absent fields keep their defaults, unknown fields are errors.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.into(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Toml {
            path: path.into(),
            msg: e.to_string(),
        })
    }

    /// Applies `field=value` overrides (value in TOML syntax; bare words are taken as strings),
    /// e.g. `lr=1e-4`, `minmax=per-batch`, `linear_eval.epochs=10`.
    pub fn set(&mut self, assignment: &str) -> Result<(), ConfigError> {
        let (key, value) = assignment
            .split_once('=')
            .ok_or_else(|| ConfigError::Override(format!("`{assignment}` is not field=value")))?;
        let (key, value) = (key.trim(), value.trim());
        let parsed: toml::Value = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .map(|mut t| t.remove("v").unwrap_or(toml::Value::String(value.into())))
            .unwrap_or_else(|_| toml::Value::String(value.to_string()));
        let mut table =
            toml::Table::try_from(&*self).map_err(|e| ConfigError::Override(e.to_string()))?;
        let mut slot = &mut table;
        let parts: Vec<&str> = key.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            slot = slot
                .get_mut(*p)
                .and_then(|v| v.as_table_mut())
                .ok_or_else(|| ConfigError::Override(format!("`{key}`: no section `{p}`")))?;
        }
        slot.insert(parts[parts.len() - 1].to_string(), parsed);
        *self = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Override(format!("`{assignment}`: {e}")))?;
        Ok(())
    }

    /// Checks value ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.into()));
        if self.epochs == 0 || self.batch_size == 0 || self.runs == 0 || self.eval_batch_size == 0 {
            return bad("epochs, batch_size, runs and eval_batch_size must be at least 1");
        }
        if self.lr.is_nan() || self.lr <= 0.0 || self.weight_decay < 0.0 {
            return bad("lr must be > 0 and weight_decay ≥ 0");
        }
        if !(0.0..0.9).contains(&self.val_fraction) {
            return bad("val_fraction must be in [0, 0.9)");
        }
        if !(0.0..=1.0).contains(&self.alpha)
            || self.temperature.is_nan()
            || self.temperature <= 0.0
        {
            return bad("alpha must be in [0, 1] and temperature > 0");
        }
        if self.stream_window == 0 {
            return bad("stream_window must be at least 1 shard");
        }
        if !matches!(self.encoder_checkpoint.as_str(), "last" | "best-loss") {
            return bad("encoder_checkpoint must be `last` or `best-loss`");
        }
        Ok(())
    }

    /// The TOML text written as `config.toml` in a run dir.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// The input transform this config describes.
    pub fn input_transform(&self) -> InputTransform {
        let specaug = match self.specaugment {
            SpecAugmentChoice::Off => None,
            choice => Some(SpecAugmentParams {
                freq_mask_param: self.freq_mask_param,
                freq_masks: self.freq_masks,
                time_mask_param: self.time_mask_param,
                time_masks: self.time_masks,
                apply: if choice == SpecAugmentChoice::OfficialRandn {
                    SpecAugmentApply::OfficialRandn
                } else {
                    SpecAugmentApply::Always
                },
                band: BandFormula::default(),
            }),
        };
        let standardize = match (self.standardize, self.train_stats) {
            (StandardizeChoice::Official, _) => Standardize::Official,
            (StandardizeChoice::None, _) => Standardize::Identity,
            (StandardizeChoice::TrainStats, Some((mean, std))) => {
                Standardize::TrainStats { mean, std }
            }
            (StandardizeChoice::TrainStats, None) => Standardize::Official,
        };
        InputTransform {
            minmax: match self.minmax {
                MinMaxChoice::PerSample => MinMax::PerSample,
                MinMaxChoice::PerBatch => MinMax::PerBatch,
            },
            specaug,
            standardize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_papers() {
        let c = TrainConfig::default();
        assert_eq!((c.epochs, c.batch_size, c.cosine_t_max), (400, 128, 40));
        assert_eq!((c.lr, c.weight_decay, c.cosine_eta_min), (1e-3, 1e-4, 1e-6));
        assert_eq!((c.temperature, c.alpha), (0.06, 0.5));
        assert_eq!(
            c.linear_eval,
            LinearEvalConfig {
                epochs: 50,
                lr: 0.1,
                weight_decay: 1e-4
            }
        );
    }

    #[test]
    fn toml_round_trip_and_overrides() {
        let mut c = TrainConfig::default();
        c.set("lr=1e-4").unwrap();
        c.set("minmax=per-batch").unwrap();
        c.set("linear_eval.epochs=7").unwrap();
        c.set("eval_split=inter_test").unwrap();
        assert_eq!(c.lr, 1e-4);
        assert_eq!(c.minmax, MinMaxChoice::PerBatch);
        assert_eq!(c.linear_eval.epochs, 7);
        assert_eq!(c.eval_split.as_deref(), Some("inter_test"));
        let back: TrainConfig = toml::from_str(&c.to_toml()).unwrap();
        assert_eq!(back, c);
        assert!(c.set("no_such_field=1").is_err());
        assert!(c.set("epochs=many").is_err());
    }
}
