//! Batch-level CPU convolution kernels on `f32` slices: forward and backward, parallel over
//! samples with rayon, one single-threaded GEMM per sample (GEMM-internal threads when the batch
//! is too small to split).

use super::im2col::{col2im_add, gemm_forward, gemm_grad_cols, gemm_grad_weight, im2col, ConvGeom};
use gemm::Parallelism;
use rayon::prelude::*;
use std::cell::RefCell;

thread_local! {
    /// Per-thread column buffer, kept between calls (no page faults after the first step).
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on a scratch slice of `len` floats (contents unspecified): this thread's buffer,
/// or a fresh one when it is already in use further up the stack (rayon work stealing).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
            f(&mut buf[..len])
        }
        Err(_) => f(&mut vec![0.0; len]),
    })
}

/// Samples per task in the backward pass (each task holds one partial weight gradient, summed
/// in task order, so results do not depend on the thread count or scheduling).
const SAMPLES_PER_CHUNK: usize = 4;

/// Threads to use: rayon's pool size (RAYON_NUM_THREADS).
fn threads() -> usize {
    rayon::current_num_threads().max(1)
}

/// `out[b] = conv(x[b], wt)` for `b` samples: `x` is `[b, c, h, w]`, `wt` `[o, c, kh, kw]`,
/// `out` `[b, o, oh, ow]` (fully overwritten).
pub fn conv_forward(x: &[f32], wt: &[f32], b: usize, g: &ConvGeom, out: &mut [f32]) {
    let cols_len = g.ckk() * g.ohw();
    let one_sample = |out_b: &mut [f32], x_b: &[f32], par: Parallelism| {
        with_scratch(cols_len, |cols| {
            im2col(x_b, g, cols);
            gemm_forward(wt, cols, g, out_b, par);
        })
    };
    let out = &mut out[..b * g.out_len()];
    if b >= threads() {
        out.par_chunks_mut(g.out_len())
            .zip(x.par_chunks(g.in_len()))
            .for_each(|(out_b, x_b)| one_sample(out_b, x_b, Parallelism::None));
    } else {
        for (out_b, x_b) in out.chunks_mut(g.out_len()).zip(x.chunks(g.in_len())) {
            one_sample(out_b, x_b, Parallelism::Rayon(threads()));
        }
    }
}

/// Gradients of [`conv_forward`] given `gout` (`[b, o, oh, ow]`): writes `gx` (`[b, c, h, w]`)
/// and adds into `gw` (`[o, c, kh, kw]`); both must be zeroed by the caller, `None` skips one.
pub fn conv_backward(
    x: &[f32],
    wt: &[f32],
    gout: &[f32],
    b: usize,
    g: &ConvGeom,
    mut gx: Option<&mut [f32]>,
    mut gw: Option<&mut [f32]>,
) {
    let need_x = gx.is_some();
    let need_w = gw.is_some();
    let w_len = if need_w { g.o * g.ckk() } else { 0 };
    let cols_len = g.ckk() * g.ohw();
    // Adds sample `bi`'s weight gradient to `gw_acc` and writes its input gradient to `gx_b`.
    let one_sample = |bi: usize, gx_b: &mut [f32], gw_acc: &mut [f32], par: Parallelism| {
        let gout_b = &gout[bi * g.out_len()..(bi + 1) * g.out_len()];
        with_scratch(cols_len, |cols| {
            if need_w {
                im2col(&x[bi * g.in_len()..(bi + 1) * g.in_len()], g, cols);
                gemm_grad_weight(gout_b, cols, g, gw_acc, true, par);
            }
            if need_x {
                gemm_grad_cols(wt, gout_b, g, cols, par);
                col2im_add(cols, g, gx_b);
            }
        })
    };
    if b >= 2 * SAMPLES_PER_CHUNK {
        // Fixed chunks of samples in parallel, each with its own partial weight gradient,
        // summed in chunk order: the result does not depend on threads or scheduling.
        let run_chunk = |ci: usize, gx_chunk: &mut [f32]| -> Vec<f32> {
            let mut acc = vec![0.0f32; w_len];
            let first = ci * SAMPLES_PER_CHUNK;
            for bi in first..(first + SAMPLES_PER_CHUNK).min(b) {
                let k = bi - first;
                let gx_b = if need_x {
                    &mut gx_chunk[k * g.in_len()..(k + 1) * g.in_len()]
                } else {
                    &mut [][..]
                };
                one_sample(bi, gx_b, &mut acc, Parallelism::None);
            }
            acc
        };
        let parts: Vec<Vec<f32>> = match gx.as_deref_mut() {
            Some(gx) => gx[..b * g.in_len()]
                .par_chunks_mut(SAMPLES_PER_CHUNK * g.in_len())
                .enumerate()
                .map(|(ci, gx_chunk)| run_chunk(ci, gx_chunk))
                .collect(),
            None => (0..b.div_ceil(SAMPLES_PER_CHUNK))
                .into_par_iter()
                .map(|ci| run_chunk(ci, &mut []))
                .collect(),
        };
        if let Some(gw) = gw {
            for part in &parts {
                gw.iter_mut().zip(part).for_each(|(d, s)| *d += *s);
            }
        }
    } else {
        for bi in 0..b {
            let gx_b = match gx.as_deref_mut() {
                Some(gx) => &mut gx[bi * g.in_len()..(bi + 1) * g.in_len()],
                None => &mut [][..],
            };
            let gw_acc = match gw.as_deref_mut() {
                Some(gw) => gw,
                None => &mut [][..],
            };
            one_sample(bi, gx_b, gw_acc, Parallelism::Rayon(threads()));
        }
    }
}
