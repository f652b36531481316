//! Unit tests of `src/wav.rs`.

use auscult_synth::wav::*;

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
