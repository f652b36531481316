//! Unit tests of `auscult::train::optim` (`src/train/optim.rs`).

use auscult::tensor::synthetic::pseudo_random;
use auscult::train::optim::*;
use candle_core::{DType, Device, Result, Tensor, Var};

/// Three parameters (one larger than a fused chunk), gradients from a loss that depends on
/// the parameters, and the third parameter without a gradient every other step.
fn run(fused_cpu: bool, steps: usize) -> Result<(Vec<Vec<f32>>, Adam)> {
    let shapes: [&[usize]; 3] = [&[3, 5], &[FUSED_CHUNK + 17], &[4]];
    let vars = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| Var::from_tensor(&pseudo_random(s, 10 + i as u64, -1.0, 1.0)))
        .collect::<Result<Vec<_>>>()?;
    let mut adam = Adam::new(
        vars.clone(),
        AdamParams {
            lr: 3e-3,
            weight_decay: 1e-4,
            ..AdamParams::default()
        },
    )?
    .with_fused_cpu(fused_cpu);
    for step in 0..steps {
        let mut loss =
            (vars[0].as_tensor().sqr()?.sum_all()? + vars[1].as_tensor().sin()?.sum_all()?)?;
        if step % 2 == 0 {
            loss = (loss + vars[2].as_tensor().powf(3.0)?.sum_all()?)?;
        }
        adam.step(&loss.backward()?)?;
    }
    let values = vars
        .iter()
        .map(|v| v.as_tensor().flatten_all()?.to_vec1())
        .collect::<Result<Vec<_>>>()?;
    Ok((values, adam))
}

#[test]
fn fused_cpu_step_is_bit_identical_to_the_candle_op_path() -> Result<()> {
    let (fused, fused_adam) = run(true, 5)?;
    let (ops, ops_adam) = run(false, 5)?;
    assert_eq!(fused_adam.moments_on_host(0), Some(true));
    assert_eq!(ops_adam.moments_on_host(0), Some(false));
    for (a, b) in fused.iter().zip(&ops) {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(a), bits(b));
    }
    // The moments and step counts agree too (the third parameter missed two gradients).
    assert_eq!(fused_adam.step_count(2), 3);
    for (f, o) in fused_adam.moments()?.iter().zip(ops_adam.moments()?.iter()) {
        let ((fs, fm, fv), (os, om, ov)) = (f.as_ref().unwrap(), o.as_ref().unwrap());
        assert_eq!(fs, os);
        assert_eq!(fm.dims(), om.dims());
        for (x, y) in [(fm, om), (fv, ov)] {
            assert_eq!(
                x.flatten_all()?.to_vec1::<f32>()?,
                y.flatten_all()?.to_vec1::<f32>()?
            );
        }
    }
    Ok(())
}

#[test]
fn moments_round_trip_through_set_moments() -> Result<()> {
    let (_, adam) = run(true, 2)?;
    let saved = adam.moments()?;
    let mut fresh = Adam::new(adam.vars().to_vec(), *adam.params())?;
    for (i, m) in saved.iter().enumerate() {
        fresh.set_moments(i, m.clone())?;
    }
    for (a, b) in saved.iter().zip(fresh.moments()?.iter()) {
        let ((sa, ma, _), (sb, mb, _)) = (a.as_ref().unwrap(), b.as_ref().unwrap());
        assert_eq!(sa, sb);
        assert_eq!(ma.to_vec1::<f32>().ok(), mb.to_vec1::<f32>().ok());
        assert_eq!(ma.dims(), mb.dims());
    }
    // Moments of the wrong shape are refused, naming the parameter.
    let wrong = Tensor::zeros(7, DType::F32, &Device::Cpu)?;
    let e = fresh
        .set_moments(0, Some((1, wrong.clone(), wrong)))
        .unwrap_err();
    assert!(e.to_string().contains("parameter 0"), "{e}");
    Ok(())
}
