//! A trained run as a classifier: class probabilities of log-mel features, computed exactly as
//! the trainer's evaluation computes them (the run's input transform, eval mode, the checkpoint's
//! encoder and linear head, softmax).
//!
//! Everything it needs is in the run dir, so no cache is needed: `config.toml` (model options,
//! evaluation batch size), `transform.json` (the input transform with any statistics measured on
//! the training split), `features.json` (the cache's feature parameters, feature shape and
//! classes, written by `auscult train`) and a checkpoint. Turning audio into features with those
//! parameters is the pipeline's job (`auscult predict` joins the two).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::transforms::{InputTransform, MinMax};
use crate::data::{CacheData, Placement, SplitData};
use crate::model::cnn6::{Cnn6, Cnn6Config};
pub use crate::rundir::schema::FeatureSpec;
use crate::train::experiment::Experiment;
use crate::train::runtime::Runtime;

/// Class probabilities of cache rows ([`Predictor::cache_rows`]).
pub struct CacheRows {
    pub cycle_ids: Vec<i64>,
    pub labels: Vec<i64>,
    /// `[N][n_classes]`, in the order of `cycle_ids`.
    pub probabilities: Vec<Vec<f32>>,
}

/// A run's checkpoint, ready to classify features.
pub struct Predictor {
    model: Cnn6,
    transform: InputTransform,
    pub spec: FeatureSpec,
    batch: usize,
    device: Device,
    /// The checkpoint file in use.
    pub checkpoint: PathBuf,
}

impl Predictor {
    /// Loads `checkpoint` (a file) of run dir `run`.
    pub fn load(run: &Path, checkpoint: &Path, runtime: &Runtime) -> Result<Self> {
        let exp = Experiment::load(&run.join("config.toml"))?;
        let transform = crate::rundir::read_transform(run)?;
        let spec = FeatureSpec::read(run)?;
        runtime.apply_threads();
        let device = runtime.device()?;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
        let model = Cnn6::new(
            vb,
            Cnn6Config {
                num_classes: spec.classes.len(),
                dropout: exp.dropout,
                kernels: runtime.kernels,
            },
        )?;
        model
            .load_state_dict(checkpoint, "")
            .with_context(|| format!("loading {}", checkpoint.display()))?;
        if transform.minmax == MinMax::PerBatch {
            tracing::warn!(
                "the run scales inputs per batch (minmax = \"per-batch\"): a prediction depends \
                 on which segments share its batch of {}",
                exp.eval_batch_size
            );
        }
        Ok(Predictor {
            model,
            transform,
            spec,
            batch: exp.eval_batch_size,
            device,
            checkpoint: checkpoint.to_path_buf(),
        })
    }

    /// Class probabilities `[N][n_classes]` of `n` feature rows laid out as in the cache
    /// (`features.len() == n · n_mels · n_frames`, mel-major), in batches of the run's
    /// evaluation batch size.
    pub fn probabilities(&self, features: &[f32]) -> Result<Vec<Vec<f32>>> {
        let [m, t] = self.spec.feature_shape;
        let row = m * t;
        anyhow::ensure!(
            row > 0 && features.len().is_multiple_of(row),
            "{} feature values are not whole rows of {m}×{t}",
            features.len()
        );
        let n = features.len() / row;
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut parts = Vec::new();
        for start in (0..n).step_by(self.batch.max(1)) {
            let b = self.batch.max(1).min(n - start);
            let x = Tensor::from_slice(
                &features[start * row..(start + b) * row],
                (b, 1, m, t),
                &self.device,
            )?;
            let logits = self
                .model
                .forward(&self.transform.apply(&x, false, &mut rng)?, false)?;
            let p = candle_nn::ops::softmax_last_dim(&logits)?;
            parts.push(p);
        }
        if parts.is_empty() {
            return Ok(Vec::new());
        }
        // Gathered on the device, read once.
        Ok(crate::tensor::readback::to_host(&Tensor::cat(&parts, 0)?)?.to_vec2::<f32>()?)
    }

    /// Probabilities of the cache rows of `split` (every row with None), in cache order, with
    /// their cycle ids and labels: the trainer's view of the same cycles.
    pub fn cache_rows(&self, cache_dir: &Path, split: Option<&str>) -> Result<CacheRows> {
        let cache = CacheData::open(cache_dir)?;
        let rows: Vec<usize> = match split {
            Some(s) => cache.rows_of(s),
            None => (0..cache.reader.manifest().rows as usize).collect(),
        };
        let data = cache
            .load_splits(
                &[(split.unwrap_or("all"), &rows)],
                &Device::Cpu,
                Placement::Resident,
            )?
            .pop()
            .context("one split")?;
        let probabilities = self.split_probabilities(&data)?;
        Ok(CacheRows {
            cycle_ids: data.cycle_ids.clone(),
            labels: data.labels.clone(),
            probabilities,
        })
    }

    /// Probabilities of the rows of a loaded split, in its order.
    pub fn split_probabilities(&self, data: &SplitData) -> Result<Vec<Vec<f32>>> {
        let mut feats = Vec::new();
        for b in data.ordered(self.batch, true)? {
            // Loaded on `Device::Cpu`: host memory, not a device read.
            feats.extend(b?.x()?.flatten_all()?.to_vec1::<f32>()?);
        }
        self.probabilities(&feats)
    }
}
