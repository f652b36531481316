//! Input transforms applied to batches of dB log-mels `[B, C, M, T]` (C = 1) on the training
//! device: min-max scaling to [0, 1] → SpecAugment (training only) → standardisation.
//!
//! This is the official pipeline (utils.py `Normalize`/`Standardize`, augmentations.py
//! `SpecAugment`) minus the mel computation, which happens offline.
//!
//! * [`MinMax::PerBatch`] replicates `Normalize` exactly: `(x − min(x)) / (max(x) − min(x))`
//!   over the whole batch tensor, so a sample's values depend on its batch mates.
//!   [`MinMax::PerSample`] (default) scales each example on its own.
//!   A constant input (max = min, 0/0 = NaN in PyTorch) maps to 0 here.
//! * SpecAugment: `freq_masks` masks of width from `U[0, freq_mask_param)` bins and
//!   `time_masks` masks of width from `U[0, time_mask_param)` frames, drawn independently
//!   per example (torchaudio `FrequencyMasking/TimeMasking(iid_masks=True)`), value 0 in [0, 1]
//!   space, no time warp. Draws per mask op: B widths `u_w`, then B starts `u_s`;
//!   `v = u_w·param`, `s = u_s·(size − v)` in f32. The masked band is given by [`BandFormula`].
//! * Standardisation: `(x − mean) / std`, official constants 0.3690 / 0.0255 or train-set
//!   statistics measured with [`InputStatsAccumulator`].
//!
//! Randomness comes only from the `rng` passed in, so a seeded `rand_chacha` RNG gives
//! reproducible masks. Masks are built on the host as small `[B, C, M]` / `[B, C, T]` vectors
//! and multiplied in on the device; the batch data never leaves the device.

use std::ops::Range;

use candle_core::{DType, Result, Tensor};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Mean of min-max-scaled inputs used by the official `Standardize`.
pub const OFFICIAL_MEAN: f64 = 0.3690;
/// Standard deviation used by the official `Standardize`.
pub const OFFICIAL_STD: f64 = 0.0255;

/// How dB log-mels are scaled to [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MinMax {
    /// Each example by its own min and max (batch-independent). Default.
    #[default]
    PerSample,
    /// The whole batch tensor by its global min and max (the official `Normalize`).
    PerBatch,
}

/// Standardisation after scaling (and masking): which statistics an experiment asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standardize {
    /// Official constants: mean 0.3690, std 0.0255.
    #[default]
    Official,
    /// Statistics of the scaled training inputs, measured at the start of a run
    /// ([`measure_input_stats`]).
    TrainStats,
    /// No standardisation (inputs stay in [0, 1]).
    None,
}

/// The `(x − mean) / std` a transform applies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Standardization {
    pub mean: f64,
    pub std: f64,
}

impl Standardization {
    /// The official constants.
    pub const OFFICIAL: Standardization = Standardization {
        mean: OFFICIAL_MEAN,
        std: OFFICIAL_STD,
    };
}

/// Which torchaudio formula turns the drawn `(v, s)` into the masked index band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BandFormula {
    /// torchaudio 0.9.1, the version pinned by the official requirements.txt: indices `i`
    /// with `s ≤ i < s + v` (no rounding), so a band holds `⌊v⌋` or `⌊v⌋ + 1` indices and can
    /// reach `param` (20 bins / 40 frames). Default.
    #[default]
    Continuous,
    /// torchaudio ≥ 0.10 (incl. 2.x): `[⌊s⌋, ⌊s⌋ + ⌊v⌋)`, width `⌊v⌋ ≤ param − 1`.
    Floored,
}

/// When SpecAugment is applied to a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpecAugmentApply {
    /// Every training batch. Default.
    #[default]
    Always,
    /// The official rule `if 1.0 > torch.randn(1)`: the whole batch with probability ≈ 0.841
    /// (one standard-normal draw per call, i.e. per view).
    OfficialRandn,
    /// Never.
    Off,
}

/// SpecAugment settings (defaults = the official CLI defaults, applied always).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpecAugmentParams {
    /// When to apply.
    pub apply: SpecAugmentApply,
    /// Frequency mask parameter (`--freqmask`, 20): width drawn from `U[0, param)`.
    pub freq_mask_param: usize,
    /// Number of frequency masks (`--freqstripes`, 2).
    pub freq_masks: usize,
    /// Time mask parameter (`--timemask`, 40).
    pub time_mask_param: usize,
    /// Number of time masks (`--timestripes`, 2).
    pub time_masks: usize,
    /// Band formula (torchaudio version).
    pub band: BandFormula,
}

impl Default for SpecAugmentParams {
    fn default() -> Self {
        Self {
            freq_mask_param: 20,
            freq_masks: 2,
            time_mask_param: 40,
            time_masks: 2,
            apply: SpecAugmentApply::Always,
            band: BandFormula::Continuous,
        }
    }
}

impl SpecAugmentParams {
    /// Exactly the official behaviour: official parameters, `OfficialRandn`, torchaudio 0.9.1
    /// band formula.
    pub fn official() -> Self {
        Self {
            apply: SpecAugmentApply::OfficialRandn,
            ..Self::default()
        }
    }
}

