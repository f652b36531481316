//! One experiment: the TOML file `auscult train --config` reads, and the `config.toml` every run
//! dir holds. It names its method (`method = "scl"`) and carries that method's section
//! (`[scl]`, `[hybrid]`, …); every absent field takes the paper's / official code's value.
//!
//! Only what changes results lives here. Where a run executes (device, threads, data residency,
//! memory budget: [`Runtime`](crate::train::runtime::Runtime)) is given by flags and recorded in the
//! run's `summary.json`; values measured during a run (training-input statistics) are outputs
//! (`transform.json`), never written back into the experiment. So `auscult train --config
//! runs/x/config.toml` repeats run `x`.
//!
//! ```toml
//! method = "scl"
//! epochs = 400
//! lr = 1e-3
//! [scl]
//! labels = "sex+age_group"
//! [linear_eval]
//! epochs = 50
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::data::protocol::Protocol;

use crate::data::transforms::{MinMax, SpecAugmentParams, Standardize};

/// The methods of the paper (and SimCLR), each a loss plus heads over the one training loop.
/// (The doc comments are the `auscult train --help` text.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MethodKind {
    /// cross-entropy: CNN6 + linear head, class-weighted CE (Table 1 "CE")
    Ce,
    /// supervised contrastive learning on two SpecAugmented views (projector 512→512→128,
    /// temperature 0.06), then linear evaluation of the frozen encoder (Table 1 "SCL"; Table 2
    /// with --labels)
    Scl,
    /// label-free contrastive learning (each view's only positive is its twin), then linear
    /// evaluation (Table 2 "SimCLR")
    Simclr,
    /// α·SupCon + (1 − α)·CE on two views, evaluated through the linear head every epoch
    /// (Table 1 "Hybrid", α 0.5)
    Hybrid,
    /// multi-head SCL: one projector and SupCon loss per label spec, weighted sum, then linear
    /// evaluation (Table 2/3 "M-SCL")
    Mscl,
}

impl MethodKind {
    /// Every method, in the order `--help` lists them.
    pub const ALL: [MethodKind; 5] = [
        MethodKind::Ce,
        MethodKind::Scl,
        MethodKind::Simclr,
        MethodKind::Hybrid,
        MethodKind::Mscl,
    ];

    /// The name used in configs, on the command line and in run summaries.
    pub fn name(self) -> &'static str {
        match self {
            MethodKind::Ce => "ce",
            MethodKind::Scl => "scl",
            MethodKind::Simclr => "simclr",
            MethodKind::Hybrid => "hybrid",
            MethodKind::Mscl => "mscl",
        }
    }

    /// Whether the method is contrastive-only and evaluated by linear evaluation afterwards.
    pub fn needs_linear_eval(self) -> bool {
        matches!(
            self,
            MethodKind::Scl | MethodKind::Simclr | MethodKind::Mscl
        )
    }
}

impl std::fmt::Display for MethodKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for MethodKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        MethodKind::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                format!("unknown method `{s}` (expected ce, scl, simclr, hybrid or mscl)")
            })
    }
}

/// M-SCL heads when the config names none (the paper's λ = 0.25 class, 0.75 sex + age group).
pub const DEFAULT_MSCL_HEADS: &str = "class:0.25,sex+age_group:0.75";

/// Which encoder a contrastive method hands to linear evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncoderCheckpoint {
    /// The last epoch's encoder (official).
    #[default]
    Last,
    /// The epoch with the lowest training loss.
    BestLoss,
}

/// Precision of f32 matrix products on a GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatmulPrecision {
    /// Full f32 (default).
    #[default]
    F32,
    /// TF32 tensor cores for cuBLAS f32 GEMMs (10-bit mantissa products, f32 accumulation):
    /// faster on NVIDIA GPUs, slightly different numbers. No effect on CPU.
    Tf32,
}

/// The cosine learning-rate schedule (`CosineAnnealingLR`, stepped once per epoch over all
/// epochs, so with 400 epochs and `t_max` 40 the rate oscillates with period 80).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    pub t_max: u64,
    pub eta_min: f64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            t_max: 40,
            eta_min: 1e-6,
        }
    }
}

