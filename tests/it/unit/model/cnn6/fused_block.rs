//! Unit tests of `auscult::model::cnn6::fused_block` (`src/model/cnn6/fused_block.rs`).

use super::reference::Case;
use auscult::model::cnn6::fused_block::*;
use auscult::model::cnn6::Kernels;
use auscult::tensor::synthetic::max_abs_diff;

/// The fused op agrees with candle's own conv2d + BN / ReLU / pool built from candle ops
/// (independent implementations) on outputs, batch moments and all four gradients, in train
/// and eval mode, for odd spatial sizes (floor pooling) and for batches that take both the
/// sequential and the chunked parallel backward.
#[test]
fn fused_block_matches_candle_ops() {
    for &dims in &[(3, 2, 4, 6, 8), (2, 3, 3, 7, 5), (9, 2, 3, 5, 6)] {
        let case = Case::new(dims).unwrap();
        let b = dims.0;
        let (x, wt, gamma, beta, proj) = (&case.x, &case.wt, &case.gamma, &case.beta, &case.proj);
        for train in [true, false] {
            let xa = x.as_tensor();
            let (yb, mb, grads_b) = case.reference(train).unwrap();
            // The fused CPU op and the device-generic path (what a GPU runs), each against
            // the reference.
            for kernels in [Kernels::Auto, Kernels::Generic, Kernels::Cudnn] {
                let (ya, ma) = conv_bn_relu_pool(case.input(xa, train), kernels).unwrap();
                case.check_output(&format!("{kernels:?}"), train, (&ya, ma), (&yb, &mb));
                let grads_a = (ya * proj).unwrap().sum_all().unwrap().backward().unwrap();
                if !train && kernels != Kernels::Auto {
                    // The device block op records nothing in evaluation.
                    assert!(grads_a.get(x.as_tensor()).is_none());
                    continue;
                }
                for v in [x, wt, gamma, beta] {
                    let (a, e) = (
                        grads_a.get(v.as_tensor()).unwrap(),
                        grads_b.get(v.as_tensor()).unwrap(),
                    );
                    let diff = max_abs_diff(a, e);
                    assert!(
                        diff < 2e-4,
                        "{kernels:?} train={train} b={b}: grad diff {diff} for {:?}",
                        v.dims()
                    );
                }
            }
        }
    }
}

#[test]
fn recycling_picks_the_smallest_buffer_that_fits() {
    let free = vec![
        Vec::<f32>::with_capacity(100),
        Vec::with_capacity(30),
        Vec::with_capacity(50),
    ];
    assert_eq!(best_fit(&free, 40), Some(2));
    assert_eq!(best_fit(&free, 30), Some(1));
    assert_eq!(best_fit(&free, 101), None);
    let buf = RecycledBuf::take(77);
    assert_eq!(buf.len(), 77);
}
