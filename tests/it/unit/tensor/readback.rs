//! Unit tests of `auscult::tensor::readback` (`src/tensor/readback.rs`).

use auscult::tensor::readback::*;
use candle_core::{DType, Device, Result, Tensor};

#[test]
fn to_host_all_is_one_read_per_dtype_and_a_snapshot() -> Result<()> {
    let dev = Device::Cpu;
    let a = candle_core::Var::new(&[[1f32, 2.], [3., 4.]], &dev)?;
    let b = Tensor::new(&[5f32, 6., 7.], &dev)?;
    let c = Tensor::new(9i64, &dev)?;
    let d = Tensor::new(&[8i64], &dev)?;
    let before = (count(), copies());
    let host = to_host_all(&[a.as_tensor().clone(), c.clone(), b.clone(), d.clone()])?;
    // Other tests of this binary may read at the same time: at least our 2 reads.
    assert!(count() - before.0 >= 2 && copies() - before.1 >= 2);
    assert_eq!(host[0].to_vec2::<f32>()?, [[1., 2.], [3., 4.]]);
    assert_eq!(host[1].dims(), [] as [usize; 0]);
    assert_eq!(host[1].to_scalar::<i64>()?, 9);
    assert_eq!(host[2].to_vec1::<f32>()?, [5., 6., 7.]);
    assert_eq!(host[3].to_vec1::<i64>()?, [8]);
    // Updating the variable in place does not change the copy…
    a.set(&Tensor::zeros((2, 2), DType::F32, &dev)?)?;
    assert_eq!(host[0].to_vec2::<f32>()?, [[1., 2.], [3., 4.]]);
    // …also when the tensor is alone of its dtype.
    let v = candle_core::Var::new(&[1f32, 2.], &dev)?;
    let h = to_host(v.as_tensor())?;
    v.set(&Tensor::zeros(2, DType::F32, &dev)?)?;
    assert_eq!(h.to_vec1::<f32>()?, [1., 2.]);
    Ok(())
}
