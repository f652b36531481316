//! `auscult demo`: the whole job on an embedded default, in a few minutes on a laptop CPU — a
//! synthetic ICBHI-layout database is generated, built into a cache, inspected, and a CNN6 is
//! trained on it with CE and with SCL + linear evaluation, then the runs are tabulated beside the
//! paper's numbers. No real data needed.
//!
//! Sized for the small data and a CPU, not the paper (every deviation is printed): 2-second
//! cycles (the paper pads to 8 s) so an epoch takes seconds; batch 16 so ~200 training rows give
//! a dozen optimiser steps per epoch (at the paper's 128 they give two); standardisation on the
//! training split's own statistics; SpecAugment off (it slows learning over so few epochs);
//! SCL at lr 3e-4 (at 1e-3 the projections' norm grows too fast for a few epochs to help).

use std::path::{Path, PathBuf};

use anyhow::Context;
use auscult::jobs::train_named;
use auscult::report::{
    collect_runs, default_paper_results, render, write_markdown_report, Format, Selection,
};
use auscult::train::experiment::{Experiment, MethodKind};
use auscult::train::runtime::Runtime;
use auscult_pipeline::build::{build, BuildOptions, Dataset};
use auscult_synth::{synth_icbhi, IcbhiSynthOptions};
use clap::Args;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Working folder (database in <out>/data, cache in <out>/cache, runs in <out>/runs).
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Recordings in the synthetic database.
    #[arg(long, default_value_t = 60)]
    pub recordings: usize,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// CE training epochs (0: stop after building the cache; the paper trains 400).
    #[arg(long, default_value_t = 8)]
    pub epochs: usize,
    /// SCL epochs before its linear evaluation (0: no SCL run).
    #[arg(long, default_value_t = 3)]
    pub scl_epochs: usize,
}

/// The demo's experiment for `method`: the paper's, resized for the small data (module doc).
fn demo_experiment(method: MethodKind, epochs: usize, seed: u64) -> anyhow::Result<Experiment> {
    let mut e = Experiment {
        epochs,
        seed,
        batch_size: 16,
        ..Experiment::of(method)
    };
    e.set("input.standardize=train-stats")?;
    e.set("input.specaugment.apply=off")?;
    if method == MethodKind::Scl {
        e.lr = 3e-4;
        e.set("linear_eval.epochs=15")?;
        e.set("linear_eval.lr=0.01")?;
    }
    Ok(e)
}

fn train_one(exp: &Experiment, name: &str, cache: &Path, runs: &Path) -> anyhow::Result<f64> {
    let out = runs.join(name);
    let s = train_named(exp, &Runtime::default(), Some(name), cache, &out, true)
        .with_context(|| format!("training {name} on {}", cache.display()))?;
    let b = s.best_by_eval.context("no evaluation")?;
    eprintln!(
        "   {name}: best test epoch Se {:.3}  Sp {:.3}  Score {:.3}  HS {:.3}  → {}",
        b.se.mean,
        b.sp.mean,
        b.score.mean,
        b.hs.mean,
        out.display()
    );
    Ok(b.score.mean)
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let t0 = std::time::Instant::now();
    let data = args.out.join("data");
    let cache = args.out.join("cache");
    let runs = args.out.join("runs");
    let o = IcbhiSynthOptions {
        recordings: args.recordings,
        seed: args.seed,
        ..Default::default()
    };
    let s = synth_icbhi(&data, &o).with_context(|| format!("writing {}", data.display()))?;
    eprintln!(
        "1/5 synthesised {} recordings, {} cycles into {}",
        s.recordings,
        s.cycles,
        data.display()
    );
    let mut b = BuildOptions::new(Dataset::Icbhi, &data, &cache);
    b.progress = true;
    // 2 s cycles instead of the paper's 8 s: the demo's epochs take seconds on a CPU.
    b.features.target_samples = 2 * 16000;
    let r = build(&b).with_context(|| format!("building {}", cache.display()))?;
    eprintln!(
        "2/5 built {} rows (2 s cycles, 64 mel bands) into {} in {:.1} s",
        r.rows,
        cache.display(),
        r.seconds
    );
    let i = auscult_pipeline::inspect::inspect(&cache)?;
    eprintln!("3/5 inspect:");
    print!("{i}");
    if args.epochs == 0 {
        return Ok(());
    }
    eprintln!(
        "4/5 training (CPU), sized for the demo's small data: 2 s cycles, batch 16, \
         train-split standardisation, SpecAugment off; SCL at lr 3e-4 with 15 linear-evaluation \
         epochs at lr 0.01 (the paper: 8 s, batch 128, 400 epochs — `auscult train --help`)"
    );
    let ce = demo_experiment(MethodKind::Ce, args.epochs, args.seed)?;
    train_one(&ce, "ce", &cache, &runs)?;
    if args.scl_epochs > 0 {
        let scl = demo_experiment(MethodKind::Scl, args.scl_epochs, args.seed)?;
        train_one(&scl, "scl", &cache, &runs)?;
    }
    eprintln!(
        "5/5 report (`auscult report {} --out {}`):",
        runs.display(),
        args.out.join("report.md").display()
    );
    let rows = collect_runs(std::slice::from_ref(&runs), Selection::BestEval)?;
    let paper = default_paper_results();
    print!(
        "{}",
        render(&rows, &paper, Format::Markdown, Selection::BestEval)
    );
    let report = args.out.join("report.md");
    write_markdown_report(&rows, &paper, Selection::BestEval, &report)?;
    eprintln!(
        "done in {:.0} s. The data are synthetic, so the table sets no paper numbers beside \
         them: train on real ICBHI at full size for that (README, section `The paper's grids`).\n\
         \x20 database  {}\n\
         \x20 cache     {}\n\
         \x20 runs      {} (each: config.toml, metrics.jsonl, summary.json, checkpoints/, \
         predictions/, plots/curves.png, plots/confusion.png, plots/subgroups.png, \
         plots/reliability.png; scl also plots/embedding.png)\n\
         \x20 report    {} (the table with every run's plots)\n\
         next: `auscult predict --run {} --input {}` classifies the recordings again from their WAV files; \
         `auscult report {} --by device` the metrics per recording device with patient-bootstrap intervals",
        t0.elapsed().as_secs_f64(),
        data.display(),
        cache.display(),
        runs.display(),
        report.display(),
        runs.join("ce").display(),
        data.join("ICBHI_final_database").display(),
        runs.display()
    );
    Ok(())
}