/// Indices masked along an axis of length `size` by one torchaudio mask with parameter
/// `mask_param`, given the two uniform draws `u_width`, `u_start` ∈ [0, 1) (f32 arithmetic,
/// as torchaudio computes in the spectrogram's dtype). Empty when nothing is masked.
pub fn mask_band(
    size: usize,
    mask_param: usize,
    u_width: f32,
    u_start: f32,
    formula: BandFormula,
) -> Range<usize> {
    if mask_param < 1 || size == 0 {
        return 0..0;
    }
    let value = u_width * mask_param as f32;
    // Negative when mask_param > size; torchaudio does not guard against it either.
    let min_value = u_start * (size as f32 - value);
    let (start, end) = match formula {
        // Integers i with min_value ≤ i < min_value + value.
        BandFormula::Continuous => (min_value.ceil() as i64, (min_value + value).ceil() as i64),
        // `.long()` truncates toward zero, as `as i64` does.
        BandFormula::Floored => {
            let start = min_value as i64;
            (start, start + value as i64)
        }
    };
    let clamp = |i: i64| i.clamp(0, size as i64) as usize;
    let end = clamp(end);
    clamp(start).min(end)..end
}

/// Host-side SpecAugment masks of one batch: 1 = keep, 0 = masked.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecAugmentMasks {
    /// Batch size × channels (`B·C`), the number of independent mask sets.
    pub rows: usize,
    /// Mel bins `M`.
    pub mels: usize,
    /// Frames `T`.
    pub frames: usize,
    /// `[B·C, M]` row-major frequency keep-mask.
    pub freq_keep: Vec<f32>,
    /// `[B·C, T]` row-major time keep-mask.
    pub time_keep: Vec<f32>,
    /// False when the apply rule skipped this batch (masks all ones).
    pub applied: bool,
}

impl SpecAugmentParams {
    /// Draws the masks for a batch of `rows = B·C` spectrograms of `mels × frames`, in
    /// torchaudio's order (frequency masks first, then time masks; per mask all widths then
    /// all starts). With `OfficialRandn` one normal draw comes first.
    pub fn draw_masks(
        &self,
        rows: usize,
        mels: usize,
        frames: usize,
        rng: &mut impl Rng,
    ) -> SpecAugmentMasks {
        let mut masks = SpecAugmentMasks {
            rows,
            mels,
            frames,
            freq_keep: vec![1.0; rows * mels],
            time_keep: vec![1.0; rows * frames],
            applied: true,
        };
        if self.apply == SpecAugmentApply::Off {
            masks.applied = false;
            return masks;
        }
        if self.apply == SpecAugmentApply::OfficialRandn {
            let z: f32 = rng.sample(StandardNormal);
            masks.applied = 1.0 > z;
            if !masks.applied {
                return masks;
            }
        }
        let axes = [
            (
                self.freq_masks,
                self.freq_mask_param,
                mels,
                &mut masks.freq_keep,
            ),
            (
                self.time_masks,
                self.time_mask_param,
                frames,
                &mut masks.time_keep,
            ),
        ];
        for (count, param, size, keep) in axes {
            for _ in 0..count {
                let widths: Vec<f32> = (0..rows).map(|_| rng.gen::<f32>()).collect();
                let starts: Vec<f32> = (0..rows).map(|_| rng.gen::<f32>()).collect();
                for (row, (&u_width, &u_start)) in widths.iter().zip(&starts).enumerate() {
                    let band = mask_band(size, param, u_width, u_start, self.band);
                    keep[row * size..(row + 1) * size][band].fill(0.0);
                }
            }
        }
        masks
    }
}

impl SpecAugmentMasks {
    /// `x · freq_keep · time_keep` for `x` `[B, C, M, T]` with `B·C = rows` (masked cells
    /// become exactly 0 for finite `x`).
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, m, t) = x.dims4()?;
        if b * c != self.rows || m != self.mels || t != self.frames {
            return Err(candle_core::Error::ShapeMismatchBinaryOp {
                lhs: x.shape().clone(),
                rhs: (self.rows, 1, self.mels, self.frames).into(),
                op: "spec_augment",
            });
        }
        if !self.applied {
            return Ok(x.clone());
        }
        let device = x.device();
        let freq =
            Tensor::from_slice(&self.freq_keep, (b, c, m, 1), device)?.to_dtype(x.dtype())?;
        let time =
            Tensor::from_slice(&self.time_keep, (b, c, 1, t), device)?.to_dtype(x.dtype())?;
        x.broadcast_mul(&freq)?.broadcast_mul(&time)
    }
}

