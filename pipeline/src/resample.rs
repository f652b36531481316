//! Sample-rate conversion of one mono cycle to the feature rate (16 kHz by default).
//!
//! The default engine, [`ResamplerKind::Torchaudio`], reproduces torchaudio's
//! `transforms.Resample(orig, new)` with its defaults (`sinc_interp_hann`,
//! `lowpass_filter_width = 6`, `rolloff = 0.99`) as a polyphase FIR: the kernel is built once
//! per rate pair exactly as torchaudio builds it (float64, then cast to float32), and only the
//! non-zero support of each phase is stored and applied. The result differs from torchaudio
//! only by float32 summation order. [`ResamplerKind::Rubato`] is an alternative engine
//! (rubato's windowed-sinc resampler) for experiments; it is not bit-faithful.

pub mod rubato_engine;
pub mod torchaudio_kernel;

use rubato_engine::RubatoEngine;
pub use torchaudio_kernel::DenseKernel;
use torchaudio_kernel::PolyphaseKernel;

/// Which resampling engine a [`Resampler`] uses.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Default, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ResamplerKind {
    /// Bit-faithful port of torchaudio's default `transforms.Resample` (the official pipeline).
    #[default]
    Torchaudio,
    /// rubato 0.16 windowed-sinc resampler (Blackman-Harris², 128 taps); an alternative, not
    /// what the official code does. Output length is the same as the torchaudio engine's.
    Rubato,
}

/// Why a [`Resampler`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// One of the two rates is zero.
    #[error("cannot resample {orig_sr} Hz -> {new_sr} Hz: sample rates must be positive")]
    ZeroRate {
        /// Source rate in Hz.
        orig_sr: u32,
        /// Target rate in Hz.
        new_sr: u32,
    },
    /// rubato refused the configuration.
    #[error("cannot build rubato resampler {orig_sr} Hz -> {new_sr} Hz: {message}")]
    Rubato {
        /// Source rate in Hz.
        orig_sr: u32,
        /// Target rate in Hz.
        new_sr: u32,
        /// rubato's error message.
        message: String,
    },
}

/// The conversion a [`Resampler`] performs.
enum Engine {
    /// Equal rates: output is a copy of the input (torchaudio returns the input unchanged).
    Identity,
    /// torchaudio-faithful polyphase FIR.
    Torchaudio(PolyphaseKernel),
    /// rubato sinc resampler (pool of stateful instances).
    Rubato(RubatoEngine),
}

/// A precomputed converter from `orig_sr` to `new_sr` for mono `f32` signals.
///
/// Building one computes the filter (a few milliseconds at most); [`Resampler::process`] takes
/// `&self` and the type is `Send + Sync`, so one instance is shared by all worker threads.
pub struct Resampler {
    orig_sr: u32,
    new_sr: u32,
    /// `orig_sr / gcd`, `new_sr / gcd`: the reduced rate ratio used for lengths.
    reduced: (u64, u64),
    engine: Engine,
}

impl Resampler {
    /// Builds a resampler from `orig_sr` to `new_sr` Hz with the given engine.
    pub fn new(orig_sr: u32, new_sr: u32, kind: ResamplerKind) -> Result<Self, ResampleError> {
        if orig_sr == 0 || new_sr == 0 {
            return Err(ResampleError::ZeroRate { orig_sr, new_sr });
        }
        let g = gcd(orig_sr as u64, new_sr as u64);
        let reduced = (orig_sr as u64 / g, new_sr as u64 / g);
        let engine = if orig_sr == new_sr {
            Engine::Identity
        } else {
            match kind {
                ResamplerKind::Torchaudio => {
                    Engine::Torchaudio(PolyphaseKernel::new(reduced.0 as usize, reduced.1 as usize))
                }
                ResamplerKind::Rubato => {
                    Engine::Rubato(RubatoEngine::new(orig_sr, new_sr).map_err(|message| {
                        ResampleError::Rubato {
                            orig_sr,
                            new_sr,
                            message,
                        }
                    })?)
                }
            }
        };
        Ok(Self {
            orig_sr,
            new_sr,
            reduced,
            engine,
        })
    }

    /// Source rate in Hz.
    pub fn orig_sr(&self) -> u32 {
        self.orig_sr
    }

    /// Target rate in Hz.
    pub fn new_sr(&self) -> u32 {
        self.new_sr
    }

    /// Number of output samples for `n_in` input samples: torchaudio's
    /// `ceil(as_tensor(new * n_in / orig))`, where the quotient is a float64 rounded to
    /// float32 before the ceiling (so very long inputs can come out one sample shorter than
    /// the exact ceiling, as in torchaudio). Equal rates give `n_in`.
    pub fn output_len(&self, n_in: usize) -> usize {
        if self.orig_sr == self.new_sr {
            return n_in;
        }
        torchaudio_output_len(n_in, self.reduced.0, self.reduced.1)
    }

    /// Resamples a mono signal; the result has [`Resampler::output_len`] samples.
    pub fn process(&self, x: &[f32]) -> Vec<f32> {
        let out_len = self.output_len(x.len());
        match &self.engine {
            Engine::Identity => x.to_vec(),
            Engine::Torchaudio(kernel) => kernel.apply(x, out_len),
            Engine::Rubato(engine) => engine.process(x, out_len),
        }
    }

    /// The dense torchaudio kernel `[new/gcd, 2·width + orig/gcd]` this resampler applies, or
    /// `None` for the identity and rubato engines. For parity tests and inspection.
    pub fn dense_kernel(&self) -> Option<DenseKernel> {
        match &self.engine {
            Engine::Torchaudio(kernel) => Some(kernel.dense()),
            _ => None,
        }
    }
}

