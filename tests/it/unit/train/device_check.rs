//! Unit tests of `auscult::train::device_check` (`src/train/device_check.rs`).

use auscult::model::cnn6::Kernels;
use auscult::tensor::synthetic::pseudo_random;
use auscult::train::device_check::*;
use auscult::train::experiment::MethodKind;
use candle_core::{DType, Device, Tensor};

/// A deterministic vector of `n` values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f64> {
    pseudo_random(&[n], seed, -1.0, 1.0)
        .to_vec1::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// `exact` plus noise of relative L2 size `rel`.
fn noisy(exact: &[f64], rel: f64, seed: u64) -> Vec<f64> {
    let noise = values(exact.len(), seed);
    let scale = rel * l2(exact) / l2(&noise);
    exact
        .iter()
        .zip(&noise)
        .map(|(e, n)| e + scale * n)
        .collect()
}

fn l2(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

#[test]
fn the_criterion_is_the_f64_error_envelope() {
    let c = Criterion::default();
    let exact = values(1000, 1);
    let reference = noisy(&exact, 1e-3, 2);
    // Within 4× the reference's own error: passes, at any max-rel.
    let healthy = noisy(&exact, 3e-3, 3);
    let check = ParityCheck::new("t", &healthy, &reference, &exact);
    assert!((check.reference_error - 1e-3).abs() < 1e-9, "{check:?}");
    assert!((check.candidate_error - 3e-3).abs() < 1e-9, "{check:?}");
    assert!(check.passes(&c), "{check:?}");
    assert!(check.margin(&c) < 1.0);
    // 5× further from f64 than the reference: fails.
    let far = noisy(&exact, 5e-3, 3);
    assert!(!ParityCheck::new("t", &far, &reference, &exact).passes(&c));
    // Where the reference is nearly exact, the floor holds.
    let exactish = noisy(&exact, 1e-8, 4);
    assert!(ParityCheck::new("t", &noisy(&exact, 0.9e-4, 5), &exactish, &exact).passes(&c));
    assert!(!ParityCheck::new("t", &noisy(&exact, 1.1e-4, 5), &exactish, &exact).passes(&c));
    // Scaled by 1.1; one large element flipped; NaN; a wrong length: all fail.
    let scaled: Vec<f64> = reference.iter().map(|v| 1.1 * v).collect();
    let mut flipped = reference.clone();
    let top = (0..flipped.len())
        .max_by(|&a, &b| flipped[a].abs().total_cmp(&flipped[b].abs()))
        .unwrap();
    flipped[top] = -flipped[top];
    let mut nan = reference.clone();
    nan[7] = f64::NAN;
    for bad in [&scaled, &flipped, &nan, &reference[1..].to_vec()] {
        let check = ParityCheck::new("t", bad, &reference, &exact);
        assert!(!check.passes(&c), "{check:?}");
        assert!(check.margin(&c) > 1.0, "{check:?}");
    }
}

/// Three real steps (fused f32, generic f32, f64) on a small input.
fn steps(method: MethodKind) -> (Step, Step, Step) {
    let (batch, frames, seed) = (4, 32, 3);
    let x = pseudo_random(&[batch, 1, 64, frames], seed, -2.0, 2.0);
    let y = Tensor::from_vec(vec![0u32, 1, 0, 1], batch, &Device::Cpu).unwrap();
    let run = |kernels, dtype| step(method, &Device::Cpu, kernels, dtype, &x, &y, seed);
    (
        run(Kernels::Generic, DType::F32).unwrap(),
        run(Kernels::Auto, DType::F32).unwrap(),
        run(Kernels::Generic, DType::F64).unwrap(),
    )
}

fn failing(checks: &[ParityCheck]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| !c.passes(&Criterion::default()))
        .map(|c| c.name.clone())
        .collect()
}

#[test]
fn a_healthy_step_passes_and_a_corrupted_one_fails() {
    for method in [MethodKind::Ce, MethodKind::Scl] {
        let (candidate, reference, exact) = steps(method);
        let healthy = checks(&candidate, &reference, &exact);
        assert!(healthy.len() > 30, "{method}: {} checks", healthy.len());
        assert_eq!(failing(&healthy), Vec::<String>::new(), "{method}");

        let corrupt = |name: &str, f: &dyn Fn(&mut Vec<f64>)| {
            let mut bad = candidate.clone();
            let t = bad.tensors.iter_mut().find(|(n, _)| n == name).unwrap();
            f(&mut t.1);
            failing(&checks(&bad, &reference, &exact))
        };
        let grad = "grad conv_block2.conv1.weight";
        // One gradient 10% too large.
        let scaled = corrupt(grad, &|g| g.iter_mut().for_each(|v| *v *= 1.1));
        assert_eq!(scaled, [grad], "{method}");
        // One element of one gradient with its sign flipped, at the tensor's largest size.
        let flipped = corrupt(grad, &|g| {
            let top = g.iter().fold(0f64, |m, v| m.max(v.abs()));
            g[17] = if g[17] > 0.0 { -top } else { top };
        });
        assert_eq!(flipped, [grad], "{method}");
        // The loss off in its 5th digit.
        let loss = corrupt("loss", &|l| l[0] *= 1.0 + 1e-4 * 1.5);
        assert_eq!(loss, ["loss"], "{method}");

        // An optimiser that steps 10% too far on one parameter.
        let mut bad = candidate.clone();
        let s = bad
            .stepped
            .iter_mut()
            .find(|s| s.name == "conv_block3.conv1.weight")
            .unwrap();
        for (a, b) in s.after.iter_mut().zip(&s.before) {
            *a = b + 1.1 * (*a - b);
        }
        assert_eq!(
            failing(&checks(&bad, &reference, &exact)),
            ["after one Adam step: conv_block3.conv1.weight"],
            "{method}"
        );
    }
}
