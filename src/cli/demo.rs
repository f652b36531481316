//! `auscult demo`: the whole job on an embedded default — a synthetic ICBHI-layout database is
//! generated, built into a cache and inspected. No real data needed.

use std::path::PathBuf;

use anyhow::Context;
use auscult_pipeline::build::{build, BuildOptions, Dataset};
use auscult_pipeline::synth::{synth_icbhi, IcbhiSynthOptions};
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
        "1/3 synthesised {} recordings, {} cycles into {}",
        s.recordings,
        s.cycles,
        data.display()
    );
    let mut b = BuildOptions::new(Dataset::Icbhi, &data, &cache);
    b.progress = true;
    let r = build(&b).with_context(|| format!("building {}", cache.display()))?;
    eprintln!(
        "2/3 built {} rows into {} in {:.1} s",
        r.rows,
        cache.display(),
        r.seconds
    );
    let i = auscult_pipeline::inspect::inspect(&cache)?;
    eprintln!("3/3 inspect:");
    print!("{i}");
    Ok(())
}
