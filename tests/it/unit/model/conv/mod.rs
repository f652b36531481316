//! Unit tests of `auscult::model::conv` (`src/model/conv/mod.rs`).

mod cudnn;
mod gemm;
mod im2col;

use auscult::model::conv::im2col::ConvGeom;
use auscult::model::conv::*;
use candle_core::Device;

fn geom(c: usize, h: usize, w: usize, o: usize) -> ConvGeom {
    ConvGeom {
        c,
        h,
        w,
        o,
        kh: 5,
        kw: 5,
        pad: 2,
        oh: h,
        ow: w,
    }
}

#[test]
fn chunks_stay_under_the_budget_and_oversized_examples_are_refused() {
    // CNN6 block 2 at the paper's input: 25·128·32·125 = 12.8 M column elements per example
    // for the input gradient.
    let g = geom(64, 32, 125, 128);
    let cpu = Device::Cpu; // the CPU budget: 2^26 elements
    assert_eq!(
        ConvEngine::Gemm.chunk_len(&g, &cpu).unwrap(),
        (1 << 26) / (25 * 128 * 32 * 125)
    );
    let n = ConvEngine::Gemm.chunk_len(&g, &cpu).unwrap();
    assert!(n * auscult::model::conv::gemm::cols_per_sample(&g) <= 1 << 26);
    // cuDNN chunks by conv input/output size: block 1 (1 → 64 channels, 64×251).
    let g1 = geom(1, 64, 251, 64);
    assert_eq!(
        ConvEngine::Cudnn.chunk_len(&g1, &cpu).unwrap(),
        (1 << 27) / (64 * 64 * 251)
    );
    // One example past 2^31 − 1 elements cannot be chunked: refused, naming the limit.
    let huge = geom(512, 3000, 2000, 512);
    let e = ConvEngine::Gemm.chunk_len(&huge, &cpu).unwrap_err();
    assert!(e.to_string().contains("2^31 − 1"), "{e}");
    assert!(ConvEngine::Cudnn.chunk_len(&huge, &cpu).is_err());
}
