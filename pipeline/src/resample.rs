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
