//! `torch.optim.Adam` with PyTorch's exact semantics (candle-nn only ships AdamW).
//!
//! Per parameter θ with gradient g at its own step t (PyTorch counts steps per parameter, and
//! a parameter whose gradient is missing is skipped: no moment update, no step count):
//!
//! ```text
//! g  ← g + weight_decay·θ            (coupled L2: added to the gradient, not AdamW)
//! m  ← β1·m + (1−β1)·g
//! v  ← β2·v + (1−β2)·g²
//! step_size = lr / (1 − β1^t)
//! denom     = sqrt(v) / sqrt(1 − β2^t) + eps
//! θ  ← θ − step_size · m / denom
//! ```
//!
//! Bias corrections and the step size are computed in f64 on the host (as PyTorch does with
//! Python floats). On CPU, for `f32` parameters, the whole update is one in-place pass over
//! θ, g, m and v ([`FusedCpuStep`]; the moments are host vectors): no temporary tensor, 7
//! memory streams instead of about 40. It does the same `f32` operations in the same order as
//! the candle-op path used on other devices, so both give bit-identical parameters (tested).

use std::cell::RefCell;

use candle_core::backprop::GradStore;
use candle_core::{bail, CpuStorage, DType, Device, InplaceOp2, Layout, Result, Tensor, Var};
use rayon::prelude::*;

use crate::model::conv::f32_data;

/// Adam hyper-parameters; the defaults are PyTorch's (`lr` 1e-3, betas (0.9, 0.999), eps 1e-8,
/// no weight decay).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamParams {
    /// Learning rate (changed between steps by the LR schedule via [`Adam::set_lr`]).
    pub lr: f64,
    /// Decay of the first-moment running average.
    pub beta1: f64,
    /// Decay of the second-moment running average.
    pub beta2: f64,
    /// Term added to the bias-corrected denominator.
    pub eps: f64,
    /// Coupled L2 penalty: `weight_decay·θ` is added to the gradient before the moments.
    pub weight_decay: f64,
}

impl Default for AdamParams {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// Running state of one parameter, created at its first gradient (zeros, like PyTorch).
#[derive(Debug)]
struct MomentState {
    /// Number of updates this parameter received (PyTorch's `state["step"]`).
    step: u64,
    /// First moment `m` and second moment `v`.
    moments: Moments,
}

/// Where a parameter's moments live.
#[derive(Debug)]
enum Moments {
    /// Host vectors (CPU `f32` parameters), updated in place by [`FusedCpuStep`].
    Host {
        exp_avg: Vec<f32>,
        exp_avg_sq: Vec<f32>,
    },
    /// Tensors on the parameter's device, replaced by candle ops every step.
    Tensors { exp_avg: Tensor, exp_avg_sq: Tensor },
}

impl Moments {
    /// Zeros for `theta` (host vectors when the fused CPU step applies).
    fn zeros(theta: &Tensor, fused: bool) -> Result<Self> {
        Ok(if fused {
            Moments::Host {
                exp_avg: vec![0.0; theta.elem_count()],
                exp_avg_sq: vec![0.0; theta.elem_count()],
            }
        } else {
            Moments::Tensors {
                exp_avg: theta.zeros_like()?,
                exp_avg_sq: theta.zeros_like()?,
            }
        })
    }

    /// `m` and `v` as tensors shaped like `theta` (host vectors are copied).
    fn tensors(&self, theta: &Tensor) -> Result<(Tensor, Tensor)> {
        match self {
            Moments::Host {
                exp_avg,
                exp_avg_sq,
            } => Ok((
                Tensor::from_slice(exp_avg, theta.dims(), &Device::Cpu)?,
                Tensor::from_slice(exp_avg_sq, theta.dims(), &Device::Cpu)?,
            )),
            Moments::Tensors {
                exp_avg,
                exp_avg_sq,
            } => Ok((exp_avg.clone(), exp_avg_sq.clone())),
        }
    }
}

/// `torch.optim.Adam` over a list of candle variables.
#[derive(Debug)]
pub struct Adam {
    /// The parameters, in the order given to [`Adam::new`].
    vars: Vec<Var>,
    /// Moment state per parameter (`None` until its first gradient).
    states: Vec<Option<MomentState>>,
    /// Hyper-parameters (the learning rate changes over training).
    params: AdamParams,
    /// Whether CPU `f32` parameters take the fused in-place step (see [`Adam::with_fused_cpu`]).
    fused_cpu: bool,
}

impl Adam {
    /// An optimiser over `vars` (non-float variables are ignored, as they cannot have gradients).
    pub fn new(vars: Vec<Var>, params: AdamParams) -> Result<Self> {
        let vars: Vec<Var> = vars.into_iter().filter(|v| v.dtype().is_float()).collect();
        let states = vars.iter().map(|_| None).collect();
        Ok(Self {
            vars,
            states,
            params,
            fused_cpu: true,
        })
    }

