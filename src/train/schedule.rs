//! PyTorch's `CosineAnnealingLR`, stepped once per epoch, reproduced bit for bit in f64.
//!
//! PyTorch's `get_lr()` is *recursive* (chainable): each epoch's rate is derived from the
//! previous one, not from the closed form `η_min + (η_base − η_min)(1 + cos(π·e/T))/2`.
//! The two agree to ~1e-13 relative, but only the recursion reproduces PyTorch exactly, so
//! that is what [`CosineAnnealingLr::step`] computes (torch/optim/lr_scheduler.py,
//! `CosineAnnealingLR.get_lr`, identical in torch 1.9.1 and 2.11), with `e` the new epoch:
//!
//! ```text
//! e == 0:                          lr = base_lr                  (construction)
//! (e − 1 − T) mod 2T == 0:         lr = lr + (base_lr − η_min)(1 − cos(π/T))/2
//! otherwise:                       lr = (1 + cos(π·e/T)) / (1 + cos(π·(e−1)/T)) · (lr − η_min) + η_min
//! ```
//!
//! It is never clamped at `T_max`: after `T` epochs the rate climbs back to `base_lr` at
//! epoch `2T` and keeps cycling with period `2T` (80 epochs for the official `T_max = 40`).

/// Cosine annealing state: the rate for the current epoch.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CosineAnnealingLr {
    /// Initial learning rate (PyTorch's `base_lrs[0]`).
    base_lr: f64,
    /// Half period in epochs (`T_max`).
    t_max: u64,
    /// Floor of the cosine (`eta_min`).
    eta_min: f64,
    /// Epochs stepped so far (PyTorch's `last_epoch`, 0 after construction).
    epoch: u64,
    /// Learning rate for the current epoch (the optimiser's `group["lr"]`).
    lr: f64,
}

impl CosineAnnealingLr {
    /// The official schedule: `T_max = 40`, `eta_min = 1e-6`.
    pub fn official(base_lr: f64) -> Self {
        Self::new(base_lr, 40, 1e-6)
    }

    /// A schedule starting at `base_lr` (epoch 0). `t_max` must be ≥ 1 (0 is treated as 1).
    pub fn new(base_lr: f64, t_max: u64, eta_min: f64) -> Self {
        Self {
            base_lr,
            t_max: t_max.max(1),
            eta_min,
            epoch: 0,
            lr: base_lr,
        }
    }

    /// Learning rate to use for the current epoch.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Number of `step` calls so far.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Advances one epoch (PyTorch's `scheduler.step()`) and returns the new rate.
    pub fn step(&mut self) -> f64 {
        use std::f64::consts::PI;
        self.epoch += 1;
        let e = self.epoch as f64;
        let t = self.t_max as f64;
        // (e − 1 − T) mod 2T == 0, with Python's non-negative modulo.
        let restart =
            (self.epoch as i128 - 1 - self.t_max as i128).rem_euclid(2 * self.t_max as i128) == 0;
        self.lr = if restart {
            self.lr + (self.base_lr - self.eta_min) * (1.0 - (PI / t).cos()) / 2.0
        } else {
            (1.0 + (PI * e / t).cos()) / (1.0 + (PI * (e - 1.0) / t).cos())
                * (self.lr - self.eta_min)
                + self.eta_min
        };
        self.lr
    }

    /// Rates of epochs `0..epochs` (the rate used during epoch `i + 1` of a 1-based loop that
    /// steps the scheduler at the end of each epoch, as the official trainers do).
    pub fn sequence(base_lr: f64, t_max: u64, eta_min: f64, epochs: usize) -> Vec<f64> {
        let mut schedule = Self::new(base_lr, t_max, eta_min);
        let mut lrs = Vec::with_capacity(epochs);
        for _ in 0..epochs {
            lrs.push(schedule.lr());
            schedule.step();
        }
        lrs
    }
}
