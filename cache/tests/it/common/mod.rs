//! Helpers shared by the cache integration tests: synthetic rows and caches.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use auscult_cache::{params_hash, ClassInfo, Manifest, ShardWriter, SkippedInput, SplitInfo};
use serde_json::json;

/// Feature shape used by the tests: small, non-square.
pub const SHAPE: [usize; 2] = [3, 5];

/// A synthetic, row-specific feature row (distinct for every row and index).
pub fn synthetic_row(row: u64) -> Vec<f32> {
    (0..SHAPE[0] * SHAPE[1])
        .map(|j| (row as f32) * 100.0 + j as f32 * 0.25 - 7.5)
        .collect()
}

/// Label of synthetic row `row`.
pub fn synthetic_label(row: u64) -> i64 {
    (row % 4) as i64
}

/// The four classes of the test caches (labels `row % 4`).
pub fn test_classes() -> Vec<ClassInfo> {
    ["normal", "crackle", "wheeze", "both"]
        .iter()
        .enumerate()
        .map(|(i, name)| ClassInfo {
            id: i as i64,
            name: name.to_string(),
            normal: i == 0,
        })
        .collect()
}

/// Writes a cache of `rows` synthetic rows in shards of `shard_size` into
/// `dir`, saves its manifest and returns it.
pub fn build_cache(dir: &Path, rows: u64, shard_size: usize) -> Manifest {
    build_cache_with_labels(dir, rows, shard_size, synthetic_label)
}

/// Like [`build_cache`], with row `r` labelled `label(r)` (which the writer
/// accepts whatever it is: only the reader checks labels against classes).
pub fn build_cache_with_labels(
    dir: &Path,
    rows: u64,
    shard_size: usize,
    label: impl Fn(u64) -> i64,
) -> Manifest {
    let mut writer = ShardWriter::create(dir, SHAPE, shard_size).unwrap();
    for row in 0..rows {
        let id = writer.push(label(row), &synthetic_row(row)).unwrap();
        assert_eq!(id, row as i64);
    }
    assert_eq!(writer.rows_written(), rows);
    let shards = writer.finish().unwrap();
    let params =
        json!({"sample_rate": 16000, "n_mels": SHAPE[0], "window": {"kind": "hann", "len": 1024}});
    let manifest = Manifest {
        format_version: auscult_cache::FORMAT_VERSION,
        tool: "auscult test".to_string(),
        dataset: "synthetic".to_string(),
        params_hash: params_hash(&params),
        params,
        feature_shape: SHAPE,
        rows,
        classes: test_classes(),
        splits: vec![
            SplitInfo {
                name: "test".to_string(),
                rows: rows / 2,
            },
            SplitInfo {
                name: "train".to_string(),
                rows: rows - rows / 2,
            },
        ],
        default_eval_split: Some("test".to_string()),
        shards,
        counts: json!({"train": {"0": rows}}),
        skipped: vec![SkippedInput {
            input: "broken.wav".to_string(),
            reason: "unreadable".to_string(),
        }],
        metadata_file: None,
        extra: serde_json::Value::Null,
        synthetic: false,
    };
    manifest.save(dir).unwrap();
    manifest
}

/// Path of shard `i` in cache `dir`.
pub fn shard_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(auscult_cache::shard_file(i))
}

/// Sorted relative paths of every file under `dir`.
pub fn list_files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
