//! `manifest.json`: what a cache holds and how it was made.

use std::path::{Component, Path};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::atomic::write_atomic;
use crate::{CacheError, FORMAT_VERSION, MANIFEST_FILE, SHARDS_DIR};

/// The description of a cache directory, stored as `manifest.json`.
///
/// It is deterministic: no timestamps, absolute paths or thread counts, so the
/// same inputs and parameters give a byte-identical file.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Version of this format; [`FORMAT_VERSION`] for caches this crate writes.
    pub format_version: u32,
    /// The writing tool and its version, e.g. `"auscult 0.1.0"`.
    pub tool: String,
    /// Name of the dataset the cache was built from.
    pub dataset: String,
    /// Every preprocessing parameter, as given by the pipeline.
    pub params: Value,
    /// [`params_hash`] of `params` (checked on load and save).
    pub params_hash: String,
    /// Shape of one feature row: `[n_mels, n_frames]`.
    pub feature_shape: [usize; 2],
    /// Total number of rows over all shards.
    pub rows: u64,
    /// The shards, in row order.
    pub shards: Vec<ShardInfo>,
    /// Free-form counts provided by the pipeline (e.g. per split × label).
    pub counts: Value,
    /// Inputs that were skipped, with the reason.
    pub skipped: Vec<SkippedInput>,
    /// Per-row metadata table, relative to the cache dir (e.g. `"metadata.parquet"`).
    pub metadata_file: Option<String>,
    /// Extension point for the pipeline; `null` when unused.
    #[serde(default)]
    pub extra: Value,
}

/// One shard file as listed in the manifest.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ShardInfo {
    /// Path relative to the cache dir, `/`-separated, e.g. `"shards/00000.safetensors"`.
    pub file: String,
    /// Global index of the shard's first row (= its first `cycle_id`).
    pub first_row: u64,
    /// Number of rows in the shard.
    pub rows: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// blake3 hex digest of the whole file.
    pub blake3: String,
}

/// An input the pipeline could not use.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SkippedInput {
    /// The input (e.g. a recording name), relative to the dataset root.
    pub input: String,
    /// Why it was skipped.
    pub reason: String,
}

/// Relative path of shard number `index`: `shards/NNNNN.safetensors`.
pub fn shard_file(index: usize) -> String {
    format!("{SHARDS_DIR}/{index:05}.safetensors")
}

/// `value` with every object's keys in sorted (byte) order, whatever
/// serde_json's map implementation is.
pub fn canonicalize(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), canonicalize(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonicalize).collect()),
        other => other.clone(),
    }
}

/// Canonical JSON text of `value`: compact, object keys sorted.
pub fn canonical_json(value: &Value) -> String {
    // Serialising a `Value` cannot fail (all keys are strings).
    serde_json::to_string(&canonicalize(value)).unwrap_or_default()
}

/// blake3 hex digest of the canonical JSON of `params`; independent of the
/// order in which keys were inserted.
pub fn params_hash(params: &Value) -> String {
    blake3::hash(canonical_json(params).as_bytes())
        .to_hex()
        .to_string()
}

impl Manifest {
    /// Reads and validates `dir/manifest.json` (see [`Manifest::validate`]).
    pub fn load(dir: &Path) -> Result<Manifest, CacheError> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|e| CacheError::io(&path, e))?;
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|source| CacheError::Json {
                path: path.clone(),
                source,
            })?;
        manifest.validate(&path)?;
        Ok(manifest)
    }

    /// Validates, then writes `dir/manifest.json` atomically as pretty JSON
    /// with sorted keys inside the free-form values.
    pub fn save(&self, dir: &Path) -> Result<(), CacheError> {
        let path = dir.join(MANIFEST_FILE);
        self.validate(&path)?;
        let mut text =
            serde_json::to_string_pretty(&self.canonical()).map_err(|source| CacheError::Json {
                path: path.clone(),
                source,
            })?;
        text.push('\n');
        write_atomic(&path, text.as_bytes())
    }

    /// A copy whose free-form JSON values have sorted keys.
    fn canonical(&self) -> Manifest {
        Manifest {
            params: canonicalize(&self.params),
            counts: canonicalize(&self.counts),
            extra: canonicalize(&self.extra),
            ..self.clone()
        }
    }

    /// Checks internal consistency: supported version, `params_hash`
    /// matching `params`, non-empty feature shape, shards contiguous from row
    /// 0 and summing to `rows`, safe relative file names and hex digests.
    /// `path` is the manifest file, named in errors.
    pub fn validate(&self, path: &Path) -> Result<(), CacheError> {
        let fail = |msg: String| Err(CacheError::format(path, msg));
        if self.format_version != FORMAT_VERSION {
            return fail(format!(
                "format_version is {}, this build reads version {FORMAT_VERSION}",
                self.format_version
            ));
        }
        let expected_hash = params_hash(&self.params);
        if self.params_hash != expected_hash {
            return fail(format!(
                "params_hash is {} but the params hash to {expected_hash}",
                self.params_hash
            ));
        }
        if self.feature_shape.contains(&0) {
            return fail(format!(
                "feature_shape {:?} has a zero dimension",
                self.feature_shape
            ));
        }
        let mut next_row = 0u64;
        for (i, shard) in self.shards.iter().enumerate() {
            let at = format!("shards[{i}]");
            if !is_safe_relative(&shard.file) {
                return fail(format!(
                    "{at}.file {:?} is not a relative path inside the cache",
                    shard.file
                ));
            }
            if shard.first_row != next_row {
                return fail(format!(
                    "{at}.first_row is {} but the previous shards end at row {next_row}",
                    shard.first_row
                ));
            }
            if shard.rows == 0 {
                return fail(format!("{at}.rows is 0"));
            }
            if !is_blake3_hex(&shard.blake3) {
                return fail(format!(
                    "{at}.blake3 {:?} is not a 64-digit lowercase hex digest",
                    shard.blake3
                ));
            }
            next_row += shard.rows;
        }
        if next_row != self.rows {
            return fail(format!(
                "rows is {} but the shards hold {next_row}",
                self.rows
            ));
        }
        if let Some(file) = &self.metadata_file {
            if !is_safe_relative(file) {
                return fail(format!(
                    "metadata_file {file:?} is not a relative path inside the cache"
                ));
            }
        }
        Ok(())
    }
}

/// True for a non-empty `/`-separated relative path without `..`, `.` or
/// root components (so it cannot escape the cache dir).
fn is_safe_relative(file: &str) -> bool {
    !file.is_empty()
        && !file.contains('\\')
        && Path::new(file)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        && file.split('/').all(|part| !part.is_empty() && part != ".")
}

/// True for a 64-digit lowercase hex string (a blake3 digest).
fn is_blake3_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_relative_paths() {
        assert!(is_safe_relative("shards/00000.safetensors"));
        assert!(is_safe_relative("metadata.parquet"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "shards/../../x",
            "./x",
            "a//b",
            "a\\b",
        ] {
            assert!(!is_safe_relative(bad), "{bad:?} accepted");
        }
    }

    #[test]
    fn shard_file_is_zero_padded() {
        assert_eq!(shard_file(0), "shards/00000.safetensors");
        assert_eq!(shard_file(12345), "shards/12345.safetensors");
    }
}
