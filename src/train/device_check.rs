//! Device parity: one training step of a method on a device through a candidate's kernels (the
//! device-generic ones, or any other [`Kernels`] value), against the same step on CPU through
//! the fused kernels in f32 — same weights, same batch — and both against the same step computed
//! in f64. Compared: the loss, the model outputs, every gradient, the BatchNorm running
//! statistics and each parameter's update by one Adam step.
//!
//! The criterion ([`Criterion`], [`ParityCheck::passes`]): each tensor by its L2 relative error
//! against the f64 result, ‖c − e‖ / ‖e‖, which must be at most
//! `max(factor × the fused f32 path's own error, floor)` (defaults 4 and 1e-4). The fused path
//! shows what f32 achieves on each tensor: the early blocks' gradients come through four
//! BatchNorm backward passes whose mean subtractions cancel digits, and at the paper's input
//! size both f32 paths are ~1e-3 from f64 there (in L2; up to 8e-3 in single elements, which is
//! why elements are not judged one by one). The floor stands where the fused path is nearly
//! exact: a plain f32 reduction over a batch's n = B·H·W terms is ~√n·ε from f64 (1e-5 at
//! [8, 1, 64, 64]), which the fused kernels beat. Adam's update is judged against what Adam in
//! f64 makes of each path's own gradient ([`ParityCheck`]'s `adam`): its first step is
//! ≈ −lr·sign(g), so against the f64 run's update every gradient element within f32 error of
//! zero would count as a full 2·lr error. Each check also reports the max relative difference
//! and the L2 relative difference between candidate and fused path (`max_rel`, `l2_rel`).
//!
//! `auscult bench parity --device cuda:0` runs it on a GPU (`scripts/gpu_check.sh`, step 1);
//! on CPU (`--device cpu`) it compares the two CPU paths, which the tests do.

use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use serde::Serialize;

use crate::model::cnn6::{Cnn6, Cnn6Config, Kernels};
use crate::model::projector::Projector;
use crate::tensor::synthetic::pseudo_random;
use crate::train::experiment::MethodKind;
use crate::train::losses::{cross_entropy, supcon_loss, OFFICIAL_TEMPERATURE};
use crate::train::optim::{Adam, AdamParams};

/// Name prefix of the Adam-update checks.
const ADAM_PREFIX: &str = "after one Adam step: ";

/// When a candidate tensor passes: its L2 relative error against the f64 run is at most
/// `max(factor × the fused f32 path's own error, floor)` (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Criterion {
    /// How much further from f64 than the fused CPU kernels a candidate may be.
    pub factor: f64,
    /// The limit where the fused path is (nearly) exact: an f32 path cannot be asked for less.
    pub floor: f64,
}

impl Default for Criterion {
    fn default() -> Self {
        Criterion {
            factor: 4.0,
            floor: 1e-4,
        }
    }
}

impl Criterion {
    /// The largest accepted candidate error where the fused path's is `reference_error`.
    pub fn limit(&self, reference_error: f64) -> f64 {
        (self.factor * reference_error).max(self.floor)
    }
}

/// One compared tensor: candidate (`c`), the fused CPU kernels in f32 (`r`) and the f64 run
/// (`e`), each flattened.
#[derive(Debug, Clone, Serialize)]
pub struct ParityCheck {
    pub name: String,
    /// max |c − r| / max |r| (reported, not judged).
    pub max_rel: f64,
    /// ‖c − r‖₂ / ‖r‖₂ (reported, not judged): insensitive to the few elements where a near
    /// tie (max-pooling over mel, ReLU at 0) routes a gradient differently.
    pub l2_rel: f64,
    /// ‖c − e‖₂ / ‖e‖₂: the candidate's error, judged against [`Criterion::limit`].
    pub candidate_error: f64,
    /// ‖r − e‖₂ / ‖e‖₂: what f32 achieves on this tensor (the fused path's error).
    pub reference_error: f64,
    /// max |c − e| / max |e| (reported).
    pub candidate_error_max: f64,
    /// max |r − e| / max |e| (reported).
    pub reference_error_max: f64,
}

impl ParityCheck {
    /// Compares `candidate` and `reference` with each other and with `exact` (same length; a
    /// candidate of another length, or with a non-finite value, has an infinite error).
    pub fn new(
        name: impl Into<String>,
        candidate: &[f64],
        reference: &[f64],
        exact: &[f64],
    ) -> Self {
        let ok = candidate.len() == exact.len() && candidate.iter().all(|v| v.is_finite());
        let bad = |v: f64| if ok { v } else { f64::INFINITY };
        ParityCheck {
            name: name.into(),
            max_rel: bad(max_rel(candidate, reference)),
            l2_rel: bad(l2_rel(candidate, reference)),
            candidate_error: bad(l2_rel(candidate, exact)),
            reference_error: l2_rel(reference, exact),
            candidate_error_max: bad(max_rel(candidate, exact)),
            reference_error_max: max_rel(reference, exact),
        }
    }

