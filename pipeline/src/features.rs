//! The official per-cycle signal path (scl_icbhi2017 `dataset.py` + `main.py`):
//! resample to 16 kHz → linear fade in/out (`T.Fade`) → fit to 8 s (crop, or circular repeat
//! with a second fade-out, or centred zero padding) → log-mel (`T.MelSpectrogram` +
//! `T.AmplitudeToDB`). Every default of [`FeatureParams`] is the official value.

mod fade;
pub mod mel;
pub mod torch_ops;

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

pub use fade::apply_fade;
pub use mel::MelExtractor;

use crate::resample::{ResampleError, Resampler, ResamplerKind};

/// How a cycle shorter than (or as long as) the target length is brought to it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Default, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum PadMode {
    /// Repeat the cycle `ceil(target/len)` times, cut to the target, then fade out the last
    /// `fade_samples` again (official default `pad_type="circular"`).
    #[default]
    Circular,
    /// Zeros of the target length with the cycle placed at offset `(target − len) / 2`, no extra
    /// fade (official `pad_type="zero"`).
    Zero,
}

/// Parameters of the per-cycle feature path; defaults are the official values.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct FeatureParams {
    /// Feature sample rate in Hz (`DESIRED_SR` = 16000).
    pub sample_rate: u32,
    /// Fitted waveform length in samples (`duration · sr` = 8 · 16000 = 128000).
    pub target_samples: usize,
    /// Linear fade length in samples (`int(sr / 16)` = 1000).
    pub fade_samples: usize,
    /// Padding of short cycles (official default circular).
    pub pad_mode: PadMode,
    /// FFT size (1024).
    pub n_fft: usize,
    /// Analysis window length, a periodic Hann centred in `n_fft` (1024).
    pub win_length: usize,
    /// Hop between frames (512).
    pub hop_length: usize,
    /// Number of mel bands (64).
    pub n_mels: usize,
    /// Lowest mel filter edge in Hz (50).
    pub f_min: f32,
    /// Highest mel filter edge in Hz (2000).
    pub f_max: f32,
    /// Exponent of the magnitude spectrum (2: power).
    pub power: f32,
    /// Floor before `10·log10` (`AmplitudeToDB` amin, 1e-10).
    pub amin: f32,
    /// Resampling engine (torchaudio-faithful by default).
    pub resampler: ResamplerKind,
}

impl Default for FeatureParams {
    fn default() -> Self {
        Self {
            sample_rate: 16_000,
            target_samples: 128_000,
            fade_samples: 1000,
            pad_mode: PadMode::Circular,
            n_fft: 1024,
            win_length: 1024,
            hop_length: 512,
            n_mels: 64,
            f_min: 50.0,
            f_max: 2000.0,
            power: 2.0,
            amin: 1e-10,
            resampler: ResamplerKind::Torchaudio,
        }
    }
}

impl FeatureParams {
    /// Frames of the centred STFT of a fitted waveform: `(target + 2·(n_fft/2) − n_fft) / hop
    /// + 1`, i.e. `target / hop + 1` for even `n_fft` (251 by default).
    pub fn n_frames(&self) -> usize {
        let padded = self.target_samples + 2 * (self.n_fft / 2);
        padded.saturating_sub(self.n_fft) / self.hop_length.max(1) + 1
    }

    /// Length of one feature matrix, `n_mels · n_frames`.
    pub fn feature_len(&self) -> usize {
        self.n_mels * self.n_frames()
    }

    /// Checks that the parameters describe a computable feature; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let nyquist = self.sample_rate as f32 / 2.0;
        let checks: [(bool, String); 11] = [
            (self.sample_rate > 0, "sample_rate must be > 0".into()),
            (self.target_samples > 0, "target_samples must be > 0".into()),
            (
                self.fade_samples <= self.target_samples,
                format!(
                    "fade_samples ({}) must not exceed target_samples ({})",
                    self.fade_samples, self.target_samples
                ),
            ),
            (self.n_fft >= 2, "n_fft must be >= 2".into()),
            (
                self.win_length >= 1 && self.win_length <= self.n_fft,
                format!("win_length ({}) must be in 1..=n_fft", self.win_length),
            ),
            (self.hop_length > 0, "hop_length must be > 0".into()),
            (self.n_mels > 0, "n_mels must be > 0".into()),
            (
                self.f_min.is_finite() && self.f_min >= 0.0 && self.f_min < self.f_max,
                format!("f_min ({}) must be in [0, f_max)", self.f_min),
            ),
            (
                self.f_max.is_finite() && self.f_max <= nyquist,
                format!(
                    "f_max ({}) must be <= sample_rate / 2 ({nyquist})",
                    self.f_max
                ),
            ),
            (
                self.power.is_finite() && self.power > 0.0 && self.amin > 0.0,
                "power and amin must be > 0".into(),
            ),
            (
                self.target_samples > self.n_fft / 2,
                format!(
                    "target_samples ({}) must exceed n_fft / 2 for reflect padding",
                    self.target_samples
                ),
            ),
        ];
        match checks.into_iter().find(|(ok, _)| !ok) {
            Some((_, message)) => Err(message),
            None => Ok(()),
        }
    }
}

