//! `auscult train [METHOD] --config X --data CACHE`: one experiment file (TOML, paper defaults)
//! plus flag overrides, and runtime flags that never change results.

use std::path::PathBuf;

use anyhow::{bail, Context};
use auscult::train::experiment::{Experiment, MethodKind, Protocol, DEFAULT_MSCL_HEADS};
use auscult::train::interrupt::{install_interrupt_handler, Interrupted};
use auscult::train::launch::MultiRunSummary;
use clap::Args;

use super::runtime::RuntimeArgs;

/// `auscult train` flags (the long help is on the `Train` command in cli/mod.rs).
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The method (optional with --config, whose `method` it must match).
    #[arg(value_enum)]
    pub method: Option<MethodKind>,
    /// Cache folder written by `auscult pipeline build` (with --resume: only if the cache moved).
    #[arg(long, required_unless_present = "resume")]
    pub data: Option<PathBuf>,
    /// Continue the run in this dir where it stopped (its config.toml and invocation.json say
    /// what it was; finished seeds are kept, the one in progress continues after its last
    /// completed epoch). Runtime flags given here override the recorded ones.
    #[arg(
        long,
        value_name = "RUN_DIR",
        conflicts_with_all = [
            "method", "config", "out", "seed", "runs", "pretrained", "epochs", "lr",
            "batch_size", "val_fraction", "eval_split", "protocol", "fold", "no_class_weights", "labels", "heads",
            "alpha", "temperature", "set", "overwrite",
        ]
    )]
    pub resume: Option<PathBuf>,
    /// Replace a run already in --out (without it, a finished run or another experiment there
    /// is refused, and an unfinished run of this experiment points to --resume). Only the run's
    /// own files are removed.
    #[arg(long)]
    pub overwrite: bool,
    /// Experiment file (TOML); absent fields take the paper's defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Run dir (config.toml, transform.json, metrics.jsonl, summary.json, checkpoints/); default
    /// runs/<config file stem>, or runs/<method> without --config.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// First seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of seeds (seed..seed+runs-1), each in <out>/seed_<s>/, with mean ± std in
    /// <out>/summary.json.
    #[arg(long)]
    pub runs: Option<usize>,
    /// PANNs AudioSet checkpoint (Cnn6_mAP=0.343.pth, zip format, or .safetensors).
    #[arg(long)]
    pub pretrained: Option<PathBuf>,
    /// Training epochs (paper: 400 on ICBHI, 200 on SPRSound).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Adam learning rate (paper: 1e-3 from scratch, 1e-4 from AudioSet weights).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Training batch size (paper: 128).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Hold out this fraction of training patients to select the epoch honestly.
    #[arg(long)]
    pub val_fraction: Option<f64>,
    /// Evaluation protocol: `official` (the paper's: best epoch on the test split), `val` (the
    /// epoch chosen on patients held out of train, --val-fraction, default 0.2), `leakage-free`
    /// (the test split without patients who also appear in train), `kfold:K` (patient-wise
    /// folds over all recordings; every fold is run, mean ± std over folds).
    #[arg(long, value_name = "PROTOCOL")]
    pub protocol: Option<Protocol>,
    /// kfold:K only: run this one fold (0..K) instead of all.
    #[arg(long, requires = "protocol")]
    pub fold: Option<usize>,
    /// Split evaluated each epoch (default: the cache's, e.g. test for ICBHI, inter_test for
    /// SPRSound).
    #[arg(long)]
    pub eval_split: Option<String>,
    /// Plain (unweighted) cross-entropy.
    #[arg(long)]
    pub no_class_weights: bool,
    /// scl: positives share this label instead of the class: metadata columns joined by `+`,
    /// `class` meaning the class label, e.g. `sex+age_group` (the paper's 4 synthetic classes),
    /// `age_group+class`, `sex+class`, `device`. Rows with a null in any column are left out of
    /// the loss (counted in the summary).
    #[arg(long, value_name = "SPEC", help_heading = "Method options")]
    pub labels: Option<String>,
    #[arg(long, value_name = "SPEC:WEIGHT,...", help_heading = "Method options", long_help = format!(
        "mscl: heads as `spec:weight,...`; each spec is a --labels-style label with its own \
         projector; loss = Σ weight · SupCon(spec). Default: {DEFAULT_MSCL_HEADS} (the paper's \
         M-SCL)."
    ))]
    pub heads: Option<String>,
    /// hybrid: weight of the SupCon term; CE gets 1 − alpha (default 0.5).
    #[arg(long, help_heading = "Method options")]
    pub alpha: Option<f64>,
    /// scl, simclr, mscl, hybrid: SupCon temperature (default 0.06).
    #[arg(long, help_heading = "Method options")]
    pub temperature: Option<f64>,
    /// Any experiment field: `--set input.minmax=per-batch --set
    /// input.specaugment.apply=official-randn --set linear_eval.epochs=20`.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