/// dB log-mel → min-max → SpecAugment (training only) → standardisation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InputConfig {
    /// `per-sample` (default, batch-independent) or `per-batch` (exact official replication).
    pub minmax: MinMax,
    /// `official` (mean 0.3690, std 0.0255), `train-stats` (measured over the training split,
    /// written to the run's `transform.json`) or `none`.
    pub standardize: Standardize,
    /// The `[input.specaugment]` section: `apply = "always" | "official-randn" | "off"`, mask
    /// parameters, torchaudio band formula.
    pub specaugment: SpecAugmentParams,
}

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

/// `[scl]`: supervised contrastive learning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SclConfig {
    /// What positives share: `class`, or metadata columns joined by `+` (`sex+age_group`).
    pub labels: String,
    pub temperature: f64,
    /// Projector output size (512 → 512 → ReLU → `projection_dim`).
    pub projection_dim: usize,
    pub encoder_checkpoint: EncoderCheckpoint,
}

impl Default for SclConfig {
    fn default() -> Self {
        SclConfig {
            labels: "class".into(),
            temperature: 0.06,
            projection_dim: 128,
            encoder_checkpoint: EncoderCheckpoint::Last,
        }
    }
}

/// `[simclr]`: contrastive learning without labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimclrConfig {
    pub temperature: f64,
    pub projection_dim: usize,
    pub encoder_checkpoint: EncoderCheckpoint,
}

impl Default for SimclrConfig {
    fn default() -> Self {
        SimclrConfig {
            temperature: 0.06,
            projection_dim: 128,
            encoder_checkpoint: EncoderCheckpoint::Last,
        }
    }
}

/// `[mscl]`: several SupCon heads, one projector each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MsclConfig {
    /// `spec:weight,...`, each spec a `labels`-style label.
    pub heads: String,
    pub temperature: f64,
    pub projection_dim: usize,
    pub encoder_checkpoint: EncoderCheckpoint,
}

impl Default for MsclConfig {
    fn default() -> Self {
        MsclConfig {
            heads: DEFAULT_MSCL_HEADS.into(),
            temperature: 0.06,
            projection_dim: 128,
            encoder_checkpoint: EncoderCheckpoint::Last,
        }
    }
}

/// `[hybrid]`: α·SupCon + (1 − α)·CE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HybridConfig {
    /// Weight of the SupCon term; CE gets 1 − alpha.
    pub alpha: f64,
    pub temperature: f64,
    pub projection_dim: usize,
}

impl Default for HybridConfig {
    fn default() -> Self {
        HybridConfig {
            alpha: 0.5,
            temperature: 0.06,
            projection_dim: 128,
        }
    }
}

/// `[linear_eval]`: the linear classifier trained on the frozen encoder of a contrastive method
/// (Adam, no schedule, class-weighted CE as the run's `class_weights`).
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

/// The contrastive settings a method's section gives (SCL, SimCLR, M-SCL).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContrastiveSettings<'a> {
    /// `scl`'s label spec; None for SimCLR and M-SCL.
    pub labels: Option<&'a str>,
    /// `mscl`'s heads; None otherwise.
    pub heads: Option<&'a str>,
    pub temperature: f64,
    pub projection_dim: usize,
    pub encoder_checkpoint: EncoderCheckpoint,
}

/// Everything that decides one experiment's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Experiment {
    /// `ce`, `scl`, `simclr`, `hybrid` or `mscl`. A config file must name it unless the command
    /// does (`auscult train scl --config …`).
    pub method: Option<MethodKind>,
    /// First seed; `runs` seeds are seed..seed+runs-1.
    pub seed: u64,
    pub runs: usize,
    /// PANNs AudioSet checkpoint (`Cnn6_mAP=0.343.pth` or a .safetensors); None: from scratch.
    pub pretrained: Option<PathBuf>,
    /// Epochs (paper: 400 on ICBHI, 200 on SPRSound).
    pub epochs: usize,
    pub batch_size: usize,
    /// Adam learning rate (paper: 1e-3 from scratch, 1e-4 from AudioSet weights).
    pub lr: f64,
    /// Coupled L2 weight decay (added to the gradient, as `torch.optim.Adam`).
    pub weight_decay: f64,
    /// Class-weighted cross-entropy with the official weights from the training counts.
    pub class_weights: bool,
    /// Dropout 0.2 after each conv block (official option, off).
    pub dropout: bool,
    /// Batch size of evaluation passes (changes results only with `input.minmax = "per-batch"`).
    pub eval_batch_size: usize,
    /// `f32` (default) or `tf32` (GPU GEMMs on TF32 tensor cores; part of the experiment
    /// because it changes the numbers).
    pub matmul_precision: MatmulPrecision,
    pub schedule: ScheduleConfig,
    pub input: InputConfig,
    pub data: DataConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scl: Option<SclConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simclr: Option<SimclrConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mscl: Option<MsclConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hybrid: Option<HybridConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linear_eval: Option<LinearEvalConfig>,
}