/// torchaudio's trimmed output length `ceil(float32(new * n / orig))` for reduced rates.
fn torchaudio_output_len(n_in: usize, orig: u64, new: u64) -> usize {
    // Python: `torch.ceil(torch.as_tensor(new_freq * length / orig_freq)).long()`. The integer
    // product is exact, `/` is a correctly rounded float64 division, `as_tensor` makes a
    // float32 (the default dtype) and the ceiling is taken in float32.
    let quotient = (new as f64 * n_in as f64) / orig as f64;
    (quotient as f32).ceil() as usize
}

/// Greatest common divisor (Euclid).
fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chirp(n: usize, sr: f32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = i as f32 / sr;
                (2.0 * std::f32::consts::PI * (100.0 + 300.0 * t) * t).sin() * 0.5
            })
            .collect()
    }

    #[test]
    fn output_len_is_ceil_of_ratio() {
        let r = Resampler::new(44100, 16000, ResamplerKind::Torchaudio).unwrap();
        for n in [1usize, 2, 3, 440, 441, 442, 1000, 12345, 30000] {
            assert_eq!(r.output_len(n), (n * 160).div_ceil(441), "n = {n}");
            assert_eq!(r.process(&chirp(n, 44100.0)).len(), r.output_len(n));
        }
        let r = Resampler::new(4000, 16000, ResamplerKind::Torchaudio).unwrap();
        for n in [1usize, 7, 4000, 33333] {
            assert_eq!(r.output_len(n), 4 * n);
            assert_eq!(r.process(&chirp(n, 4000.0)).len(), 4 * n);
        }
        assert_eq!(r.output_len(0), 0);
        assert!(r.process(&[]).is_empty());
    }

    #[test]
    fn output_len_rounds_through_float32_like_torch() {
        // 160 * 100003 / 441 = 36282.27: float32 keeps the fraction, ceiling 36283.
        let r = Resampler::new(44100, 16000, ResamplerKind::Torchaudio).unwrap();
        assert_eq!(r.output_len(100_003), 36_283);
        // 160 * 180697 / 441 = 65559.0023 rounds to 65559.0 in float32: torch 2.11 returns
        // 65559 samples (checked with `torch.ceil(torch.as_tensor(160 * 180697 / 441))`),
        // one fewer than the exact ceiling.
        assert_eq!(r.output_len(180_697), 65_559);
        assert_eq!((180_697usize * 160).div_ceil(441), 65_560);
        assert_eq!(r.process(&chirp(180_697, 44100.0)).len(), 65_559);
    }

    #[test]
    fn equal_rates_are_identity() {
        for kind in [ResamplerKind::Torchaudio, ResamplerKind::Rubato] {
            let r = Resampler::new(16000, 16000, kind).unwrap();
            let x = chirp(777, 16000.0);
            assert_eq!(r.process(&x), x);
            assert!(r.dense_kernel().is_none());
        }
    }

    #[test]
    fn zero_rate_is_an_error() {
        assert!(matches!(
            Resampler::new(0, 16000, ResamplerKind::Torchaudio),
            Err(ResampleError::ZeroRate { .. })
        ));
        assert!(Resampler::new(16000, 0, ResamplerKind::Rubato).is_err());
    }

    #[test]
    fn resampler_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Resampler>();
    }

    #[test]
    fn sparse_application_matches_dense_convolution() {
        // Reference: torchaudio's padded strided convolution with the dense kernel, in f64.
        for (orig, new) in [
            (44100u32, 16000u32),
            (10000, 16000),
            (4000, 16000),
            (22050, 16000),
        ] {
            let r = Resampler::new(orig, new, ResamplerKind::Torchaudio).unwrap();
            let k = r.dense_kernel().unwrap();
            let x = chirp(3001, orig as f32);
            let y = r.process(&x);
            let (o, w, taps) = (k.orig, k.width, k.taps_per_phase);
            let mut padded = vec![0.0f64; w];
            padded.extend(x.iter().map(|&v| v as f64));
            padded.extend(std::iter::repeat_n(0.0, w + o));
            for (idx, &got) in y.iter().enumerate() {
                let (q, j) = (idx / k.phases, idx % k.phases);
                let row = &k.values[j * taps..(j + 1) * taps];
                let want: f64 = row
                    .iter()
                    .zip(&padded[q * o..q * o + taps])
                    .map(|(&a, &b)| a as f64 * b)
                    .sum();
                assert!(
                    (got as f64 - want).abs() < 1e-5,
                    "{orig}->{new} idx {idx}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn downsampled_tone_keeps_amplitude_and_frequency() {
        let sr_in = 44100.0;
        let x: Vec<f32> = (0..44100)
            .map(|i| (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / sr_in).sin() as f32)
            .collect();
        for kind in [ResamplerKind::Torchaudio, ResamplerKind::Rubato] {
            let r = Resampler::new(44100, 16000, kind).unwrap();
            let y = r.process(&x);
            assert_eq!(y.len(), 16000);
            // Compare with the ideal 1 kHz tone at 16 kHz away from the edges.
            let max_err = (1000..15000)
                .map(|i| {
                    let ideal = (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 16000.0).sin();
                    (y[i] as f64 - ideal).abs()
                })
                .fold(0.0f64, f64::max);
            assert!(max_err < 2e-3, "{kind:?}: max error {max_err}");
        }
    }
}
