//! Unit tests of `auscult::model::cnn6::fused_block` (`src/model/cnn6/fused_block.rs`).

use super::reference::bn_relu_pool_generic;
use auscult::model::cnn6::bn_relu_pool::BnStats;
use auscult::model::cnn6::fused_block::*;
use auscult::model::cnn6::Kernels;
use candle_core::Var;

use auscult::tensor::synthetic::{max_abs_diff, pseudo_random};

/// The fused op agrees with candle's own conv2d + BN / ReLU / pool built from candle ops
/// (independent implementations) on outputs, batch moments and all four gradients, in train
/// and eval mode, for odd spatial sizes (floor pooling) and for batches that take both the
/// sequential and the chunked parallel backward.
#[test]
fn fused_block_matches_candle_ops() {
    for &(b, c, o, h, w) in &[(3, 2, 4, 6, 8), (2, 3, 3, 7, 5), (9, 2, 3, 5, 6)] {
        let x = Var::from_tensor(&pseudo_random(&[b, c, h, w], 1, -1.0, 1.5)).unwrap();
        let wt = Var::from_tensor(&pseudo_random(&[o, c, 5, 5], 2, -0.3, 0.3)).unwrap();
        let gamma = Var::from_tensor(&pseudo_random(&[o], 3, 0.5, 1.5)).unwrap();
        let beta = Var::from_tensor(&pseudo_random(&[o], 4, -0.3, 0.3)).unwrap();
        let rm = pseudo_random(&[o], 5, -0.2, 0.2);
        let rv = pseudo_random(&[o], 6, 0.5, 1.5);
        let proj = pseudo_random(&[b, o, h / 2, w / 2], 7, -1.0, 1.0);
        for train in [true, false] {
            let stats = match train {
                true => BnStats::Batch,
                false => BnStats::Running {
                    mean: &rm,
                    var: &rv,
                },
            };
            let (xa, wa, ga, ba) = (
                x.as_tensor(),
                wt.as_tensor(),
                gamma.as_tensor(),
                beta.as_tensor(),
            );
            let conv = xa.conv2d(wa, 2, 1, 1, 1).unwrap();
            let (yb, mb) = bn_relu_pool_generic(&conv, ga, ba, stats, 1e-5).unwrap();
            let grads_b = (&yb * &proj)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            // The fused CPU op and the device-generic path (what a GPU runs), each against
            // the reference.
            for kernels in [Kernels::Auto, Kernels::Generic, Kernels::Cudnn] {
                let (ya, ma) = conv_bn_relu_pool(xa, wa, ga, ba, stats, 2, 1e-5, kernels).unwrap();
                assert!(
                    max_abs_diff(&ya, &yb) < 1e-5,
                    "{kernels:?} train={train} output"
                );
                assert_eq!(ma.is_some(), train);
                if let (Some(ma), Some(mb)) = (ma, &mb) {
                    assert!(max_abs_diff(&ma.mean, &mb.mean) < 1e-5);
                    assert!(max_abs_diff(&ma.var, &mb.var) < 1e-4);
                    assert_eq!(ma.count, b * h * w);
                }
                let grads_a = (ya * &proj).unwrap().sum_all().unwrap().backward().unwrap();
                if !train && kernels != Kernels::Auto {
                    // The device block op records nothing in evaluation.
                    assert!(grads_a.get(x.as_tensor()).is_none());
                    continue;
                }
                for v in [&x, &wt, &gamma, &beta] {
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
