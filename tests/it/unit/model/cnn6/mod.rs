//! Unit tests of `auscult::model::cnn6` (`src/model/cnn6/mod.rs`).

mod device_block;
mod fused_block;
mod reference;

use auscult::model::cnn6::*;
use candle_core::Device;
use candle_core::{DType, Tensor, Var};
use candle_nn::VarBuilder;
use candle_nn::VarMap;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn model(seed: u64, classes: usize) -> (VarMap, Cnn6) {
    let vm = VarMap::new();
    let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
    let m = Cnn6::new_seeded(
        vb,
        Cnn6Config {
            num_classes: classes,
            dropout: false,
            ..Default::default()
        },
        seed,
    )
    .unwrap();
    (vm, m)
}

fn values(v: &Var) -> Vec<f32> {
    v.as_tensor()
        .flatten_all()
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap()
        .to_vec1()
        .unwrap()
}

#[test]
fn names_and_shapes_are_pytorch_state_dict() {
    let (vm, m) = model(0, 4);
    let sd = m.state_dict();
    assert_eq!(sd.len(), 4 * 6 + 2);
    assert_eq!(sd[0].name, "conv_block1.conv1.weight");
    assert_eq!(sd[0].var.dims(), [64, 1, 5, 5]);
    assert_eq!(sd[18].name, "conv_block4.conv1.weight");
    assert_eq!(sd[18].var.dims(), [512, 256, 5, 5]);
    assert_eq!(sd[23].var.dtype(), DType::I64);
    assert_eq!(sd[23].var.dims(), [] as [usize; 0]);
    assert_eq!(sd[25].name, "linear.bias");
    // The VarMap holds the same variables (so VarMap::save keeps buffers too).
    let map = vm.data().lock().unwrap();
    assert_eq!(map.len(), sd.len());
    for e in &sd {
        assert_eq!(
            map.get(&e.name).unwrap().as_tensor().id(),
            e.var.as_tensor().id(),
            "{}",
            e.name
        );
    }
    // Trainable: conv + BN affine per block, plus the head.
    assert_eq!(m.trainable_vars().len(), 4 * 3 + 2);
}

#[test]
fn seeded_init_is_deterministic_and_follows_the_official_bounds() {
    let (_, a) = model(7, 4);
    let (_, b) = model(7, 4);
    let (_, c) = model(8, 4);
    for ((ea, eb), ec) in a
        .state_dict()
        .iter()
        .zip(b.state_dict())
        .zip(c.state_dict())
    {
        assert_eq!(values(&ea.var), values(&eb.var), "{}", ea.name);
        if ea.name.ends_with("conv1.weight") {
            assert_ne!(values(&ea.var), values(&ec.var));
        }
    }
    for block in &a.blocks {
        let (o, c, kh, kw) = block.conv_weight.dims4().unwrap();
        let bound = xavier_bound(o, c, kh, kw) as f32;
        let v = values(&block.conv_weight);
        assert!(v.iter().all(|x| x.abs() <= bound));
        // U(-b, b) has variance b²/3; with ≥ 1600 draws the estimate is within 10%.
        let var = v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / v.len() as f64;
        let expect = (bound as f64).powi(2) / 3.0;
        assert!((var / expect - 1.0).abs() < 0.1, "{var} vs {expect}");
        assert!(values(&block.bn.weight).iter().all(|x| *x == 1.0));
        assert!(values(&block.bn.running_var).iter().all(|x| *x == 1.0));
    }
    let lb = linear_bound(EMBED_DIM) as f32;
    assert!(values(&a.linear_weight)
        .iter()
        .chain(&values(&a.linear_bias))
        .all(|x| x.abs() <= lb));
}

#[test]
fn forward_shapes_and_running_stat_update() {
    let (_, m) = model(1, 3);
    let x = Tensor::randn(0f32, 1.0, (2, 1, 64, 40), &Device::Cpu).unwrap();
    let e = m.embed(&x, false).unwrap();
    assert_eq!(e.dims(), [2, EMBED_DIM]);
    assert_eq!(values(&m.blocks[0].bn.running_mean), vec![0.0; 64]);
    let logits = m.forward(&x, true).unwrap();
    assert_eq!(logits.dims(), [2, 3]);
    assert!(values(&m.blocks[0].bn.running_mean)
        .iter()
        .any(|v| *v != 0.0));
    let nbt = m.blocks[3]
        .bn
        .num_batches_tracked
        .as_tensor()
        .to_scalar::<i64>()
        .unwrap();
    assert_eq!(nbt, 1);
    assert!(m
        .forward(
            &Tensor::zeros((2, 1, 64, 8), DType::F32, &Device::Cpu).unwrap(),
            false
        )
        .is_err());
}

