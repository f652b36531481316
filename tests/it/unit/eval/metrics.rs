//! Unit tests of `auscult::eval::metrics` (`src/eval/metrics.rs`).

use auscult::eval::metrics::*;
use candle_core::{Result as CandleResult, Tensor};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn icbhi_hand_case() -> Result<(), MetricsError> {
    // targets:     0 0 0 0 1 1 1 2 2 3
    // predictions: 0 0 1 0 1 2 1 2 0 1
    // normal: 4 examples, 3 predicted 0 → Sp = 3/4.
    // abnormal: class 1 hits 2 of 3, class 2 hits 1 of 2, class 3 hits 0 of 1
    //   → Se = 3/6 = 0.5 (a "both" predicted as "crackle" is a miss).
    // Score = (0.5 + 0.75)/2 = 0.625; HS = 2·0.5·0.75/1.25 = 0.6;
    // SPRS = (0.625 + 0.6)/2 = 0.6125; Acc = (3 + 3)/10 = 0.6.
    let targets = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3];
    let predictions = [0, 0, 1, 0, 1, 2, 1, 2, 0, 1];
    let m = ConfusionMatrix::from_labels(&predictions, &targets, 4, &[0])?.metrics();
    assert!(close(m.sp, 0.75) && close(m.se, 0.5));
    assert!(close(m.score, 0.625) && close(m.hs, 0.6));
    assert!(close(m.sprs_score, 0.6125) && close(m.accuracy, 0.6));
    assert_eq!((m.n_normal, m.n_abnormal), (4, 6));
    assert_eq!(m.confusion.counts[3], vec![0, 1, 0, 0]);
    assert_eq!(m.confusion.counts[0], vec![3, 1, 0, 0]);
    Ok(())
}

#[test]
fn sprsound_seven_classes_hand_case() -> Result<(), MetricsError> {
    // 7 classes; targets 0,0,1,2,3,4,5,6; predictions 0,3,1,2,0,4,6,6.
    // Sp = 1/2; abnormal hits: classes 1,2,4,6 → 4 of 6 → Se = 2/3.
    // Score = (2/3 + 1/2)/2 = 7/12; HS = 2·(2/3)(1/2)/(7/6) = 4/7;
    // SPRS = (7/12 + 4/7)/2 = 97/168; Acc = 5/8.
    let targets = [0, 0, 1, 2, 3, 4, 5, 6];
    let predictions = [0, 3, 1, 2, 0, 4, 6, 6];
    let m = ConfusionMatrix::from_labels(&predictions, &targets, 7, &[0])?.metrics();
    assert!(close(m.sp, 0.5) && close(m.se, 2.0 / 3.0));
    assert!(close(m.score, 7.0 / 12.0) && close(m.hs, 4.0 / 7.0));
    assert!(close(m.sprs_score, 97.0 / 168.0) && close(m.accuracy, 5.0 / 8.0));
    Ok(())
}

#[test]
fn normal_classes_come_from_the_caller() -> Result<(), MetricsError> {
    // Class 2 is the normal one: targets 2,2,0,1; predictions 2,0,0,0.
    // Sp = 1/2 (one of the two class-2 examples), Se = 1/2 (class 0 hit, class 1 missed).
    let m = ConfusionMatrix::from_labels(&[2, 0, 0, 0], &[2, 2, 0, 1], 3, &[2])?.metrics();
    assert!(close(m.sp, 0.5) && close(m.se, 0.5));
    assert_eq!((m.n_normal, m.n_abnormal), (2, 2));
    // The same labels with class 0 normal give other numbers.
    let m0 = ConfusionMatrix::from_labels(&[2, 0, 0, 0], &[2, 2, 0, 1], 3, &[0])?.metrics();
    assert!(close(m0.sp, 1.0) && close(m0.se, 1.0 / 3.0));
    Ok(())
}

