//! Unit tests of `auscult::train::runtime` (`src/train/runtime.rs`).

use auscult::model::cnn6::Kernels;
use auscult::train::runtime::*;

#[test]
fn the_recorded_runtime_names_the_gemm_kernel_and_older_runs_still_load() {
    let r = Runtime::default().recorded();
    let k = r.cpu_gemm.clone().unwrap();
    #[cfg(target_arch = "x86_64")]
    assert_eq!(
        k == "avx512f",
        std::arch::is_x86_feature_detected!("avx512f"),
        "{k}"
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["cpu_gemm"], k.as_str());
    assert_eq!(json["kernels"], "auto");
    // A summary written before `kernels` and `cpu_gemm` existed.
    let old = serde_json::json!({"device": "cpu", "threads": null, "data_residency": "auto",
        "memory_budget_mib": 4096, "stream_prefetch": 2});
    let back: Runtime = serde_json::from_value(old).unwrap();
    assert_eq!(back, Runtime::default());
    assert_eq!("cudnn".parse::<Kernels>().unwrap(), Kernels::Cudnn);
    assert!("cuda".parse::<Kernels>().is_err());
}
