//! `auscult demo`: the whole job on an embedded default, in a few minutes on a laptop CPU — a
//! synthetic ICBHI-layout database is generated, built into a cache, inspected, and a CNN6 is
//! trained on it with CE and with SCL + linear evaluation, then the runs are tabulated beside the
//! paper's numbers. No real data needed.
//!
//! Here: the flags and the pipeline's steps 1–3 (the library knows no pipeline); the training,
//! its sizing for the small data and the report are the library's ([`auscult::demo`]).

use std::path::PathBuf;

use anyhow::Context;
use auscult::demo::{train_and_report, DemoTraining};
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

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let t0 = std::time::Instant::now();
    let data = args.out.join("data");
    let cache = args.out.join("cache");
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
    let training = DemoTraining {
        epochs: args.epochs,
        scl_epochs: args.scl_epochs,
        seed: args.seed,
    };
    let (runs, report) = train_and_report(&cache, &args.out, training)?;
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
