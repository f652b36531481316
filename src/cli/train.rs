//! `auscult train <method>`: one experiment config (TOML, paper defaults) + flag overrides.

use std::path::PathBuf;

use anyhow::Context;
use auscult::train::config::TrainConfig;
use auscult::train::methods::{MethodKind, DEFAULT_MSCL_HEADS};
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum TrainCommand {
    /// Cross-entropy: CNN6 + linear head, class-weighted CE (Table 1 "CE").
    Ce(TrainArgs),
    /// Supervised contrastive learning, then linear evaluation (Table 1 "SCL"; Table 2 with
    /// --labels).
    ///
    /// Two SpecAugmented views per example go through the encoder and a projector
    /// (512→512→ReLU→128); SupCon (temperature 0.06) pulls together views sharing a label. The
    /// last-epoch encoder (or the lowest-loss one: --set encoder_checkpoint=best-loss) is then
    /// frozen and a linear classifier is trained on un-augmented inputs (class-weighted CE, Adam
    /// lr 0.1, weight decay 1e-4, 50 epochs: the `linear_eval` section), evaluated every epoch.
    Scl(SclArgs),
    /// Label-free contrastive learning (each view's only positive is its twin), then linear
    /// evaluation (Table 2 "SimCLR").
    Simclr(TrainArgs),
    /// α·SupCon + (1 − α)·CE on two views with a shared encoder, evaluated through the linear
    /// head every epoch (Table 1 "Hybrid"; α = 0.5).
    Hybrid(HybridArgs),
    /// Multi-head SCL: one projector and SupCon loss per label spec, weighted sum, then linear
    /// evaluation on the class label (Table 2/3 "M-SCL").
    Mscl(MsclArgs),
}

/// `scl` options.
#[derive(Args, Debug)]
pub struct SclArgs {
    #[command(flatten)]
    pub common: TrainArgs,
    /// Positives share this label instead of the class: metadata columns joined by `+`, `class`
    /// meaning the class label — e.g. `sex+age_group` (the paper's 4 synthetic classes),
    /// `age_group+class`, `sex+class`, `sex+age_group+class`, `device`, `chest_location`. Rows
    /// with a null in any of the columns are left out of the loss (counted in the summary).
    #[arg(long, value_name = "SPEC")]
    pub labels: Option<String>,
    /// SupCon temperature (default 0.06).
    #[arg(long)]
    pub temperature: Option<f64>,
}

/// `hybrid` options.
#[derive(Args, Debug)]
pub struct HybridArgs {
    #[command(flatten)]
    pub common: TrainArgs,
    /// Weight of the SupCon term; CE gets 1 − alpha (default 0.5).
    #[arg(long)]
    pub alpha: Option<f64>,
    /// SupCon temperature (default 0.06).
    #[arg(long)]
    pub temperature: Option<f64>,
}

/// `mscl` options.
#[derive(Args, Debug)]
pub struct MsclArgs {
    #[command(flatten)]
    pub common: TrainArgs,
    /// Heads as `spec:weight,...`; each spec is a `--labels`-style label (`class`, `sex`,
    /// `sex+age_group`, ...) with its own projector; loss = Σ weight · SupCon(spec).
    #[arg(long, value_name = "SPEC:WEIGHT,...", long_help = format!(
        "Heads as `spec:weight,...`; each spec is a `--labels`-style label (`class`, `sex`, \
         `sex+age_group`, ...) with its own projector; loss = Σ weight · SupCon(spec). \
         Default: {DEFAULT_MSCL_HEADS} (the paper's M-SCL)."
    ))]
    pub heads: Option<String>,
    /// SupCon temperature (default 0.06).
    #[arg(long)]
    pub temperature: Option<f64>,
}

