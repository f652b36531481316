//! Unit tests of `src/features/mel.rs`.

use auscult_pipeline::features::mel::*;
use auscult_pipeline::features::FeatureParams;

fn extractor() -> MelExtractor {
    MelExtractor::new(&FeatureParams::default()).unwrap()
}

#[test]
fn filterbank_shape_and_triangle_properties() {
    let mel = extractor();
    let (n_freqs, n_mels) = (513, 64);
    assert_eq!(mel.filterbank().len(), n_freqs * n_mels);
    let fb = mel.filterbank();
    for m in 0..n_mels {
        let column: Vec<f32> = (0..n_freqs).map(|k| fb[k * n_mels + m]).collect();
        assert!(column.iter().all(|&w| (0.0..=1.0).contains(&w)), "mel {m}");
        assert!(column.iter().any(|&w| w > 0.0), "mel {m} is empty");
    }
    // Nothing outside [f_min, f_max] = [50, 2000] Hz; bin k is at 15.625·k Hz.
    for k in (0..=3).chain(129..n_freqs) {
        assert!((0..n_mels).all(|m| fb[k * n_mels + m] == 0.0), "bin {k}");
    }
    // Inside the band, neighbouring triangles overlap so each bin's weights sum to ~1
    // away from the first and last half-triangles (bins 8..=120, 125–1875 Hz).
    for k in 8..=120 {
        let sum: f32 = (0..n_mels).map(|m| fb[k * n_mels + m]).sum();
        assert!((sum - 1.0).abs() < 1e-4, "bin {k}: {sum}");
    }
    assert!((128..=129).contains(&mel.bins_used()));
}

#[test]
fn hann_window_is_periodic() {
    let w = periodic_hann(1024);
    assert_eq!(w[0], 0.0);
    assert_eq!(w[512], 1.0);
    for i in 1..512 {
        assert!((w[i] - w[1024 - i]).abs() < 1e-6, "i = {i}");
        let ideal = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / 1024.0).cos();
        assert!((w[i] as f64 - ideal).abs() < 1e-6);
    }
}

#[test]
fn reflect_padding_indices() {
    let x = [0.0f32, 1.0, 2.0, 3.0];
    let got: Vec<f32> = (-3..7).map(|i| reflect(&x, i)).collect();
    assert_eq!(got, vec![3.0, 2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0, 1.0, 0.0]);
    assert_eq!(reflect(&[], 5), 0.0);
    assert_eq!(reflect(&[7.0], -2), 7.0);
}

#[test]
fn tone_lands_in_the_right_band_and_level() {
    let mel = extractor();
    let sr = 16000.0f64;
    let freq = 1000.0;
    let wave: Vec<f32> = (0..128_000)
        .map(|i| (2.0 * std::f64::consts::PI * freq * i as f64 / sr).sin() as f32)
        .collect();
    let out = mel.log_mel(&wave);
    let n_frames = mel.n_frames(wave.len());
    assert_eq!(n_frames, 251);
    assert_eq!(out.len(), 64 * 251);
    let t = 100;
    let best = (0..64)
        .max_by(|&a, &b| out[a * n_frames + t].total_cmp(&out[b * n_frames + t]))
        .unwrap();
    // The band whose centre is closest to 1 kHz on the HTK scale.
    let centres: Vec<f64> = (1..=64)
        .map(|i| {
            let (lo, hi) = (hz_to_mel(50.0), hz_to_mel(2000.0));
            let mel = lo + (hi - lo) * i as f64 / 65.0;
            700.0 * (10f64.powf(mel / 2595.0) - 1.0)
        })
        .collect();
    let closest = (0..64)
        .min_by(|&a, &b| {
            (centres[a] - freq)
                .abs()
                .total_cmp(&(centres[b] - freq).abs())
        })
        .unwrap();
    assert!(
        best.abs_diff(closest) <= 1,
        "best {best}, closest {closest}"
    );
    // Unit sine, Hann window: |X| = N/4 = 256 at the bin, so power ≈ 65536 (48.2 dB)
    // spread over neighbouring bins; the loudest band is within a few dB of it.
    let peak = out[best * n_frames + t];
    assert!((40.0..50.0).contains(&peak), "peak {peak} dB");
}

#[test]
fn silence_is_the_floor() {
    let mel = extractor();
    let out = mel.log_mel(&vec![0.0; 128_000]);
    assert!(out.iter().all(|&v| v == -100.0));
    let empty = mel.log_mel(&[]);
    assert_eq!(empty.len(), 64);
    let short = mel.log_mel(&[0.5; 100]);
    assert_eq!(short.len(), 64);
}
