//! CNN6 (PANNs, Kong et al. 2020) as used by the official respiratory code (`_CNN6`).
//!
//! Input `[B, 1, mel = 64, time]` (time 251 in the paper; any length ≥ 16 works). Four blocks of
//! conv 5×5 (stride 1, pad 2, no bias) → BatchNorm2d → ReLU → avg-pool 2×2 (floor), with 64 / 128
//! / 256 / 512 channels; optional dropout 0.2 after each block; then mean over time, and
//! max + mean over mel → a 512-d embedding; a linear head 512 → `num_classes`.
//!
//! Variable names are exactly PyTorch's state-dict keys (`conv_block{k}.conv1.weight`,
//! `conv_block{k}.bn1.{weight,bias,running_mean,running_var,num_batches_tracked}`,
//! `linear.{weight,bias}`), so [`Cnn6::save_state_dict`] files load in PyTorch with
//! `_CNN6.load_state_dict`. BatchNorm buffers live in the same [`VarMap`](candle_nn::VarMap) as
//! the parameters (so `VarMap::save` keeps them) but are never returned by
//! [`Cnn6::trainable_vars`]; `num_batches_tracked` is an `i64` scalar as in PyTorch.
//!
//! On CPU (`f32`) each block runs as one fused custom op with its own backward (im2col + GEMM
//! convolution, BatchNorm / ReLU / pool kernels); elsewhere as the device block op (cuDNN or
//! GEMM convolutions, BatchNorm from tensor ops, batch chunks). Same results ([`Kernels`]).
//!
//! Evaluation ([`Cnn6::embed`] / [`Cnn6::forward`] with `train = false`) reads detached weights
//! and records no graph. Dropout (off in the paper) draws its masks on the host from a ChaCha
//! stream seeded by the run's RNG ([`Cnn6::embed_train`]): the same seed gives the same masks on
//! every device and after `--resume`.

pub mod bn_relu_pool;
pub mod device_block;
pub mod fused_block;

use bn_relu_pool::BnStats;
use candle_core::{bail, DType, Result, Tensor, Var};
use candle_nn::{Init, VarBuilder};
use device_block::BlockInput;
use fused_block::conv_bn_relu_pool;
use rand::distributions::{Distribution, Uniform};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Output channels of the four blocks.
pub const CHANNELS: [usize; 4] = [64, 128, 256, 512];
/// Embedding width (channels of the last block).
pub const EMBED_DIM: usize = 512;
/// Convolution kernel size (square) and its zero padding.
pub const KERNEL: usize = 5;
const PADDING: usize = 2;
/// BatchNorm epsilon (PyTorch default).
pub const BN_EPS: f64 = 1e-5;
/// BatchNorm running-statistics momentum (PyTorch default).
pub const BN_MOMENTUM: f64 = 0.1;
/// Dropout probability after each block when enabled.
pub const DROPOUT_P: f32 = 0.2;
/// Smallest mel / time extent that survives the four 2×2 poolings.
pub const MIN_EXTENT: usize = 16;

/// Which implementation runs the conv → BN → ReLU → pool blocks (`--kernels`; results agree to
/// f32 rounding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kernels {
    /// The fused CPU kernels on CPU `f32`; on CUDA the device block op with cuDNN convolutions
    /// in a `--features cudnn` build, with GEMM convolutions otherwise (default).
    #[default]
    Auto,
    /// The device block op with im2col + GEMM convolutions from candle ops, on any device: the
    /// fallback without cuDNN, and its CPU-testable twin.
    Generic,
    /// The device block op with cuDNN convolutions (CUDA, `--features cudnn`); on CPU the same
    /// op runs the fused CPU convolution kernels.
    Cudnn,
}

impl std::str::FromStr for Kernels {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(Kernels::Auto),
            "generic" => Ok(Kernels::Generic),
            "cudnn" => Ok(Kernels::Cudnn),
            _ => Err(format!("kernels `{s}`: expected auto, generic or cudnn")),
        }
    }
}

impl std::fmt::Display for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kernels::Auto => "auto",
            Kernels::Generic => "generic",
            Kernels::Cudnn => "cudnn",
        })
    }
}

/// What the network looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cnn6Config {
    /// Width of the linear head (4 for ICBHI's normal / crackle / wheeze / both).
    pub num_classes: usize,
    /// Dropout 0.2 after each block in train mode (official `do_dropout`, off by default).
    pub dropout: bool,
    /// Block implementation (same results up to f32 rounding).
    pub kernels: Kernels,
}

