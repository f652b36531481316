//! torchaudio's `sinc_interp_hann` resampling kernel (`_get_sinc_resample_kernel`) and its
//! application (`_apply_sinc_resample_kernel`), as a polyphase FIR over non-zero taps only.
//!
//! torchaudio pads the input with `width` zeros on the left and `width + orig` on the right,
//! runs `conv1d(kernel[new, 1, 2·width + orig], stride = orig)` and interleaves the `new`
//! output channels, so output sample `q·new + j` is
//! `Σ_m kernel[j][m] · x[q·orig + m − width]` (zero outside `x`). The Hann-windowed sinc is
//! clamped to `|t| ≤ 6` zero crossings, where it is exactly `0.0` after the float32 cast, so
//! each phase keeps only the contiguous run of non-zero taps: same products, fewer zeros.
//! Products are summed in tap order for each output.

use std::f64::consts::PI;

/// `lowpass_filter_width` (torchaudio default): zero crossings kept on each side.
const LOWPASS_FILTER_WIDTH: f64 = 6.0;
/// `rolloff` (torchaudio default): cutoff as a fraction of the lower Nyquist rate.
const ROLLOFF: f64 = 0.99;

/// The full kernel torchaudio builds for one rate pair, row-major `[phases, taps_per_phase]`.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseKernel {
    /// Reduced source rate `orig_sr / gcd` (the convolution stride).
    pub orig: usize,
    /// Reduced target rate `new_sr / gcd` (number of phases, the conv output channels).
    pub phases: usize,
    /// Zero padding torchaudio adds on the left: `ceil(6 · orig / (0.99 · min(orig, new)))`.
    pub width: usize,
    /// Kernel length `2 · width + orig`.
    pub taps_per_phase: usize,
    /// Kernel values, float64 computation cast to float32 like torchaudio.
    pub values: Vec<f32>,
}

/// Where one phase's non-zero taps live.
#[derive(Clone, Copy, Debug)]
pub struct Phase {
    /// Index `m` (in the dense kernel row) of the first stored tap.
    pub first_tap: usize,
    /// Offset of the first stored tap in [`PolyphaseKernel::taps`].
    pub start: usize,
    /// Number of stored taps.
    pub len: usize,
}

/// The sparse polyphase form of torchaudio's kernel for one reduced rate pair.
pub struct PolyphaseKernel {
    /// Reduced source rate (stride in input samples per block of `phases.len()` outputs).
    orig: usize,
    /// Left zero padding of the torchaudio convolution.
    width: usize,
    /// One entry per output phase `j` in `0..new`.
    phases: Vec<Phase>,
    /// All phases' non-zero taps, concatenated.
    taps: Vec<f32>,
    /// For each stored tap with dense index `m`: `(m mod orig, m div orig)`, the input stream
    /// and block offset it reads (see [`PolyphaseKernel::apply`]).
    tap_sources: Vec<(usize, usize)>,
    /// Largest `m div orig` over all stored taps (stream look-ahead in blocks).
    max_block_offset: usize,
}

/// Constants shared by every tap of one rate pair, computed as torchaudio does in Python.
struct KernelGeometry {
    orig: usize,
    new: usize,
    width: usize,
    /// `min(orig, new) · rolloff` (Python float).
    base_freq: f64,
}

impl KernelGeometry {
    fn new(orig: usize, new: usize) -> Self {
        let base_freq = orig.min(new) as f64 * ROLLOFF;
        // `math.ceil(lowpass_filter_width * orig_freq / base_freq)`: int product, float division.
        let width = ((LOWPASS_FILTER_WIDTH as usize * orig) as f64 / base_freq).ceil() as usize;
        Self {
            orig,
            new,
            width,
            base_freq,
        }
    }

    fn taps_per_phase(&self) -> usize {
        2 * self.width + self.orig
    }

    /// Kernel value for phase `j` and dense tap index `m`, replicating torchaudio's dtypes:
    /// `idx = arange(-width, width + orig, float64) / orig`; the phase term
    /// `arange(0, -new, -1) / new` is float32 (default dtype) and promoted to float64 by `+ idx`.
    fn tap(&self, j: usize, m: usize) -> f32 {
        let idx = (m as f64 - self.width as f64) / self.orig as f64;
        let phase = (-(j as f32) / self.new as f32) as f64;
        let mut t = (phase + idx) * self.base_freq;
        t = t.clamp(-LOWPASS_FILTER_WIDTH, LOWPASS_FILTER_WIDTH);
        let cosine = (t * PI / LOWPASS_FILTER_WIDTH / 2.0).cos();
        let window = cosine * cosine; // `** 2` is a plain square in torch
        t *= PI;
        let scale = self.base_freq / self.orig as f64;
        let sinc = if t == 0.0 { 1.0 } else { t.sin() / t };
        (sinc * (window * scale)) as f32
    }

    /// Dense tap range that can hold non-zero values for phase `j`: `|t| < 6` means
    /// `|m − width − j·orig/new| < 6·orig/base_freq`; one extra tap each side for rounding.
    fn support(&self, j: usize) -> std::ops::Range<usize> {
        let center = self.width as f64 + j as f64 * self.orig as f64 / self.new as f64;
        let half = LOWPASS_FILTER_WIDTH * self.orig as f64 / self.base_freq;
        let lo = (center - half).floor() - 1.0;
        let hi = (center + half).ceil() + 2.0;
        let len = self.taps_per_phase() as f64;
        (lo.clamp(0.0, len) as usize)..(hi.clamp(0.0, len) as usize)
    }
}