impl Default for Experiment {
    fn default() -> Self {
        Experiment {
            method: None,
            seed: 0,
            runs: 1,
            pretrained: None,
            epochs: 400,
            batch_size: 128,
            lr: 1e-3,
            weight_decay: 1e-4,
            class_weights: true,
            dropout: false,
            eval_batch_size: 256,
            matmul_precision: MatmulPrecision::F32,
            schedule: ScheduleConfig::default(),
            input: InputConfig::default(),
            data: DataConfig::default(),
            scl: None,
            simclr: None,
            mscl: None,
            hybrid: None,
            linear_eval: None,
        }
    }
}

/// Experiment-file errors, naming the file or the field.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {msg}", path.display())]
    Toml { path: PathBuf, msg: String },
    #[error("--set {0}")]
    Override(String),
    #[error("invalid experiment: {0}")]
    Invalid(String),
}

impl Experiment {
    /// An experiment of `method` with the paper's defaults and the method's section filled in.
    pub fn of(method: MethodKind) -> Self {
        let mut e = Experiment {
            method: Some(method),
            ..Experiment::default()
        };
        e.fill_method_section();
        e
    }

    /// Reads a TOML file; absent fields keep their defaults, unknown fields are errors.
    pub fn load(path: &Path) -> Result<Self, ExperimentError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExperimentError::Io {
            path: path.into(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses TOML text (`origin` names it in errors).
    pub fn parse(text: &str, origin: &Path) -> Result<Self, ExperimentError> {
        toml::from_str(text).map_err(|e| ExperimentError::Toml {
            path: origin.into(),
            msg: e.to_string(),
        })
    }

    /// The method, which [`Experiment::validate`] guarantees is named.
    pub fn method(&self) -> Result<MethodKind, ExperimentError> {
        self.method.ok_or_else(|| {
            ExperimentError::Invalid(
                "no method: write `method = \"ce\"` (or scl, simclr, hybrid, mscl) in the config, \
                 or name it on the command line (`auscult train ce …`)"
                    .into(),
            )
        })
    }

    /// Sets the method a command names: fills it in when the file names none, and refuses a
    /// file that names another one. `origin` names the config in the error.
    pub fn require_method(
        &mut self,
        command: MethodKind,
        origin: &str,
    ) -> Result<(), ExperimentError> {
        match self.method {
            Some(m) if m != command => Err(ExperimentError::Invalid(format!(
                "{origin} is a `{m}` experiment (method = \"{m}\"), but the command is \
                 `auscult train {command}`: run `auscult train --config …` (the file's method) or \
                 `auscult train {m} …`"
            ))),
            _ => {
                self.method = Some(command);
                self.fill_method_section();
                Ok(())
            }
        }
    }

    /// Adds the method's own section (and `[linear_eval]` for contrastive methods) with its
    /// defaults where the file has none, so the experiment written to a run dir is complete.
    pub fn fill_method_section(&mut self) {
        match self.method {
            Some(MethodKind::Scl) => {
                self.scl.get_or_insert_with(Default::default);
            }
            Some(MethodKind::Simclr) => {
                self.simclr.get_or_insert_with(Default::default);
            }
            Some(MethodKind::Mscl) => {
                self.mscl.get_or_insert_with(Default::default);
            }
            Some(MethodKind::Hybrid) => {
                self.hybrid.get_or_insert_with(Default::default);
            }
            Some(MethodKind::Ce) | None => {}
        }
        if self.method.is_some_and(MethodKind::needs_linear_eval) {
            self.linear_eval.get_or_insert_with(Default::default);
        }
    }

    /// Applies `field=value` overrides (value in TOML syntax; bare words are taken as strings),
    /// e.g. `lr=1e-4`, `input.minmax=per-batch`, `scl.labels=sex+age_group`,
    /// `linear_eval.epochs=10`. A section that is absent is created with its defaults first.
    pub fn set(&mut self, assignment: &str) -> Result<(), ExperimentError> {
        let bad = |m: String| ExperimentError::Override(m);
        let (key, value) = assignment
            .split_once('=')
            .ok_or_else(|| bad(format!("`{assignment}` is not field=value")))?;
        let (key, value) = (key.trim(), value.trim());
        let parsed: toml::Value = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.to_string()));
        let parts: Vec<&str> = key.split('.').collect();
        // An override of a section's field creates the section (with its defaults) first.
        if parts.len() > 1 {
            match parts[0] {
                "scl" => {
                    self.scl.get_or_insert_with(Default::default);
                }
                "simclr" => {
                    self.simclr.get_or_insert_with(Default::default);
                }
                "mscl" => {
                    self.mscl.get_or_insert_with(Default::default);
                }
                "hybrid" => {
                    self.hybrid.get_or_insert_with(Default::default);
                }
                "linear_eval" => {
                    self.linear_eval.get_or_insert_with(Default::default);
                }
                _ => {}
            }
        }
        let mut table = toml::Table::try_from(&*self).map_err(|e| bad(e.to_string()))?;
        let mut slot = &mut table;
        for p in &parts[..parts.len() - 1] {
            slot = slot
                .get_mut(*p)
                .and_then(|v| v.as_table_mut())
                .ok_or_else(|| bad(format!("`{key}`: no section `{p}`")))?;
        }
        slot.insert(parts[parts.len() - 1].to_string(), parsed);
        *self = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| bad(format!("`{assignment}`: {e}")))?;
        Ok(())
    }

    /// Checks that the method is named, that no section of another method is set, and value
    /// ranges.
    pub fn validate(&self) -> Result<(), ExperimentError> {
        let bad = |m: String| Err(ExperimentError::Invalid(m));
        let method = self.method()?;
        let sections = [
            ("scl", self.scl.is_some(), MethodKind::Scl),
            ("simclr", self.simclr.is_some(), MethodKind::Simclr),
            ("mscl", self.mscl.is_some(), MethodKind::Mscl),
            ("hybrid", self.hybrid.is_some(), MethodKind::Hybrid),
        ];
        for (name, present, owner) in sections {
            if present && owner != method {
                return bad(format!(
                    "the experiment has a [{name}] section, but its method is `{method}`, which \
                     would ignore it"
                ));
            }
        }
        if self.linear_eval.is_some() && !method.needs_linear_eval() {
            return bad(format!(
                "the experiment has a [linear_eval] section, but method `{method}` classifies \
                 during training and has no linear evaluation"
            ));
        }
        if self.epochs == 0 || self.batch_size == 0 || self.runs == 0 || self.eval_batch_size == 0 {
            return bad("epochs, batch_size, runs and eval_batch_size must be at least 1".into());
        }
        if self.lr.is_nan()
            || self.lr <= 0.0
            || self.weight_decay.is_nan()
            || self.weight_decay < 0.0
        {
            return bad("lr must be > 0 and weight_decay ≥ 0".into());
        }
        if !(0.0..0.9).contains(&self.data.val_fraction) {
            return bad("data.val_fraction must be in [0, 0.9)".into());
        }
        if self.data.stream_window == 0 {
            return bad("data.stream_window must be at least 1 shard".into());
        }
        if let Some(h) = &self.hybrid {
            if !(0.0..=1.0).contains(&h.alpha) {
                return bad(format!("hybrid.alpha must be in [0, 1], got {}", h.alpha));
            }
        }
        if let Some(c) = self
            .contrastive()
            .map(|c| (c.temperature, c.projection_dim))
        {
            if c.0.is_nan() || c.0 <= 0.0 || c.1 == 0 {
                return bad(format!(
                    "{method}.temperature must be > 0 and projection_dim ≥ 1"
                ));
            }
        }
        if let Some(h) = &self.hybrid {
            if h.temperature.is_nan() || h.temperature <= 0.0 || h.projection_dim == 0 {
                return bad("hybrid.temperature must be > 0 and projection_dim ≥ 1".into());
            }
        }
        if let Some(le) = &self.linear_eval {
            if le.epochs == 0
                || le.lr.is_nan()
                || le.lr <= 0.0
                || le.weight_decay.is_nan()
                || le.weight_decay < 0.0
            {
                return bad(
                    "linear_eval: epochs ≥ 1, lr > 0 and weight_decay ≥ 0 are required".into(),
                );
            }
        }
        Ok(())
    }

    /// The contrastive settings of SCL, SimCLR or M-SCL (None for other methods).
    pub fn contrastive(&self) -> Option<ContrastiveSettings<'_>> {
        match self.method? {
            MethodKind::Scl => self.scl.as_ref().map(|c| ContrastiveSettings {
                labels: Some(&c.labels),
                heads: None,
                temperature: c.temperature,
                projection_dim: c.projection_dim,
                encoder_checkpoint: c.encoder_checkpoint,
            }),
            MethodKind::Simclr => self.simclr.as_ref().map(|c| ContrastiveSettings {
                labels: None,
                heads: None,
                temperature: c.temperature,
                projection_dim: c.projection_dim,
                encoder_checkpoint: c.encoder_checkpoint,
            }),
            MethodKind::Mscl => self.mscl.as_ref().map(|c| ContrastiveSettings {
                labels: None,
                heads: Some(&c.heads),
                temperature: c.temperature,
                projection_dim: c.projection_dim,
                encoder_checkpoint: c.encoder_checkpoint,
            }),
            MethodKind::Ce | MethodKind::Hybrid => None,
        }
    }

    /// The `[linear_eval]` settings (defaults when the section is absent).
    pub fn linear_eval(&self) -> LinearEvalConfig {
        self.linear_eval.clone().unwrap_or_default()
    }

    /// The TOML text written as `config.toml` in a run dir.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// What the paper's rows are told apart by: the method and what the method trains on, the
    /// initialisation. `auscult report` matches runs to the paper's numbers with it.
    pub fn signature(&self) -> Signature {
        let method = self.method.map(MethodKind::name).unwrap_or("?").to_string();
        let mut full = self.clone();
        full.fill_method_section();
        let labels = full
            .contrastive()
            .and_then(|c| c.labels.or(c.heads))
            .map(str::to_string);
        Signature {
            method,
            init: if self.pretrained.is_some() {
                "audioset".into()
            } else {
                "scratch".into()
            },
            labels: labels.map(|l| canonical_labels(&l)),
        }
    }
}