    /// Whether parameter `theta` takes the fused in-place CPU step.
    fn fused(&self, theta: &Tensor) -> bool {
        self.fused_cpu
            && theta.device().is_cpu()
            && theta.dtype() == DType::F32
            && theta.is_contiguous()
    }

    /// Whether CPU `f32` parameters take the fused in-place step (the default) or the candle-op
    /// path every other device takes. Both compute the same f32 operations in the same order;
    /// turning it off exists to check that (bit-identical results) and to measure the gain.
    pub fn with_fused_cpu(mut self, fused: bool) -> Self {
        self.fused_cpu = fused;
        self
    }

    /// Whether parameter `index`'s moments live in host vectors (the fused CPU step) rather than
    /// tensors; `None` before its first gradient.
    pub fn moments_on_host(&self, index: usize) -> Option<bool> {
        let state = self.states.get(index)?.as_ref()?;
        Some(matches!(state.moments, Moments::Host { .. }))
    }

    /// Current learning rate.
    pub fn lr(&self) -> f64 {
        self.params.lr
    }

    /// Sets the learning rate used by the following steps.
    pub fn set_lr(&mut self, lr: f64) {
        self.params.lr = lr;
    }

    /// The hyper-parameters in use.
    pub fn params(&self) -> &AdamParams {
        &self.params
    }

    /// The parameters this optimiser updates.
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// Number of updates parameter `index` has received so far (0 if it never had a gradient).
    pub fn step_count(&self, index: usize) -> u64 {
        self.states
            .get(index)
            .and_then(|s| s.as_ref())
            .map_or(0, |s| s.step)
    }

    /// Each parameter's update count and moments (`m`, `v`), None before its first update: what
    /// a resumable state keeps.
    pub fn moments(&self) -> Result<Vec<Option<(u64, Tensor, Tensor)>>> {
        self.states
            .iter()
            .zip(&self.vars)
            .map(|(s, var)| {
                s.as_ref()
                    .map(|s| {
                        let (m, v) = s.moments.tensors(var.as_tensor())?;
                        Ok((s.step, m, v))
                    })
                    .transpose()
            })
            .collect()
    }

    /// Restores the moments of parameter `index` (as [`Adam::moments`] returned them).
    pub fn set_moments(
        &mut self,
        index: usize,
        moments: Option<(u64, Tensor, Tensor)>,
    ) -> Result<()> {
        let var = self
            .vars
            .get(index)
            .ok_or_else(|| candle_core::Error::Msg(format!("Adam has no parameter {index}")))?;
        if let Some((_, m, v)) = &moments {
            if m.dims() != var.dims() || v.dims() != var.dims() {
                return Err(candle_core::Error::Msg(format!(
                    "Adam moments of parameter {index} have shape {:?}, the parameter {:?}",
                    m.dims(),
                    var.dims()
                )));
            }
        }
        let fused = self.fused(var.as_tensor());
        self.states[index] = match moments {
            None => None,
            Some((step, exp_avg, exp_avg_sq)) => Some(MomentState {
                step,
                moments: if fused {
                    let host = |t: Tensor| -> Result<Vec<f32>> {
                        t.to_dtype(DType::F32)?.flatten_all()?.to_vec1()
                    };
                    Moments::Host {
                        exp_avg: host(exp_avg)?,
                        exp_avg_sq: host(exp_avg_sq)?,
                    }
                } else {
                    Moments::Tensors {
                        exp_avg,
                        exp_avg_sq,
                    }
                },
            }),
        };
        Ok(())
    }

