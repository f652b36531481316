//! Unit tests of `src/resample.rs`.

mod rubato_engine;
mod torchaudio_kernel;

use auscult_pipeline::resample::*;

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
