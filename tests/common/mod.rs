//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

pub mod shared;
use shared::shared_or_skip;

/// `../shared/data/<name>` beside the workspace, or None (with a printed reason) when absent —
/// the case on a user's fresh clone. With `AUSCULT_REQUIRE_DATA=1` a missing folder fails the
/// test instead (see [`shared::resolve_shared`]).
pub fn shared_data(name: &str) -> Option<PathBuf> {
    // The workspace root is this (root) package's manifest dir.
    shared_or_skip(&shared::shared_data_root(&shared::manifest_dir()).join(name))
}

/// `../shared/data/icbhi` when it holds the real mini database (`ICBHI_final_database/`), or
/// None with a printed reason (a failure with `AUSCULT_REQUIRE_DATA=1`).
pub fn mini_database() -> Option<PathBuf> {
    let icbhi = shared_data("icbhi")?;
    shared_or_skip(&icbhi.join("ICBHI_final_database"))?;
    Some(icbhi)
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
    let o = auscult_synth::IcbhiSynthOptions {
        recordings,
        seed,
        ..Default::default()
    };
    auscult_synth::synth_icbhi(dir.path(), &o).unwrap();
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
