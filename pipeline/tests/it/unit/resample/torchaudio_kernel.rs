//! Unit tests of `src/resample/torchaudio_kernel.rs`.

use auscult_pipeline::resample::torchaudio_kernel::*;

#[test]
fn width_and_length_match_torchaudio_formula() {
    // 44100 -> 16000: gcd 100, 441 -> 160, base 158.4, width ceil(2646 / 158.4) = 17.
    let g = PolyphaseKernel::new(441, 160).dense();
    assert_eq!(g.width, 17);
    assert_eq!(g.taps_per_phase, 475);
    // 4000 -> 16000: 1 -> 4, base 0.99, width ceil(6 / 0.99) = 7.
    assert_eq!(PolyphaseKernel::new(1, 4).dense().width, 7);
    // 10000 -> 16000: 5 -> 8, base 4.95, width ceil(30 / 4.95) = 7.
    assert_eq!(PolyphaseKernel::new(5, 8).dense().width, 7);
}

#[test]
fn sparse_taps_equal_dense_rows_and_zeros_elsewhere() {
    for (orig, new) in [(441, 160), (1, 4), (1, 2), (5, 8), (3, 1), (441, 320)] {
        let kernel = PolyphaseKernel::new(orig, new);
        let dense = kernel.dense();
        for (j, phase) in kernel.phases().iter().enumerate() {
            let row = &dense.values[j * dense.taps_per_phase..(j + 1) * dense.taps_per_phase];
            let stored = &kernel.taps()[phase.start..phase.start + phase.len];
            assert_eq!(&row[phase.first_tap..phase.first_tap + phase.len], stored);
            let outside = row[..phase.first_tap]
                .iter()
                .chain(&row[phase.first_tap + phase.len..]);
            assert!(outside.into_iter().all(|&v| v == 0.0), "{orig}/{new} j={j}");
            // Support is about 2·6·orig/base taps, far fewer than the dense row.
            assert!(phase.len <= 2 * dense.width + 2, "{orig}/{new} j={j}");
        }
    }
}

#[test]
fn simd_and_baseline_paths_agree_bitwise() {
    let x: Vec<f32> = (0..5000)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    for (orig, new) in [(441, 160), (1, 4), (5, 8)] {
        let kernel = PolyphaseKernel::new(orig, new);
        let out_len = (x.len() * new).div_ceil(orig);
        let fast = kernel.apply(&x, out_len);
        let blocks = out_len.div_ceil(new);
        let stream_len = blocks + kernel.max_block_offset() + 1;
        let streams = kernel.split_streams(&x, stream_len);
        let mut baseline = vec![0.0f32; out_len];
        kernel.accumulate_phases(&streams, stream_len, &mut vec![0.0; blocks], &mut baseline);
        assert!(fast
            .iter()
            .zip(&baseline)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

#[test]
fn phase_zero_has_unit_center_tap_scaled() {
    // t = 0 at m = width for phase 0: sinc 1, window 1, value = base/orig = 0.99·min/orig.
    let kernel = PolyphaseKernel::new(1, 4).dense();
    assert_eq!(kernel.values[kernel.width], 0.99f64 as f32);
    let kernel = PolyphaseKernel::new(441, 160).dense();
    assert_eq!(kernel.values[kernel.width], (158.4f64 / 441.0) as f32);
}
