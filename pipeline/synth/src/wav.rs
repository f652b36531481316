//! Integer PCM WAV writing (mono, 16 or 24 bits, any rate) with hound, written atomically.
//!
//! hound writes 16-bit files with a plain `WAVE_FORMAT_PCM` header and 24-bit files with a
//! `WAVE_FORMAT_EXTENSIBLE` header (PCM sub-format); both decode as integer PCM.

use std::path::Path;

use super::fsio::commit_atomic;
use super::SynthError;

/// Sample rate and integer bit depth of a mono PCM WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PcmFormat {
    pub sample_rate: u32,
    /// 16 or 24.
    pub bits_per_sample: u16,
}

impl PcmFormat {
    pub const fn new(sample_rate: u32, bits_per_sample: u16) -> Self {
        PcmFormat {
            sample_rate,
            bits_per_sample,
        }
    }

    /// Largest positive integer sample value: 32767 or 8388607.
    pub fn full_scale(&self) -> i32 {
        (1i32 << (self.bits_per_sample - 1)) - 1
    }
}

/// Integer sample for `x` in [-1, 1] (clamped) at `full_scale`, rounded to nearest, halves away
/// from zero (computed in f64 with a truncating cast: no libm call in the hot loop).
#[inline]
pub fn quantize(x: f32, full_scale: i32) -> i32 {
    let v = x.clamp(-1.0, 1.0) as f64 * full_scale as f64;
    (v + 0.5f64.copysign(v)) as i32
}

/// Writes `samples` (floats in [-1, 1], clamped) as a mono integer PCM WAV at `path`, via a
/// temporary file renamed into place.
pub fn write_pcm_wav(path: &Path, samples: &[f32], format: PcmFormat) -> Result<(), SynthError> {
    if !matches!(format.bits_per_sample, 16 | 24) || format.sample_rate == 0 {
        return Err(SynthError::Options(format!(
            "{}: unsupported PCM format {} Hz {}-bit (need a positive rate, 16 or 24 bits)",
            path.display(),
            format.sample_rate,
            format.bits_per_sample
        )));
    }
    let frames = u32::try_from(samples.len())
        .ok()
        .filter(|&n| (n as u64) * (format.bits_per_sample as u64 / 8) < u32::MAX as u64 - 100)
        .ok_or_else(|| {
            SynthError::Options(format!(
                "{}: {} samples do not fit a WAV file",
                path.display(),
                samples.len()
            ))
        })?;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: format.sample_rate,
        bits_per_sample: format.bits_per_sample,
        sample_format: hound::SampleFormat::Int,
    };
    commit_atomic(path, |temp| {
        let wav_err = |source| SynthError::Wav {
            path: path.to_path_buf(),
            source,
        };
        let mut writer = hound::WavWriter::create(temp, spec).map_err(wav_err)?;
        let full_scale = format.full_scale();
        if format.bits_per_sample == 16 {
            let mut w16 = writer.get_i16_writer(frames);
            for &x in samples {
                w16.write_sample(quantize(x, full_scale) as i16);
            }
            w16.flush().map_err(wav_err)?;
        } else {
            for &x in samples {
                writer
                    .write_sample(quantize(x, full_scale))
                    .map_err(wav_err)?;
            }
        }
        writer.finalize().map_err(wav_err)
    })
}
