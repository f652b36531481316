//! `auscult bench train`: training samples/s of the methods, side by side in one run, through the
//! real trainer (synthetic database → cache → `train` with each method and data placement).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use auscult::jobs::train_named;
use auscult::train::device_check::Criterion;
use auscult::train::experiment::{Experiment, MethodKind};
use auscult::train::runtime::{cpu_gemm_kernel, DataResidency, Kernels, Runtime};
use auscult_pipeline::build::{build, BuildOptions, Dataset};
use auscult_synth::{synth_icbhi, IcbhiSynthOptions};
use clap::{Args, Subcommand};

use super::runtime::{restyle, RuntimeArgs, RuntimeFlags, DATA_PLACEMENT};

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Training samples/s of each method (and resident vs streamed data) on one synthetic cache.
    ///
    /// Builds a synthetic ICBHI-layout cache (8 s cycles, 64 mels: the paper's input), then
    /// trains every METHOD for --epochs epochs and reports the samples/s of the last training
    /// epoch (evaluation excluded) and its ratio to the first entry. SCL-style methods run one
    /// linear-evaluation epoch afterwards (not timed). Compare ratios from one run: other load on
    /// the machine slows every entry.
    Train(BenchTrainArgs),
    /// One training step on a device against the same step on CPU: same weights and batch.
    ///
    /// The candidate runs the device block op (--kernels generic: im2col + GEMM convolutions;
    /// cudnn: cuDNN's) on --device, the reference the fused CPU kernels in f32, and the same step also runs in f64.
    /// Compared per tensor: loss, outputs, every gradient, BatchNorm running statistics and each
    /// parameter's update by one Adam step. Printed per tensor: max-rel (max |c − r| / max |r|)
    /// and l2_rel (‖c − r‖ / ‖r‖) between candidate and fused path, and each path's L2 relative
    /// error against f64 (‖c − e‖ / ‖e‖, ‖r − e‖ / ‖e‖).
    ///
    /// A tensor passes when the candidate's L2 error against f64 is at most max(--factor × the
    /// fused path's, --tolerance): the fused path shows what f32 achieves on that tensor
    /// (BatchNorm backward cancels digits in the early blocks' gradients), --tolerance is the
    /// floor where it is nearly exact. An Adam update is judged against what Adam in f64 makes
    /// of the path's own gradient (its first step is ≈ −lr·sign(g), so a gradient element within
    /// f32 error of zero may step either way; the gradient has its own check). Any failing
    /// tensor makes the command exit with an error. `--device cpu` compares the two CPU paths.
    Parity(BenchParityArgs),
}

#[derive(Args, Debug)]
pub struct BenchParityArgs {
    /// cpu or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Methods to check, comma-separated (ce, scl).
    #[arg(long, default_value = "ce,scl", value_delimiter = ',')]
    pub methods: Vec<String>,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Time frames of the input [B, 1, 64, frames] (the paper's 8 s: 251).
    #[arg(long, default_value_t = 251)]
    pub frames: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Floor of the accepted error: a tensor always passes when the candidate's L2 relative
    /// error against the f64 run (‖c − e‖ / ‖e‖) is at most this.
    #[arg(long, default_value_t = Criterion::default().floor)]
    pub tolerance: f64,
    /// How many times the fused CPU path's L2 error against f64 a candidate tensor may have.
    #[arg(long, default_value_t = Criterion::default().factor)]
    pub factor: f64,
    /// Print only the summary lines, not the per-tensor table.
    #[arg(long)]
    pub quiet: bool,
    /// The candidate's CNN6 block kernels: generic (im2col + GEMM convolutions) or cudnn (cuDNN
    /// convolutions; on CPU the fused conv kernels inside the device block op).
    #[arg(long, default_value = "generic", value_name = "generic|cudnn")]
    pub kernels: Kernels,
}

#[derive(Args, Debug)]
// The flags' places in `--help` stay where they were before RuntimeArgs (threads, device,
// matmul-precision, kernels): display orders 4, 5 and 11 (ties sort by name: kernels < out).
#[command(mut_arg("device", |a| {
    restyle(a, "cpu or cuda:N").default_value("cpu").display_order(5)
}))]
#[command(mut_arg("threads", |a| {
    restyle(a, "CPU threads (rayon pool and candle's CPU ops)")
        .default_value("2")
        .display_order(4)
}))]
#[command(mut_arg("kernels", |a| restyle(
    a,
    "CNN6 block kernels: auto, generic (im2col + GEMM convolutions, what a GPU without cuDNN \
     runs: its peak memory can be measured on CPU) or cudnn",
).default_value("auto").display_order(11)))]
#[command(hide_runtime_flags(&DATA_PLACEMENT))]
pub struct BenchTrainArgs {
    /// Methods to time, comma-separated; `method@stream` streams the data from the shards
    /// instead of keeping it resident (e.g. `ce,scl,ce@stream`).
    #[arg(long, default_value = "ce,scl", value_delimiter = ',')]
    pub methods: Vec<String>,
    /// Recordings in the synthetic database (about 6 cycles each, ~60% train).
    #[arg(long, default_value_t = 16)]
    pub recordings: usize,
    /// Epochs per method; the last one is reported (the first includes warm-up).
    #[arg(long, default_value_t = 2)]
    pub epochs: usize,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// f32 or tf32 (the experiment's `matmul_precision`; GPU only).
    #[arg(long, default_value = "f32")]
    pub matmul_precision: String,
    /// Working folder (database, cache, runs); default a temporary folder, removed afterwards.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn parse_entry(s: &str) -> anyhow::Result<(MethodKind, DataResidency)> {
    let (name, placement) = s.split_once('@').unwrap_or((s, "resident"));
    let kind: MethodKind = name
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--methods: {e}"))?;
    let residency = match placement {
        "resident" => DataResidency::Resident,
        "stream" => DataResidency::Stream,
        _ => bail!("--methods `{s}`: expected `method`, `method@resident` or `method@stream`"),
    };
    Ok((kind, residency))
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Train(a) => train_bench(a),
        BenchCommand::Parity(a) => parity(a),
    }
}

