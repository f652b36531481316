//! Rough per-cycle timing of the feature path (resample → fade → fit → log-mel).
//!
//! `cargo run --release -p auscult-pipeline --example featurize_bench [cycles] [threads]`
//!
//! Synthetic cycles of 2.7 s (the ICBHI average) at the real source rates are processed
//! single-threaded stage by stage (on-CPU time per call, so a busy machine inflates it less),
//! then all together on a rayon pool (wall-clock throughput).

use std::hint::black_box;
use std::time::Instant;

use auscult_pipeline::features::{apply_fade, fit_length, CycleFeaturizer, FeatureParams};
use auscult_pipeline::resample::ResamplerKind;
use rayon::prelude::*;

/// Deterministic noisy chirp, `seconds` long at `sr`.
fn synthetic_cycle(sr: u32, seconds: f64, seed: u64) -> Vec<f32> {
    let n = (sr as f64 * seconds) as usize;
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).max(1);
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let t = i as f64 / sr as f64;
            let chirp = (2.0 * std::f64::consts::PI * (80.0 + 200.0 * t) * t).sin();
            (0.3 * chirp + 0.1 * ((state >> 40) as f64 / (1u64 << 24) as f64 - 0.5)) as f32
        })
        .collect()
}

/// Nanoseconds this thread has spent on a CPU (Linux `/proc/thread-self/schedstat`), so the
/// timing is not inflated when other processes share the cores; `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Mean milliseconds per call of `f` over `reps` calls: on-CPU time where available, else wall.
fn time_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let (start, cpu_start) = (Instant::now(), thread_cpu_ns());
    for _ in 0..reps {
        f();
    }
    let elapsed_ns = match (cpu_start, thread_cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64,
        _ => start.elapsed().as_secs_f64() * 1e9,
    };
    elapsed_ns / 1e6 / reps as f64
}

fn main() {
    let mut args = std::env::args().skip(1);
    let cycles: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let reps = 200;

    for kind in [ResamplerKind::Torchaudio, ResamplerKind::Rubato] {
        let params = FeatureParams {
            resampler: kind,
            ..FeatureParams::default()
        };
        let featurizer = CycleFeaturizer::new(params.clone()).expect("default params are valid");
        println!("resampler {kind:?}, single thread, 2.7 s cycles:");
        for sr in [44100u32, 4000, 10000, 8000] {
            let cycle = synthetic_cycle(sr, 2.7, sr as u64);
            let resampler = featurizer.resampler(sr).expect("positive rate");
            let resampled = resampler.process(&cycle);
            let resample_ms = time_ms(reps, || {
                black_box(resampler.process(black_box(&cycle)));
            });
            let fit_ms = time_ms(reps, || {
                let mut wave = resampled.clone();
                apply_fade(&mut wave, 1000, 1000);
                black_box(fit_length(wave, &params));
            });
            let wave = featurizer.waveform(&cycle, sr).expect("non-empty cycle");
            let mel_ms = time_ms(reps, || {
                black_box(featurizer.mel().log_mel(black_box(&wave)));
            });
            let total_ms = time_ms(reps, || {
                black_box(featurizer.featurize(black_box(&cycle), sr).expect("valid"));
            });
            println!(
                "  {sr:>5} Hz: resample {resample_ms:.3} ms, fade+fit {fit_ms:.3} ms, \
                 log-mel {mel_ms:.3} ms, featurize {total_ms:.3} ms"
            );
        }
    }

    // Throughput on a rayon pool over a mix of rates (ICBHI is mostly 44.1 kHz).
    let featurizer = CycleFeaturizer::new(FeatureParams::default()).expect("valid");
    let rates = [44100u32, 44100, 44100, 4000, 10000];
    let inputs: Vec<(Vec<f32>, u32)> = (0..cycles)
        .map(|i| {
            let sr = rates[i % rates.len()];
            let seconds = 1.0 + (i % 7) as f64 * 0.6; // 1.0 .. 4.6 s, mean 2.8 s
            (synthetic_cycle(sr, seconds, i as u64), sr)
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool");
    let start = Instant::now();
    let produced: usize = pool.install(|| {
        inputs
            .par_iter()
            .map(|(cycle, sr)| featurizer.featurize(cycle, *sr).expect("valid").len())
            .sum()
    });
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(produced, cycles * FeatureParams::default().feature_len());
    println!(
        "{cycles} mixed-rate cycles on {threads} threads: {secs:.2} s, {:.0} cycles/s",
        cycles as f64 / secs
    );
}
