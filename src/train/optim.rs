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
//! Python floats); every tensor op stays on the parameter's device.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};

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
    /// First moment `m`.
    exp_avg: Tensor,
    /// Second moment `v`.
    exp_avg_sq: Tensor,
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
        })
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
    pub fn moments(&self) -> Vec<Option<(u64, Tensor, Tensor)>> {
        self.states
            .iter()
            .map(|s| {
                s.as_ref()
                    .map(|s| (s.step, s.exp_avg.clone(), s.exp_avg_sq.clone()))
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
        self.states[index] = moments.map(|(step, exp_avg, exp_avg_sq)| MomentState {
            step,
            exp_avg,
            exp_avg_sq,
        });
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
        for (var, state) in self.vars.iter().zip(self.states.iter_mut()) {
            let theta = var.as_tensor();
            let Some(grad) = grads.get(theta) else {
                continue;
            };
            // Detached so that the moments never hold on to a backprop graph.
            let grad = grad.detach();
            let grad = if weight_decay != 0.0 {
                (grad + theta.detach().affine(weight_decay, 0.0)?)?
            } else {
                grad
            };
            let state = match state {
                Some(s) => s,
                None => state.insert(MomentState {
                    step: 0,
                    exp_avg: theta.zeros_like()?,
                    exp_avg_sq: theta.zeros_like()?,
                }),
            };
            state.step += 1;
            let t = state.step as i32;
            let exp_avg = (state.exp_avg.affine(beta1, 0.0)? + grad.affine(1.0 - beta1, 0.0)?)?;
            let exp_avg_sq =
                (state.exp_avg_sq.affine(beta2, 0.0)? + grad.sqr()?.affine(1.0 - beta2, 0.0)?)?;
            let bias_correction1 = 1.0 - beta1.powi(t);
            let bias_correction2_sqrt = (1.0 - beta2.powi(t)).sqrt();
            let step_size = lr / bias_correction1;
            let denom = exp_avg_sq
                .sqrt()?
                .affine(1.0 / bias_correction2_sqrt, eps)?;
            let update = (&exp_avg / denom)?.affine(-step_size, 0.0)?;
            var.set(&(theta.detach() + update)?)?;
            state.exp_avg = exp_avg;
            state.exp_avg_sq = exp_avg_sq;
        }
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
