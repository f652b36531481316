//! Unit tests of `auscult::model::projector` (`src/model/projector.rs`).

use auscult::model::cnn6::{linear_bound, EMBED_DIM};
use auscult::model::projector::*;
use candle_core::{Device, Result, Tensor, Var};

#[test]
fn shapes_bounds_and_seeding() -> Result<()> {
    let dev = Device::Cpu;
    let a = Projector::new_seeded(128, 3, 0, &dev)?;
    let b = Projector::new_seeded(128, 3, 0, &dev)?;
    let c = Projector::new_seeded(128, 3, 1, &dev)?;
    let flat = |v: &Var| {
        v.as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    assert_eq!(flat(&a.w1), flat(&b.w1));
    assert_ne!(flat(&a.w1), flat(&c.w1));
    let bound = linear_bound(EMBED_DIM) as f32;
    assert!(a
        .vars()
        .iter()
        .all(|v| flat(v).iter().all(|x| x.abs() <= bound)));
    let y = a.forward(&Tensor::ones(
        (3, EMBED_DIM),
        candle_core::DType::F32,
        &dev,
    )?)?;
    assert_eq!(y.dims(), [3, 128]);
    Ok(())
}
