//! Unit tests of `src/audio.rs`.

use std::path::Path;

use auscult_pipeline::audio::*;

fn write_wav(path: &Path, bits: u16, rate: u32, channels: u16, samples: &[i32]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn scales_like_torchaudio_and_averages_channels() {
    let dir = tempfile::tempdir().unwrap();
    let p16 = dir.path().join("a.wav");
    write_wav(&p16, 16, 4000, 1, &[0, 16384, -32768, 32767]);
    let info = probe(&p16).unwrap();
    assert_eq!((info.sample_rate, info.bits, info.frames), (4000, 16, 4));
    let x = read_range(&p16, &info, 1, 4).unwrap();
    assert_eq!(x, vec![0.5, -1.0, 32767.0 / 32768.0]);

    let p24 = dir.path().join("b.wav");
    write_wav(&p24, 24, 44100, 2, &[4_194_304, 0, -8_388_608, -8_388_608]);
    let info = probe(&p24).unwrap();
    assert_eq!(info.frames, 2);
    assert_eq!(read_range(&p24, &info, 0, 2).unwrap(), vec![0.25, -1.0]);
}

#[test]
fn truncated_data_is_measured_and_reads_past_it_fail() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.wav");
    write_wav(&p, 16, 8000, 1, &vec![100; 1000]);
    // Cut the data but keep the header's declared length.
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 200]).unwrap();
    let info = probe(&p).unwrap();
    assert_eq!(info.declared_frames, 1000);
    assert_eq!(info.frames, 900);
    assert_eq!(read_range(&p, &info, 800, 900).unwrap().len(), 100);
    let e = read_range(&p, &info, 800, 950).unwrap_err().to_string();
    assert!(
        e.contains("t.wav") && e.contains("past the end") && e.contains("declares 1000"),
        "{e}"
    );
}

#[test]
fn garbage_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g.wav");
    std::fs::write(&p, b"this is not a wav file at all").unwrap();
    let e = probe(&p).unwrap_err().to_string();
    assert!(
        e.contains("g.wav") && e.contains("not a readable WAV"),
        "{e}"
    );
    let e = probe(&dir.path().join("missing.wav"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.wav"), "{e}");
}