impl Default for Cnn6Config {
    fn default() -> Self {
        Self {
            num_classes: 4,
            dropout: false,
            kernels: Kernels::Auto,
        }
    }
}

/// BatchNorm2d state: affine parameters (trainable) and running statistics (buffers).
#[derive(Debug, Clone)]
pub struct BatchNorm2d {
    /// `weight` (gamma), `[C]`, trainable.
    pub weight: Var,
    /// `bias` (beta), `[C]`, trainable.
    pub bias: Var,
    /// `running_mean`, `[C]`, buffer.
    pub running_mean: Var,
    /// `running_var` (unbiased batch variances averaged in), `[C]`, buffer.
    pub running_var: Var,
    /// `num_batches_tracked`, `i64` scalar, buffer.
    pub num_batches_tracked: Var,
}

/// One block: `conv1` (5×5, no bias) and `bn1`.
#[derive(Debug, Clone)]
pub struct ConvBlock {
    /// `conv1.weight`, `[out, in, 5, 5]`, trainable.
    pub conv_weight: Var,
    /// `bn1.*`.
    pub bn: BatchNorm2d,
}

/// One named tensor of the PyTorch state dict.
#[derive(Debug, Clone)]
pub struct StateEntry {
    /// PyTorch key without prefix, e.g. `conv_block2.bn1.running_var`.
    pub name: String,
    /// The variable holding it.
    pub var: Var,
    /// True for parameters the optimiser updates, false for BatchNorm buffers.
    pub trainable: bool,
}

/// The CNN6 network.
#[derive(Debug, Clone)]
pub struct Cnn6 {
    /// `conv_block1` … `conv_block4`.
    pub blocks: Vec<ConvBlock>,
    /// `linear.weight`, `[num_classes, 512]`.
    pub linear_weight: Var,
    /// `linear.bias`, `[num_classes]`.
    pub linear_bias: Var,
    pub config: Cnn6Config,
}

/// Errors reading or writing a state-dict file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: cannot read safetensors file: {source}")]
    Read {
        path: PathBuf,
        source: Box<candle_core::Error>,
    },
    #[error("{path}: missing tensor `{key}`")]
    MissingKey { path: PathBuf, key: String },
    #[error("{path}: tensor `{key}` has shape {found:?}, the model expects {expected:?}")]
    ShapeMismatch {
        path: PathBuf,
        key: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("{path}: tensor `{key}`: {source}")]
    Tensor {
        path: PathBuf,
        key: String,
        source: Box<candle_core::Error>,
    },
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Xavier-uniform bound of a conv weight `[o, c, kh, kw]`: `sqrt(6 / (fan_in + fan_out))`.
pub fn xavier_bound(o: usize, c: usize, kh: usize, kw: usize) -> f64 {
    let rf = (kh * kw) as f64;
    (6.0 / ((c as f64 * rf) + (o as f64 * rf))).sqrt()
}

/// PyTorch's default `nn.Linear` bound for weight and bias: `1 / sqrt(fan_in)`.
pub fn linear_bound(fan_in: usize) -> f64 {
    1.0 / (fan_in as f64).sqrt()
}

fn var_of(t: Tensor) -> Result<Var> {
    Var::from_tensor(&t)
}

impl BatchNorm2d {
    fn new(vb: VarBuilder, c: usize) -> Result<Self> {
        let nbt = match vb.get_with_hints_dtype(
            (),
            "num_batches_tracked",
            Init::Const(0.0),
            DType::I64,
        ) {
            Ok(t) => t,
            // A read-only source without the key (e.g. an older checkpoint): start from 0.
            Err(_) if !vb.contains_tensor("num_batches_tracked") => {
                Tensor::zeros((), DType::I64, vb.device())?
            }
            Err(e) => return Err(e),
        };
        Ok(Self {
            weight: var_of(vb.get_with_hints(c, "weight", Init::Const(1.0))?)?,
            bias: var_of(vb.get_with_hints(c, "bias", Init::Const(0.0))?)?,
            running_mean: var_of(vb.get_with_hints(c, "running_mean", Init::Const(0.0))?)?,
            running_var: var_of(vb.get_with_hints(c, "running_var", Init::Const(1.0))?)?,
            num_batches_tracked: var_of(nbt.to_dtype(DType::I64)?)?,
        })
    }

