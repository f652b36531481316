//! The experiment's sections: the method and its section (`[scl]`, `[simclr]`, `[mscl]`,
//! `[hybrid]`, `[linear_eval]`), the schedule and the input transform. Every field defaults to
//! the paper's / official code's value.

use serde::{Deserialize, Serialize};

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
