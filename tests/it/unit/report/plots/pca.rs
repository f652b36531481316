//! Unit tests of `auscult::report::plots::pca` (`src/report/plots/pca.rs`).

use auscult::report::plots::pca::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

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
