//! Unit tests of `src/features.rs`.

mod fade;
mod mel;
mod torch_ops;

use std::sync::Arc;

use auscult_pipeline::features::*;

fn noise(n: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as f32 / u32::MAX as f32 - 0.5
        })
        .collect()
}

#[test]
fn defaults_are_the_official_values() {
    let p = FeatureParams::default();
    assert_eq!(p.sample_rate, 16_000);
    assert_eq!(p.target_samples, 8 * 16_000);
    assert_eq!(p.fade_samples, 16_000 / 16);
    assert_eq!(p.n_frames(), 251);
    assert_eq!(p.feature_len(), 64 * 251);
    assert!(p.validate().is_ok());
}

#[test]
fn params_round_trip_through_json_with_defaults() {
    let p: FeatureParams = serde_json::from_str(r#"{"pad_mode":"zero"}"#).unwrap();
    assert_eq!(p.pad_mode, PadMode::Zero);
    assert_eq!(p.n_mels, 64);
    let json = serde_json::to_string(&FeatureParams::default()).unwrap();
    assert!(json.contains(r#""resampler":"torchaudio""#), "{json}");
    let back: FeatureParams = serde_json::from_str(&json).unwrap();
    assert_eq!(back, FeatureParams::default());
}

#[test]
fn validate_names_the_bad_field() {
    let p = FeatureParams {
        f_max: 9000.0,
        ..FeatureParams::default()
    };
    assert!(p.validate().unwrap_err().contains("f_max"));
    let p = FeatureParams {
        win_length: 2048,
        ..FeatureParams::default()
    };
    assert!(p.validate().unwrap_err().contains("win_length"));
    assert!(matches!(
        CycleFeaturizer::new(FeatureParams {
            hop_length: 0,
            ..FeatureParams::default()
        }),
        Err(FeatureError::InvalidParams(_))
    ));
}

#[test]
fn fit_length_crops_without_fade() {
    let p = FeatureParams::default();
    let x = noise(130_000, 1);
    let y = fit_length(x.clone(), &p);
    assert_eq!(y, x[..128_000]);
}

#[test]
fn circular_padding_repeats_and_fades_out_again() {
    let p = FeatureParams::default();
    let x = noise(50_000, 2);
    let y = fit_length(x.clone(), &p);
    assert_eq!(y.len(), 128_000);
    assert_eq!(y[..50_000], x[..]);
    assert_eq!(y[50_000..100_000], x[..]);
    assert_eq!(y[100_000..127_000], x[..27_000]);
    assert_eq!(y[127_999], 0.0);
    // Exactly the target length still takes the circular branch, so it is faded out.
    let x = vec![1.0f32; 128_000];
    let y = fit_length(x, &p);
    assert_eq!(y[126_999], 1.0);
    assert_eq!(y[127_999], 0.0);
    assert!(y[127_500] > 0.0 && y[127_500] < 1.0);
}

#[test]
fn zero_padding_centres_the_cycle() {
    let p = FeatureParams {
        pad_mode: PadMode::Zero,
        ..FeatureParams::default()
    };
    let x = noise(1001, 3);
    let y = fit_length(x.clone(), &p);
    let offset = (128_000 - 1001) / 2;
    assert!(y[..offset].iter().all(|&v| v == 0.0));
    assert_eq!(y[offset..offset + 1001], x[..]);
    assert!(y[offset + 1001..].iter().all(|&v| v == 0.0));
}

#[test]
fn featurize_shapes_and_errors() {
    let f = CycleFeaturizer::new(FeatureParams::default()).unwrap();
    for (sr, n) in [
        (44100u32, 119_070usize),
        (4000, 40_000),
        (16000, 3),
        (8000, 2),
    ] {
        let mel = f.featurize(&noise(n, sr), sr).unwrap();
        assert_eq!(mel.len(), 64 * 251);
        assert!(mel.iter().all(|v| v.is_finite() && *v >= -100.0));
        assert_eq!(f.waveform(&noise(n, sr), sr).unwrap().len(), 128_000);
    }
    // A single sample and a cycle shorter than the fade do not panic.
    assert_eq!(f.featurize(&[0.5], 44100).unwrap().len(), 64 * 251);
    assert_eq!(f.featurize(&noise(500, 9), 16000).unwrap().len(), 64 * 251);
    assert!(matches!(
        f.featurize(&[], 44100),
        Err(FeatureError::EmptyCycle { source_sr: 44100 })
    ));
    assert!(matches!(
        f.featurize(&[0.1, 0.2], 0),
        Err(FeatureError::Resample(_))
    ));
}

#[test]
fn resamplers_are_cached_per_rate() {
    let f = CycleFeaturizer::new(FeatureParams::default()).unwrap();
    let a = f.resampler(44100).unwrap();
    let b = f.resampler(44100).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert!(!Arc::ptr_eq(&a, &f.resampler(4000).unwrap()));
}

#[test]
fn featurizer_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CycleFeaturizer>();
    assert_send_sync::<MelExtractor>();
}
