//! Unit tests of `src/features/fade.rs`.

use auscult_pipeline::features::apply_fade;

#[test]
fn endpoints_are_exactly_zero_and_middle_untouched() {
    let mut x = vec![1.0f32; 5000];
    apply_fade(&mut x, 1000, 1000);
    assert_eq!(x[0], 0.0);
    assert_eq!(x[4999], 0.0);
    assert_eq!(x[999], 1.0);
    assert_eq!(x[4000], 1.0);
    assert!(x[1000..4000].iter().all(|&v| v == 1.0));
}

#[test]
fn ramp_values_are_linear() {
    let mut x = vec![1.0f32; 3000];
    apply_fade(&mut x, 1000, 1000);
    for i in 0..1000 {
        let want_in = i as f32 / 999.0;
        assert!((x[i] - want_in).abs() <= 1.2e-7, "fade-in {i}: {}", x[i]);
        let want_out = 1.0 - i as f32 / 999.0;
        assert!((x[2000 + i] - want_out).abs() <= 1.2e-7, "fade-out {i}");
    }
    // Symmetry of the two ramps (linspace is exact at both ends, step 1/999).
    assert!((x[1] - 1.0 / 999.0).abs() < 1e-9);
    assert!((x[2998] - 1.0 / 999.0).abs() < 1e-9);
}

#[test]
fn fade_out_only_and_zero_lengths() {
    let mut x = vec![2.0f32; 1500];
    apply_fade(&mut x, 0, 1000);
    assert!(x[..500].iter().all(|&v| v == 2.0));
    assert_eq!(x[500], 2.0);
    assert_eq!(x[1499], 0.0);
    let mut y = vec![3.0f32; 10];
    apply_fade(&mut y, 0, 0);
    assert_eq!(y, vec![3.0; 10]);
    let mut one = vec![5.0f32];
    apply_fade(&mut one, 1, 0);
    assert_eq!(one, vec![0.0]); // linspace(0, 1, 1) == [0]
}

#[test]
fn shorter_than_fade_cuts_the_ramps() {
    let mut x = vec![1.0f32; 400];
    apply_fade(&mut x, 1000, 1000);
    assert_eq!(x[0], 0.0);
    assert_eq!(x[399], 0.0);
    // gain = ramp_in[i] · (1 − ramp_out[i + 600])
    let want = (200.0f32 / 999.0) * (1.0 - 800.0 / 999.0);
    assert!((x[200] - want).abs() < 1e-6);
    let mut empty: Vec<f32> = Vec::new();
    apply_fade(&mut empty, 1000, 1000);
}