/// What distinguishes the paper's rows: method, initialisation and the contrastive labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub method: String,
    /// `scratch` or `audioset`.
    pub init: String,
    /// `scl`'s label spec or `mscl`'s heads, canonical (spaces removed); None otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
}

/// A label spec or heads list with spaces removed and the columns of each `+` group sorted, so
/// `age_group + sex` and `sex+age_group` compare equal.
pub fn canonical_labels(spec: &str) -> String {
    spec.split(',')
        .map(|head| {
            let (labels, weight) = match head.split_once(':') {
                Some((l, w)) => (l, Some(w.trim())),
                None => (head, None),
            };
            let mut cols: Vec<&str> = labels.split('+').map(str::trim).collect();
            cols.sort_unstable();
            let cols = cols.join("+");
            match weight {
                Some(w) => format!("{cols}:{w}"),
                None => cols,
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::transforms::SpecAugmentApply;

    #[test]
    fn defaults_are_the_papers() {
        let e = Experiment::of(MethodKind::Scl);
        assert_eq!((e.epochs, e.batch_size, e.schedule.t_max), (400, 128, 40));
        assert_eq!(
            (e.lr, e.weight_decay, e.schedule.eta_min),
            (1e-3, 1e-4, 1e-6)
        );
        let c = e.contrastive().unwrap();
        assert_eq!((c.temperature, c.projection_dim), (0.06, 128));
        assert_eq!(c.labels, Some("class"));
        assert_eq!(HybridConfig::default().alpha, 0.5);
        assert_eq!(
            e.linear_eval(),
            LinearEvalConfig {
                epochs: 50,
                lr: 0.1,
                weight_decay: 1e-4
            }
        );
        assert_eq!(MsclConfig::default().heads, DEFAULT_MSCL_HEADS);
    }

    #[test]
    fn toml_round_trip_and_overrides() {
        let mut e = Experiment::of(MethodKind::Scl);
        e.set("lr=1e-4").unwrap();
        e.set("input.minmax=per-batch").unwrap();
        e.set("input.specaugment.apply=off").unwrap();
        e.set("linear_eval.epochs=7").unwrap();
        e.set("data.eval_split=inter_test").unwrap();
        e.set("scl.labels=sex+age_group").unwrap();
        e.set("matmul_precision=tf32").unwrap();
        assert_eq!(e.matmul_precision, MatmulPrecision::Tf32);
        assert_eq!(e.lr, 1e-4);
        assert_eq!(e.input.minmax, MinMax::PerBatch);
        assert_eq!(e.input.specaugment.apply, SpecAugmentApply::Off);
        assert_eq!(e.linear_eval().epochs, 7);
        assert_eq!(e.data.eval_split.as_deref(), Some("inter_test"));
        assert_eq!(e.contrastive().unwrap().labels, Some("sex+age_group"));
        let back = Experiment::parse(&e.to_toml(), Path::new("x")).unwrap();
        assert_eq!(back, e);
        assert!(e.set("no_such_field=1").is_err());
        assert!(e.set("epochs=many").is_err());
    }

    #[test]
    fn the_written_experiment_names_its_method_and_section() {
        let text = Experiment::of(MethodKind::Hybrid).to_toml();
        assert!(text.contains("method = \"hybrid\""), "{text}");
        assert!(
            text.contains("[hybrid]") && text.contains("alpha = 0.5"),
            "{text}"
        );
        assert!(
            !text.contains("[scl]") && !text.contains("[linear_eval]"),
            "{text}"
        );
        let text = Experiment::of(MethodKind::Mscl).to_toml();
        assert!(
            text.contains("[mscl]") && text.contains("[linear_eval]"),
            "{text}"
        );
    }

    #[test]
    fn method_mismatch_and_foreign_sections_are_errors() {
        let mut e = Experiment::parse("method = \"scl\"\n", Path::new("a.toml")).unwrap();
        let err = e.require_method(MethodKind::Ce, "a.toml").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("a.toml") && msg.contains("`scl`") && msg.contains("train ce"),
            "{msg}"
        );
        e.require_method(MethodKind::Scl, "a.toml").unwrap();
        e.validate().unwrap();

        let e = Experiment::parse("method = \"ce\"\n[scl]\nlabels = \"sex\"\n", Path::new("b"))
            .unwrap();
        let msg = e.validate().unwrap_err().to_string();
        assert!(msg.contains("[scl]") && msg.contains("`ce`"), "{msg}");

        let e = Experiment::parse(
            "method = \"hybrid\"\n[linear_eval]\nepochs = 3\n",
            Path::new("c"),
        )
        .unwrap();
        assert!(e
            .validate()
            .unwrap_err()
            .to_string()
            .contains("[linear_eval]"));

        let e = Experiment::parse("epochs = 3\n", Path::new("d")).unwrap();
        assert!(e.validate().unwrap_err().to_string().contains("no method"));

        let mut e = Experiment::parse("epochs = 3\n", Path::new("d")).unwrap();
        e.require_method(MethodKind::Mscl, "d").unwrap();
        assert_eq!(e.contrastive().unwrap().heads, Some(DEFAULT_MSCL_HEADS));
        e.validate().unwrap();

        assert!(Experiment::parse("method = \"cee\"\n", Path::new("e")).is_err());
        assert!(Experiment::parse("lr = 1e-3\nunknown = 1\n", Path::new("e")).is_err());
    }

    #[test]
    fn signatures_tell_the_papers_rows_apart() {
        let mut a = Experiment::of(MethodKind::Scl);
        a.set("scl.labels=age_group+sex").unwrap();
        a.pretrained = Some("w.pth".into());
        let s = a.signature();
        assert_eq!((s.method.as_str(), s.init.as_str()), ("scl", "audioset"));
        assert_eq!(s.labels.as_deref(), Some("age_group+sex"));
        let mut b = Experiment::of(MethodKind::Scl);
        b.set("scl.labels=sex + age_group").unwrap();
        b.pretrained = Some("other.pth".into());
        assert_eq!(a.signature(), b.signature());
        assert_ne!(a.signature(), Experiment::of(MethodKind::Scl).signature());
        assert_eq!(Experiment::of(MethodKind::Ce).signature().labels, None);
        assert_eq!(
            canonical_labels("class:0.25, sex+age_group:0.75"),
            "class:0.25,age_group+sex:0.75"
        );
    }
}