/// Options shared by every method. Flags override the config file; `--set field=value`
/// overrides any config field (see configs/*.toml for the names).
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Cache folder written by `auscult pipeline build`.
    #[arg(long)]
    pub data: PathBuf,
    /// Experiment config (TOML); absent fields take the paper's defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Run dir (config.toml, metrics.jsonl, summary.json, checkpoints/); default
    /// runs/<config file stem>, or runs/<method> without --config.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// First seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of seeds (seed..seed+runs-1), each in <out>/seed_<s>/, with mean ± std in <out>/summary.json.
    #[arg(long)]
    pub runs: Option<usize>,
    /// cpu or cuda:N (CUDA needs a `--features cuda` build).
    #[arg(long)]
    pub device: Option<String>,
    /// PANNs AudioSet checkpoint (Cnn6_mAP=0.343.pth, zip format, or .safetensors).
    #[arg(long)]
    pub pretrained: Option<PathBuf>,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Hold out this fraction of training patients to select the epoch honestly.
    #[arg(long)]
    pub val_fraction: Option<f64>,
    /// Split evaluated each epoch (default: test for ICBHI, inter_test for SPRSound).
    #[arg(long)]
    pub eval_split: Option<String>,
    /// Plain (unweighted) cross-entropy.
    #[arg(long)]
    pub no_class_weights: bool,
    /// Where the features live while training: `auto` (resident on the device when train +
    /// validation + evaluation fit --memory-budget-mib, else streamed from the shards),
    /// `resident`, or `stream` (bounded memory: `stream_prefetch` shards read ahead, rows of
    /// `stream_window` shards shuffled together).
    #[arg(long, value_name = "auto|resident|stream")]
    pub data_residency: Option<String>,
    /// `auto` residency: the most MiB of f32 features kept resident (default 4096).
    #[arg(long, value_name = "MIB")]
    pub memory_budget_mib: Option<u64>,
    /// Any config field: `--set minmax=per-batch --set specaugment=official-randn`.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
}

impl TrainArgs {
    pub fn config(&self) -> anyhow::Result<TrainConfig> {
        let mut c = match &self.config {
            Some(p) => TrainConfig::load(p)?,
            None => TrainConfig::default(),
        };
        for s in &self.set {
            c.set(s)?;
        }
        macro_rules! over {
            ($($f:ident),*) => { $( if let Some(v) = &self.$f { c.$f = v.clone(); } )* };
        }
        over!(seed, runs, device, epochs, lr, batch_size, val_fraction);
        if self.pretrained.is_some() {
            c.pretrained = self.pretrained.clone();
        }
        if self.eval_split.is_some() {
            c.eval_split = self.eval_split.clone();
        }
        if self.no_class_weights {
            c.class_weights = false;
        }
        if let Some(r) = &self.data_residency {
            c.set(&format!("data_residency={r}"))?;
        }
        if let Some(m) = self.memory_budget_mib {
            c.memory_budget_mib = m;
        }
        c.validate()?;
        Ok(c)
    }
}

pub fn run(cmd: TrainCommand) -> anyhow::Result<()> {
    let (kind, args, cfg) = match cmd {
        TrainCommand::Ce(a) => {
            let c = a.config()?;
            (MethodKind::Ce, a, c)
        }
        TrainCommand::Simclr(a) => {
            let c = a.config()?;
            (MethodKind::Simclr, a, c)
        }
        TrainCommand::Scl(a) => {
            let mut c = a.common.config()?;
            if a.labels.is_some() {
                c.labels = a.labels.clone();
            }
            c.temperature = a.temperature.unwrap_or(c.temperature);
            (MethodKind::Scl, a.common, c)
        }
        TrainCommand::Hybrid(a) => {
            let mut c = a.common.config()?;
            c.alpha = a.alpha.unwrap_or(c.alpha);
            c.temperature = a.temperature.unwrap_or(c.temperature);
            (MethodKind::Hybrid, a.common, c)
        }
        TrainCommand::Mscl(a) => {
            let mut c = a.common.config()?;
            if a.heads.is_some() {
                c.heads = a.heads.clone();
            }
            c.temperature = a.temperature.unwrap_or(c.temperature);
            (MethodKind::Mscl, a.common, c)
        }
    };
    cfg.validate()?;
    let config_name = args
        .config
        .as_ref()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned());
    let default_dir = config_name.as_deref().unwrap_or(kind.name());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(default_dir));
    let s = auscult::train::run::train_named(kind, &cfg, config_name.as_deref(), &args.data, &out)
        .with_context(|| format!("training {} on {}", kind.name(), args.data.display()))?;
    if let Some(b) = &s.best_by_eval {
        eprintln!(
            "{}: best-epoch Score {:.4} ± {:.4} (Se {:.4}, Sp {:.4}, HS {:.4}) over {} seed(s) → {}",
            kind.name(),
            b.score.mean,
            b.score.std,
            b.se.mean,
            b.sp.mean,
            b.hs.mean,
            s.seeds.len(),
            out.display()
        );
    }
    Ok(())
}
