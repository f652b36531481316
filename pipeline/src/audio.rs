//! Audio decoding: a recording's samples as mono f32, scaled the way torchaudio does
//! (16-bit: int/32768, 24-bit: int/2^23, 32-bit: int/2^31, float as is), channels averaged.
//!
//! WAV goes through hound. The header's frame count is not trusted: some real files (ICBHI's
//! `107_2b3_Pr_mc_AKGC417L.wav`) declare more frames than they hold, so the usable length is
//! what the file really contains, like the official loader. Other containers (FLAC, OGG, MP3…)
//! are decoded with symphonia.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::PipelineError;

/// What the header says and what the file really holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioInfo {
    pub sample_rate: u32,
    pub channels: u16,
    /// Bits per sample (0 when not applicable, e.g. compressed formats).
    pub bits: u16,
    pub float: bool,
    /// Frames declared by the header.
    pub declared_frames: u64,
    /// Frames actually present (≤ declared for a truncated WAV).
    pub frames: u64,
}

fn audio_err(path: &Path, msg: impl Into<String>) -> PipelineError {
    PipelineError::Audio {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

fn is_wav(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
}

fn open_wav(path: &Path) -> Result<hound::WavReader<BufReader<File>>, PipelineError> {
    let file = File::open(path).map_err(|e| PipelineError::io(path, e))?;
    hound::WavReader::new(BufReader::new(file))
        .map_err(|e| audio_err(path, format!("not a readable WAV file: {e}")))
}

/// Reads the header and measures the real data length. Cheap: no samples are decoded.
pub fn probe(path: &Path) -> Result<AudioInfo, PipelineError> {
    if !is_wav(path) {
        let decoded = decode_other(path)?;
        return Ok(decoded.info);
    }
    let reader = open_wav(path)?;
    let spec = reader.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(audio_err(
            path,
            "WAV header has 0 channels or a 0 Hz sample rate",
        ));
    }
    let float = spec.sample_format == hound::SampleFormat::Float;
    if float && spec.bits_per_sample != 32 {
        return Err(audio_err(
            path,
            format!("unsupported {}-bit float WAV", spec.bits_per_sample),
        ));
    }
    if !float && !matches!(spec.bits_per_sample, 8 | 16 | 24 | 32) {
        return Err(audio_err(
            path,
            format!("unsupported {}-bit PCM WAV", spec.bits_per_sample),
        ));
    }
    let declared_frames = reader.duration() as u64;
    let mut inner = reader.into_inner();
    let data_start = inner
        .stream_position()
        .map_err(|e| PipelineError::io(path, e))?;
    let file_len = inner
        .seek(SeekFrom::End(0))
        .map_err(|e| PipelineError::io(path, e))?;
    let block = spec.channels as u64 * spec.bits_per_sample.div_ceil(8) as u64;
    let present = file_len.saturating_sub(data_start) / block;
    Ok(AudioInfo {
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        bits: spec.bits_per_sample,
        float,
        declared_frames,
        frames: present.min(declared_frames),
    })
}

/// Decoded mono audio.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub info: AudioInfo,
    /// Mono samples of the requested range.
    pub samples: Vec<f32>,
}

/// Reads frames `[start, end)` as mono f32. `info` must come from [`probe`] on the same file.
/// A range past the real end of the data is an error naming the file.
pub fn read_range(
    path: &Path,
    info: &AudioInfo,
    start: u64,
    end: u64,
) -> Result<Vec<f32>, PipelineError> {
    if end > info.frames {
        return Err(audio_err(
            path,
            format!(
                "frames {start}..{end} run past the end of the audio ({} frames{})",
                info.frames,
                if info.frames < info.declared_frames {
                    format!(", header declares {}", info.declared_frames)
                } else {
                    String::new()
                }
            ),
        ));
    }
    if start >= end {
        return Ok(Vec::new());
    }
    if !is_wav(path) {
        let d = decode_other(path)?;
        return Ok(d.samples[start as usize..end as usize].to_vec());
    }
    let mut reader = open_wav(path)?;
    reader
        .seek(start as u32)
        .map_err(|e| audio_err(path, format!("cannot seek to frame {start}: {e}")))?;
    let ch = info.channels as usize;
    let n = (end - start) as usize;
    let mut inner = reader.into_inner();
    let bytes_per = info.bits.div_ceil(8) as usize;
    let mut raw = vec![0u8; n * ch * bytes_per];
    inner.read_exact(&mut raw).map_err(|e| {
        audio_err(
            path,
            format!("truncated data reading frames {start}..{end}: {e}"),
        )
    })?;
    Ok(interleaved_to_mono(&raw, ch, info.bits, info.float))
}

/// Little-endian interleaved PCM bytes → mono f32 with torchaudio's scaling.
fn interleaved_to_mono(raw: &[u8], channels: usize, bits: u16, float: bool) -> Vec<f32> {
    let bytes_per = bits.div_ceil(8) as usize;
    let frame = bytes_per * channels;
    let sample = |b: &[u8]| -> f32 {
        match (bits, float) {
            (32, true) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            (8, _) => (b[0] as f32 - 128.0) / 128.0,
            (16, _) => i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0,
            (24, _) => (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0,
            _ => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0,
        }
    };
    raw.chunks_exact(frame)
        .map(|f| {
            if channels == 1 {
                sample(f)
            } else {
                let sum: f32 = f.chunks_exact(bytes_per).map(sample).sum();
                sum / channels as f32
            }
        })
        .collect()
}

/// Decodes a whole non-WAV file with symphonia (mono mix).
fn decode_other(path: &Path) -> Result<Decoded, PipelineError> {
    use symphonia::core::audio::SampleBuffer;
    use symphonia::core::codecs::DecoderOptions;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;

    let file = File::open(path).map_err(|e| PipelineError::io(path, e))?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| audio_err(path, format!("unrecognised audio container: {e}")))?;
    let mut format = probed.format;
    let track = format
        .default_track()
        .ok_or_else(|| audio_err(path, "no audio track"))?
        .clone();
    let params = &track.codec_params;
    let sample_rate = params
        .sample_rate
        .ok_or_else(|| audio_err(path, "unknown sample rate"))?;
    let channels = params
        .channels
        .map(|c| c.count() as u16)
        .unwrap_or(1)
        .max(1);
    let bits = params.bits_per_sample.unwrap_or(0) as u16;
    let mut decoder = symphonia::default::get_codecs()
        .make(params, &DecoderOptions::default())
        .map_err(|e| audio_err(path, format!("unsupported codec: {e}")))?;
    let mut samples = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(symphonia::core::errors::Error::IoError(e))
                if e.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                break
            }
            Err(e) => return Err(audio_err(path, format!("decoding failed: {e}"))),
        };
        if packet.track_id() != track.id {
            continue;
        }
        let buf = decoder
            .decode(&packet)
            .map_err(|e| audio_err(path, format!("decoding failed: {e}")))?;
        let mut sb = SampleBuffer::<f32>::new(buf.capacity() as u64, *buf.spec());
        sb.copy_interleaved_ref(buf);
        let ch = channels as usize;
        for f in sb.samples().chunks_exact(ch) {
            samples.push(f.iter().sum::<f32>() / ch as f32);
        }
    }
    let frames = samples.len() as u64;
    Ok(Decoded {
        info: AudioInfo {
            sample_rate,
            channels,
            bits,
            float: false,
            declared_frames: frames,
            frames,
        },
        samples,
    })
}
