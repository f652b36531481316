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

pub use crate::data::config::DataConfig;

pub mod sections;
pub use sections::*;

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
