//! Unit tests of `auscult::data::transforms` (`src/data/transforms.rs`).

use auscult::data::transforms::*;
use candle_core::Device;
use candle_core::{Result, Tensor};
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::ops::Range;

/// Zero runs of a keep-mask row, as index ranges.
fn zero_runs(row: &[f32]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, &v) in row.iter().chain(std::iter::once(&1.0)).enumerate() {
        match (v == 0.0, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    runs
}

#[test]
fn band_widths_follow_the_formulas() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for _ in 0..20_000 {
        let (uw, us) = (rng.gen::<f32>(), rng.gen::<f32>());
        let floored = mask_band(64, 20, uw, us, BandFormula::Floored);
        let continuous = mask_band(64, 20, uw, us, BandFormula::Continuous);
        let v = uw * 20.0;
        // Floored: exactly ⌊v⌋ wide (< 20), inside the axis.
        assert_eq!(floored.len(), v as usize);
        assert!(floored.end <= 64);
        // Continuous: ⌊v⌋ or ⌊v⌋ + 1 wide (≤ 20), inside the axis.
        assert!(continuous.len() == v as usize || continuous.len() == v as usize + 1);
        assert!(continuous.len() <= 20 && continuous.end <= 64);
    }
    // Hand case: v = 0.73·20 = 14.6, s = 0.61·(64 − 14.6) = 30.134:
    // continuous → integers in [30.134, 44.734) = 31..45; floored → 30..44.
    assert_eq!(
        mask_band(64, 20, 0.73, 0.61, BandFormula::Continuous),
        31..45
    );
    assert_eq!(mask_band(64, 20, 0.73, 0.61, BandFormula::Floored), 30..44);
    assert_eq!(mask_band(64, 0, 0.9, 0.5, BandFormula::Floored), 0..0);
}

#[test]
fn masks_are_iid_bands_within_bounds() {
    let params = SpecAugmentParams {
        band: BandFormula::Floored,
        ..SpecAugmentParams::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (rows, mels, frames) = (256, 64, 251);
    let masks = params.draw_masks(rows, mels, frames, &mut rng);
    assert!(masks.applied);
    let mut distinct_rows = std::collections::HashSet::new();
    let mut masked_bins = 0usize;
    for r in 0..rows {
        let freq = &masks.freq_keep[r * mels..(r + 1) * mels];
        let time = &masks.time_keep[r * frames..(r + 1) * frames];
        // Two masks per axis: at most two zero runs, each (union of ≤ 2 bands) ≤ 2·(param − 1).
        let (fr, tr) = (zero_runs(freq), zero_runs(time));
        assert!(fr.len() <= 2 && tr.len() <= 2);
        assert!(fr.iter().all(|b| b.len() <= 2 * 19) && tr.iter().all(|b| b.len() <= 2 * 39));
        masked_bins += freq.iter().filter(|&&v| v == 0.0).count();
        distinct_rows.insert(freq.iter().map(|&v| v as u8).collect::<Vec<_>>());
    }
    // Per-example draws: almost every row differs.
    assert!(
        distinct_rows.len() > rows * 9 / 10,
        "{} distinct rows",
        distinct_rows.len()
    );
    // Mean width per mask ⌊U·20⌋ is 9.5; two (possibly overlapping) masks cover a bit less
    // than 19 bins per row on average.
    let mean_masked = masked_bins as f64 / rows as f64;
    assert!(
        (14.0..19.5).contains(&mean_masked),
        "mean masked bins {mean_masked}"
    );
}

#[test]
fn same_seed_same_masks() {
    let params = SpecAugmentParams::default();
    let a = params.draw_masks(8, 64, 251, &mut ChaCha8Rng::seed_from_u64(3));
    let b = params.draw_masks(8, 64, 251, &mut ChaCha8Rng::seed_from_u64(3));
    let c = params.draw_masks(8, 64, 251, &mut ChaCha8Rng::seed_from_u64(4));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn official_randn_gate_applies_about_84_percent() {
    // P(Z < 1) = Φ(1) = 0.8413.
    let params = SpecAugmentParams::official();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let n = 20_000;
    let applied = (0..n)
        .filter(|_| params.draw_masks(1, 4, 4, &mut rng).applied)
        .count();
    let rate = applied as f64 / n as f64;
    assert!((rate - 0.8413).abs() < 0.015, "rate {rate}");
}

#[test]
fn masked_cells_are_zero_before_standardisation() -> Result<()> {
    let dev = Device::Cpu;
    let (b, m, t) = (4, 64, 251);
    let x = Tensor::rand(0.5f32, 1.0, (b, 1, m, t), &dev)?;
    let params = SpecAugmentParams::default();
    let masks = params.draw_masks(b, m, t, &mut ChaCha8Rng::seed_from_u64(9));
    let y: Vec<f32> = masks.apply(&x)?.flatten_all()?.to_vec1()?;
    let x: Vec<f32> = x.flatten_all()?.to_vec1()?;
    for i in 0..b * m * t {
        let (r, rest) = (i / (m * t), i % (m * t));
        let (mel, frame) = (rest / t, rest % t);
        let keep = masks.freq_keep[r * m + mel] * masks.time_keep[r * t + frame];
        assert_eq!(y[i], if keep == 0.0 { 0.0 } else { x[i] });
    }
    Ok(())
}

#[test]
fn eval_path_is_scale_then_standardise() -> Result<()> {
    let dev = Device::Cpu;
    let x = Tensor::rand(-80f32, 10.0, (3, 1, 8, 5), &dev)?;
    let tf = InputTransform::default();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let y = tf.apply(&x, false, &mut rng)?;
    let expected = standardize(
        &min_max_scale(&x, MinMax::PerSample)?,
        Some(Standardization::OFFICIAL),
    )?;
    let diff = (y - expected)?.abs()?.max_all()?.to_scalar::<f32>()?;
    assert_eq!(diff, 0.0);
    Ok(())
}

#[test]
fn constant_sample_scales_to_zero() -> Result<()> {
    let dev = Device::Cpu;
    let x = Tensor::full(-30f32, (2, 1, 4, 4), &dev)?;
    for mode in [MinMax::PerSample, MinMax::PerBatch] {
        let y = min_max_scale(&x, mode)?.flatten_all()?.to_vec1::<f32>()?;
        assert!(y.iter().all(|&v| v == 0.0));
    }
    Ok(())
}

#[test]
fn streaming_stats_equal_direct_ones() -> Result<()> {
    let dev = Device::Cpu;
    let batches: Vec<Tensor> = (0..5)
        .map(|i| Tensor::rand(-90f32, (i * 3) as f32, (3 + i, 1, 8, 6), &dev))
        .collect::<Result<_>>()?;
    let stats = measure_input_stats(batches.iter().cloned().map(Ok), MinMax::PerSample)?
        .ok_or_else(|| candle_core::Error::Msg("no stats".into()))?;
    let mut all = Vec::new();
    for b in &batches {
        all.extend(
            min_max_scale(b, MinMax::PerSample)?
                .flatten_all()?
                .to_vec1::<f32>()?,
        );
    }
    let n = all.len() as f64;
    let mean = all.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = all.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    assert_eq!(stats.count, all.len() as u64);
    assert!((stats.mean - mean).abs() < 1e-12 && (stats.std - var.sqrt()).abs() < 1e-12);
    Ok(())
}
