//! Unit tests of `auscult::model::conv::gemm` (`src/model/conv/gemm.rs`).

use auscult::model::conv::gemm::*;
use auscult::model::conv::Need;
use auscult::tensor::synthetic::{max_abs_diff, pseudo_random};
use candle_core::Result;
use candle_core::Var;

/// Forward and both gradients agree with candle's own conv2d and its autograd (an
/// independent implementation), for 5×5 and 3×3 kernels and odd sizes.
#[test]
fn matches_candle_conv2d_forward_and_backward() -> Result<()> {
    for (b, c, h, w, o, k, pad) in [(2, 3, 9, 11, 4, 5, 2), (3, 1, 16, 7, 2, 3, 1)] {
        let x = Var::from_tensor(&pseudo_random(&[b, c, h, w], 1, -1.0, 1.0))?;
        let wt = Var::from_tensor(&pseudo_random(&[o, c, k, k], 2, -1.0, 1.0))?;
        let gy = pseudo_random(
            &[b, o, h + 2 * pad + 1 - k, w + 2 * pad + 1 - k],
            3,
            -1.0,
            1.0,
        );
        let ours = forward(&x.as_detached_tensor(), &wt.as_detached_tensor(), pad)?;
        let theirs = x.as_tensor().conv2d(wt.as_tensor(), pad, 1, 1, 1)?;
        assert!(max_abs_diff(&ours, &theirs) < 1e-5);
        let g = (theirs * &gy)?.sum_all()?.backward()?;
        let (dx, dw) = backward(
            &x.as_detached_tensor(),
            &wt.as_detached_tensor(),
            &gy,
            pad,
            Need { x: true, w: true },
        )?;
        let (dx, dw) = (dx.unwrap(), dw.unwrap());
        let d = max_abs_diff(&dx, g.get(&x).unwrap());
        assert!(d < 1e-4, "input gradient differs by {d}");
        let d = max_abs_diff(&dw, g.get(&wt).unwrap());
        assert!(d < 1e-4, "weight gradient differs by {d}");
        let (none_x, only_w) = backward(
            &x.as_detached_tensor(),
            &wt.as_detached_tensor(),
            &gy,
            pad,
            Need { x: false, w: true },
        )?;
        assert!(none_x.is_none() && only_w.is_some());
    }
    Ok(())
}
