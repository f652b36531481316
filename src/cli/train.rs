//! `auscult train <method>`: one experiment config (TOML, paper defaults) + flag overrides.

use std::path::PathBuf;

use anyhow::Context;
use auscult::train::config::TrainConfig;
use auscult::train::methods::MethodKind;
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum TrainCommand {
    /// Cross-entropy: CNN6 + linear head, class-weighted CE (Table 1 "CE").
    Ce(TrainArgs),
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
    /// Run dir (config.toml, metrics.jsonl, summary.json, checkpoints/).
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
        c.validate()?;
        Ok(c)
    }
}

pub fn run(cmd: TrainCommand) -> anyhow::Result<()> {
    let (kind, args) = match cmd {
        TrainCommand::Ce(a) => (MethodKind::Ce, a),
    };
    let cfg = args.config()?;
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(kind.name()));
    let s = auscult::train::run::train(kind, &cfg, &args.data, &out)
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
