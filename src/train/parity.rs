//! Device parity: one training step of a method on a device, through the device-generic kernels,
//! against the same step on CPU through the fused kernels — same weights, same batch — and both
//! against the same step computed in f64. Compared: the loss, the model outputs, every gradient,
//! the BatchNorm running statistics and the weights after one Adam step, each as the max abs
//! difference over the reference's largest magnitude.
//!
//! f32 itself limits how close two correct implementations can be: the early blocks' gradients
//! come through four BatchNorm backward passes whose mean subtractions cancel digits, and at the
//! paper's input size both our CPU path and the generic one are about 1e-3 from the f64 result
//! there. A check therefore passes when the candidate is within `tolerance` of the CPU reference
//! *or* no further from the f64 result than twice the CPU reference's own f32 error.
//!
//! `auscult bench parity --device cuda:0` runs it on a GPU (`scripts/gpu_check.sh`, step 1);
//! on CPU (`--device cpu`) it compares the two CPU paths, which the tests do.

use std::collections::HashMap;

use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use serde::Serialize;

use super::cnn6::{Cnn6, Cnn6Config, Kernels};
use super::experiment::MethodKind;
use super::losses::{cross_entropy, supcon_loss, OFFICIAL_TEMPERATURE};
use super::methods::projector::Projector;
use super::optim::{Adam, AdamParams};
use super::test_support::pseudo_random;

/// One compared tensor.
#[derive(Debug, Clone, Serialize)]
pub struct ParityCheck {
    pub name: String,
    /// max |candidate − reference| / max |reference| (reference: the fused CPU kernels, f32).
    pub max_rel: f64,
    /// The candidate's distance from the f64 result, relative as above.
    pub candidate_error: f64,
    /// The CPU reference's own distance from the f64 result.
    pub reference_error: f64,
    /// ‖candidate − reference‖₂ / ‖reference‖₂: insensitive to the few elements where a near
    /// tie (max-pooling over mel, ReLU at 0) routes a gradient differently.
    pub l2_rel: f64,
}

impl ParityCheck {
    /// Within `tolerance` of the CPU reference, or no less accurate than it (factor 2).
    pub fn passes(&self, tolerance: f64) -> bool {
        self.max_rel <= tolerance
            || self.candidate_error <= 2.0 * self.reference_error.max(tolerance)
    }
}

/// All comparisons of one method's step.
#[derive(Debug, Clone, Serialize)]
pub struct ParityReport {
    pub method: String,
    pub device: String,
    pub batch: usize,
    pub frames: usize,
    pub checks: Vec<ParityCheck>,
}

impl ParityReport {
    /// The check furthest from the CPU reference.
    pub fn worst(&self) -> &ParityCheck {
        self.checks
            .iter()
            .max_by(|a, b| a.max_rel.total_cmp(&b.max_rel))
            .expect("a report has checks")
    }

    /// The checks that fail at `tolerance` (see [`ParityCheck::passes`]).
    pub fn failures(&self, tolerance: f64) -> Vec<&ParityCheck> {
        self.checks
            .iter()
            .filter(|c| !c.passes(tolerance))
            .collect()
    }
}

/// What one side's step produced, copied to the host.
struct Step {
    /// Loss, outputs, gradients and buffers, by name.
    tensors: Vec<(String, Vec<f64>)>,
    /// Trainable tensors after one Adam step, by name, with their gradients (same order).
    stepped: Vec<(String, Vec<f64>, Vec<f64>)>,
}

fn host(t: &Tensor) -> Result<Vec<f64>> {
    Ok(t.flatten_all()?
        .to_device(&Device::Cpu)?
        .to_dtype(DType::F64)?
        .to_vec1()?)
}

