//! The alternative engine: rubato's windowed-sinc resampler (`SincFixedIn`).
//!
//! rubato resamplers are stateful (`&mut self`), so the engine keeps a small pool of them
//! behind a mutex; a call takes one (or builds one), resets it, streams the whole cycle
//! through it in fixed chunks, drops rubato's reported output delay so the result is aligned
//! with the input, and trims to the requested length.
//!
//! rubato 0.16's `SincFixedIn` starts its read position half a filter before the first input
//! sample, so its output is already aligned with the input; its `output_delay()` (half the
//! filter length in output samples) describes a different convention and is not subtracted.
//! The alignment is pinned by the tests below.

use std::sync::{Mutex, PoisonError};

use rubato::{
    calculate_cutoff, Resampler as _, SincFixedIn, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};

/// Length of rubato's sinc filter in input samples.
const SINC_LEN: usize = 128;
/// Input frames per rubato call.
const CHUNK: usize = 1024;
/// Up to this many phases (reduced target rate), the exact phases are tabulated and looked
/// up with `Nearest`; beyond it, 256 tabulated phases with cubic interpolation.
const MAX_EXACT_PHASES: usize = 512;
/// Oversampling used with cubic interpolation for awkward rate ratios.
const CUBIC_OVERSAMPLING: usize = 256;

/// A pool of rubato `SincFixedIn` resamplers for one rate pair.
pub(super) struct RubatoEngine {
    orig_sr: u32,
    new_sr: u32,
    /// Idle resamplers, reset before each use.
    pool: Mutex<Vec<SincFixedIn<f32>>>,
}

impl RubatoEngine {
    /// Builds the engine (and one resampler, to surface configuration errors early).
    pub(super) fn new(orig_sr: u32, new_sr: u32) -> Result<Self, String> {
        let engine = Self {
            orig_sr,
            new_sr,
            pool: Mutex::new(Vec::new()),
        };
        let first = engine.build()?;
        engine.give_back(first);
        Ok(engine)
    }

    fn build(&self) -> Result<SincFixedIn<f32>, String> {
        let g = gcd(self.orig_sr as usize, self.new_sr as usize);
        let phases = self.new_sr as usize / g;
        let (interpolation, oversampling_factor) = if phases <= MAX_EXACT_PHASES {
            (SincInterpolationType::Nearest, phases)
        } else {
            (SincInterpolationType::Cubic, CUBIC_OVERSAMPLING)
        };
        let window = WindowFunction::BlackmanHarris2;
        let parameters = SincInterpolationParameters {
            sinc_len: SINC_LEN,
            f_cutoff: calculate_cutoff(SINC_LEN, window),
            oversampling_factor,
            interpolation,
            window,
        };
        let ratio = self.new_sr as f64 / self.orig_sr as f64;
        SincFixedIn::new(ratio, 1.0, parameters, CHUNK, 1).map_err(|e| e.to_string())
    }

    fn give_back(&self, resampler: SincFixedIn<f32>) {
        self.pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(resampler);
    }

    /// Resamples `x` and returns exactly `out_len` samples, delay-compensated.
    pub(super) fn process(&self, x: &[f32], out_len: usize) -> Vec<f32> {
        let pooled = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut resampler = match pooled {
            Some(r) => r,
            // The configuration was accepted in `new`, so building again cannot fail.
            None => self.build().expect("rubato configuration validated in new()"),
        };
        resampler.reset();
        let needed = out_len;
        let mut out = Vec::with_capacity(needed + resampler.output_frames_max());
        let mut chunk_out = resampler.output_buffer_allocate(true);
        let mut pos = 0;
        while out.len() < needed {
            let chunk = resampler.input_frames_next();
            // Buffers come from the resampler's own size queries, so processing cannot fail.
            let (_, written) = if pos + chunk <= x.len() {
                resampler.process_into_buffer(&[&x[pos..pos + chunk]], &mut chunk_out, None)
            } else if pos < x.len() {
                resampler.process_partial_into_buffer(Some(&[&x[pos..]]), &mut chunk_out, None)
            } else {
                resampler.process_partial_into_buffer(None::<&[&[f32]]>, &mut chunk_out, None)
            }
            .expect("rubato buffers sized by the resampler");
            pos += chunk;
            out.extend_from_slice(&chunk_out[0][..written]);
        }
        self.give_back(resampler);
        out.truncate(out_len);
        out
    }
}

/// Greatest common divisor (Euclid).
fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_aligned_with_input() {
        // A slow sine resampled 8 kHz -> 16 kHz must line up with the ideal 16 kHz sine.
        let engine = RubatoEngine::new(8000, 16000).unwrap();
        let x: Vec<f32> = (0..8000)
            .map(|i| (2.0 * std::f32::consts::PI * 200.0 * i as f32 / 8000.0).sin())
            .collect();
        let y = engine.process(&x, 16000);
        assert_eq!(y.len(), 16000);
        for (i, &v) in y.iter().enumerate().take(15000).skip(1000) {
            let ideal = (2.0 * std::f32::consts::PI * 200.0 * i as f32 / 16000.0).sin();
            assert!((v - ideal).abs() < 1e-3, "sample {i}: {v} vs {ideal}");
        }
    }

    #[test]
    fn pool_is_reused_and_results_repeat() {
        let engine = RubatoEngine::new(44100, 16000).unwrap();
        let x: Vec<f32> = (0..5000).map(|i| ((i * 7919) % 200) as f32 / 100.0 - 1.0).collect();
        let a = engine.process(&x, 1815);
        let b = engine.process(&x, 1815);
        assert_eq!(a, b);
        assert_eq!(engine.pool.lock().unwrap().len(), 1);
        assert!(engine.process(&[], 0).is_empty());
    }
}
