//! The alternative engine: rubato's windowed-sinc resampler (`SincFixedIn`).
//!
//! rubato resamplers are stateful (`&mut self`), so the engine keeps a small pool of them
//! behind a mutex; a call takes one (or builds one), resets it, streams the whole cycle
//! through it in fixed chunks (shifted so the output grid matches torchaudio's, see below),
//! and trims to the requested length.
//!
//! Alignment: with oversampling factor `f`, rubato 0.16's `SincFixedIn` output `k` sits at
//! input position `k·r + r − 1 + 1/f` (`r = orig/new`; one step ahead, minus its sub-sample
//! table convention), not at `k·r` as torchaudio's does. The engine compensates by prepending
//! `P` zeros to the input and dropping the first `D` outputs with `P = D·r + r − 1 + 1/f`;
//! for tabulated exact phases (`f = new/gcd`) an integer solution exists, so the output grid
//! is exactly torchaudio's. With cubic interpolation (very large reduced rates) the residual
//! offset is below half an input sample. Pinned by the centroid tests
//! (`tests/it/unit/resample/rubato_engine.rs`).

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
pub struct RubatoEngine {
    orig_sr: u32,
    new_sr: u32,
    /// Zeros prepended to the input (alignment, see the module docs).
    prepend: usize,
    /// Leading outputs dropped (alignment).
    drop: usize,
    /// Idle resamplers, reset before each use.
    pool: Mutex<Vec<SincFixedIn<f32>>>,
}

impl RubatoEngine {
    /// Builds the engine (and one resampler, to surface configuration errors early).
    pub fn new(orig_sr: u32, new_sr: u32) -> Result<Self, String> {
        let (prepend, drop) = alignment(orig_sr, new_sr);
        let engine = Self {
            orig_sr,
            new_sr,
            prepend,
            drop,
            pool: Mutex::new(Vec::new()),
        };
        let first = engine.build()?;
        engine.give_back(first);
        Ok(engine)
    }

    /// Source rate in Hz.
    pub fn orig_sr(&self) -> u32 {
        self.orig_sr
    }

    /// Target rate in Hz.
    pub fn new_sr(&self) -> u32 {
        self.new_sr
    }

    /// Resamplers waiting in the pool for the next call (calls reuse them).
    pub fn idle_resamplers(&self) -> usize {
        self.pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn build(&self) -> Result<SincFixedIn<f32>, String> {
        let (interpolation, oversampling_factor) = interpolation(self.orig_sr, self.new_sr);
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
    pub fn process(&self, x: &[f32], out_len: usize) -> Vec<f32> {
        let pooled = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut resampler = match pooled {
            Some(r) => r,
            // The configuration was accepted in `new`, so building again cannot fail.
            None => self
                .build()
                .expect("rubato configuration validated in new()"),
        };
        resampler.reset();
        let padded;
        let x = if self.prepend > 0 {
            padded = [vec![0.0; self.prepend].as_slice(), x].concat();
            padded.as_slice()
        } else {
            x
        };
        let needed = self.drop + out_len;
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
        out.drain(..self.drop);
        out.truncate(out_len);
        out
    }
}

/// Interpolation type and oversampling factor for a rate pair: exact tabulated phases with
/// `Nearest` when the reduced target rate is small, else cubic over 256 phases.
fn interpolation(orig_sr: u32, new_sr: u32) -> (SincInterpolationType, usize) {
    let phases = new_sr as usize / gcd(orig_sr as usize, new_sr as usize);
    if phases <= MAX_EXACT_PHASES {
        (SincInterpolationType::Nearest, phases)
    } else {
        (SincInterpolationType::Cubic, CUBIC_OVERSAMPLING)
    }
}

/// `(prepend, drop)` putting output `k` at input position `k·orig/new` (module docs).
pub fn alignment(orig_sr: u32, new_sr: u32) -> (usize, usize) {
    let g = gcd(orig_sr as usize, new_sr as usize);
    let (o, n) = (orig_sr as usize / g, new_sr as usize / g);
    match interpolation(orig_sr, new_sr) {
        (SincInterpolationType::Nearest, _) => {
            // Need P = ((D+1)·o + 1)/n − 1 integral: (D+1)·o ≡ −1 (mod n), D < n.
            let d = (0..n)
                .find(|d| ((d + 1) * o + 1) % n == 0)
                .expect("o and n are coprime, so o is invertible mod n");
            (((d + 1) * o + 1) / n - 1, d)
        }
        (_, f) => {
            let offset = o as f64 / n as f64 - 1.0 + 1.0 / f as f64;
            (offset.round().max(0.0) as usize, 0)
        }
    }
}

/// Greatest common divisor (Euclid).
fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