/// Min-max scaling of `x` `[B, …]` to [0, 1] (see [`MinMax`]).
pub fn min_max_scale(x: &Tensor, mode: MinMax) -> Result<Tensor> {
    let (min, max) = match mode {
        MinMax::PerBatch => (x.min_all()?, x.max_all()?),
        MinMax::PerSample => {
            let b = x.dim(0)?;
            let mut keep_shape = vec![1usize; x.rank()];
            keep_shape[0] = b;
            let flat = x.flatten_from(1)?;
            (
                flat.min_keepdim(1)?.reshape(keep_shape.clone())?,
                flat.max_keepdim(1)?.reshape(keep_shape)?,
            )
        }
    };
    // max(range, MIN_POSITIVE) only changes a constant input, whose numerator is 0 → output 0.
    let range = (max - &min)?.maximum(f32::MIN_POSITIVE as f64)?;
    x.broadcast_sub(&min)?.broadcast_div(&range)
}

/// `(x − mean) / std` computed as PyTorch does (subtraction, then true division); `None`
/// leaves `x` as it is.
pub fn standardize(x: &Tensor, stats: Option<Standardization>) -> Result<Tensor> {
    let Some(Standardization { mean, std }) = stats else {
        return Ok(x.clone());
    };
    let std = Tensor::new(std as f32, x.device())?.to_dtype(x.dtype())?;
    x.affine(1.0, -mean)?.broadcast_div(&std)
}

/// The full input transform of the trainer (written to a run dir as `transform.json`, with any
/// measured statistics, so a trained model's inputs can be rebuilt without the cache).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InputTransform {
    /// Scaling of dB log-mels to [0, 1].
    pub minmax: MinMax,
    /// SpecAugment for training batches (`apply = Off` disables it).
    pub specaug: SpecAugmentParams,
    /// Standardisation after scaling / masking (None: none).
    pub standardize: Option<Standardization>,
}

impl Default for InputTransform {
    /// Per-sample scaling, SpecAugment on every training batch, official standardisation.
    fn default() -> Self {
        Self {
            minmax: MinMax::PerSample,
            specaug: SpecAugmentParams::default(),
            standardize: Some(Standardization::OFFICIAL),
        }
    }
}

impl InputTransform {
    /// Exactly the official train/val transform (per-batch scaling, randn-gated SpecAugment
    /// with the torchaudio 0.9.1 band formula, official standardisation).
    pub fn official() -> Self {
        Self {
            minmax: MinMax::PerBatch,
            specaug: SpecAugmentParams::official(),
            standardize: Some(Standardization::OFFICIAL),
        }
    }

    /// Transforms a batch `[B, C, M, T]`: scale, SpecAugment when `train`, standardise.
    /// Two views of a batch are two calls (independent draws, as SCL / hybrid do).
    pub fn apply(&self, x: &Tensor, train: bool, rng: &mut impl Rng) -> Result<Tensor> {
        let (b, c, m, t) = x.dims4()?;
        let mut y = min_max_scale(x, self.minmax)?;
        if train && self.specaug.apply != SpecAugmentApply::Off {
            y = self.specaug.draw_masks(b * c, m, t, rng).apply(&y)?;
        }
        standardize(&y, self.standardize)
    }
}

/// Mean and population standard deviation (ddof 0) of a set of scaled inputs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InputStats {
    /// Mean over every element.
    pub mean: f64,
    /// Population standard deviation over every element.
    pub std: f64,
    /// Number of elements.
    pub count: u64,
}

/// Streaming mean / variance over batches (per-batch moments in f64 on the device, merged
/// with Chan et al.'s formula on the host: two scalars per batch come back).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct InputStatsAccumulator {
    /// Elements seen.
    count: u64,
    /// Running mean.
    mean: f64,
    /// Running sum of squared deviations from the mean.
    m2: f64,
}

impl InputStatsAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every element of `x` (already scaled).
    pub fn push(&mut self, x: &Tensor) -> Result<()> {
        let n = x.elem_count() as u64;
        if n == 0 {
            return Ok(());
        }
        let x = x.to_dtype(DType::F64)?;
        let batch_mean = crate::tensor::readback::scalar(&x.sum_all()?)? / n as f64;
        let batch_m2 =
            crate::tensor::readback::scalar(&x.affine(1.0, -batch_mean)?.sqr()?.sum_all()?)?;
        let total = self.count + n;
        let delta = batch_mean - self.mean;
        self.mean += delta * n as f64 / total as f64;
        self.m2 += batch_m2 + delta * delta * self.count as f64 * n as f64 / total as f64;
        self.count = total;
        Ok(())
    }

    /// The statistics so far (`None` before any element).
    pub fn finish(&self) -> Option<InputStats> {
        (self.count > 0).then(|| InputStats {
            mean: self.mean,
            std: (self.m2 / self.count as f64).sqrt(),
            count: self.count,
        })
    }
}

/// Mean / std of `batches` of dB log-mels after min-max scaling with `minmax` (no
/// SpecAugment), for [`Standardize::TrainStats`]. `None` for no data.
pub fn measure_input_stats<I>(batches: I, minmax: MinMax) -> Result<Option<InputStats>>
where
    I: IntoIterator<Item = Result<Tensor>>,
{
    let mut acc = InputStatsAccumulator::new();
    for batch in batches {
        acc.push(&min_max_scale(&batch?, minmax)?)?;
    }
    Ok(acc.finish())
}
