//! Parity of the trainer's numerics with PyTorch goldens written by
//! scripts/golden_numerics.py (torch / torchaudio 2.11): Adam, the cosine LR schedule, class
//! weights, cross-entropy, SupCon (+ hybrid, multi-head) values and gradients, min-max scaling
//! and standardisation, and SpecAugment band geometry from fixed uniform draws.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::common::values;

use auscult::data::transforms::{
    mask_band, min_max_scale, standardize, BandFormula, MinMax, Standardization,
};
use auscult::train::losses::{
    class_weights, cross_entropy, multi_head_supcon, supcon_ce_loss, supcon_loss, SupConHead,
    ICBHI_TRAIN_COUNTS, OFFICIAL_TEMPERATURE,
};
use auscult::train::optim::{Adam, AdamParams};
use auscult::train::schedule::CosineAnnealingLr;
use candle_core::backprop::GradStore;
use candle_core::{Device, Result, Tensor, Var};

/// Relative tolerance of float32 comparisons (plus an absolute floor for values near 0).
const RTOL: f64 = 1e-5;
const ATOL: f64 = 1e-6;

fn golden(name: &str) -> Result<HashMap<String, Tensor>> {
    let path = PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/fixtures/golden_numerics")
    .join(format!("{name}.safetensors"));
    candle_core::safetensors::load(&path, &Device::Cpu)
        .map_err(|e| candle_core::Error::Msg(format!("{}: {e}", path.display())))
}

fn get<'a>(g: &'a HashMap<String, Tensor>, key: &str) -> &'a Tensor {
    g.get(key)
        .unwrap_or_else(|| panic!("golden tensor {key} missing: rerun scripts/golden_numerics.py"))
}

