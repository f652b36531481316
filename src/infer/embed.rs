//! `auscult embed`: a trained run's encoder embeddings `[N, 512]` for a cache's rows, with the
//! run's own input transform (its `transform.json`), for analysis outside auscult.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use candle_core::{DType, Tensor};
use candle_nn::{VarBuilder, VarMap};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::{CacheData, Placement};
use crate::model::cnn6::{Cnn6, Cnn6Config};
use crate::train::experiment::Experiment;
use crate::train::runtime::Runtime;

/// Embeddings of some rows of a cache.
pub struct Embeddings {
    /// `[N, 512]` f32, eval mode, un-augmented inputs.
    pub embedding: Tensor,
    /// Cache row of each embedding (ascending).
    pub cycle_id: Vec<i64>,
    /// Class label of each row.
    pub label: Vec<i64>,
    /// The checkpoint file used.
    pub checkpoint: PathBuf,
}

/// The checkpoint `name` of a run dir (`best`, `last`, …); with None, `best` if the run has it,
/// else `last`.
pub fn run_checkpoint(run: &Path, name: Option<&str>) -> Result<PathBuf> {
    let ck = |n: &str| run.join("checkpoints").join(format!("{n}.safetensors"));
    let path = match name {
        Some(n) => ck(n),
        None if ck("best").is_file() => ck("best"),
        None => ck("last"),
    };
    anyhow::ensure!(
        path.is_file(),
        "{}: no such checkpoint (is {} a run dir of `auscult train`?)",
        path.display(),
        run.display()
    );
    Ok(path)
}

/// Embeds the rows of `split` (every row with None) of the cache in `cache_dir` with the encoder
/// of `checkpoint` in run dir `run`, streaming the shards (bounded memory).
pub fn embed(
    run: &Path,
    cache_dir: &Path,
    checkpoint: Option<&str>,
    split: Option<&str>,
    runtime: &Runtime,
) -> Result<Embeddings> {
    let exp = Experiment::load(&run.join("config.toml"))?;
    let transform = crate::rundir::read_transform(run)?;
    let checkpoint = run_checkpoint(run, checkpoint)?;
    runtime.apply_threads();
    let device = runtime.device()?;
    let cache = CacheData::open(cache_dir)?;
    let rows: Vec<usize> = match split {
        Some(s) => cache.rows_of(s),
        None => (0..cache.reader.manifest().rows as usize).collect(),
    };
    anyhow::ensure!(
        !rows.is_empty(),
        "no rows to embed (splits: {})",
        cache.split_names().join(", ")
    );
    let vm = VarMap::new();
    let vb = VarBuilder::from_varmap(&vm, DType::F32, &device);
    let cfg = Cnn6Config {
        num_classes: cache.n_classes(),
        dropout: exp.dropout,
        kernels: runtime.kernels,
    };
    let model = Cnn6::new(vb, cfg)?;
    model
        .load_state_dict(&checkpoint, "")
        .with_context(|| format!("loading {}", checkpoint.display()))?;
    let name = split.unwrap_or("all");
    let placement = Placement::Streamed {
        prefetch: runtime.stream_prefetch,
        window: 1,
    };
    let data = cache
        .load_splits(&[(name, &rows)], &device, placement)?
        .pop()
        .context("one split")?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut parts = Vec::new();
    for b in data.ordered(exp.eval_batch_size, true)? {
        let x = transform.apply(&b?.x()?, false, &mut rng)?;
        parts.push(model.embed(&x, false)?);
    }
    Ok(Embeddings {
        // Gathered on the device, read once.
        embedding: crate::tensor::readback::to_host(&Tensor::cat(&parts, 0)?)?,
        cycle_id: data.cycle_ids.clone(),
        label: data.labels.clone(),
        checkpoint,
    })
}

impl Embeddings {
    /// Writes `embedding` f32 `[N, 512]`, `cycle_id` i64 `[N]` and `label` i64 `[N]` as one
    /// safetensors file (temporary name, then renamed).
    pub fn save(&self, path: &Path) -> Result<()> {
        let n = self.cycle_id.len();
        let dev = &candle_core::Device::Cpu;
        let tensors: HashMap<String, Tensor> = [
            ("embedding".to_string(), self.embedding.clone()),
            (
                "cycle_id".to_string(),
                Tensor::from_vec(self.cycle_id.clone(), n, dev)?,
            ),
            (
                "label".to_string(),
                Tensor::from_vec(self.label.clone(), n, dev)?,
            ),
        ]
        .into_iter()
        .collect();
        crate::tensor::file::write_safetensors(path, tensors, None)
    }
}
