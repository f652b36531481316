//! Unit tests of `auscult::model::cnn6::device_block` (`src/model/cnn6/device_block.rs`).

use super::reference::Case;
use auscult::model::cnn6::device_block::*;
use auscult::model::conv::ConvEngine;
use auscult::tensor::synthetic::max_abs_diff;
use candle_core::Result;

/// The device block (both engines, with chunks of 1, 2 and the whole batch) agrees with
/// candle's conv2d + BatchNorm / ReLU / pool from candle ops on outputs, batch moments and
/// all four gradients, in train and eval mode, for odd spatial sizes (floor pooling); block
/// 1's data input gets no gradient; eval mode records no graph.
#[test]
fn device_block_matches_candle_ops() -> Result<()> {
    for &dims in &[(3, 2, 4, 6, 8), (2, 3, 3, 7, 5), (5, 1, 3, 5, 6)] {
        let case = Case::new(dims)?;
        let b = dims.0;
        let (x, wt, gamma, beta, proj) = (&case.x, &case.wt, &case.gamma, &case.beta, &case.proj);
        let (xa, wa) = (x.as_tensor(), wt.as_tensor());
        for train in [true, false] {
            let (yb, mb, grads_b) = case.reference(train)?;
            for (engine, chunk) in [
                (ConvEngine::Gemm, None),
                (ConvEngine::Gemm, Some(2)),
                (ConvEngine::Cudnn, Some(1)),
                (ConvEngine::Cudnn, None),
            ] {
                let (ya, ma) =
                    with_chunk_len(chunk, || device_block(case.input(xa, train), engine))?;
                case.check_output(&format!("{engine:?}"), train, (&ya, ma), (&yb, &mb));
                let grads_a = (ya * proj)?.sum_all()?.backward()?;
                for v in [x, wt, gamma, beta] {
                    match (train, grads_a.get(v.as_tensor())) {
                        (true, Some(a)) => {
                            let e = grads_b.get(v.as_tensor()).unwrap();
                            let diff = max_abs_diff(a, e);
                            assert!(
                                diff < 2e-4,
                                "{engine:?} b={b}: grad diff {diff} for {:?}",
                                v.dims()
                            );
                        }
                        (false, None) => {}
                        (t, g) => {
                            panic!("{engine:?} train={t}: gradient present = {}", g.is_some())
                        }
                    }
                }
                // Block 1: a data input gets no gradient, the weight still does.
                if train {
                    let xd = x.as_detached_tensor();
                    let (y1, _) =
                        with_chunk_len(chunk, || device_block(case.input(&xd, train), engine))?;
                    let g1 = (y1 * proj)?.sum_all()?.backward()?;
                    assert!(g1.get(&xd).is_none());
                    let e = grads_b.get(wa).unwrap();
                    assert!(max_abs_diff(g1.get(wa).unwrap(), e) < 2e-4);
                }
            }
        }
    }
    Ok(())
}

#[test]
fn chunks_cover_the_batch_in_order() {
    assert_eq!(chunks(5, 2), vec![(0, 2), (2, 2), (4, 1)]);
    assert_eq!(chunks(4, 9), vec![(0, 4)]);
    assert_eq!(chunks(3, 0), vec![(0, 1), (1, 1), (2, 1)]);
}
