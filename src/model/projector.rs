//! The official `Projector` (models.py, `apply_bn=False`): Linear 512→512, ReLU, Linear 512→d,
//! with PyTorch's default `nn.Linear` init (weight and bias U(−1/√fan_in, 1/√fan_in)), drawn
//! from a seeded ChaCha8 stream so runs are reproducible.

use std::collections::HashMap;

use candle_core::{Device, Result, Tensor, Var};
use rand::distributions::{Distribution, Uniform};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::model::cnn6::{linear_bound, EMBED_DIM};

/// First ChaCha8 stream used for projector inits (stream 0 is the encoder's).
const STREAM_BASE: u64 = 0x5c1_0000;

/// Two linear layers with a ReLU between them.
#[derive(Debug, Clone)]
pub struct Projector {
    /// `linear1.weight` `[512, 512]`, `linear1.bias` `[512]`.
    pub w1: Var,
    pub b1: Var,
    /// `linear2.weight` `[out_dim, 512]`, `linear2.bias` `[out_dim]`.
    pub w2: Var,
    pub b2: Var,
}

fn uniform(rng: &mut ChaCha8Rng, shape: &[usize], bound: f64, device: &Device) -> Result<Var> {
    let dist = Uniform::new_inclusive(-bound as f32, bound as f32);
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|_| dist.sample(rng)).collect();
    Var::from_tensor(&Tensor::from_vec(values, shape, device)?)
}

impl Projector {
    /// A projector `512 → 512 → out_dim`, initialised from (`seed`, stream `index`): head `index`
    /// of a multi-head method gets its own stream.
    pub fn new_seeded(out_dim: usize, seed: u64, index: u64, device: &Device) -> Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(STREAM_BASE + index);
        let b = linear_bound(EMBED_DIM);
        Ok(Projector {
            w1: uniform(&mut rng, &[EMBED_DIM, EMBED_DIM], b, device)?,
            b1: uniform(&mut rng, &[EMBED_DIM], b, device)?,
            w2: uniform(&mut rng, &[out_dim, EMBED_DIM], b, device)?,
            b2: uniform(&mut rng, &[out_dim], b, device)?,
        })
    }

    /// Projections `[B, out_dim]` of embeddings `[B, 512]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = x
            .matmul(&self.w1.as_tensor().t()?)?
            .broadcast_add(self.b1.as_tensor())?
            .relu()?;
        h.matmul(&self.w2.as_tensor().t()?)?
            .broadcast_add(self.b2.as_tensor())
    }

    /// Its parameters (all trainable).
    pub fn vars(&self) -> Vec<Var> {
        vec![
            self.w1.clone(),
            self.w2.clone(),
            self.b1.clone(),
            self.b2.clone(),
        ]
    }

    /// Named tensors (`linear1.weight` …) under `prefix`, for a checkpoint.
    pub fn named(&self, prefix: &str) -> Vec<(String, Var)> {
        [
            ("linear1.weight", &self.w1),
            ("linear1.bias", &self.b1),
            ("linear2.weight", &self.w2),
            ("linear2.bias", &self.b2),
        ]
        .into_iter()
        .map(|(n, v)| (format!("{prefix}{n}"), v.clone()))
        .collect()
    }

    /// Sets its tensors from a checkpoint's map (names as [`Projector::named`]).
    pub fn load(&self, tensors: &HashMap<String, Tensor>, prefix: &str) -> anyhow::Result<()> {
        for (name, var) in self.named(prefix) {
            let t = tensors
                .get(&name)
                .ok_or_else(|| anyhow::anyhow!("missing tensor `{name}`"))?;
            anyhow::ensure!(
                t.dims() == var.dims(),
                "tensor `{name}` has shape {:?}, the projector expects {:?}",
                t.dims(),
                var.dims()
            );
            var.set(&t.to_device(var.device())?.to_dtype(var.dtype())?)?;
        }
        Ok(())
    }
}