#[test]
fn evaluation_records_no_graph_for_any_kernels() {
    let (_, m) = model(2, 3);
    let x = Tensor::randn(0f32, 1.0, (2, 1, 64, 32), &Device::Cpu).unwrap();
    for kernels in [Kernels::Auto, Kernels::Generic, Kernels::Cudnn] {
        let m = Cnn6 {
            config: Cnn6Config {
                kernels,
                ..m.config
            },
            ..m.clone()
        };
        let out = m.forward(&x, false).unwrap();
        assert!(!out.track_op(), "{kernels}: eval logits carry a graph");
        let grads = out.sum_all().unwrap().backward().unwrap();
        for v in m.trainable_vars() {
            assert!(grads.get(v.as_tensor()).is_none(), "{kernels}");
        }
        // Train mode does record one, and reaches every trainable variable.
        let out = m.forward(&x, true).unwrap();
        let grads = out.sum_all().unwrap().backward().unwrap();
        for v in m.trainable_vars() {
            assert!(grads.get(v.as_tensor()).is_some(), "{kernels}");
        }
    }
}

#[test]
fn dropout_masks_follow_the_run_rng() {
    let shape = candle_core::Shape::from((3, 5, 70_000));
    let mask = |seed, stream| -> Vec<f32> {
        dropout_mask(&shape, 0.2, seed, stream, &Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    };
    let a = mask(11, 0);
    assert_eq!(a, mask(11, 0));
    assert_ne!(a, mask(12, 0));
    assert_ne!(a, mask(11, 1));
    let dropped = a.iter().filter(|v| **v == 0.0).count() as f64 / a.len() as f64;
    assert!((dropped - 0.2).abs() < 0.01, "{dropped}");
    assert!(a.iter().all(|v| *v == 0.0 || (*v - 1.25).abs() < 1e-6));
    // Through the network: same RNG state, same output; the RNG moves one draw per pass.
    let vm = VarMap::new();
    let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
    let cfg = Cnn6Config {
        num_classes: 2,
        dropout: true,
        ..Default::default()
    };
    let m = Cnn6::new_seeded(vb, cfg, 0).unwrap();
    let x = Tensor::randn(0f32, 1.0, (2, 1, 64, 32), &Device::Cpu).unwrap();
    let run = |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let e: Vec<f32> = m
            .embed_train(&x, &mut rng)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        (e, rng.next_u64())
    };
    let (e1, next1) = run(5);
    let (e2, next2) = run(5);
    let (e3, _) = run(6);
    assert_eq!(e1, e2);
    assert_eq!(next1, next2);
    assert_ne!(e1, e3);
    let mut r = ChaCha8Rng::seed_from_u64(5);
    r.next_u64();
    assert_eq!(next1, r.next_u64(), "one draw per pass");
    assert!(m.embed(&x, true).is_err(), "dropout without the run's RNG");
}

#[test]
fn state_dict_round_trip_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cnn6.safetensors");
    let (_, a) = model(3, 4);
    a.blocks[1]
        .bn
        .num_batches_tracked
        .set(&Tensor::new(5i64, &Device::Cpu).unwrap())
        .unwrap();
    a.save_state_dict(&path, "cnn6.").unwrap();
    let (_, b) = model(4, 4);
    b.load_state_dict(&path, "cnn6.").unwrap();
    for (ea, eb) in a.state_dict().iter().zip(b.state_dict()) {
        assert_eq!(values(&ea.var), values(&eb.var), "{}", ea.name);
    }
    let err = b.load_state_dict(&path, "").unwrap_err().to_string();
    assert!(
        err.contains("missing tensor `conv_block1.conv1.weight`"),
        "{err}"
    );
    let (_, c) = model(4, 5);
    let err = c.load_state_dict(&path, "cnn6.").unwrap_err().to_string();
    assert!(
        err.contains("linear.weight") && err.contains("[5, 512]"),
        "{err}"
    );
}
