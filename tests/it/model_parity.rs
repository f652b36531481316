//! CNN6 parity with PyTorch: outputs, running statistics and gradients against the goldens of
//! `scripts/golden_model.py` (tests/fixtures/golden_model/cnn6.safetensors, see that script for
//! the key layout). Run with `--nocapture` to see the max abs / relative differences.

use auscult::model::cnn6::{Cnn6, Cnn6Config};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use std::collections::HashMap;
use std::path::PathBuf;

/// Relative tolerance, as a fraction of the reference tensor's largest magnitude.
const RTOL: f64 = 1e-4;

fn fixture() -> HashMap<String, Tensor> {
    let path = PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/fixtures/golden_model/cnn6.safetensors");
    candle_core::safetensors::load(&path, &Device::Cpu).expect("golden fixture")
}

/// The Rust twin of `splitmix_uniform` in scripts/golden_model.py: n values in [-1, 1).
fn splitmix_uniform(seed: u64, n: usize) -> Vec<f32> {
    (1..=n as u64)
        .map(|i| {
            let mut z = seed.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            2.0f32 * ((z >> 40) as f32 / (1u64 << 24) as f32) - 1.0
        })
        .collect()
}

fn f64s(t: &Tensor) -> Vec<f64> {
    t.flatten_all()
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// `offset + scale * U` in f32, exactly as the script computes it.
fn generated(params: &[f64], shape: &[usize]) -> Tensor {
    let (seed, offset, scale) = (params[0] as u64, params[1] as f32, params[2] as f32);
    let n = shape.iter().product();
    let v: Vec<f32> = splitmix_uniform(seed, n)
        .into_iter()
        .map(|g| offset + scale * g)
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// Asserts `ours ≈ reference` within RTOL of the reference's max magnitude; prints the diffs.
fn check(label: &str, ours: &Tensor, reference: &Tensor) {
    assert_eq!(ours.dims(), reference.dims(), "{label}: shape");
    let (a, r) = (f64s(ours), f64s(reference));
    let scale = r.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let max_abs = a
        .iter()
        .zip(&r)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    let rel = max_abs / scale.max(f64::MIN_POSITIVE);
    println!("{label:<45} max|ref| {scale:>10.4e}  max abs diff {max_abs:>10.3e}  rel {rel:>9.2e}");
    assert!(
        max_abs <= RTOL * scale + 1e-7,
        "{label}: max abs diff {max_abs} vs max|ref| {scale}"
    );
}

/// Builds our model and loads the golden state dict into it through `load_state_dict`
/// (regenerating the big conv weights and checking their checksums first).
fn golden_model(fx: &HashMap<String, Tensor>) -> Cnn6 {
    let vm = VarMap::new();
    let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
    let model = Cnn6::new_seeded(
        vb,
        Cnn6Config {
            num_classes: 4,
            dropout: false,
            ..Default::default()
        },
        0,
    )
    .unwrap();
    let mut state = HashMap::new();
    for entry in model.state_dict() {
        let t = match fx.get(&format!("state.{}", entry.name)) {
            Some(t) => t.clone(),
            None => {
                let params = f64s(&fx[&format!("gen.{}", entry.name)]);
                let t = generated(&params, entry.var.dims());
                let check = f64s(&fx[&format!("gen_check.{}", entry.name)]);
                let v = f64s(&t);
                let (sum, sumsq) = (v.iter().sum::<f64>(), v.iter().map(|x| x * x).sum::<f64>());
                assert!(
                    (sum - check[0]).abs() <= 1e-9 * sumsq.sqrt() * 1e3,
                    "{}: sum {sum} vs {}",
                    entry.name,
                    check[0]
                );
                assert!(
                    (sumsq - check[1]).abs() <= 1e-9 * check[1],
                    "{}: sumsq {sumsq} vs {}",
                    entry.name,
                    check[1]
                );
                t
            }
        };
        state.insert(entry.name.clone(), t);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.safetensors");
    candle_core::safetensors::save(&state, &path).unwrap();
    model.load_state_dict(&path, "").unwrap();
    model
}

#[test]
fn eval_mode_matches_pytorch() {
    let fx = fixture();
    let model = golden_model(&fx);
    let x = &fx["input"];
    check(
        "eval.embedding",
        &model.embed(x, false).unwrap(),
        &fx["eval.embedding"],
    );
    check(
        "eval.logits",
        &model.forward(x, false).unwrap(),
        &fx["eval.logits"],
    );
    // Eval mode leaves the running statistics alone.
    for (k, block) in model.blocks.iter().enumerate() {
        let key = format!("state.conv_block{}.bn1.running_mean", k + 1);
        assert_eq!(f64s(block.bn.running_mean.as_tensor()), f64s(&fx[&key]));
    }
}

#[test]
fn train_mode_outputs_running_stats_and_gradients_match_pytorch() {
    let fx = fixture();
    let model = golden_model(&fx);
    let x = Var::from_tensor(&fx["input"]).unwrap();
    let emb = model.embed(x.as_tensor(), true).unwrap();
    let logits = model.head(&emb).unwrap();
    check("train.embedding", &emb, &fx["train.embedding"]);
    check("train.logits", &logits, &fx["train.logits"]);
    for entry in model.state_dict().iter().filter(|e| !e.trainable) {
        let reference = &fx[&format!("after.{}", entry.name)];
        if entry.var.dtype() == DType::I64 {
            assert_eq!(
                entry.var.as_tensor().to_scalar::<i64>().unwrap(),
                reference.to_scalar::<i64>().unwrap()
            );
        } else {
            check(
                &format!("after.{}", entry.name),
                entry.var.as_tensor(),
                reference,
            );
        }
    }

    let loss = (&logits * &fx["loss_weights"]).unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    check(
        "grad.input",
        grads.get(x.as_tensor()).unwrap(),
        &fx["grad.input"],
    );
    for entry in model.state_dict().iter().filter(|e| e.trainable) {
        let g = grads
            .get(entry.var.as_tensor())
            .unwrap_or_else(|| panic!("no gradient for {}", entry.name));
        if let Some(reference) = fx.get(&format!("grad.{}", entry.name)) {
            check(&format!("grad.{}", entry.name), g, reference);
            continue;
        }
        // Big conv weights: first two output channels in full, per-channel norms, projections.
        check(
            &format!("grad_rows.{}", entry.name),
            &g.narrow(0, 0, 2).unwrap(),
            &fx[&format!("grad_rows.{}", entry.name)],
        );
        let norms = g
            .flatten_from(1)
            .unwrap()
            .sqr()
            .unwrap()
            .sum(1)
            .unwrap()
            .sqrt()
            .unwrap();
        check(
            &format!("grad_norms.{}", entry.name),
            &norms,
            &fx[&format!("grad_norms.{}", entry.name)],
        );
        let seeds = f64s(&fx[&format!("proj_seeds.{}", entry.name)]);
        let ours: Vec<f64> = seeds
            .iter()
            .map(|s| {
                let r = generated(&[*s, 0.0, 1.0], g.dims());
                f64s(&r).iter().zip(f64s(g)).map(|(a, b)| a * b).sum()
            })
            .collect();
        let reference = &fx[&format!("grad_proj.{}", entry.name)];
        let norm = f64s(&norms).iter().map(|v| v * v).sum::<f64>().sqrt();
        let r = f64s(reference);
        for (k, (a, b)) in ours.iter().zip(&r).enumerate() {
            // A projection onto n iid U(-1,1) values has spread ‖g‖·sqrt(1/3); compare on that scale.
            let tol = RTOL * norm;
            println!(
                "grad_proj.{}[{k}] ours {a:>12.6e} ref {b:>12.6e} diff {:>9.2e} (tol {tol:.2e})",
                entry.name,
                (a - b).abs()
            );
            assert!(
                (a - b).abs() <= tol,
                "grad_proj.{}[{k}]: {a} vs {b}",
                entry.name
            );
        }
    }
}

/// The device-generic path (im2col + GEMM convs, BN from tensor ops: what a GPU runs) equals the
/// fused CPU kernels on the same weights and batch — loss, outputs, every gradient, running
/// statistics and one Adam step — for CE and SCL (`auscult bench parity` runs the same
/// comparison against a GPU).
#[test]
fn the_device_generic_path_equals_the_fused_cpu_kernels() {
    use auscult::model::cnn6::Kernels;
    use auscult::train::device_check::{compare, Criterion};
    use auscult::train::experiment::MethodKind;
    for (method, kernels) in [
        (MethodKind::Ce, Kernels::Generic),
        (MethodKind::Scl, Kernels::Generic),
        (MethodKind::Ce, Kernels::Cudnn),
        (MethodKind::Scl, Kernels::Cudnn),
    ] {
        let r = compare(method, &Device::Cpu, kernels, 6, 40, 7).unwrap();
        assert!(r.checks.len() > 30, "{method}: {} checks", r.checks.len());
        assert!(r
            .checks
            .iter()
            .any(|c| c.name == "grad conv_block1.conv1.weight"));
        assert!(r
            .checks
            .iter()
            .any(|c| c.name.starts_with("after one Adam step")));
        // On this small input the two f32 paths agree within RTOL outright (Adam's updates
        // aside: its first step is ≈ −lr·sign(g), and a gradient element within f32 rounding of
        // zero may step either way; each update is checked against its own gradient below)…
        let worst = r.worst();
        assert!(!worst.is_adam());
        eprintln!("{method}: worst {} {:.2e}", worst.name, worst.max_rel);
        assert!(
            worst.max_rel < RTOL,
            "{method}: {} differs by {:.2e}",
            worst.name,
            worst.max_rel
        );
        // …and each is close to the f64 result (an update: to Adam in f64 of its gradient).
        for c in &r.checks {
            assert!(
                c.candidate_error < 1e-3 && c.reference_error < 1e-3,
                "{method}: {c:?}"
            );
        }
        assert!(r.failures(&Criterion::default()).is_empty());
    }
}
