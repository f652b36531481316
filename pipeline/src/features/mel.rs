//! Log-mel spectrogram as torchaudio `T.MelSpectrogram(...)` followed by `T.AmplitudeToDB()`:
//! periodic Hann window (centred in `n_fft` when shorter), `center=True` with reflect padding
//! of `n_fft / 2`, one-sided unnormalised FFT, `|X|^power`, HTK mel filterbank without
//! normalisation, then `10 · log10(max(P, amin))` (reference 1.0, no `top_db`).

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

use super::torch_ops::linspace;
use super::{FeatureError, FeatureParams};

/// `10 · log10(2)`: `10 · log10(p)` is computed as `DB_PER_LOG2 · log2(p)` (`log2` is
/// cheaper; the two agree to about one float32 ulp, far below the FFT's rounding).
const DB_PER_LOG2: f32 = (10.0 * std::f64::consts::LOG10_2) as f32;

/// One triangular mel filter, stored over its non-zero FFT bins only.
#[derive(Clone, Debug)]
struct MelFilter {
    /// First FFT bin with a non-zero weight.
    first_bin: usize,
    /// Weights of bins `first_bin..first_bin + weights.len()`.
    weights: Vec<f32>,
}

/// Computes dB log-mel spectrograms; build once and share (`Send + Sync`: the FFT plan is
/// shared, buffers are per call).
pub struct MelExtractor {
    n_fft: usize,
    hop_length: usize,
    n_mels: usize,
    power: f32,
    amin: f32,
    /// Analysis window zero-padded to `n_fft` (torch.stft's centring of `win_length`).
    window: Vec<f32>,
    /// torchaudio's dense filterbank `[n_fft / 2 + 1, n_mels]`, row-major (for inspection).
    filterbank: Vec<f32>,
    /// The same filterbank, sparse per mel band.
    filters: Vec<MelFilter>,
    /// FFT bins `0..bins_used` hold every non-zero filter weight.
    bins_used: usize,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl MelExtractor {
    /// Plans the FFT and builds the window and filterbank for `p` (validated first).
    pub fn new(p: &FeatureParams) -> Result<Self, FeatureError> {
        p.validate().map_err(FeatureError::InvalidParams)?;
        let n_freqs = p.n_fft / 2 + 1;
        let filterbank = htk_filterbank(n_freqs, p.f_min, p.f_max, p.n_mels, p.sample_rate);
        let filters: Vec<MelFilter> = (0..p.n_mels)
            .map(|m| {
                let column: Vec<f32> = (0..n_freqs).map(|k| filterbank[k * p.n_mels + m]).collect();
                let first = column.iter().position(|&w| w != 0.0).unwrap_or(0);
                let last = column.iter().rposition(|&w| w != 0.0).map_or(0, |l| l + 1);
                MelFilter {
                    first_bin: first,
                    weights: column[first..last.max(first)].to_vec(),
                }
            })
            .collect();
        let bins_used = filters
            .iter()
            .map(|f| f.first_bin + f.weights.len())
            .max()
            .unwrap_or(0);
        let mut window = vec![0.0f32; p.n_fft];
        let left = (p.n_fft - p.win_length) / 2;
        window[left..left + p.win_length].copy_from_slice(&periodic_hann(p.win_length));
        Ok(Self {
            n_fft: p.n_fft,
            hop_length: p.hop_length,
            n_mels: p.n_mels,
            power: p.power,
            amin: p.amin,
            window,
            filterbank,
            filters,
            bins_used,
            fft: RealFftPlanner::<f32>::new().plan_fft_forward(p.n_fft),
        })
    }

    /// The analysis window, `n_fft` long.
    pub fn window(&self) -> &[f32] {
        &self.window
    }

    /// torchaudio's `melscale_fbanks` matrix, `[n_fft / 2 + 1, n_mels]` row-major.
    pub fn filterbank(&self) -> &[f32] {
        &self.filterbank
    }

    /// FFT bins `0..bins_used()` hold every non-zero filter weight (the power spectrum computed).
    pub fn bins_used(&self) -> usize {
        self.bins_used
    }

    /// Number of STFT frames for a waveform of `len` samples (centred, reflect-padded).
    pub fn n_frames(&self, len: usize) -> usize {
        let padded = len + 2 * (self.n_fft / 2);
        if padded < self.n_fft {
            return 0;
        }
        (padded - self.n_fft) / self.hop_length + 1
    }

    /// dB log-mel of `wave`, mel-major `[n_mels, n_frames]` (index `m · n_frames + t`).
    ///
    /// Reflect padding needs `wave.len() > n_fft / 2` (torch raises otherwise); shorter
    /// waves are reflected repeatedly instead of failing, and an empty wave gives all
    /// `10·log10(amin)`.
    pub fn log_mel(&self, wave: &[f32]) -> Vec<f32> {
        let n_frames = self.n_frames(wave.len());
        let mut out = vec![0.0f32; self.n_mels * n_frames];
        let mut frame = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0.0f32; self.bins_used];
        let pad = (self.n_fft / 2) as isize;
        let len = wave.len() as isize;
        for t in 0..n_frames {
            let start = (t * self.hop_length) as isize - pad;
            if start >= 0 && start + self.n_fft as isize <= len {
                let samples = &wave[start as usize..start as usize + self.n_fft];
                for ((f, &s), &w) in frame.iter_mut().zip(samples).zip(&self.window) {
                    *f = s * w;
                }
            } else {
                for (i, (f, &w)) in frame.iter_mut().zip(&self.window).enumerate() {
                    *f = reflect(wave, start + i as isize) * w;
                }
            }
            // Buffers come from the plan itself, so the sizes always match.
            self.fft
                .process_with_scratch(&mut frame, &mut spectrum, &mut scratch)
                .expect("FFT buffers made by the plan");
            for (p, c) in power.iter_mut().zip(&spectrum) {
                let magnitude_sq = c.re * c.re + c.im * c.im;
                *p = if self.power == 2.0 {
                    magnitude_sq
                } else {
                    magnitude_sq.sqrt().powf(self.power)
                };
            }
            for (m, filter) in self.filters.iter().enumerate() {
                let bins = &power[filter.first_bin..filter.first_bin + filter.weights.len()];
                let energy: f32 = bins.iter().zip(&filter.weights).map(|(p, w)| p * w).sum();
                out[m * n_frames + t] = DB_PER_LOG2 * energy.max(self.amin).log2();
            }
        }
        out
    }
}