    /// Folds one train-mode batch into the running statistics (PyTorch: momentum 0.1, the
    /// running variance averages the *unbiased* batch variance).
    fn update_running(&self, mean: &Tensor, var_biased: &Tensor, count: usize) -> Result<()> {
        if count < 2 {
            bail!("batch-norm in train mode needs more than 1 value per channel, got {count}");
        }
        let m = BN_MOMENTUM;
        let unbiased = (var_biased * (count as f64 / (count as f64 - 1.0)))?;
        let rm = self.running_mean.as_detached_tensor();
        let rv = self.running_var.as_detached_tensor();
        self.running_mean
            .set(&((&rm * (1.0 - m))? + (mean.to_dtype(rm.dtype())? * m)?)?)?;
        self.running_var
            .set(&((&rv * (1.0 - m))? + (unbiased.to_dtype(rv.dtype())? * m)?)?)?;
        // Counted on the device: reading the counter back would stall a GPU between blocks.
        let n = self.num_batches_tracked.as_detached_tensor();
        self.num_batches_tracked.set(&(&n + n.ones_like()?)?)
    }
}

impl ConvBlock {
    fn new(vb: VarBuilder, c_in: usize, c_out: usize) -> Result<Self> {
        let bound = xavier_bound(c_out, c_in, KERNEL, KERNEL);
        let w = vb.pp("conv1").get_with_hints(
            (c_out, c_in, KERNEL, KERNEL),
            "weight",
            Init::Uniform {
                lo: -bound,
                up: bound,
            },
        )?;
        Ok(Self {
            conv_weight: var_of(w)?,
            bn: BatchNorm2d::new(vb.pp("bn1"), c_out)?,
        })
    }

    /// conv → BN → ReLU → avg-pool 2×2; in train mode also updates the running statistics. In
    /// eval mode the weights are read detached: nothing is recorded for autograd.
    pub fn forward(&self, x: &Tensor, train: bool, kernels: Kernels) -> Result<Tensor> {
        let bn = &self.bn;
        let t = |v: &Var| match train {
            true => v.as_tensor().clone(),
            false => v.as_detached_tensor(),
        };
        let (rm, rv) = (
            bn.running_mean.as_detached_tensor(),
            bn.running_var.as_detached_tensor(),
        );
        let stats = if train {
            BnStats::Batch
        } else {
            BnStats::Running {
                mean: &rm,
                var: &rv,
            }
        };
        let (weight, gamma, beta) = (t(&self.conv_weight), t(&bn.weight), t(&bn.bias));
        let input = BlockInput {
            x,
            weight: &weight,
            gamma: &gamma,
            beta: &beta,
            stats,
            padding: PADDING,
            eps: BN_EPS,
        };
        let (out, moments) = conv_bn_relu_pool(input, kernels)?;
        if let Some(mo) = moments {
            bn.update_running(&mo.mean, &mo.var, mo.count)?;
        }
        Ok(out)
    }
}

impl Cnn6 {
    /// Builds the network from `vb` (names as above). With a `VarMap`-backed builder, missing
    /// variables are created with the official init drawn from candle's (unseeded) RNG: use
    /// [`Cnn6::new_seeded`] or [`Cnn6::reinit`] for a reproducible init.
    pub fn new(vb: VarBuilder, config: Cnn6Config) -> Result<Self> {
        let mut blocks = Vec::with_capacity(4);
        let mut c_in = 1;
        for (k, &c_out) in CHANNELS.iter().enumerate() {
            blocks.push(ConvBlock::new(
                vb.pp(format!("conv_block{}", k + 1)),
                c_in,
                c_out,
            )?);
            c_in = c_out;
        }
        let bound = linear_bound(EMBED_DIM);
        let init = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let lin = vb.pp("linear");
        let linear_weight =
            var_of(lin.get_with_hints((config.num_classes, EMBED_DIM), "weight", init)?)?;
        let linear_bias = var_of(lin.get_with_hints(config.num_classes, "bias", init)?)?;
        Ok(Self {
            blocks,
            linear_weight,
            linear_bias,
            config,
        })
    }

    /// [`Cnn6::new`] followed by [`Cnn6::reinit`]`(seed)`: same seed → identical weights.
    pub fn new_seeded(vb: VarBuilder, config: Cnn6Config, seed: u64) -> Result<Self> {
        let model = Self::new(vb, config)?;
        model.reinit(seed)?;
        Ok(model)
    }

