//! Unit tests of `src/signals.rs`.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use auscult_synth::signals::*;
use test_spectra::{peak_to_median, power_at};

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

#[test]
fn sine_table_matches_sin() {
    let table = sine_table();
    for i in 0..1000 {
        let p = i as f32 / 1000.0;
        let exact = (std::f64::consts::TAU * p as f64).sin();
        assert!(
            (sin_turns(table, p) as f64 - exact).abs() < 1e-5,
            "phase {p}"
        );
    }
}

#[test]
fn white_noise_has_unit_variance_and_zero_mean() {
    let mut noise = NoiseRng::from_rng(&mut ChaCha8Rng::seed_from_u64(1));
    let x: Vec<f32> = (0..200_000).map(|_| noise.white()).collect();
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
    assert!(mean.abs() < 0.01, "mean {mean}");
    assert!((rms(&x) - 1.0).abs() < 0.01, "rms {}", rms(&x));
}

#[test]
fn breath_noise_level_is_rate_independent_and_band_limited() {
    let params = BreathParams {
        low_hz: 100.0,
        high_hz: 1000.0,
        inhale_fraction: 0.5,
        exhale_gain: 1.0,
        floor: 1.0, // flat envelope: RMS equals `level`
    };
    for rate in [4000u32, 10000, 44100] {
        let mut out = vec![0.0f32; rate as usize * 2];
        let mut noise = NoiseRng::from_rng(&mut ChaCha8Rng::seed_from_u64(2));
        add_breath_noise(&mut out, rate, 0.1, &params, &mut noise);
        let r = rms(&out);
        assert!((0.07..0.13).contains(&r), "rate {rate}: rms {r}");
        // Little energy far above the band.
        let seg = &out[rate as usize / 2..rate as usize / 2 + 4000.min(rate as usize)];
        let sum = |f0: f32, step: f32| -> f64 {
            (0..10)
                .map(|k| power_at(seg, rate as f32, f0 + step * k as f32))
                .sum()
        };
        let (in_band, above) = (sum(450.0, 25.0), sum(1800.0, 20.0));
        assert!(in_band > 20.0 * above, "rate {rate}: {in_band} vs {above}");
    }
}

#[test]
fn wheeze_has_a_narrow_band_peak_and_normal_does_not() {
    let rate = 4000u32;
    let (mut wheeze_min, mut normal_max) = (f64::INFINITY, 0.0f64);
    for seed in 0..8 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for class in [SoundClass::Normal, SoundClass::Wheeze] {
            let mut out = vec![0.0f32; 2 * rate as usize];
            render_cycle(&mut out, class, rate, 0.03, &mut rng);
            let mid = out.len() / 2;
            let ratio = peak_to_median(&out[mid - 200..mid + 200], rate as f32);
            if class == SoundClass::Wheeze {
                wheeze_min = wheeze_min.min(ratio);
            } else {
                normal_max = normal_max.max(ratio);
            }
        }
    }
    assert!(
        wheeze_min > 4.0 * normal_max,
        "wheeze {wheeze_min} vs normal {normal_max}"
    );
}

#[test]
fn crackles_add_energy_above_the_breath_band() {
    let rate = 44100u32;
    let band_power = |x: &[f32]| -> f64 {
        (0..8)
            .map(|k| power_at(x, rate as f32, 1300.0 + 60.0 * k as f32))
            .sum()
    };
    let mut crackle_total = 0.0;
    let mut normal_total = 0.0;
    for seed in 0..4 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for class in [SoundClass::Normal, SoundClass::Crackle] {
            let mut out = vec![0.0f32; rate as usize];
            render_cycle(&mut out, class, rate, 0.03, &mut rng);
            let p = band_power(&out);
            if class == SoundClass::Crackle {
                crackle_total += p;
            } else {
                normal_total += p;
            }
        }
    }
    assert!(
        crackle_total > 5.0 * normal_total,
        "crackle {crackle_total} vs normal {normal_total}"
    );
}

#[test]
fn crackle_is_impulsive() {
    // Kurtosis of a crackle cycle is well above that of Gaussian-like breath noise (3).
    let kurtosis = |x: &[f32]| {
        let m2 = x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64;
        let m4 = x.iter().map(|&v| (v as f64).powi(4)).sum::<f64>() / x.len() as f64;
        m4 / (m2 * m2)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut normal = vec![0.0f32; 20000];
    let mut crackle = vec![0.0f32; 20000];
    render_cycle(&mut normal, SoundClass::Normal, 10000, 0.03, &mut rng);
    render_cycle(&mut crackle, SoundClass::Crackle, 10000, 0.03, &mut rng);
    assert!(kurtosis(&normal) < 6.0, "normal {}", kurtosis(&normal));
    assert!(kurtosis(&crackle) > 10.0, "crackle {}", kurtosis(&crackle));
}

#[test]
fn generators_handle_tiny_buffers_and_stay_in_range() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for len in [0usize, 1, 2, 7, 100] {
        for class in SoundClass::ALL {
            let mut out = vec![0.0f32; len];
            render_cycle(&mut out, class, 4000, 0.05, &mut rng);
            assert!(out.iter().all(|v| v.is_finite()));
        }
    }
    let spans = [
        CycleSpan {
            start: 100,
            end: 5000,
            class: SoundClass::Both,
        },
        CycleSpan {
            start: 4000,
            end: 99_999,
            class: SoundClass::Crackle,
        },
    ];
    let out = render_recording(8000, 4000, &spans, &mut rng);
    assert_eq!(out.len(), 8000);
    let peak = out.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(peak < 1.0 && peak > 0.05, "peak {peak}");
}

#[test]
fn same_seed_same_samples() {
    let spans = [CycleSpan {
        start: 10,
        end: 3000,
        class: SoundClass::Both,
    }];
    let a = render_recording(4000, 4000, &spans, &mut ChaCha8Rng::seed_from_u64(9));
    let b = render_recording(4000, 4000, &spans, &mut ChaCha8Rng::seed_from_u64(9));
    let c = render_recording(4000, 4000, &spans, &mut ChaCha8Rng::seed_from_u64(10));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn class_flags_round_trip() {
    for class in SoundClass::ALL {
        assert_eq!(
            SoundClass::from_flags(class.crackles(), class.wheezes()),
            class
        );
        assert_eq!(SoundClass::ALL[class.label()], class);
    }
}

/// Crude spectral measures for tests: a direct DFT at a few frequencies.
pub(crate) mod test_spectra {
    /// Power of `x` (Hann-windowed) at frequency `f` by a direct DFT sum.
    pub fn power_at(x: &[f32], rate: f32, f: f32) -> f64 {
        let n = x.len() as f64;
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (i, &v) in x.iter().enumerate() {
            let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n).cos();
            let arg = std::f64::consts::TAU * f as f64 * i as f64 / rate as f64;
            re += w * v as f64 * arg.cos();
            im -= w * v as f64 * arg.sin();
        }
        re * re + im * im
    }

    /// Peak-to-median power over 10 Hz bins from 100 to 1000 Hz.
    pub fn peak_to_median(x: &[f32], rate: f32) -> f64 {
        let mut p: Vec<f64> = (10..=100)
            .map(|k| power_at(x, rate, k as f32 * 10.0))
            .collect();
        let peak = p.iter().cloned().fold(0.0, f64::max);
        p.sort_by(|a, b| a.partial_cmp(b).unwrap());
        peak / p[p.len() / 2]
    }
}
