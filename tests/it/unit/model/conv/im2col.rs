//! Unit tests of `auscult::model::conv::im2col` (`src/model/conv/im2col.rs`).

use auscult::model::conv::im2col::*;
use gemm::Parallelism;

fn geom(c: usize, h: usize, w: usize, o: usize, k: usize, pad: usize) -> ConvGeom {
    ConvGeom {
        c,
        h,
        w,
        o,
        kh: k,
        kw: k,
        pad,
        oh: h + 2 * pad + 1 - k,
        ow: w + 2 * pad + 1 - k,
    }
}

/// Direct (six nested loops) convolution: the definition im2col + GEMM must reproduce.
fn direct(x: &[f32], wt: &[f32], g: &ConvGeom) -> Vec<f32> {
    let mut out = vec![0.0f32; g.out_len()];
    for o in 0..g.o {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let mut acc = 0.0f64;
                for ci in 0..g.c {
                    for i in 0..g.kh {
                        for j in 0..g.kw {
                            let iy = oy as isize + i as isize - g.pad as isize;
                            let ix = ox as isize + j as isize - g.pad as isize;
                            if iy >= 0 && ix >= 0 && (iy as usize) < g.h && (ix as usize) < g.w {
                                acc += x[(ci * g.h + iy as usize) * g.w + ix as usize] as f64
                                    * wt[((o * g.c + ci) * g.kh + i) * g.kw + j] as f64;
                            }
                        }
                    }
                }
                out[(o * g.oh + oy) * g.ow + ox] = acc as f32;
            }
        }
    }
    out
}

fn ramp(n: usize, a: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32 * a).sin() * 0.5) + 0.01 * i as f32 % 0.3)
        .collect()
}

#[test]
fn im2col_gemm_matches_direct_convolution() {
    for &(c, h, w, o, k, pad) in &[
        (2, 5, 7, 3, 5, 2),
        (3, 4, 3, 2, 3, 1),
        (1, 6, 2, 4, 5, 2),
        (2, 3, 3, 1, 3, 0),
    ] {
        let g = geom(c, h, w, o, k, pad);
        let x = ramp(g.in_len(), 0.37);
        let wt = ramp(o * c * k * k, 0.91);
        let mut cols = vec![f32::NAN; g.ckk() * g.ohw()];
        im2col(&x, &g, &mut cols);
        let mut out = vec![0.0; g.out_len()];
        gemm_forward(&wt, &cols, &g, &mut out, Parallelism::None);
        let expect = direct(&x, &wt, &g);
        for (a, b) in out.iter().zip(&expect) {
            assert!((a - b).abs() < 1e-5, "{g:?}: {a} vs {b}");
        }
    }
}

#[test]
fn col2im_is_the_adjoint_of_im2col() {
    // <im2col(x), y> == <x, col2im(y)> for arbitrary x, y.
    let g = geom(3, 6, 5, 1, 5, 2);
    let x = ramp(g.in_len(), 0.53);
    let y = ramp(g.ckk() * g.ohw(), 0.29);
    let mut cols = vec![0.0; y.len()];
    im2col(&x, &g, &mut cols);
    let lhs: f64 = cols
        .iter()
        .zip(&y)
        .map(|(a, b)| *a as f64 * *b as f64)
        .sum();
    let mut gx = vec![0.0; x.len()];
    col2im_add(&y, &g, &mut gx);
    let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| *a as f64 * *b as f64).sum();
    assert!(
        (lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0),
        "{lhs} vs {rhs}"
    );
}
