//! Argument parsing: one subcommand per stage, each calling one library entry point.

mod bench;
mod demo;
mod embed;
mod evaluate;
mod pipeline;
mod predict;
mod report;
mod runtime;
mod sweep;
mod train;

use clap::{Parser, Subcommand};

/// auscult — respiratory-sound representation learning (ICBHI 2017, SPRSound).
///
/// Stage 1 turns a dataset on disk into a cache of log-mel features (`auscult pipeline build`);
/// stage 2 trains on that cache (`auscult train --config <experiment.toml>` or
/// `auscult train <method>`).
#[derive(Parser, Debug)]
#[command(name = "auscult", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// More log output (or set AUSCULT_LOG=debug).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Stage 1: build, inspect or synthesise datasets and caches.
    #[command(subcommand)]
    Pipeline(pipeline::PipelineCommand),
    /// Stage 2: train a CNN6 on a cache with one of the paper's methods.
    ///
    /// The experiment is one TOML file (--config, e.g. configs/table1_scl_scratch.toml) that
    /// names its method (`method = "scl"`) and that method's section ([scl], [hybrid], [mscl],
    /// [linear_eval], ...); every absent field takes the paper's value. METHOD is a shorthand:
    /// without --config it is the whole experiment (paper defaults); with --config it must agree
    /// with the file. The run dir gets the complete effective experiment as config.toml, so
    /// `auscult train --config runs/x/config.toml --data CACHE` repeats run x.
    ///
    /// Every epoch the whole training state is saved (checkpoints/state.safetensors); a run
    /// stopped by Ctrl-C, SIGTERM, a crash or `kill -9` continues with `--resume <run dir>`
    /// and writes the same metrics.jsonl as an uninterrupted run (same device and threads).
    ///
    /// Examples:
    ///   auscult train ce --data cache/icbhi --epochs 50
    ///   auscult train --config configs/table1_scl_scratch.toml --data cache/icbhi --runs 10
    ///   auscult train scl --data cache/icbhi --labels sex+age_group --set linear_eval.epochs=20
    ///   auscult train --resume runs/table1_scl_scratch
    #[command(verbatim_doc_comment)]
    Train(train::TrainArgs),
    /// Classify new recordings with a trained run (per cycle: probabilities, predicted class).
    Predict(predict::PredictArgs),
    /// Encoder embeddings [N, 512] of a cache's rows from a trained run (safetensors).
    Embed(embed::EmbedArgs),
    /// Run the whole job on a generated synthetic database (no real data needed).
    Demo(demo::DemoArgs),
    /// Tabulate finished runs (Sp, Se, Score, HS) beside the paper's numbers; subgroups
    /// (--by), paired comparisons (--compare).
    Report(report::ReportArgs),
    /// Clinical evaluation of finished runs: patient-bootstrap intervals, subgroups, operating
    /// points, calibration (train does it after every run).
    Evaluate(evaluate::EvaluateArgs),
    /// A grid of experiments × seeds (a table of the paper), locally or as a Slurm job array.
    Sweep(sweep::SweepArgs),
    /// Benchmarks (speed, not results): `auscult bench train --methods ce,scl`.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Pipeline(c) => pipeline::run(c),
        Command::Demo(a) => demo::run(a),
        Command::Train(c) => train::run(c),
        Command::Report(a) => report::run(a),
        Command::Evaluate(a) => evaluate::run(a),
        Command::Sweep(a) => sweep::run(a),
        Command::Embed(a) => embed::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Bench(c) => bench::run(c),
    }
}