    /// A parameter's update by one Adam step. Its `max_rel` and `l2_rel` compare the two paths'
    /// updates, which differ by up to 2·lr wherever a gradient element is within f32 error of
    /// zero (the first step is ≈ −lr·sign(g)); its errors are against Adam in f64 of each path's
    /// own gradient.
    pub fn is_adam(&self) -> bool {
        self.name.starts_with(ADAM_PREFIX)
    }

    /// The largest accepted [`ParityCheck::candidate_error`].
    pub fn limit(&self, criterion: &Criterion) -> f64 {
        criterion.limit(self.reference_error)
    }

    /// The candidate is no further from the f64 result than `criterion` allows.
    pub fn passes(&self, criterion: &Criterion) -> bool {
        // NaN compares false: fails.
        self.candidate_error <= self.limit(criterion)
    }

    /// Candidate error over its limit: above 1 fails.
    pub fn margin(&self, criterion: &Criterion) -> f64 {
        let m = self.candidate_error / self.limit(criterion);
        if m.is_nan() {
            f64::INFINITY
        } else {
            m
        }
    }
}

/// All comparisons of one method's step.
#[derive(Debug, Clone, Serialize)]
pub struct ParityReport {
    pub method: String,
    pub device: String,
    /// The candidate's kernels (`Kernels` as debug-printed).
    pub kernels: String,
    pub batch: usize,
    pub frames: usize,
    pub checks: Vec<ParityCheck>,
}

impl ParityReport {
    /// Of the tensors the step computes (Adam's updates aside: see [`ParityCheck::is_adam`]),
    /// the one furthest from the fused CPU path (by `max_rel`).
    pub fn worst(&self) -> &ParityCheck {
        self.checks
            .iter()
            .filter(|c| !c.is_adam())
            .max_by(|a, b| a.max_rel.total_cmp(&b.max_rel))
            .expect("a report has checks")
    }

    /// The check nearest its limit (largest [`ParityCheck::margin`]).
    pub fn nearest_limit(&self, criterion: &Criterion) -> &ParityCheck {
        self.checks
            .iter()
            .max_by(|a, b| a.margin(criterion).total_cmp(&b.margin(criterion)))
            .expect("a report has checks")
    }

    /// The checks that fail `criterion` (see [`ParityCheck::passes`]).
    pub fn failures(&self, criterion: &Criterion) -> Vec<&ParityCheck> {
        self.checks
            .iter()
            .filter(|c| !c.passes(criterion))
            .collect()
    }
}

/// What one side's step produced, copied to the host.
#[derive(Clone)]
pub struct Step {
    /// Loss, outputs, gradients and buffers, by name.
    pub tensors: Vec<(String, Vec<f64>)>,
    /// Trainable tensors, by name: values before and after one Adam step, and their gradient.
    pub stepped: Vec<Stepped>,
}

/// One trainable tensor through one Adam step.
#[derive(Clone)]
pub struct Stepped {
    /// Its PyTorch name.
    pub name: String,
    /// Values before the step.
    pub before: Vec<f64>,
    /// Values after the step.
    pub after: Vec<f64>,
    /// Its gradient.
    pub grad: Vec<f64>,
}

fn host(t: &Tensor) -> Result<Vec<f64>> {
    Ok(t.flatten_all()?
        .to_device(&Device::Cpu)?
        .to_dtype(DType::F64)?
        .to_vec1()?)
}

/// One step of `method` (`ce` or a contrastive one: SupCon on the class labels) on `device`.
pub fn step(
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
    let mut stepped = Vec::new();
    for (name, v) in &vars {
        let g = grads
            .get(v)
            .with_context(|| format!("no gradient for {name}"))?;
        let g = host(g)?;
        tensors.push((format!("grad {name}"), g.clone()));
        stepped.push(Stepped {
            name: name.clone(),
            before: host(v.as_tensor())?,
            after: Vec::new(),
            grad: g,
        });
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
    for (s, (_, v)) in stepped.iter_mut().zip(&vars) {
        s.after = host(v.as_tensor())?;
    }
    Ok(Step { tensors, stepped })
}

/// ‖a − b‖₂ / ‖b‖₂ (0 where both are 0).
fn l2_rel(a: &[f64], b: &[f64]) -> f64 {
    let (mut d, mut n) = (0f64, 0f64);
    for (p, q) in a.iter().zip(b) {
        d += (p - q) * (p - q);
        n += q * q;
    }
    if d == 0.0 {
        0.0
    } else {
        (d / n.max(1e-300)).sqrt()
    }
}

/// max |a − b| / max |b| (0 where both are 0).
fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-300);
    let diff = a.iter().zip(b).fold(0f64, |m, (p, q)| m.max((p - q).abs()));
    diff / scale
}