    /// One Adam update of every parameter that has a gradient in `grads`.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        let AdamParams {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
        } = self.params;
        for i in 0..self.vars.len() {
            let fused = self.fused(self.vars[i].as_tensor());
            let var = &self.vars[i];
            let theta = var.as_tensor();
            let Some(grad) = grads.get(theta) else {
                continue;
            };
            let state = match &mut self.states[i] {
                Some(s) => s,
                slot => slot.insert(MomentState {
                    step: 0,
                    moments: Moments::zeros(theta, fused)?,
                }),
            };
            state.step += 1;
            let t = state.step as i32;
            let bias_correction1 = 1.0 - beta1.powi(t);
            let bias_correction2_sqrt = (1.0 - beta2.powi(t)).sqrt();
            let step_size = lr / bias_correction1;
            match &mut state.moments {
                Moments::Host {
                    exp_avg,
                    exp_avg_sq,
                } => {
                    let op = FusedCpuStep {
                        moments: RefCell::new((exp_avg, exp_avg_sq)),
                        k: StepConsts {
                            decay: weight_decay != 0.0,
                            weight_decay: weight_decay as f32,
                            beta1: beta1 as f32,
                            one_minus_beta1: (1.0 - beta1) as f32,
                            beta2: beta2 as f32,
                            one_minus_beta2: (1.0 - beta2) as f32,
                            inv_bias_correction2_sqrt: (1.0 / bias_correction2_sqrt) as f32,
                            eps: eps as f32,
                            neg_step_size: (-step_size) as f32,
                        },
                    };
                    theta.inplace_op2(&grad.contiguous()?, &op)?;
                }
                Moments::Tensors {
                    exp_avg,
                    exp_avg_sq,
                } => {
                    // Detached so that the moments never hold on to a backprop graph.
                    let grad = grad.detach();
                    let grad = if weight_decay != 0.0 {
                        (grad + theta.detach().affine(weight_decay, 0.0)?)?
                    } else {
                        grad
                    };
                    *exp_avg = (exp_avg.affine(beta1, 0.0)? + grad.affine(1.0 - beta1, 0.0)?)?;
                    *exp_avg_sq =
                        (exp_avg_sq.affine(beta2, 0.0)? + grad.sqr()?.affine(1.0 - beta2, 0.0)?)?;
                    let denom = exp_avg_sq
                        .sqrt()?
                        .affine(1.0 / bias_correction2_sqrt, eps)?;
                    let update = (&*exp_avg / denom)?.affine(-step_size, 0.0)?;
                    var.set(&(theta.detach() + update)?)?;
                }
            }
        }
        Ok(())
    }
}

/// One step's constants in `f32`, converted from the `f64` hyper-parameters exactly as candle's
/// `affine` converts its factors.
#[derive(Debug, Clone, Copy)]
struct StepConsts {
    decay: bool,
    weight_decay: f32,
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    inv_bias_correction2_sqrt: f32,
    eps: f32,
    neg_step_size: f32,
}

impl StepConsts {
    /// Updates one chunk of θ, m and v from g: the candle-op path's operations, element by
    /// element, in the same order (`affine(a, b)` is `x·a + b`; Rust does not contract to FMA).
    fn apply(&self, theta: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        let k = *self;
        for (((th, &gi), mi), vi) in theta.iter_mut().zip(g).zip(m).zip(v) {
            let gi = if k.decay {
                gi + (*th * k.weight_decay + 0.0)
            } else {
                gi
            };
            *mi = (*mi * k.beta1 + 0.0) + (gi * k.one_minus_beta1 + 0.0);
            *vi = (*vi * k.beta2 + 0.0) + ((gi * gi) * k.one_minus_beta2 + 0.0);
            let denom = vi.sqrt() * k.inv_bias_correction2_sqrt + k.eps;
            *th += (*mi / denom) * k.neg_step_size + 0.0;
        }
    }
}

/// Elements per parallel task of the fused step.
pub const FUSED_CHUNK: usize = 1 << 16;

/// The fused Adam step of one CPU `f32` parameter, applied in place to θ with g as the source;
/// the moments are the parameter's host vectors.
struct FusedCpuStep<'a> {
    moments: RefCell<(&'a mut Vec<f32>, &'a mut Vec<f32>)>,
    k: StepConsts,
}

impl InplaceOp2 for FusedCpuStep<'_> {
    fn name(&self) -> &'static str {
        "auscult-adam-step"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        let g = f32_data(s2, l2, "Adam gradient")?;
        let CpuStorage::F32(theta) = s1 else {
            bail!("Adam's fused CPU step needs an f32 parameter");
        };
        let Some((start, end)) = l1.contiguous_offsets() else {
            bail!("Adam's fused CPU step needs a contiguous parameter");
        };
        let theta = &mut theta[start..end];
        let mut moments = self.moments.borrow_mut();
        let (m, v) = &mut *moments;
        if g.len() != theta.len() || m.len() != theta.len() || v.len() != theta.len() {
            bail!(
                "Adam: parameter of {} values, gradient {}, moments {} and {}",
                theta.len(),
                g.len(),
                m.len(),
                v.len()
            );
        }
        let k = self.k;
        theta
            .par_chunks_mut(FUSED_CHUNK)
            .zip(g.par_chunks(FUSED_CHUNK))
            .zip(m.par_chunks_mut(FUSED_CHUNK))
            .zip(v.par_chunks_mut(FUSED_CHUNK))
            .for_each(|(((th, g), m), v)| k.apply(th, g, m, v));
        Ok(())
    }
}

impl candle_nn::Optimizer for Adam {
    type Config = AdamParams;

    fn new(vars: Vec<Var>, config: AdamParams) -> Result<Self> {
        Adam::new(vars, config)
    }

    fn step(&mut self, grads: &GradStore) -> Result<()> {
        Adam::step(self, grads)
    }

    fn learning_rate(&self) -> f64 {
        self.lr()
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.set_lr(lr)
    }
}
