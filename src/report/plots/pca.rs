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

/// `Σ aᵢ·bᵢ` over the shorter length.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
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