/// What one Adam step from zero moments makes of gradient `g` at `theta`, in f64 (the formula of
/// [`crate::train::optim`]: at step 1 the bias corrections cancel the moments' decay).
fn adam_first_update(p: &AdamParams, theta: &[f64], g: &[f64]) -> Vec<f64> {
    theta
        .iter()
        .zip(g)
        .map(|(t, g)| {
            let g = g + p.weight_decay * t;
            let (m, v) = ((1.0 - p.beta1) * g, (1.0 - p.beta2) * g * g);
            let denom = v.sqrt() / (1.0 - p.beta2).sqrt() + p.eps;
            -p.lr / (1.0 - p.beta1) * m / denom
        })
        .collect()
}

impl Stepped {
    /// The update the step made, `after − before`.
    fn update(&self) -> Vec<f64> {
        self.after
            .iter()
            .zip(&self.before)
            .map(|(a, b)| a - b)
            .collect()
    }

    /// The update Adam in f64 makes of this path's own gradient.
    fn expected_update(&self) -> Vec<f64> {
        adam_first_update(&AdamParams::default(), &self.before, &self.grad)
    }
}

impl ParityCheck {
    /// One Adam step of a parameter: the updates compared with each other (`max_rel`,
    /// `l2_rel`), and each with what Adam in f64 makes of *that path's own gradient* (the
    /// errors). Adam's first step is ≈ −lr·sign(g): against the f64 run's update, every gradient
    /// element within a path's f32 error of zero could count as a full 2·lr error, so the
    /// gradient would be judged twice, the second time by the luck of near-zero elements. The
    /// gradient checks judge the gradient; this one judges the optimiser.
    fn adam(candidate: &Stepped, reference: &Stepped) -> Self {
        let (uc, ur) = (candidate.update(), reference.update());
        let (ec, er) = (candidate.expected_update(), reference.expected_update());
        let ok = uc.len() == ur.len() && uc.iter().all(|v| v.is_finite());
        let bad = |v: f64| if ok { v } else { f64::INFINITY };
        ParityCheck {
            name: format!("{ADAM_PREFIX}{}", candidate.name),
            max_rel: bad(max_rel(&uc, &ur)),
            l2_rel: bad(l2_rel(&uc, &ur)),
            candidate_error: bad(l2_rel(&uc, &ec)),
            reference_error: l2_rel(&ur, &er),
            candidate_error_max: bad(max_rel(&uc, &ec)),
            reference_error_max: max_rel(&ur, &er),
        }
    }
}

/// Every check of one step: each tensor of `candidate` against the same of `reference` and
/// `exact`, then each parameter's Adam update (see [`ParityCheck::adam`]).
pub fn checks(candidate: &Step, reference: &Step, exact: &Step) -> Vec<ParityCheck> {
    let mut checks = Vec::new();
    let sides = candidate
        .tensors
        .iter()
        .zip(&reference.tensors)
        .zip(&exact.tensors);
    for (((name, c), (_, r)), (_, e)) in sides {
        checks.push(ParityCheck::new(name.clone(), c, r, e));
    }
    for (c, r) in candidate.stepped.iter().zip(&reference.stepped) {
        checks.push(ParityCheck::adam(c, r));
    }
    checks
}

/// One step of `method` on `device` through `kernels` (the candidate) against the fused CPU
/// kernels (`Kernels::Auto` on CPU f32), on a `[batch, 1, 64, frames]` batch and weights drawn
/// from `seed`, both against the same step in f64.
pub fn compare(
    method: MethodKind,
    device: &Device,
    kernels: Kernels,
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
    let candidate = step(method, device, kernels, DType::F32, &x, &y, seed)?;
    let exact = step(
        method,
        &Device::Cpu,
        Kernels::Generic,
        DType::F64,
        &x,
        &y,
        seed,
    )?;
    Ok(ParityReport {
        method: method.name().to_string(),
        device: format!("{device:?}"),
        kernels: format!("{kernels:?}"),
        batch,
        frames,
        checks: checks(&candidate, &reference, &exact),
    })
}
