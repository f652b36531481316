//! `auscult embed`: a trained run's encoder embeddings for a cache's rows.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::runtime::{RuntimeArgs, RuntimeFlags, ONLY_DEVICE_AND_THREADS};

/// Encoder embeddings [N, 512] of a cache's rows, from a trained run, as one safetensors file.
///
/// The run's own input transform (its transform.json) and encoder checkpoint are used, in eval
/// mode without augmentation. The file holds `embedding` f32 [N, 512], `cycle_id` i64 [N] (the
/// cache row, to join with metadata.parquet) and `label` i64 [N].
///
/// Example:
///   auscult embed --run runs/scl --data cache/icbhi --split test --out emb.safetensors
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
#[command(only_device_and_threads())]
pub struct EmbedArgs {
    /// Run dir written by `auscult train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Cache folder written by `auscult pipeline build`.
    #[arg(long)]
    pub data: PathBuf,
    /// Output file (.safetensors).
    #[arg(long)]
    pub out: PathBuf,
    /// Only this split's rows (default: every row).
    #[arg(long)]
    pub split: Option<String>,
    /// Checkpoint name in <run>/checkpoints (default: best, else last).
    #[arg(long)]
    pub checkpoint: Option<String>,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

pub fn run(a: EmbedArgs) -> anyhow::Result<()> {
    let rt = a.runtime.runtime_of("embed", &ONLY_DEVICE_AND_THREADS)?;
    let e = auscult::infer::embed::embed(
        &a.run,
        &a.data,
        a.checkpoint.as_deref(),
        a.split.as_deref(),
        &rt,
    )
    .with_context(|| format!("embedding {} with {}", a.data.display(), a.run.display()))?;
    e.save(&a.out)?;
    eprintln!(
        "{} embeddings {:?} from {} → {}",
        e.cycle_id.len(),
        e.embedding.dims(),
        e.checkpoint.display(),
        a.out.display()
    );
    Ok(())
}
