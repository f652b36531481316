//! A deterministic 2-D principal component analysis, for plotting embeddings.

use anyhow::{bail, ensure, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The first two principal components of a set of embeddings.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca2 {
    /// Unit directions in embedding space, by decreasing variance; each one's largest
    /// coordinate (by magnitude) is positive.
    pub components: [Vec<f64>; 2],
    /// Variance along each component (population: divided by the number of rows).
    pub variance: [f64; 2],
    /// Share of the total variance along each component (0 when the data do not vary).
    pub variance_ratio: [f64; 2],
    /// Each row's coordinates on the two components (centred data).
    pub scores: Vec<[f64; 2]>,
}

/// The 2-D PCA of `emb` (rows of `dim` values, row-major): the two leading eigenvectors of the
/// `dim × dim` covariance by orthogonal (block power) iteration from a fixed start, with a
/// Rayleigh–Ritz step; deterministic for given input.
pub fn pca2(emb: &[f32], dim: usize) -> Result<Pca2> {
    ensure!(dim >= 2, "PCA: embeddings of dim {dim} (need at least 2)");
    ensure!(
        !emb.is_empty() && emb.len().is_multiple_of(dim),
        "PCA: {} values are not rows of {dim}",
        emb.len()
    );
    if let Some(i) = emb.iter().position(|v| !v.is_finite()) {
        bail!(
            "PCA: value {} (row {}, column {}) is not finite",
            emb[i],
            i / dim,
            i % dim
        );
    }
    let n = emb.len() / dim;
    let mut mean = vec![0.0f64; dim];
    for row in emb.chunks_exact(dim) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    // Upper triangle of the covariance, then mirrored.
    let mut cov = vec![0.0f64; dim * dim];
    let mut centred = vec![0.0f64; dim];
    for row in emb.chunks_exact(dim) {
        for (c, (&v, m)) in centred.iter_mut().zip(row.iter().zip(&mean)) {
            *c = v as f64 - m;
        }
        for i in 0..dim {
            let ci = centred[i];
            if ci == 0.0 {
                continue;
            }
            let out = &mut cov[i * dim + i..(i + 1) * dim];
            for (o, &cj) in out.iter_mut().zip(&centred[i..]) {
                *o += ci * cj;
            }
        }
    }
    for i in 0..dim {
        for j in i..dim {
            let v = cov[i * dim + j] / n as f64;
            cov[i * dim + j] = v;
            cov[j * dim + i] = v;
        }
    }
    let total: f64 = (0..dim).map(|i| cov[i * dim + i]).sum();
    let (components, variance) = if total > 0.0 {
        top2_eigen(&cov, dim)
    } else {
        let mut e = [vec![0.0; dim], vec![0.0; dim]];
        e[0][0] = 1.0;
        e[1][1] = 1.0;
        (e, [0.0, 0.0])
    };
    let ratio = |v: f64| {
        if total > 0.0 {
            (v / total).max(0.0)
        } else {
            0.0
        }
    };
    let scores = emb
        .chunks_exact(dim)
        .map(|row| {
            let proj = |c: &[f64]| -> f64 {
                row.iter()
                    .zip(&mean)
                    .zip(c)
                    .map(|((&v, m), c)| (v as f64 - m) * c)
                    .sum()
            };
            [proj(&components[0]), proj(&components[1])]
        })
        .collect();
    Ok(Pca2 {
        variance_ratio: [ratio(variance[0]), ratio(variance[1])],
        components,
        variance,
        scores,
    })
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `m · v` for a symmetric `dim × dim` matrix.
fn mat_vec(m: &[f64], v: &[f64], dim: usize) -> Vec<f64> {
    m.chunks_exact(dim).map(|row| dot(row, v)).collect()
}

/// Orthonormalises `q[0]`, `q[1]` (modified Gram–Schmidt, twice); a vanishing vector is replaced
/// by a unit axis orthogonal to the other.
fn orthonormalise(q: &mut [Vec<f64>; 2]) {
    for _ in 0..2 {
        let n0 = dot(&q[0], &q[0]).sqrt();
        if n0 > 1e-300 {
            q[0].iter_mut().for_each(|x| *x /= n0);
        } else {
            q[0].iter_mut().for_each(|x| *x = 0.0);
            q[0][0] = 1.0;
        }
        let p = dot(&q[0], &q[1]);
        let (a, b) = q.split_at_mut(1);
        b[0].iter_mut().zip(&a[0]).for_each(|(x, y)| *x -= p * y);
        let n1 = dot(&q[1], &q[1]).sqrt();
        if n1 > 1e-300 {
            q[1].iter_mut().for_each(|x| *x /= n1);
        } else {
            // Any axis not along q[0].
            let k = (0..q[0].len())
                .min_by(|&i, &j| q[0][i].abs().total_cmp(&q[0][j].abs()))
                .unwrap_or(0);
            q[1].iter_mut().for_each(|x| *x = 0.0);
            q[1][k] = 1.0;
            let p = dot(&q[0], &q[1]);
            let (a, b) = q.split_at_mut(1);
            b[0].iter_mut().zip(&a[0]).for_each(|(x, y)| *x -= p * y);
            let n1 = dot(&q[1], &q[1]).sqrt();
            q[1].iter_mut().for_each(|x| *x /= n1);
        }
    }
}

/// The two leading eigenpairs of a symmetric positive semi-definite `dim × dim` matrix.
fn top2_eigen(cov: &[f64], dim: usize) -> ([Vec<f64>; 2], [f64; 2]) {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5ca1ab1e);
    let mut q = [
        (0..dim)
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect::<Vec<f64>>(),
        (0..dim)
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect::<Vec<f64>>(),
    ];
    orthonormalise(&mut q);
    for _ in 0..5000 {
        let mut z = [mat_vec(cov, &q[0], dim), mat_vec(cov, &q[1], dim)];
        // Residual of the subspace: how far C·Q is from staying in span(Q).
        let mut residual = 0.0;
        let mut scale = 0.0;
        for zi in &z {
            let c0 = dot(zi, &q[0]);
            let c1 = dot(zi, &q[1]);
            for k in 0..dim {
                let r = zi[k] - c0 * q[0][k] - c1 * q[1][k];
                residual += r * r;
            }
            scale += dot(zi, zi);
        }
        orthonormalise(&mut z);
        q = z;
        if residual <= 1e-26 * scale.max(1e-300) {
            break;
        }
    }
    // Rayleigh–Ritz: the 2 × 2 projection's eigenvectors rotate Q onto the eigenvectors.
    let cq = [mat_vec(cov, &q[0], dim), mat_vec(cov, &q[1], dim)];
    let (a, b, d) = (dot(&q[0], &cq[0]), dot(&q[0], &cq[1]), dot(&q[1], &cq[1]));
    let theta = 0.5 * (2.0 * b).atan2(a - d);
    let (s, c) = theta.sin_cos();
    let l1 = a * c * c + 2.0 * b * s * c + d * s * s;
    let l2 = a * s * s - 2.0 * b * s * c + d * c * c;
    let v1: Vec<f64> = (0..dim).map(|k| c * q[0][k] + s * q[1][k]).collect();
    let v2: Vec<f64> = (0..dim).map(|k| -s * q[0][k] + c * q[1][k]).collect();
    let (mut v, l) = if l1 >= l2 {
        ([v1, v2], [l1, l2])
    } else {
        ([v2, v1], [l2, l1])
    };
    for c in &mut v {
        let k = (0..dim)
            .max_by(|&i, &j| c[i].abs().total_cmp(&c[j].abs()).then(j.cmp(&i)))
            .unwrap_or(0);
        if c[k] < 0.0 {
            c.iter_mut().for_each(|x| *x = -*x);
        }
    }
    (v, [l[0].max(0.0), l[1].max(0.0)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn pca_of_axis_aligned_points_recovers_the_axes_and_variances() {
        // Variance 2 along x, 0.5 along y: PC1 = x, PC2 = y, 80 % / 20 %.
        let pts = [2.0f32, 0.0, -2.0, 0.0, 0.0, 1.0, 0.0, -1.0];
        let p = pca2(&pts, 2).unwrap();
        assert!(close(p.variance[0], 2.0, 1e-12), "{:?}", p.variance);
        assert!(close(p.variance[1], 0.5, 1e-12), "{:?}", p.variance);
        assert!(close(p.variance_ratio[0], 0.8, 1e-12));
        assert!(close(p.variance_ratio[1], 0.2, 1e-12));
        assert!(close(p.components[0][0], 1.0, 1e-12), "{:?}", p.components);
        assert!(close(p.components[1][1], 1.0, 1e-12), "{:?}", p.components);
        let want = [[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]];
        for (s, w) in p.scores.iter().zip(want) {
            assert!(
                close(s[0], w[0], 1e-12) && close(s[1], w[1], 1e-12),
                "{s:?}"
            );
        }
    }

    #[test]
    fn pca_recovers_known_oblique_directions() {
        // Rows = offset + 3·a·u1 + b·u2 + small noise, u1 ⟂ u2 oblique unit vectors in 6-D.
        let u1 = [0.5, 0.5, 0.5, 0.5, 0.0, 0.0];
        let u2 = [0.5, -0.5, 0.0, 0.0, 0.5, 0.5];
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut emb = Vec::new();
        for _ in 0..2000 {
            let a: f64 = rng.gen_range(-1.0..1.0);
            let b: f64 = rng.gen_range(-1.0..1.0);
            for k in 0..6 {
                let noise: f64 = rng.gen_range(-0.01..0.01);
                emb.push((10.0 + 3.0 * a * u1[k] + b * u2[k] + noise) as f32);
            }
        }
        let p = pca2(&emb, 6).unwrap();
        let d1 = dot(&p.components[0], &u1).abs();
        let d2 = dot(&p.components[1], &u2).abs();
        assert!(d1 > 0.9999 && d2 > 0.999, "{d1} {d2} {:?}", p.components);
        // Uniform(-1, 1) has variance 1/3: 3 and 1/3 along u1, u2; noise adds ~2e-4 in all.
        assert!(close(p.variance[0], 3.0, 0.25), "{:?}", p.variance);
        assert!(close(p.variance[1], 1.0 / 3.0, 0.03), "{:?}", p.variance);
        assert!(
            close(p.variance_ratio[0], 0.9, 0.01),
            "{:?}",
            p.variance_ratio
        );
        assert!(p.variance_ratio[0] + p.variance_ratio[1] < 1.0);
        // Unit, orthogonal components with a positive largest coordinate.
        assert!(close(dot(&p.components[0], &p.components[0]), 1.0, 1e-9));
        assert!(close(dot(&p.components[0], &p.components[1]), 0.0, 1e-9));
        for c in &p.components {
            let big = c.iter().copied().max_by(|a, b| a.abs().total_cmp(&b.abs()));
            assert!(big.unwrap() > 0.0, "{c:?}");
        }
        // Deterministic: the same input gives the same result, bit for bit.
        assert_eq!(pca2(&emb, 6).unwrap(), p);
    }

    #[test]
    fn pca_handles_equal_variances_and_constant_data() {
        // Equal variance along x and y (a degenerate pair): any orthonormal basis of the plane.
        let pts = [
            1.0f32, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, -1.0, 0.0,
        ];
        let p = pca2(&pts, 3).unwrap();
        assert!(close(p.variance[0], 0.5, 1e-9) && close(p.variance[1], 0.5, 1e-9));
        for c in &p.components {
            assert!(c[2].abs() < 1e-9, "{c:?} leaves the x-y plane");
        }
        let flat = pca2(&[1.0f32; 12], 4).unwrap();
        assert_eq!(flat.variance_ratio, [0.0, 0.0]);
        assert!(flat.scores.iter().all(|s| *s == [0.0, 0.0]));
    }

    #[test]
    fn pca_rejects_bad_input() {
        assert!(pca2(&[1.0; 5], 2)
            .unwrap_err()
            .to_string()
            .contains("rows of 2"));
        assert!(pca2(&[1.0; 4], 1).is_err());
        assert!(pca2(&[], 3).is_err());
        let err = pca2(&[1.0, f32::NAN, 0.0, 0.0], 2).unwrap_err().to_string();
        assert!(err.contains("row 0, column 1"), "{err}");
    }
}