impl TrainArgs {
    /// The effective experiment: the file (or the defaults), the method, `--set`, then flags.
    pub fn experiment(&self) -> anyhow::Result<Experiment> {
        let (mut e, origin) = match &self.config {
            Some(p) => (Experiment::load(p)?, p.display().to_string()),
            None => (Experiment::default(), "the defaults".to_string()),
        };
        match self.method {
            Some(m) => e.require_method(m, &origin)?,
            None if e.method.is_none() => bail!(
                "{}: name the method, in the file (`method = \"scl\"`) or on the command line \
                 (`auscult train scl …`)",
                origin
            ),
            None => e.fill_method_section(),
        }
        for s in &self.set {
            e.set(s)?;
        }
        let method = e.method()?;
        macro_rules! over {
            ($($f:ident),*) => { $( if let Some(v) = &self.$f { e.$f = v.clone(); } )* };
        }
        over!(seed, runs, epochs, lr, batch_size);
        if self.pretrained.is_some() {
            e.pretrained = self.pretrained.clone();
        }
        if let Some(v) = self.val_fraction {
            e.data.val_fraction = v;
        }
        if self.eval_split.is_some() {
            e.data.eval_split = self.eval_split.clone();
        }
        if let Some(p) = self.protocol {
            e.data.protocol = p;
        }
        if self.fold.is_some() {
            e.data.fold = self.fold;
        }
        if self.no_class_weights {
            e.class_weights = false;
        }
        let only = |flag: &str, allowed: &[MethodKind]| -> anyhow::Result<()> {
            if !allowed.contains(&method) {
                let names: Vec<&str> = allowed.iter().map(|m| m.name()).collect();
                bail!(
                    "{flag} is an option of {}; this experiment's method is `{method}`",
                    names.join(", ")
                );
            }
            Ok(())
        };
        if let Some(l) = &self.labels {
            only("--labels", &[MethodKind::Scl])?;
            e.set(&format!("scl.labels={l:?}"))?;
        }
        if let Some(h) = &self.heads {
            only("--heads", &[MethodKind::Mscl])?;
            e.set(&format!("mscl.heads={h:?}"))?;
        }
        if let Some(a) = self.alpha {
            only("--alpha", &[MethodKind::Hybrid])?;
            e.set(&format!("hybrid.alpha={a:?}"))?;
        }
        if let Some(t) = self.temperature {
            only(
                "--temperature",
                &[
                    MethodKind::Scl,
                    MethodKind::Simclr,
                    MethodKind::Mscl,
                    MethodKind::Hybrid,
                ],
            )?;
            e.set(&format!("{method}.temperature={t:?}"))?;
        }
        e.validate()
            .with_context(|| format!("experiment from {origin}"))?;
        Ok(e)
    }
}

/// Ends a stopped run with exit status 130 (the shell's code for SIGINT) after saying how to
/// continue it.
pub(super) fn exit_if_interrupted(e: &anyhow::Error) {
    if let Some(i) = e.downcast_ref::<Interrupted>() {
        eprintln!("{i}");
        std::process::exit(130);
    }
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    install_interrupt_handler().context("installing the SIGINT/SIGTERM handler")?;
    if let Some(dir) = &args.resume {
        // Runtime flags given here override the recorded ones, one by one.
        let recorded = auscult::train::launch::read_invocation(dir)?.runtime;
        let rt = args.runtime.runtime_over(&recorded);
        let s = auscult::jobs::resume(dir, args.data.as_deref(), Some(&rt))
            .inspect_err(exit_if_interrupted)
            .with_context(|| format!("resuming {}", dir.display()))?;
        print_result(&s.method, &s, dir);
        return Ok(());
    }
    let data = args.data.clone().context("--data is required")?;
    let exp = args.experiment()?;
    let method = exp.method()?;
    let config_name = args
        .config
        .as_ref()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned());
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("runs").join(config_name.as_deref().unwrap_or(method.name()))
    });
    let s = auscult::jobs::train_named(
        &exp,
        &args.runtime.runtime(),
        config_name.as_deref(),
        &data,
        &out,
        args.overwrite,
    )
    .inspect_err(exit_if_interrupted)
    .with_context(|| format!("training {method} on {}", data.display()))?;
    print_result(method.name(), &s, &out);
    Ok(())
}

fn print_result(method: &str, s: &MultiRunSummary, out: &std::path::Path) {
    if let Some(b) = &s.best_by_eval {
        eprintln!(
            "{method}: best-epoch Score {:.4} ± {:.4} (Se {:.4}, Sp {:.4}, HS {:.4}) over {} seed(s) → {}",
            b.score.mean,
            b.score.std,
            b.se.mean,
            b.sp.mean,
            b.hs.mean,
            s.seeds.len(),
            out.display()
        );
    }
}