/// Why a cycle could not be turned into features.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// The feature parameters are inconsistent (message names the field).
    #[error("invalid feature parameters: {0}")]
    InvalidParams(String),
    /// The cycle has no samples.
    #[error("cycle at {source_sr} Hz has no samples")]
    EmptyCycle {
        /// Sample rate of the empty cycle.
        source_sr: u32,
    },
    /// No resampler exists for the source rate.
    #[error(transparent)]
    Resample(#[from] ResampleError),
}

/// Brings a faded cycle to `p.target_samples`: crop if longer; otherwise circular repeat
/// followed by a fade-out of `p.fade_samples` (also when the length is exactly the target,
/// like the official `else` branch), or centred zero padding.
/// An empty input gives all zeros.
pub fn fit_length(mut x: Vec<f32>, p: &FeatureParams) -> Vec<f32> {
    let target = p.target_samples;
    if x.len() > target {
        x.truncate(target);
        return x;
    }
    if x.is_empty() {
        return vec![0.0; target];
    }
    match p.pad_mode {
        PadMode::Circular => {
            let mut out = Vec::with_capacity(target);
            while out.len() < target {
                let take = (target - out.len()).min(x.len());
                out.extend_from_slice(&x[..take]);
            }
            apply_fade(&mut out, 0, p.fade_samples);
            out
        }
        PadMode::Zero => {
            let mut out = vec![0.0; target];
            let offset = (target - x.len()) / 2;
            out[offset..offset + x.len()].copy_from_slice(&x);
            out
        }
    }
}

/// The whole per-cycle path: resample (source rate → `p.sample_rate`) → fade in/out →
/// [`fit_length`] → log-mel. Shared by worker threads (`Send + Sync`); resamplers are built
/// once per source rate and cached.
pub struct CycleFeaturizer {
    params: FeatureParams,
    mel: MelExtractor,
    /// Resamplers by source rate, built on first use.
    resamplers: RwLock<HashMap<u32, Arc<Resampler>>>,
}

impl CycleFeaturizer {
    /// Validates `p` and prepares the mel extractor (FFT plan, window, filterbank).
    pub fn new(p: FeatureParams) -> Result<Self, FeatureError> {
        let mel = MelExtractor::new(&p)?;
        Ok(Self {
            params: p,
            mel,
            resamplers: RwLock::new(HashMap::new()),
        })
    }

    /// The parameters this featurizer applies.
    pub fn params(&self) -> &FeatureParams {
        &self.params
    }

    /// The log-mel stage.
    pub fn mel(&self) -> &MelExtractor {
        &self.mel
    }

    /// The cached resampler from `source_sr` to the feature rate, built on first use.
    pub fn resampler(&self, source_sr: u32) -> Result<Arc<Resampler>, FeatureError> {
        let cached = self
            .resamplers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&source_sr)
            .cloned();
        if let Some(resampler) = cached {
            return Ok(resampler);
        }
        let built = Arc::new(Resampler::new(
            source_sr,
            self.params.sample_rate,
            self.params.resampler,
        )?);
        let mut map = self
            .resamplers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(map.entry(source_sr).or_insert(built).clone())
    }

    /// The fitted waveform at the feature rate (resampled, faded, cropped or padded);
    /// `p.target_samples` long.
    ///
    /// A cycle shorter than `fade_samples` after resampling (where torchaudio's `Fade` raises)
    /// is faded with the ramps cut to its length; see [`apply_fade`].
    pub fn waveform(&self, samples: &[f32], source_sr: u32) -> Result<Vec<f32>, FeatureError> {
        if samples.is_empty() {
            return Err(FeatureError::EmptyCycle { source_sr });
        }
        let mut wave = self.resampler(source_sr)?.process(samples);
        if wave.is_empty() {
            return Err(FeatureError::EmptyCycle { source_sr });
        }
        let fade = self.params.fade_samples;
        apply_fade(&mut wave, fade, fade);
        Ok(fit_length(wave, &self.params))
    }

    /// The log-mel feature of one cycle, dB, mel-major `[n_mels, n_frames]` (index
    /// `m · n_frames + t`), `p.feature_len()` values.
    pub fn featurize(&self, samples: &[f32], source_sr: u32) -> Result<Vec<f32>, FeatureError> {
        let wave = self.waveform(samples, source_sr)?;
        Ok(self.mel.log_mel(&wave))
    }
}
