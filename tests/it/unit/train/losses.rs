//! Unit tests of `auscult::train::losses` (`src/train/losses.rs`).

use auscult::train::losses::*;
use candle_core::{DType, Device, Result, Tensor};

#[test]
fn class_weights_reject_empty_classes() {
    assert!(matches!(class_weights(&[]), Err(LossError::NoClasses)));
    assert!(matches!(
        class_weights(&[3, 0, 2]),
        Err(LossError::EmptyClass { class: 1 })
    ));
}

#[test]
fn class_weights_are_normalised_inverse_frequencies() -> std::result::Result<(), LossError> {
    // Counts 1 and 3: inverse frequencies 4 and 4/3, normalised: 3/4 and 1/4.
    let w = class_weights(&[1, 3])?;
    assert!((w[0] - 0.75).abs() < 1e-7 && (w[1] - 0.25).abs() < 1e-7);
    Ok(())
}

#[test]
fn uniform_logits_give_log_c_cross_entropy() -> Result<()> {
    // All-equal logits: softmax is 1/C, so the (weighted) CE is ln C whatever the weights.
    let dev = Device::Cpu;
    let logits = Tensor::zeros((5, 4), DType::F32, &dev)?;
    let targets = Tensor::new(&[0u32, 1, 2, 3, 3], &dev)?;
    let w = Tensor::new(&[0.1f32, 0.2, 0.3, 0.4], &dev)?;
    for weights in [None, Some(&w)] {
        let loss = cross_entropy(&logits, &targets, weights)?.to_scalar::<f32>()?;
        assert!((loss - 4f32.ln()).abs() < 1e-6);
    }
    Ok(())
}

#[test]
fn all_invalid_head_is_zero_and_finite() -> Result<()> {
    let dev = Device::Cpu;
    let p = Tensor::new(&[[1f32, 0.0], [0.0, 1.0], [1.0, 1.0]], &dev)?;
    let valid = Tensor::zeros(3, DType::U8, &dev)?;
    let loss = masked_supcon_loss(&p, &p, None, Some(&valid), 0.06)?.to_scalar::<f32>()?;
    assert_eq!(loss, 0.0);
    Ok(())
}