fn parity(a: BenchParityArgs) -> anyhow::Result<()> {
    use auscult::train::device_check::compare;
    let device = auscult::train::runtime::parse_device(&a.device)?;
    let criterion = Criterion {
        factor: a.factor,
        floor: a.tolerance,
    };
    let mut failed = Vec::new();
    for name in &a.methods {
        let method: MethodKind = name
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--methods: {e}"))?;
        let r = compare(method, &device, a.kernels, a.batch_size, a.frames, a.seed)
            .with_context(|| format!("parity of `{name}` on {}", a.device))?;
        if !a.quiet {
            println!(
                "{name} {} ({} kernels), input [{}, 1, 64, {}], seed {}: candidate (c) vs the \
                 fused CPU path (r) and both vs f64 (e; for an Adam step: the update Adam in f64 \
                 makes of that path's own gradient)",
                a.device, r.kernels, a.batch_size, a.frames, a.seed
            );
            println!(
                "  {:<48} {:>9} {:>9} {:>9} {:>9} {:>9} {:>5}",
                "tensor", "max-rel", "l2_rel", "l2 c-e", "l2 r-e", "limit", "ok"
            );
            for c in &r.checks {
                println!(
                    "  {:<48} {:>9.2e} {:>9.2e} {:>9.2e} {:>9.2e} {:>9.2e} {:>5}",
                    c.name,
                    c.max_rel,
                    c.l2_rel,
                    c.candidate_error,
                    c.reference_error,
                    c.limit(&criterion),
                    if c.passes(&criterion) { "yes" } else { "NO" }
                );
            }
        }
        let bad = r.failures(&criterion);
        let (n, w) = (r.nearest_limit(&criterion), r.worst());
        println!(
            "parity {name} {}: {} checks, {} failing (L2 error vs f64 <= max({} x the fused \
             path's, {:.0e})); nearest its limit: {} {:.3e} vs f64 (limit {:.3e}, the fused \
             path's {:.3e}); furthest from the fused path (Adam updates aside): {} max-rel \
             {:.3e}, l2_rel {:.3e}",
            a.device,
            r.checks.len(),
            bad.len(),
            criterion.factor,
            criterion.floor,
            n.name,
            n.candidate_error,
            n.limit(&criterion),
            n.reference_error,
            w.name,
            w.max_rel,
            w.l2_rel
        );
        // One machine-readable line per method, for scripts (scripts/gpu_check.sh).
        println!("parity_json={}", serde_json::to_string(&r)?);
        for c in bad {
            failed.push(format!(
                "{name}: {} (L2 error vs f64 {:.3e}, limit {:.3e}: the fused path's {:.3e})",
                c.name,
                c.candidate_error,
                c.limit(&criterion),
                c.reference_error
            ));
        }
    }
    if !failed.is_empty() {
        bail!(
            "parity: {} tensor(s) beyond max({} x the fused path's error, {:.0e}) from f64: {}",
            failed.len(),
            criterion.factor,
            criterion.floor,
            failed.join("; ")
        );
    }
    Ok(())
}

