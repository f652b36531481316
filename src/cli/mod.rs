//! Argument parsing: one subcommand per stage, each calling one library entry point.

mod demo;
mod pipeline;

use clap::{Parser, Subcommand};

/// auscult — respiratory-sound representation learning (ICBHI 2017, SPRSound).
///
/// Stage 1 turns a dataset on disk into a cache of log-mel features (`auscult pipeline build`);
/// stage 2 trains on that cache (`auscult train <method>`).
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
    /// Run the whole job on a generated synthetic database (no real data needed).
    Demo(demo::DemoArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Pipeline(c) => pipeline::run(c),
        Command::Demo(a) => demo::run(a),
    }
}
