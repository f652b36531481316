//! Unit tests of `auscult::model::conv::cudnn` (`src/model/conv/cudnn.rs`).

use auscult::model::conv::cudnn::*;
use auscult::model::conv::Need;
use auscult::tensor::synthetic::{max_abs_diff, pseudo_random};
use candle_core::Result;

/// On CPU the ops run the fused kernels: they agree with the device-generic GEMM path (and
/// through its tests with candle's conv2d), and skip the gradient not asked for.
#[test]
fn ops_agree_with_the_generic_path_and_skip_what_is_not_needed() -> Result<()> {
    for (b, c, h, w, o) in [(2, 1, 9, 11, 4), (3, 3, 8, 7, 2), (9, 2, 6, 6, 3)] {
        let x = pseudo_random(&[b, c, h, w], 1, -1.0, 1.0);
        let wt = pseudo_random(&[o, c, 5, 5], 2, -0.5, 0.5);
        let dy = pseudo_random(&[b, o, h, w], 3, -1.0, 1.0);
        let ours = forward(&x, &wt, 2)?;
        let theirs = auscult::model::conv::gemm::forward(&x, &wt, 2)?;
        assert_eq!(ours.dims(), [b, o, h, w]);
        assert!(max_abs_diff(&ours, &theirs) < 1e-5);
        let (dx, dw) = backward(&x, &wt, &dy, 2, Need { x: true, w: true })?;
        let (ex, ew) =
            auscult::model::conv::gemm::backward(&x, &wt, &dy, 2, Need { x: true, w: true })?;
        assert!(max_abs_diff(dx.as_ref().unwrap(), &ex.unwrap()) < 1e-4);
        assert!(max_abs_diff(dw.as_ref().unwrap(), &ew.unwrap()) < 1e-4);
        // Block 1: no backward-data.
        let (dx, dw) = backward(&x, &wt, &dy, 2, Need { x: false, w: true })?;
        assert!(dx.is_none() && dw.is_some());
    }
    // Shape errors are errors, not panics.
    let x = pseudo_random(&[1, 2, 8, 8], 4, -1.0, 1.0);
    let bad_dy = pseudo_random(&[1, 3, 7, 8], 5, -1.0, 1.0);
    let wt = pseudo_random(&[3, 2, 5, 5], 6, -1.0, 1.0);
    assert!(backward(&x, &wt, &bad_dy, 2, Need { x: true, w: false }).is_err());
    assert!(backward(&x, &wt, &bad_dy, 2, Need { x: false, w: true }).is_err());
    Ok(())
}