fn train_bench(a: BenchTrainArgs) -> anyhow::Result<()> {
    let entries: Vec<_> = a
        .methods
        .iter()
        .map(|s| parse_entry(s))
        .collect::<anyhow::Result<_>>()?;
    let runtime = a.runtime.runtime_of("bench train", &DATA_PLACEMENT)?;
    runtime.apply_threads();
    let tmp = tempfile::tempdir().context("creating a temporary folder")?;
    let work = a.out.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let (db, cache) = (work.join("data"), work.join("cache"));
    let synth = IcbhiSynthOptions {
        recordings: a.recordings,
        ..Default::default()
    };
    synth_icbhi(&db, &synth).with_context(|| format!("writing {}", db.display()))?;
    let built = build(&BuildOptions::new(Dataset::Icbhi, &db, &cache))
        .with_context(|| format!("building {}", cache.display()))?;
    eprintln!("bench: {} cached cycles in {}", built.rows, cache.display());
    let mut rows = Vec::new();
    for (i, (kind, residency)) in entries.iter().enumerate() {
        let mut exp = Experiment {
            epochs: a.epochs,
            batch_size: a.batch_size,
            ..Experiment::of(*kind)
        };
        if kind.needs_linear_eval() {
            exp.set("linear_eval.epochs=1")?;
        }
        exp.set(&format!("matmul_precision={}", a.matmul_precision))?;
        let rt = Runtime {
            data_residency: *residency,
            ..runtime.clone()
        };
        let out = work.join(format!("runs/{i}_{}", a.methods[i]));
        let t0 = Instant::now();
        // A measurement run: a rerun with the same --out replaces it.
        train_named(&exp, &rt, None, &cache, &out, true)
            .with_context(|| format!("training `{}`", a.methods[i]))?;
        let wall = t0.elapsed().as_secs_f64();
        let (sps, secs) = last_epoch(&out.join("metrics.jsonl"), kind.name())?;
        eprintln!(
            "bench: {} {sps:.2} samples/s ({wall:.1} s in all)",
            a.methods[i]
        );
        rows.push((a.methods[i].clone(), sps, secs));
    }
    println!(
        "device {}, kernels {}, {} threads, batch {}, input [B, 1, 64, 251], CPU {} (GEMM {}), load average {}",
        runtime.device,
        runtime.kernels,
        runtime.threads.unwrap_or_default(),
        a.batch_size,
        cpu_model(),
        cpu_gemm_kernel(),
        std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "n/a".into())
    );
    println!(
        "| entry | train samples/s | ratio to {} | epoch s | 400 epochs, projected |",
        rows[0].0
    );
    println!("|---|---|---|---|---|");
    for (name, sps, secs) in &rows {
        println!(
            "| {name} | {sps:.2} | {:.2}× | {secs:.2} | {:.2} h |",
            sps / rows[0].1,
            secs * 400.0 / 3600.0
        );
    }
    println!(
        "(cache of {} cycles; epoch s: the training pass of the last epoch, evaluation excluded)",
        built.rows
    );
    // One `<entry>_samples_per_s=<x>` line each, for scripts (scripts/bench_methods.sh).
    for (name, sps, _) in &rows {
        println!("{name}_samples_per_s={sps:.3}");
    }
    println!("cpu_gemm_kernel={}", cpu_gemm_kernel());
    println!("kernels={}", runtime.kernels);
    Ok(())
}

/// The CPU's model name (`/proc/cpuinfo`), or `unknown`.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// (`samples_per_s`, `seconds`) of the last epoch of stage `stage` in a run's `metrics.jsonl`.
fn last_epoch(path: &std::path::Path, stage: &str) -> anyhow::Result<(f64, f64)> {
    auscult::rundir::read_stage_timings(path)?
        .into_iter()
        .rev()
        .filter(|t| t.stage == stage)
        .find_map(|t| Some((t.samples_per_s, t.seconds?)))
        .with_context(|| format!("{}: no `{stage}` epoch", path.display()))
}
