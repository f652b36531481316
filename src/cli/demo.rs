//! `auscult demo`: the whole job on an embedded default — a synthetic ICBHI-layout database is
//! generated, built into a cache, inspected, and a CNN6 is trained on it with cross-entropy for a
//! few epochs (the paper's input and settings otherwise). No real data needed.

use std::path::PathBuf;

use anyhow::Context;
use auscult::train::experiment::{Experiment, MethodKind};
use auscult::train::runtime::Runtime;
use auscult::train::seeds::train;
use auscult_pipeline::build::{build, BuildOptions, Dataset};
use auscult_synth::{synth_icbhi, IcbhiSynthOptions};
use clap::Args;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Working folder (database in <out>/data, cache in <out>/cache).
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Recordings in the synthetic database.
    #[arg(long, default_value_t = 24)]
    pub recordings: usize,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// CE training epochs on the cache (0: stop after building; the paper trains 400).
    #[arg(long, default_value_t = 2)]
    pub epochs: usize,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let data = args.out.join("data");
    let cache = args.out.join("cache");
    let o = IcbhiSynthOptions {
        recordings: args.recordings,
        seed: args.seed,
        ..Default::default()
    };
    let s = synth_icbhi(&data, &o).with_context(|| format!("writing {}", data.display()))?;
    eprintln!(
        "1/4 synthesised {} recordings, {} cycles into {}",
        s.recordings,
        s.cycles,
        data.display()
    );
    let mut b = BuildOptions::new(Dataset::Icbhi, &data, &cache);
    b.progress = true;
    let r = build(&b).with_context(|| format!("building {}", cache.display()))?;
    eprintln!(
        "2/4 built {} rows into {} in {:.1} s",
        r.rows,
        cache.display(),
        r.seconds
    );
    let i = auscult_pipeline::inspect::inspect(&cache)?;
    eprintln!("3/4 inspect:");
    print!("{i}");
    if args.epochs == 0 {
        return Ok(());
    }
    let run = args.out.join("run");
    let exp = Experiment {
        epochs: args.epochs,
        seed: args.seed,
        ..Experiment::of(MethodKind::Ce)
    };
    eprintln!(
        "4/4 training CE for {} epoch(s) into {} (CPU; `auscult train --help` for the full run)",
        exp.epochs,
        run.display()
    );
    let s = train(&exp, &Runtime::default(), &cache, &run)
        .with_context(|| format!("training on {}", cache.display()))?;
    if let Some(b) = s.best_by_eval {
        println!(
            "best test epoch: Se {:.3}  Sp {:.3}  Score {:.3}  HS {:.3}  (metrics.jsonl, summary.json, checkpoints/ in {})",
            b.se.mean,
            b.sp.mean,
            b.score.mean,
            b.hs.mean,
            run.display()
        );
    }
    Ok(())
}
