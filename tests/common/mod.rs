//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// `../shared/data/<name>` beside the workspace, or None (with a printed reason) when absent —
/// the case on a user's fresh clone.
pub fn shared_data(name: &str) -> Option<PathBuf> {
    // The run-time CARGO_MANIFEST_DIR is right even for a binary built from another checkout
    // sharing the target dir; the compile-time one is the fallback.
    let p = Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../shared/data")
    .join(name);
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "skipping: {} not found (real-data tests need ../shared/data)",
            p.display()
        );
        None
    }
}

/// `../shared/data/icbhi` when it holds the real mini database (`ICBHI_final_database/`), or
/// None with a printed reason.
pub fn mini_database() -> Option<PathBuf> {
    let icbhi = shared_data("icbhi")?;
    if icbhi.join("ICBHI_final_database").is_dir() {
        Some(icbhi)
    } else {
        eprintln!("skipping: ICBHI_final_database not found");
        None
    }
}

/// Runs the `auscult` binary.
pub fn auscult(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_auscult"))
        .args(args)
        .output()
        .expect("run auscult")
}

/// A small synthetic ICBHI database in a temp dir.
pub fn synth_icbhi_db(recordings: usize, seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let o = auscult_pipeline::synth::IcbhiSynthOptions {
        recordings,
        seed,
        ..Default::default()
    };
    auscult_pipeline::synth::synth_icbhi(dir.path(), &o).unwrap();
    dir
}

/// The lines of a run's `metrics.jsonl` without their timing fields (which vary run to run).
pub fn lines_without_timing(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("seconds");
            o.remove("samples_per_s");
            v
        })
        .collect()
}