/// Sample `i` of `wave` with reflect padding (`x[-k] = x[k]`, `x[n-1+k] = x[n-1-k]`),
/// folded repeatedly for out-of-range indices; 0 for an empty wave.
pub fn reflect(wave: &[f32], i: isize) -> f32 {
    let n = wave.len() as isize;
    if n <= 1 {
        return wave.first().copied().unwrap_or(0.0);
    }
    let period = 2 * (n - 1);
    let folded = i.rem_euclid(period);
    let index = if folded < n { folded } else { period - folded };
    wave[index as usize]
}

/// `torch.hann_window(n)` (periodic) in float32: `0.5 − 0.5 · cos(i · (2π / n))`, computed
/// as torch does (`arange · float32(2π/n)`, `cos`, `· −0.5`, `+ 0.5`).
pub fn periodic_hann(n: usize) -> Vec<f32> {
    if n == 1 {
        return vec![1.0];
    }
    let angle_step = (std::f64::consts::PI * 2.0 / n as f64) as f32;
    (0..n)
        .map(|i| (i as f32 * angle_step).cos() * -0.5 + 0.5)
        .collect()
}

/// HTK mel of a frequency in Hz, in float64 as torchaudio's `_hz_to_mel` (Python floats).
pub fn hz_to_mel(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

/// torchaudio `melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm=None,
/// mel_scale="htk")` in float32, row-major `[n_freqs, n_mels]`.
fn htk_filterbank(n_freqs: usize, f_min: f32, f_max: f32, n_mels: usize, sr: u32) -> Vec<f32> {
    let all_freqs = linspace(0.0, (sr / 2) as f32, n_freqs);
    let m_min = hz_to_mel(f_min as f64) as f32;
    let m_max = hz_to_mel(f_max as f64) as f32;
    let f_pts: Vec<f32> = linspace(m_min, m_max, n_mels + 2)
        .into_iter()
        .map(|mel| 700.0 * (10.0f32.powf(mel / 2595.0) - 1.0))
        .collect();
    let f_diff: Vec<f32> = f_pts.windows(2).map(|w| w[1] - w[0]).collect();
    let mut fb = vec![0.0f32; n_freqs * n_mels];
    for (k, &freq) in all_freqs.iter().enumerate() {
        for m in 0..n_mels {
            let down = -(f_pts[m] - freq) / f_diff[m]; // `-1.0 * slopes`: exact negation
            let up = (f_pts[m + 2] - freq) / f_diff[m + 1];
            fb[k * n_mels + m] = down.min(up).max(0.0);
        }
    }
    fb
}