/// One step of `method` (`ce` or a contrastive one: SupCon on the class labels) on `device`.
fn step(
    method: MethodKind,
    device: &Device,
    kernels: Kernels,
    dtype: DType,
    x: &Tensor,
    y: &Tensor,
    seed: u64,
) -> Result<Step> {
    let vm = VarMap::new();
    let vb = VarBuilder::from_varmap(&vm, dtype, device);
    let cfg = Cnn6Config {
        kernels,
        ..Default::default()
    };
    let model = Cnn6::new_seeded(vb, cfg, seed)?;
    let (x, y) = (x.to_dtype(dtype)?.to_device(device)?, y.to_device(device)?);
    let mut vars: Vec<(String, Var)> = model
        .state_dict()
        .into_iter()
        .filter(|e| e.trainable)
        .map(|e| (e.name, e.var))
        .collect();
    let mut tensors = Vec::new();
    let loss = match method {
        MethodKind::Ce | MethodKind::Hybrid => {
            let logits = model.forward(&x, true)?;
            tensors.push(("logits".to_string(), host(&logits)?));
            cross_entropy(&logits, &y, None)?
        }
        MethodKind::Scl | MethodKind::Simclr | MethodKind::Mscl => {
            // Two views: the batch and a rescaled copy, each its own train-mode pass.
            let f1 = model.embed(&x, true)?;
            let f2 = model.embed(&x.affine(0.8, 0.1)?, true)?;
            let p = Projector::new_seeded(128, seed, 0, device)?;
            let cast = |v: &Var| Var::from_tensor(&v.as_tensor().to_dtype(dtype)?);
            let p = Projector {
                w1: cast(&p.w1)?,
                b1: cast(&p.b1)?,
                w2: cast(&p.w2)?,
                b2: cast(&p.b2)?,
            };
            // The linear head takes no part (as in the trainer's contrastive stage).
            vars.retain(|(n, _)| !n.starts_with("linear."));
            vars.extend(p.named("head0."));
            let (z1, z2) = (p.forward(&f1)?, p.forward(&f2)?);
            tensors.push(("embedding".to_string(), host(&f1)?));
            tensors.push(("projection".to_string(), host(&z1)?));
            supcon_loss(&z1, &z2, Some(&y), OFFICIAL_TEMPERATURE)?
        }
    };
    tensors.push(("loss".to_string(), host(&loss)?));
    let grads = loss.backward()?;
    let mut grad_of = HashMap::new();
    for (name, v) in &vars {
        let g = grads
            .get(v)
            .with_context(|| format!("no gradient for {name}"))?;
        let g = host(g)?;
        tensors.push((format!("grad {name}"), g.clone()));
        grad_of.insert(name.clone(), g);
    }
    for e in model.state_dict().into_iter().filter(|e| !e.trainable) {
        if !e.name.ends_with("num_batches_tracked") {
            tensors.push((e.name, host(e.var.as_tensor())?));
        }
    }
    let mut opt = Adam::new(
        vars.iter().map(|(_, v)| v.clone()).collect(),
        AdamParams::default(),
    )?;
    opt.step(&grads)?;
    let mut stepped = Vec::new();
    for (name, v) in &vars {
        stepped.push((name.clone(), host(v.as_tensor())?, grad_of[name].clone()));
    }
    Ok(Step { tensors, stepped })
}

/// ‖a − b‖₂ / ‖b‖₂ over the kept elements.
fn l2_rel(a: &[f64], b: &[f64], keep: impl Fn(usize) -> bool) -> f64 {
    let (mut d, mut n) = (0f64, 0f64);
    for (i, (p, q)) in a.iter().zip(b).enumerate() {
        if keep(i) {
            d += (p - q) * (p - q);
            n += q * q;
        }
    }
    (d / n.max(1e-300)).sqrt()
}

fn max_rel(a: &[f64], b: &[f64], keep: impl Fn(usize) -> bool) -> f64 {
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-30);
    let diff = a
        .iter()
        .zip(b)
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .fold(0f64, |m, (_, (p, q))| m.max((p - q).abs()));
    diff / scale
}

/// One step of `method` on `device` (device-generic kernels) against the fused CPU kernels, on
/// a `[batch, 1, 64, frames]` batch and weights drawn from `seed`.
///
/// After the Adam step, elements whose (f64) gradient is below 1e-3 of their tensor's largest are
/// left out: Adam's first step is ≈ lr·sign(g), so where a gradient is within rounding of zero its
/// sign, and the step, may differ between two correct implementations.
pub fn compare(
    method: MethodKind,
    device: &Device,
    batch: usize,
    frames: usize,
    seed: u64,
) -> Result<ParityReport> {
    let x = pseudo_random(&[batch, 1, 64, frames], seed ^ 0x5eed, -2.0, 2.0);
    let labels: Vec<u32> = (0..batch as u32).map(|i| i % 4).collect();
    let y = Tensor::from_vec(labels, batch, &Device::Cpu)?;
    let reference = step(
        method,
        &Device::Cpu,
        Kernels::Auto,
        DType::F32,
        &x,
        &y,
        seed,
    )?;
    let candidate = step(method, device, Kernels::Generic, DType::F32, &x, &y, seed)?;
    let exact = step(
        method,
        &Device::Cpu,
        Kernels::Generic,
        DType::F64,
        &x,
        &y,
        seed,
    )?;
    let mut checks = Vec::new();
    let sides = candidate
        .tensors
        .iter()
        .zip(&reference.tensors)
        .zip(&exact.tensors);
    for (((name, c), (_, r)), (_, e)) in sides {
        checks.push(ParityCheck {
            name: name.clone(),
            max_rel: max_rel(c, r, |_| true),
            candidate_error: max_rel(c, e, |_| true),
            reference_error: max_rel(r, e, |_| true),
            l2_rel: l2_rel(c, r, |_| true),
        });
    }
    let sides = candidate
        .stepped
        .iter()
        .zip(&reference.stepped)
        .zip(&exact.stepped);
    for (((name, c, _), (_, r, _)), (_, e, g)) in sides {
        let top = g.iter().fold(0f64, |m, v| m.max(v.abs()));
        let keep = |i: usize| g[i].abs() > 1e-3 * top;
        checks.push(ParityCheck {
            name: format!("after one Adam step: {name}"),
            max_rel: max_rel(c, r, keep),
            candidate_error: max_rel(c, e, keep),
            reference_error: max_rel(r, e, keep),
            l2_rel: l2_rel(c, r, keep),
        });
    }
    Ok(ParityReport {
        method: method.name().to_string(),
        device: format!("{device:?}"),
        batch,
        frames,
        checks,
    })
}
