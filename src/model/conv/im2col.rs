//! CPU kernels of the stride-1 2-D convolution: im2col / col2im for one sample and the three
//! GEMMs (forward, weight gradient, input gradient), on row-major `f32` slices.

use gemm::Parallelism;

/// Shapes of one stride-1 convolution: input `[c, h, w]` per sample, weight `[o, c, kh, kw]`,
/// zero padding `pad` on every side, output `[o, oh, ow]` per sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeom {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub o: usize,
    pub kh: usize,
    pub kw: usize,
    pub pad: usize,
    pub oh: usize,
    pub ow: usize,
}

impl ConvGeom {
    /// Rows of the column matrix: `c·kh·kw` (the GEMM reduction length of the forward pass).
    pub fn ckk(&self) -> usize {
        self.c * self.kh * self.kw
    }
    /// Output positions per sample: `oh·ow`.
    pub fn ohw(&self) -> usize {
        self.oh * self.ow
    }
    /// Input elements per sample.
    pub fn in_len(&self) -> usize {
        self.c * self.h * self.w
    }
    /// Output elements per sample.
    pub fn out_len(&self) -> usize {
        self.o * self.ohw()
    }

    /// For kernel column `j`: the output columns `lo..hi` that read a real (non-padding) input
    /// column, and the offset `ix = ox + shift`.
    fn valid_cols(&self, j: usize) -> (usize, usize, isize) {
        let shift = j as isize - self.pad as isize;
        let lo = (-shift).clamp(0, self.ow as isize) as usize;
        let hi = (self.w as isize - shift).clamp(lo as isize, self.ow as isize) as usize;
        (lo, hi, shift)
    }
}

/// Writes the column matrix `[c·kh·kw, oh·ow]` of one sample `x` (`[c, h, w]`) into `cols`:
/// `cols[(ci·kh + i)·kw + j][oy·ow + ox] = x[ci][oy + i − pad][ox + j − pad]` (0 outside).
pub fn im2col(x: &[f32], g: &ConvGeom, cols: &mut [f32]) {
    let ohw = g.ohw();
    for ci in 0..g.c {
        let plane = &x[ci * g.h * g.w..(ci + 1) * g.h * g.w];
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row_idx = (ci * g.kh + i) * g.kw + j;
                let row = &mut cols[row_idx * ohw..(row_idx + 1) * ohw];
                let (lo, hi, shift) = g.valid_cols(j);
                for oy in 0..g.oh {
                    let dst = &mut row[oy * g.ow..(oy + 1) * g.ow];
                    let iy = oy as isize + i as isize - g.pad as isize;
                    if iy < 0 || iy >= g.h as isize {
                        dst.fill(0.0);
                        continue;
                    }
                    let src = &plane[iy as usize * g.w..(iy as usize + 1) * g.w];
                    dst[..lo].fill(0.0);
                    dst[lo..hi].copy_from_slice(
                        &src[(lo as isize + shift) as usize..(hi as isize + shift) as usize],
                    );
                    dst[hi..].fill(0.0);
                }
            }
        }
    }
}

/// Adds the column matrix `cols` (`[c·kh·kw, oh·ow]`) back onto one sample's input gradient
/// `gx` (`[c, h, w]`, must be zeroed by the caller): the adjoint of [`im2col`].
pub fn col2im_add(cols: &[f32], g: &ConvGeom, gx: &mut [f32]) {
    let ohw = g.ohw();
    for ci in 0..g.c {
        let plane = &mut gx[ci * g.h * g.w..(ci + 1) * g.h * g.w];
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row_idx = (ci * g.kh + i) * g.kw + j;
                let row = &cols[row_idx * ohw..(row_idx + 1) * ohw];
                let (lo, hi, shift) = g.valid_cols(j);
                for oy in 0..g.oh {
                    let iy = oy as isize + i as isize - g.pad as isize;
                    if iy < 0 || iy >= g.h as isize {
                        continue;
                    }
                    let src = &row[oy * g.ow + lo..oy * g.ow + hi];
                    let start = iy as usize * g.w + (lo as isize + shift) as usize;
                    let dst = &mut plane[start..start + (hi - lo)];
                    for (d, s) in dst.iter_mut().zip(src) {
                        *d += *s;
                    }
                }
            }
        }
    }
}

/// A `rows × cols` matrix in a slice: row-major, or (`transposed`) read transposed from a
/// row-major `cols × rows` one.
struct Mat<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    transposed: bool,
}

impl<'a> Mat<'a> {
    fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Mat {
            data,
            rows,
            cols,
            transposed: false,
        }
    }

    /// `data` holds the row-major `cols × rows` transpose.
    fn t(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Mat {
            transposed: true,
            ..Mat::new(data, rows, cols)
        }
    }

    /// `(column stride, row stride)` in elements.
    fn strides(&self) -> (isize, isize) {
        match self.transposed {
            false => (1, self.cols as isize),
            true => (self.rows as isize, 1),
        }
    }
}

/// `dst[m, n] (+)= lhs[m, k] · rhs[k, n]` for a row-major `dst`: accumulates when `accumulate`,
/// overwrites otherwise.
fn matmul(dst: &mut [f32], lhs: Mat, rhs: Mat, accumulate: bool, par: Parallelism) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert!(rhs.rows == k && lhs.data.len() >= m * k && rhs.data.len() >= k * n);
    assert!(dst.len() >= m * n);
    let ((lhs_cs, lhs_rs), (rhs_cs, rhs_rs)) = (lhs.strides(), rhs.strides());
    // SAFETY: the asserts above bound every access; the strides describe the matrices.
    // `dst := alpha·dst + beta·lhs·rhs`, with `dst` read (alpha = 1) only when `accumulate`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.data.as_ptr(),
            rhs_cs,
            rhs_rs,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            par,
        );
    }
}

/// `out[o, ohw] = weight[o, ckk] · cols[ckk, ohw]` (overwrites `out`).
pub fn gemm_forward(weight: &[f32], cols: &[f32], g: &ConvGeom, out: &mut [f32], par: Parallelism) {
    let (weight, cols) = (
        Mat::new(weight, g.o, g.ckk()),
        Mat::new(cols, g.ckk(), g.ohw()),
    );
    matmul(out, weight, cols, false, par);
}

/// `gw[o, ckk] (+)= gout[o, ohw] · cols[ckk, ohw]ᵀ`; accumulates when `accumulate`.
pub(crate) fn gemm_grad_weight(
    gout: &[f32],
    cols: &[f32],
    g: &ConvGeom,
    gw: &mut [f32],
    accumulate: bool,
    par: Parallelism,
) {
    let (gout, cols) = (Mat::new(gout, g.o, g.ohw()), Mat::t(cols, g.ohw(), g.ckk()));
    matmul(gw, gout, cols, accumulate, par);
}

/// `gcols[ckk, ohw] = weight[o, ckk]ᵀ · gout[o, ohw]` (overwrites `gcols`).
pub(crate) fn gemm_grad_cols(
    weight: &[f32],
    gout: &[f32],
    g: &ConvGeom,
    gcols: &mut [f32],
    par: Parallelism,
) {
    let (weight, gout) = (Mat::t(weight, g.ckk(), g.o), Mat::new(gout, g.o, g.ohw()));
    matmul(gcols, weight, gout, false, par);
}