    /// Overwrites every variable with the official init drawn from ChaCha8(`seed`): convs
    /// Xavier-uniform, BN weight 1 / bias 0 / running mean 0 / var 1 / 0 batches, linear weight
    /// and bias U(−1/√512, 1/√512) (PyTorch's default `nn.Linear` init).
    pub fn reinit(&self, seed: u64) -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut uniform = |var: &Var, bound: f64| -> Result<()> {
            let dist = Uniform::new(-bound as f32, bound as f32);
            let values: Vec<f32> = (0..var.elem_count())
                .map(|_| dist.sample(&mut rng))
                .collect();
            var.set(&Tensor::from_vec(values, var.shape(), var.device())?.to_dtype(var.dtype())?)
        };
        for block in &self.blocks {
            let (o, c, kh, kw) = block.conv_weight.dims4()?;
            uniform(&block.conv_weight, xavier_bound(o, c, kh, kw))?;
        }
        let bound = linear_bound(EMBED_DIM);
        uniform(&self.linear_weight, bound)?;
        uniform(&self.linear_bias, bound)?;
        for block in &self.blocks {
            let bn = &block.bn;
            bn.weight.set(&bn.weight.ones_like()?)?;
            bn.bias.set(&bn.bias.zeros_like()?)?;
            bn.running_mean.set(&bn.running_mean.zeros_like()?)?;
            bn.running_var.set(&bn.running_var.ones_like()?)?;
            bn.num_batches_tracked
                .set(&bn.num_batches_tracked.zeros_like()?)?;
        }
        Ok(())
    }

    /// The configuration the network was built with.
    pub fn config(&self) -> Cnn6Config {
        self.config
    }

    /// The 512-d embedding `[B, 512]` of `x: [B, 1, mel, time]` (max + mean over mel of the
    /// time-averaged last feature map). `train` selects batch statistics (and updates the
    /// running ones); `train = false` records no graph. A network with dropout trains through
    /// [`Cnn6::embed_train`], which has the run's RNG.
    pub fn embed(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if train && self.config.dropout {
            bail!(
                "CNN6 with dropout trains through embed_train (its masks come from the run's RNG)"
            );
        }
        self.embed_inner(x, train, None)
    }

    /// Train-mode [`Cnn6::embed`] with dropout (when configured) drawn from `rng`: one `u64`
    /// per call seeds every block's mask, so a run's masks follow its seed and its resumed RNG.
    pub fn embed_train(&self, x: &Tensor, rng: &mut ChaCha8Rng) -> Result<Tensor> {
        let seed = self.config.dropout.then(|| rng.next_u64());
        self.embed_inner(x, true, seed)
    }

    fn embed_inner(&self, x: &Tensor, train: bool, dropout_seed: Option<u64>) -> Result<Tensor> {
        let dims = x.dims();
        if dims.len() != 4 || dims[1] != 1 || dims[2] < MIN_EXTENT || dims[3] < MIN_EXTENT {
            bail!("CNN6 expects input [batch, 1, mel >= {MIN_EXTENT}, time >= {MIN_EXTENT}], got {dims:?}");
        }
        let mut h = match train {
            true => x.clone(),
            false => x.detach(),
        };
        for (k, block) in self.blocks.iter().enumerate() {
            h = block.forward(&h, train, self.config.kernels)?;
            if let Some(seed) = dropout_seed {
                let mask = dropout_mask(h.shape(), DROPOUT_P, seed, k as u64, h.device())?;
                h = h.broadcast_mul(&mask.to_dtype(h.dtype())?)?;
            }
        }
        let h = h.mean(3)?; // [B, 512, mel']
        h.max(2)? + h.mean(2)?
    }

    /// Logits `[B, num_classes]` of the linear head on [`Cnn6::embed`] (no graph when
    /// `train = false`).
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let e = self.embed(x, train)?;
        match train {
            true => self.head(&e),
            false => e
                .matmul(&self.linear_weight.as_detached_tensor().t()?)?
                .broadcast_add(&self.linear_bias.as_detached_tensor()),
        }
    }

    /// The linear head alone on an embedding `[B, 512]`.
    pub fn head(&self, embedding: &Tensor) -> Result<Tensor> {
        embedding
            .matmul(&self.linear_weight.as_tensor().t()?)?
            .broadcast_add(self.linear_bias.as_tensor())
    }

    /// Every tensor of the PyTorch state dict, in PyTorch's order.
    pub fn state_dict(&self) -> Vec<StateEntry> {
        let mut out = Vec::new();
        let mut push = |name: String, var: &Var, trainable: bool| {
            out.push(StateEntry {
                name,
                var: var.clone(),
                trainable,
            })
        };
        for (k, block) in self.blocks.iter().enumerate() {
            let p = format!("conv_block{}", k + 1);
            push(format!("{p}.conv1.weight"), &block.conv_weight, true);
            push(format!("{p}.bn1.weight"), &block.bn.weight, true);
            push(format!("{p}.bn1.bias"), &block.bn.bias, true);
            push(
                format!("{p}.bn1.running_mean"),
                &block.bn.running_mean,
                false,
            );
            push(format!("{p}.bn1.running_var"), &block.bn.running_var, false);
            push(
                format!("{p}.bn1.num_batches_tracked"),
                &block.bn.num_batches_tracked,
                false,
            );
        }
        push("linear.weight".into(), &self.linear_weight, true);
        push("linear.bias".into(), &self.linear_bias, true);
        out
    }

    /// The variables the optimiser updates (no BatchNorm buffers), in state-dict order.
    pub fn trainable_vars(&self) -> Vec<Var> {
        self.state_dict()
            .into_iter()
            .filter(|e| e.trainable)
            .map(|e| e.var)
            .collect()
    }

    /// Writes the state dict as safetensors with keys `prefix + name` (PyTorch names, f32
    /// tensors, `num_batches_tracked` as `i64` scalars), atomically
    /// ([`crate::tensor::file::write_safetensors`]).
    pub fn save_state_dict(
        &self,
        path: &Path,
        prefix: &str,
    ) -> std::result::Result<(), CheckpointError> {
        let tensors: HashMap<String, Tensor> = self
            .state_dict()
            .into_iter()
            .map(|e| (format!("{prefix}{}", e.name), e.var.as_detached_tensor()))
            .collect();
        crate::tensor::file::write_safetensors(path, tensors, None).map_err(|e| {
            CheckpointError::Write {
                path: path.to_path_buf(),
                source: std::io::Error::other(format!("{e:#}")),
            }
        })
    }

    /// Loads every state-dict tensor from the safetensors file at `path` (keys `prefix + name`;
    /// other keys are ignored; a missing `num_batches_tracked` leaves the counter unchanged).
    /// Values are converted to each variable's dtype.
    pub fn load_state_dict(
        &self,
        path: &Path,
        prefix: &str,
    ) -> std::result::Result<(), CheckpointError> {
        let p = || path.to_path_buf();
        let device = self.linear_weight.device();
        let file =
            candle_core::safetensors::load(path, device).map_err(|e| CheckpointError::Read {
                path: p(),
                source: Box::new(e),
            })?;
        for entry in self.state_dict() {
            let key = format!("{prefix}{}", entry.name);
            let Some(t) = file.get(&key) else {
                if entry.name.ends_with("num_batches_tracked") {
                    continue;
                }
                return Err(CheckpointError::MissingKey { path: p(), key });
            };
            set_checked(&entry.var, t, path, &key)?;
        }
        Ok(())
    }
}