#[test]
fn empty_classes_give_zero_not_nan() -> Result<(), MetricsError> {
    // No abnormal example: Se = 0 by convention, Sp = 2/2 = 1, Score 0.5, HS 0.
    let m = ConfusionMatrix::from_labels(&[0, 0], &[0, 0], 4, &[0])?.metrics();
    assert!(close(m.se, 0.0) && close(m.sp, 1.0) && close(m.score, 0.5) && close(m.hs, 0.0));
    // All wrong: Se = Sp = 0 → HS defined as 0.
    let m = ConfusionMatrix::from_labels(&[1, 0], &[0, 1], 2, &[0])?.metrics();
    assert!(close(m.hs, 0.0) && close(m.sprs_score, 0.0));
    // Nothing at all.
    let m = ConfusionMatrix::new(4, &[0])?.metrics();
    assert!([m.se, m.sp, m.score, m.hs, m.sprs_score, m.accuracy]
        .iter()
        .all(|v| *v == 0.0));
    Ok(())
}

#[test]
fn rejects_bad_input() {
    assert!(matches!(
        ConfusionMatrix::from_labels(&[0], &[0, 1], 4, &[0]),
        Err(MetricsError::LengthMismatch { .. })
    ));
    assert!(matches!(
        ConfusionMatrix::from_labels(&[0, 4], &[0, 1], 4, &[0]),
        Err(MetricsError::ClassOutOfRange {
            which: "predictions",
            index: 1,
            class: 4,
            ..
        })
    ));
    assert!(matches!(
        ConfusionMatrix::new(1, &[0]),
        Err(MetricsError::TooFewClasses(1))
    ));
    for normal in [&[][..], &[0, 1][..], &[2][..]] {
        assert!(matches!(
            ConfusionMatrix::new(2, normal),
            Err(MetricsError::BadNormalClasses { .. })
        ));
    }
}

#[test]
fn merge_equals_joint_counting() -> Result<(), MetricsError> {
    let mut a = ConfusionMatrix::from_labels(&[0, 1], &[0, 0], 3, &[0])?;
    let b = ConfusionMatrix::from_labels(&[2, 2], &[2, 1], 3, &[0])?;
    a.merge(&b)?;
    let joint = ConfusionMatrix::from_labels(&[0, 1, 2, 2], &[0, 0, 2, 1], 3, &[0])?;
    assert_eq!(a, joint);
    Ok(())
}

#[test]
fn serde_roundtrip() -> Result<(), Box<dyn std::error::Error>> {
    let m = ConfusionMatrix::from_labels(&[0, 1, 1], &[0, 1, 0], 2, &[0])?.metrics();
    let json = serde_json::to_string(&m)?;
    let back: Metrics = serde_json::from_str(&json)?;
    assert_eq!(back, m);
    Ok(())
}

#[test]
fn device_confusion_equals_host_counting() -> Result<(), Box<dyn std::error::Error>> {
    let dev = candle_core::Device::Cpu;
    let logits = Tensor::new(
        &[
            [0.1f32, 2.0, -1.0],
            [3.0, 0.0, 0.5],
            [0.0, 0.0, 9.0],
            [1.0, 0.5, 0.0],
        ],
        &dev,
    )?;
    let targets = Tensor::new(&[1u32, 2, 2, 0], &dev)?;
    let mut d = DeviceConfusion::new(ConfusionMatrix::new(3, &[0])?, &dev)?;
    d.add(&logits, &targets)?;
    d.add(&logits.narrow(0, 0, 2)?, &targets.narrow(0, 0, 2)?)?;
    let host = ConfusionMatrix::from_labels(&[1, 0, 2, 0, 1, 0], &[1, 2, 2, 0, 1, 2], 3, &[0])?;
    assert_eq!(d.finish()?, host);
    Ok(())
}

#[test]
fn argmax_from_logits() -> CandleResult<()> {
    let logits = Tensor::new(
        &[[0.1f32, 2.0, -1.0], [3.0, 0.0, 0.5]],
        &candle_core::Device::Cpu,
    )?;
    assert_eq!(argmax_predictions(&logits)?, vec![1, 0]);
    Ok(())
}