impl PolyphaseKernel {
    /// Builds the kernel for reduced rates `orig`, `new` (already divided by their gcd).
    pub fn new(orig: usize, new: usize) -> Self {
        let geometry = KernelGeometry::new(orig, new);
        let mut phases = Vec::with_capacity(new);
        let mut taps = Vec::new();
        for j in 0..new {
            let support = geometry.support(j);
            let values: Vec<f32> = support.clone().map(|m| geometry.tap(j, m)).collect();
            let first = values
                .iter()
                .position(|&v| v != 0.0)
                .unwrap_or(values.len());
            let last = values
                .iter()
                .rposition(|&v| v != 0.0)
                .map_or(first, |p| p + 1);
            phases.push(Phase {
                first_tap: support.start + first,
                start: taps.len(),
                len: last - first,
            });
            taps.extend_from_slice(&values[first..last]);
        }
        let tap_sources: Vec<(usize, usize)> = phases
            .iter()
            .flat_map(|p| p.first_tap..p.first_tap + p.len)
            .map(|m| (m % orig, m / orig))
            .collect();
        let max_block_offset = tap_sources.iter().map(|&(_, a)| a).max().unwrap_or(0);
        Self {
            orig,
            width: geometry.width,
            phases,
            taps,
            tap_sources,
            max_block_offset,
        }
    }

    /// One entry per output phase `j` in `0..new`: where its non-zero taps are.
    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// All phases' non-zero taps, concatenated ([`Phase::start`], [`Phase::len`]).
    pub fn taps(&self) -> &[f32] {
        &self.taps
    }

    /// Largest `m div orig` over all stored taps (stream look-ahead in blocks).
    pub fn max_block_offset(&self) -> usize {
        self.max_block_offset
    }

    /// The dense kernel, every tap evaluated (not only the stored support).
    pub fn dense(&self) -> DenseKernel {
        let geometry = KernelGeometry::new(self.orig, self.phases.len());
        let taps_per_phase = geometry.taps_per_phase();
        let values = (0..self.phases.len())
            .flat_map(|j| (0..taps_per_phase).map(move |m| (j, m)))
            .map(|(j, m)| geometry.tap(j, m))
            .collect();
        DenseKernel {
            orig: self.orig,
            phases: self.phases.len(),
            width: self.width,
            taps_per_phase,
            values,
        }
    }

    /// Resamples `x`, producing exactly `out_len` samples (torchaudio's trimmed length).
    ///
    /// Output `q·new + j` reads padded input `q·orig + m` for the taps `m` of phase `j`.
    /// Splitting the padded input into `orig` streams (`stream_r[p] = padded[p·orig + r]`)
    /// makes that `stream_{m mod orig}[q + m div orig]`: contiguous in `q`. So each phase is
    /// computed for all blocks `q` at once as a sum of scaled stream slices (vectorisable
    /// axpy loops, taps accumulated in order), then scattered to its output positions.
    pub fn apply(&self, x: &[f32], out_len: usize) -> Vec<f32> {
        let new = self.phases.len();
        let mut y = vec![0.0f32; out_len];
        let blocks = out_len.div_ceil(new);
        if blocks == 0 {
            return y;
        }
        let stream_len = blocks + self.max_block_offset + 1;
        let streams = self.split_streams(x, stream_len);
        let mut acc = vec![0.0f32; blocks];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { self.accumulate_phases_avx2(&streams, stream_len, &mut acc, &mut y) };
            return y;
        }
        self.accumulate_phases(&streams, stream_len, &mut acc, &mut y);
        y
    }

    /// [`Self::accumulate_phases`] compiled for AVX2 (8-wide axpy). AVX2 only, no FMA, so the
    /// arithmetic, and therefore every output bit, is the same as the baseline build.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn accumulate_phases_avx2(
        &self,
        streams: &[f32],
        stream_len: usize,
        acc: &mut [f32],
        y: &mut [f32],
    ) {
        self.accumulate_phases(streams, stream_len, acc, y);
    }

    /// Computes every phase over all blocks into `acc` and scatters it into `y`.
    #[inline(always)]
    pub fn accumulate_phases(
        &self,
        streams: &[f32],
        stream_len: usize,
        acc: &mut [f32],
        y: &mut [f32],
    ) {
        let new = self.phases.len();
        let out_len = y.len();
        for (j, phase) in self.phases.iter().enumerate().take(out_len) {
            let count = (out_len - j).div_ceil(new);
            let acc = &mut acc[..count];
            acc.fill(0.0);
            let taps = &self.taps[phase.start..phase.start + phase.len];
            let sources = &self.tap_sources[phase.start..phase.start + phase.len];
            for (&tap, &(stream, block_offset)) in taps.iter().zip(sources) {
                let offset = stream * stream_len + block_offset;
                let source = &streams[offset..offset + count];
                for (a, &v) in acc.iter_mut().zip(source) {
                    *a += tap * v;
                }
            }
            for (out, &v) in y[j..].iter_mut().step_by(new).zip(acc.iter()) {
                *out = v;
            }
        }
    }

    /// The zero-padded input (`width` zeros before `x`, zeros after) split into `orig`
    /// streams of `stream_len` samples, stream `r` at offset `r · stream_len`.
    pub fn split_streams(&self, x: &[f32], stream_len: usize) -> Vec<f32> {
        let mut streams = vec![0.0f32; self.orig * stream_len];
        // padded[p] = x[p - width]; block p covers padded[p·orig .. (p+1)·orig].
        for p in 0..stream_len {
            let block = p * self.orig;
            let lo = block.max(self.width);
            let hi = (block + self.orig).min(self.width + x.len());
            for padded in lo..hi {
                streams[(padded - block) * stream_len + p] = x[padded - self.width];
            }
        }
        streams
    }
}
