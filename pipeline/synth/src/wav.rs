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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_16_and_24_bit_and_reads_back_exact_integers() {
        let dir = tempfile::tempdir().unwrap();
        let samples = [0.0f32, 0.5, -0.5, 1.0, -1.0, 2.0, -3.0, 1e-6];
        for (rate, bits) in [(4000u32, 16u16), (44100, 24), (10000, 24), (44100, 16)] {
            let format = PcmFormat::new(rate, bits);
            let path = dir.path().join(format!("t{rate}_{bits}.wav"));
            write_pcm_wav(&path, &samples, format).unwrap();
            let mut reader = hound::WavReader::open(&path).unwrap();
            let spec = reader.spec();
            assert_eq!(
                (spec.channels, spec.sample_rate, spec.bits_per_sample),
                (1, rate, bits)
            );
            assert_eq!(spec.sample_format, hound::SampleFormat::Int);
            let read: Vec<i32> = reader.samples::<i32>().map(|s| s.unwrap()).collect();
            let fs = format.full_scale() as f64;
            let expected: Vec<i32> = samples
                .iter()
                .map(|&x| ((x as f64).clamp(-1.0, 1.0) * fs).round() as i32)
                .collect();
            assert_eq!(read, expected);
            assert_eq!(read[3], (1 << (bits - 1)) - 1);
        }
        // Only the final files remain.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
    }

    #[test]
    fn rejects_unsupported_bit_depth_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.wav");
        let err = write_pcm_wav(&path, &[0.0], PcmFormat::new(8000, 12)).unwrap_err();
        assert!(err.to_string().contains("x.wav"), "{err}");
        assert!(!path.exists());
    }
}
