//! Unit tests of `src/resample/rubato_engine.rs`.

use auscult_pipeline::resample::rubato_engine::*;

/// Centroid (in output samples) of a resampled Gaussian pulse centred at 0.5 s.
fn pulse_centroid(engine: &RubatoEngine) -> f64 {
    let sr = engine.orig_sr() as f64;
    let x: Vec<f32> = (0..engine.orig_sr() as usize)
        .map(|i| {
            let t = i as f64 / sr - 0.5;
            (-(t * t) / (2.0 * 0.002f64.powi(2))).exp() as f32
        })
        .collect();
    let out_len = engine.new_sr() as usize;
    let y = engine.process(&x, out_len);
    assert_eq!(y.len(), out_len);
    let (mass, moment) = y.iter().enumerate().fold((0.0, 0.0), |(m, mo), (i, &v)| {
        (m + v as f64, mo + v as f64 * i as f64)
    });
    moment / mass
}

#[test]
fn output_grid_is_aligned_with_torchaudio() {
    for orig in [4000u32, 8000, 10000, 22050, 44100, 48000] {
        let engine = RubatoEngine::new(orig, 16000).unwrap();
        let centroid = pulse_centroid(&engine);
        assert!(
            (centroid - 8000.0).abs() < 0.01,
            "{orig}: centroid {centroid}"
        );
    }
    // Awkward ratio (cubic interpolation): within half an input sample.
    let engine = RubatoEngine::new(44100, 16001).unwrap();
    let centroid = pulse_centroid(&engine);
    assert!(
        (centroid - 8000.5).abs() < 0.5 * 16001.0 / 44100.0 + 0.01,
        "{centroid}"
    );
}

#[test]
fn alignment_solutions() {
    assert_eq!(alignment(8000, 16000), (0, 0));
    assert_eq!(alignment(4000, 16000), (0, 2));
    assert_eq!(alignment(48000, 16000), (3, 0));
    let (p, d) = alignment(44100, 16000);
    assert_eq!((d + 1) * 441 + 1, (p + 1) * 160);
}

#[test]
fn pool_is_reused_and_results_repeat() {
    let engine = RubatoEngine::new(44100, 16000).unwrap();
    let x: Vec<f32> = (0..5000)
        .map(|i| ((i * 7919) % 200) as f32 / 100.0 - 1.0)
        .collect();
    let a = engine.process(&x, 1815);
    let b = engine.process(&x, 1815);
    assert_eq!(a, b);
    assert_eq!(engine.idle_resamplers(), 1);
    assert!(engine.process(&[], 0).is_empty());
}
