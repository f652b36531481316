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

/// A synthetic ICBHI database and its cache: clips of `samples` samples at 16 kHz (the paper:
/// 128000) with `mels` mel bands (the paper: 64), `shard_size` rows per shard (None: the default).
/// Small clips keep CNN6 cheap in tests. Returns (database, cache).
pub fn synth_icbhi_cache(
    recordings: usize,
    seed: u64,
    samples: usize,
    mels: usize,
    shard_size: Option<usize>,
) -> (tempfile::TempDir, tempfile::TempDir) {
    let db = synth_icbhi_db(recordings, seed);
    let cache = build_cache(
        auscult_pipeline::build::Dataset::Icbhi,
        db.path(),
        samples,
        mels,
        shard_size,
    );
    (db, cache)
}

/// The cache of database `db` of `dataset` in a temp dir, with clips of `samples` samples and
/// `mels` mel bands (`shard_size` rows per shard; None: the default).
pub fn build_cache(
    dataset: auscult_pipeline::build::Dataset,
    db: &Path,
    samples: usize,
    mels: usize,
    shard_size: Option<usize>,
) -> tempfile::TempDir {
    let cache = tempfile::tempdir().unwrap();
    let mut o = auscult_pipeline::build::BuildOptions::new(dataset, db, cache.path());
    o.features.target_samples = samples;
    o.features.n_mels = mels;
    if let Some(n) = shard_size {
        o.shard_size = n;
    }
    auscult_pipeline::build::build(&o).unwrap();
    cache
}

/// A cache manifest's classes as `(id, name, normal)`.
pub fn class_table(m: &auscult_cache::Manifest) -> Vec<(i64, &str, bool)> {
    m.classes
        .iter()
        .map(|c| (c.id, c.name.as_str(), c.normal))
        .collect()
}

/// Split name → rows of a cache's metadata table.
pub fn table_split_counts(cache: &Path) -> Vec<(String, u64)> {
    let df = auscult_cache::table::read_table(&cache.join("metadata.parquet")).unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for s in auscult_cache::table::string_column(&df, "split").unwrap() {
        *counts.entry(s.unwrap()).or_insert(0u64) += 1;
    }
    counts.into_iter().collect()
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