/// Asserts `|a − e| ≤ ATOL + RTOL·|e|` elementwise; returns the max relative error (for the
/// log) over elements with |e| > ATOL.
fn assert_close(actual: &Tensor, expected: &Tensor, what: &str) -> Result<f64> {
    assert_eq!(actual.dims(), expected.dims(), "{what}: shape");
    let (a, e) = (values::<f64>(actual)?, values::<f64>(expected)?);
    let mut max_rel = 0f64;
    let mut max_abs = 0f64;
    let scale = e.iter().fold(0f64, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(&e).enumerate() {
        let err = (x - y).abs();
        max_abs = max_abs.max(err);
        assert!(
            err <= ATOL + RTOL * y.abs(),
            "{what}[{i}]: {x} vs torch {y} (err {err:e})"
        );
        if y.abs() > ATOL {
            max_rel = max_rel.max(err / y.abs());
        }
    }
    println!(
        "{what}: max rel err {max_rel:.2e}, max abs err {max_abs:.2e} (max |torch| {scale:.2e}) over {} values",
        a.len()
    );
    Ok(max_rel)
}

#[test]
fn adam_matches_torch_with_coupled_weight_decay_and_missing_grads() -> Result<()> {
    let g = golden("adam")?;
    let lrs = values::<f64>(get(&g, "adam.lrs"))?;
    let has_g1: Vec<u8> = get(&g, "adam.has_g1").to_vec1()?;
    for (tag, weight_decay) in [("wd0", 0.0), ("wd005", 0.05)] {
        let p0 = Var::from_tensor(get(&g, "adam.p0_init"))?;
        let p1 = Var::from_tensor(get(&g, "adam.p1_init"))?;
        let params = AdamParams {
            lr: lrs[0],
            weight_decay,
            ..AdamParams::default()
        };
        let mut adam = Adam::new(vec![p0.clone(), p1.clone()], params)?;
        for (step, &lr) in lrs.iter().enumerate() {
            adam.set_lr(lr);
            let mut grads = GradStore::default();
            grads.insert(p0.as_tensor(), get(&g, "adam.g0").get(step)?);
            if has_g1[step] != 0 {
                grads.insert(p1.as_tensor(), get(&g, "adam.g1").get(step)?);
            }
            adam.step(&grads)?;
            let what = format!("adam.{tag} step {step}");
            let after0 = get(&g, &format!("adam.{tag}.p0_after")).get(step)?;
            let after1 = get(&g, &format!("adam.{tag}.p1_after")).get(step)?;
            assert_close(p0.as_tensor(), &after0, &format!("{what} p0"))?;
            assert_close(p1.as_tensor(), &after1, &format!("{what} p1"))?;
        }
        // The parameter without a gradient at one step was stepped one time fewer.
        assert_eq!(adam.step_count(0), lrs.len() as u64);
        assert_eq!(adam.step_count(1), lrs.len() as u64 - 1);
    }
    Ok(())
}

#[test]
fn cosine_schedule_matches_torch_within_1e15() -> Result<()> {
    let g = golden("schedule")?;
    for (tag, base) in [("lr1e-3", 1e-3), ("lr1e-4", 1e-4)] {
        let expected = values::<f64>(get(&g, &format!("schedule.{tag}")))?;
        assert_eq!(expected.len(), 401);
        let mut schedule = CosineAnnealingLr::official(base);
        let mut ours = vec![schedule.lr()];
        for _ in 0..400 {
            ours.push(schedule.step());
        }
        let mismatches = ours.iter().zip(&expected).filter(|(a, b)| a != b).count();
        let max_rel = ours
            .iter()
            .zip(&expected)
            .map(|(a, b)| ((a - b) / b).abs())
            .fold(0f64, f64::max);
        println!("schedule {tag}: {mismatches} of 401 differ, max rel {max_rel:e}");
        assert!(max_rel < 1e-15, "schedule {tag}: max rel {max_rel:e}");
        assert_eq!(
            CosineAnnealingLr::sequence(base, 40, 1e-6, 400)[..],
            ours[..400]
        );
    }
    Ok(())
}

#[test]
fn class_weights_match_main_py() -> Result<()> {
    let g = golden("losses")?;
    let ours =
        class_weights(&ICBHI_TRAIN_COUNTS).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    let ours = Tensor::new(ours.as_slice(), &Device::Cpu)?;
    assert_close(&ours, get(&g, "class_weights.icbhi"), "class weights")?;
    Ok(())
}

/// Loss value and gradients w.r.t. the given leaf variables.
fn loss_and_grads(loss: &Tensor, leaves: &[&Var]) -> Result<(Tensor, Vec<Tensor>)> {
    let grads = loss.backward()?;
    let leaf_grads = leaves
        .iter()
        .map(|v| {
            grads
                .get(v.as_tensor())
                .cloned()
                .ok_or_else(|| candle_core::Error::Msg("no gradient for a leaf".into()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((loss.reshape(1)?, leaf_grads))
}

#[test]
fn cross_entropy_matches_torch() -> Result<()> {
    let g = golden("losses")?;
    let weights = get(&g, "class_weights.icbhi");
    let target = get(&g, "ce.target");
    for (tag, w) in [("weighted", Some(weights)), ("unweighted", None)] {
        let logits = Var::from_tensor(get(&g, "ce.logits"))?;
        let loss = cross_entropy(logits.as_tensor(), target, w)?;
        let (value, grads) = loss_and_grads(&loss, &[&logits])?;
        assert_close(
            &value,
            get(&g, &format!("ce.{tag}.loss")),
            &format!("ce {tag} loss"),
        )?;
        assert_close(
            &grads[0],
            get(&g, &format!("ce.{tag}.grad")),
            &format!("ce {tag} grad"),
        )?;
    }
    Ok(())
}

#[test]
fn supcon_matches_official_losses_py() -> Result<()> {
    let g = golden("losses")?;
    for tag in ["labels", "distinct", "nolabels"] {
        let p1 = Var::from_tensor(get(&g, "supcon.p1"))?;
        let p2 = Var::from_tensor(get(&g, "supcon.p2"))?;
        let labels = g.get(&format!("supcon.{tag}.labels"));
        let loss = supcon_loss(p1.as_tensor(), p2.as_tensor(), labels, OFFICIAL_TEMPERATURE)?;
        let (value, grads) = loss_and_grads(&loss, &[&p1, &p2])?;
        // "labels" has two classes with a single member: finite in PyTorch and here.
        assert!(value.to_vec1::<f32>()?[0].is_finite());
        assert_close(
            &value,
            get(&g, &format!("supcon.{tag}.loss")),
            &format!("supcon {tag} loss"),
        )?;
        assert_close(
            &grads[0],
            get(&g, &format!("supcon.{tag}.grad1")),
            &format!("supcon {tag} grad1"),
        )?;
        assert_close(
            &grads[1],
            get(&g, &format!("supcon.{tag}.grad2")),
            &format!("supcon {tag} grad2"),
        )?;
    }
    Ok(())
}

#[test]
fn hybrid_matches_official_supconce() -> Result<()> {
    let g = golden("losses")?;
    let p1 = Var::from_tensor(get(&g, "supcon.p1"))?;
    let p2 = Var::from_tensor(get(&g, "supcon.p2"))?;
    let c1 = Var::from_tensor(get(&g, "hybrid.pred1"))?;
    let c2 = Var::from_tensor(get(&g, "hybrid.pred2"))?;
    let hybrid = supcon_ce_loss(
        p1.as_tensor(),
        p2.as_tensor(),
        c1.as_tensor(),
        c2.as_tensor(),
        get(&g, "hybrid.target"),
        Some(get(&g, "class_weights.icbhi")),
        0.5,
        OFFICIAL_TEMPERATURE,
    )?;
    let (value, grads) = loss_and_grads(&hybrid.total, &[&p1, &p2, &c1, &c2])?;
    assert_close(&value, get(&g, "hybrid.loss"), "hybrid loss")?;
    for (grad, key) in grads
        .iter()
        .zip(["grad_p1", "grad_p2", "grad_pred1", "grad_pred2"])
    {
        assert_close(
            grad,
            get(&g, &format!("hybrid.{key}")),
            &format!("hybrid {key}"),
        )?;
    }
    Ok(())
}

#[test]
fn multi_head_masked_supcon_equals_official_on_valid_subsets() -> Result<()> {
    let g = golden("losses")?;
    let mut vars = Vec::new();
    for i in 0..3 {
        vars.push((
            Var::from_tensor(get(&g, &format!("multi.h{i}.p1")))?,
            Var::from_tensor(get(&g, &format!("multi.h{i}.p2")))?,
        ));
    }
    let lambdas: Vec<f64> = (0..3)
        .map(|i| Ok(values::<f64>(get(&g, &format!("multi.h{i}.lambda")))?[0]))
        .collect::<Result<_>>()?;
    let heads: Vec<SupConHead<'_>> = (0..3)
        .map(|i| SupConHead {
            proj1: vars[i].0.as_tensor(),
            proj2: vars[i].1.as_tensor(),
            labels: g.get(&format!("multi.h{i}.labels")),
            valid: g.get(&format!("multi.h{i}.valid")),
            weight: lambdas[i],
        })
        .collect();
    let loss = multi_head_supcon(&heads, OFFICIAL_TEMPERATURE)?;
    for (i, head_loss) in loss.per_head.iter().enumerate() {
        assert_close(
            &head_loss.reshape(1)?,
            get(&g, &format!("multi.h{i}.loss")),
            &format!("multi head {i} loss"),
        )?;
    }
    let leaves: Vec<&Var> = vars.iter().flat_map(|(a, b)| [a, b]).collect();
    let (total, grads) = loss_and_grads(&loss.total, &leaves)?;
    assert_close(&total, get(&g, "multi.total"), "multi total")?;
    for i in 0..3 {
        for v in 0..2 {
            let expected = get(&g, &format!("multi.h{i}.grad{}", v + 1));
            assert_close(
                &grads[2 * i + v],
                expected,
                &format!("multi head {i} grad{}", v + 1),
            )?;
        }
    }
    Ok(())
}

#[test]
fn min_max_and_standardise_match_torch() -> Result<()> {
    let g = golden("transforms")?;
    let x = get(&g, "tf.x");
    for (mode, tag) in [
        (MinMax::PerSample, "per_sample"),
        (MinMax::PerBatch, "per_batch"),
    ] {
        let scaled = min_max_scale(x, mode)?;
        assert_close(
            &scaled,
            get(&g, &format!("tf.{tag}")),
            &format!("min-max {tag}"),
        )?;
        let standardized = standardize(&scaled, Some(Standardization::OFFICIAL))?;
        assert_close(
            &standardized,
            get(&g, &format!("tf.{tag}_std")),
            &format!("standardise {tag}"),
        )?;
    }
    // Train-set statistics helper on the per-sample-scaled golden input (population std).
    let stats = auscult::data::transforms::measure_input_stats([Ok(x.clone())], MinMax::PerSample)?
        .ok_or_else(|| candle_core::Error::Msg("no stats".into()))?;
    let mean = values::<f64>(get(&g, "tf.per_sample_mean"))?[0];
    let std = values::<f64>(get(&g, "tf.per_sample_pstd"))?[0];
    println!(
        "stats: mean {} vs {mean}, std {} vs {std}",
        stats.mean, stats.std
    );
    assert!((stats.mean - mean).abs() < 1e-6 && (stats.std - std).abs() < 1e-6);
    Ok(())
}

#[test]
fn spec_augment_bands_match_torchaudio_formulas() -> Result<()> {
    let g = golden("transforms")?;
    let uw: Vec<f32> = get(&g, "spec.u_width").to_vec1()?;
    let us: Vec<f32> = get(&g, "spec.u_start").to_vec1()?;
    for (axis, size, param) in [("freq", 64usize, 20usize), ("time", 251, 40)] {
        for (formula, tag) in [
            (BandFormula::Floored, "floor"),
            (BandFormula::Continuous, "v091"),
        ] {
            let expected: Vec<Vec<f32>> = get(&g, &format!("spec.{axis}.keep_{tag}")).to_vec2()?;
            for (row, keep) in expected.iter().enumerate() {
                let band = mask_band(size, param, uw[row], us[row], formula);
                let ours: Vec<f32> = (0..size)
                    .map(|i| if band.contains(&i) { 0.0 } else { 1.0 })
                    .collect();
                assert_eq!(&ours, keep, "{axis} {tag} row {row}: band {band:?}");
            }
        }
    }
    Ok(())
}