/// Inverted-dropout mask of `shape` (values 0 or `1/(1−p)`): element `i` is dropped when the
/// `i`-th `u32` of ChaCha8(`seed`, stream `stream`) is below `p·2³²`. Drawn in blocks at fixed
/// stream positions, in parallel: the mask does not depend on the thread count.
pub fn dropout_mask(
    shape: &candle_core::Shape,
    p: f32,
    seed: u64,
    stream: u64,
    device: &candle_core::Device,
) -> Result<Tensor> {
    const BLOCK: usize = 1 << 16;
    let threshold = (p as f64 * 4_294_967_296.0).round() as u64;
    let keep = 1.0 / (1.0 - p);
    let mut v = vec![0f32; shape.elem_count()];
    v.par_chunks_mut(BLOCK).enumerate().for_each(|(i, block)| {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        r.set_stream(stream);
        // One u32 per element: word position = element index.
        r.set_word_pos((i * BLOCK) as u128);
        for m in block {
            *m = if u64::from(r.next_u32()) >= threshold {
                keep
            } else {
                0.0
            };
        }
    });
    Tensor::from_vec(v, shape, device)
}

/// Sets `var` from `t` after checking the shape; converts dtype and device.
pub(crate) fn set_checked(
    var: &Var,
    t: &Tensor,
    path: &Path,
    key: &str,
) -> std::result::Result<(), CheckpointError> {
    if t.dims() != var.dims() {
        return Err(CheckpointError::ShapeMismatch {
            path: path.to_path_buf(),
            key: key.to_string(),
            expected: var.dims().to_vec(),
            found: t.dims().to_vec(),
        });
    }
    let tensor_err = |e| CheckpointError::Tensor {
        path: path.to_path_buf(),
        key: key.to_string(),
        source: Box::new(e),
    };
    let t = t
        .to_device(var.device())
        .and_then(|t| t.to_dtype(var.dtype()))
        .map_err(tensor_err)?;
    var.set(&t).map_err(tensor_err)
}
