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
    /// The label classes, in id order: `classes[i].id == i`, so a shard's
    /// `label` values lie in `0..classes.len()`.
    pub classes: Vec<ClassInfo>,
    /// The cache's splits, sorted by name, each with its number of rows
    /// (rows of the metadata table: a `--metadata-only` cache has splits but
    /// no shards).
    pub splits: Vec<SplitInfo>,
    /// The split evaluated when a run names none (one of `splits`), or
    /// `None` when the cache has no such split.
    pub default_eval_split: Option<String>,
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
    /// Built from a synthetic database (generated signals, not recordings): its runs are never
    /// set beside the paper's numbers. Absent (false) for real data.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub synthetic: bool,
}

/// Ids of the classes marked normal.
pub fn normal_ids(classes: &[ClassInfo]) -> Vec<usize> {
    classes
        .iter()
        .filter(|c| c.normal)
        .map(|c| c.id as usize)
        .collect()
}

/// One label class of a cache.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClassInfo {
    /// The value of `label` for rows of this class; equal to the class's
    /// position in [`Manifest::classes`].
    pub id: i64,
    /// Human name, e.g. `"crackle"`; unique within a cache.
    pub name: String,
    /// Whether the class is a "normal" (healthy) sound, as opposed to an
    /// adventitious one (the score's sensitivity counts the others).
    pub normal: bool,
}

/// One split of a cache (e.g. `train`, `test`) and its size.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SplitInfo {
    /// Split name as in the metadata table's `split` column; unique, non-empty.
    pub name: String,
    /// Number of rows of the split.
    pub rows: u64,
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
    ///
    /// The format version is checked first, on the raw JSON, so a cache of
    /// another version is reported as such (with what to do) rather than as
    /// missing or unknown fields.
    pub fn load(dir: &Path) -> Result<Manifest, CacheError> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|e| CacheError::io(&path, e))?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|source| CacheError::Json {
            path: path.clone(),
            source,
        })?;
        if let Some(version) = value.get("format_version").and_then(Value::as_u64) {
            if let Some(msg) = version_problem(version) {
                return Err(CacheError::format(&path, msg));
            }
        }
        // Parsed again from the bytes (not the `Value`) so errors keep their line and column.
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
    /// 0 and summing to `rows`, safe relative file names and hex digests;
    /// classes non-empty with ids `0..n-1` in order, unique non-empty names,
    /// at least one normal and one abnormal class; split names non-empty,
    /// unique and sorted, `default_eval_split` one of them, and (when the
    /// cache has shards) split rows summing to `rows`.
    /// `path` is the manifest file, named in errors, whose message names the
    /// JSON path at fault (e.g. `classes[2].id`).
    pub fn validate(&self, path: &Path) -> Result<(), CacheError> {
        let fail = |msg: String| Err(CacheError::format(path, msg));
        if let Some(msg) = version_problem(u64::from(self.format_version)) {
            return fail(msg);
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
        self.validate_classes().or_else(fail)?;
        self.validate_splits().or_else(fail)
    }

    /// The class-list rules of [`Manifest::validate`]; the message names the
    /// JSON path at fault.
    fn validate_classes(&self) -> Result<(), String> {
        if self.classes.is_empty() {
            return Err("classes is empty: a cache must list its label classes".into());
        }
        for (i, class) in self.classes.iter().enumerate() {
            if class.id != i as i64 {
                return Err(format!(
                    "classes[{i}].id is {}, expected {i} (ids run 0..n-1 in list order)",
                    class.id
                ));
            }
            if class.name.trim().is_empty() {
                return Err(format!("classes[{i}].name is empty"));
            }
            if let Some(j) = self.classes[..i].iter().position(|c| c.name == class.name) {
                return Err(format!(
                    "classes[{i}].name {:?} repeats classes[{j}].name",
                    class.name
                ));
            }
        }
        if !self.classes.iter().any(|c| c.normal) {
            return Err(
                "classes: no class has normal = true (one must be the normal class)".into(),
            );
        }
        if self.classes.iter().all(|c| c.normal) {
            return Err(
                "classes: every class has normal = true (at least one must be abnormal)".into(),
            );
        }
        Ok(())
    }

    /// The split rules of [`Manifest::validate`]; the message names the JSON
    /// path at fault.
    fn validate_splits(&self) -> Result<(), String> {
        for (i, split) in self.splits.iter().enumerate() {
            if split.name.is_empty() {
                return Err(format!("splits[{i}].name is empty"));
            }
            if let Some(j) = self.splits[..i].iter().position(|s| s.name == split.name) {
                return Err(format!(
                    "splits[{i}].name {:?} repeats splits[{j}].name",
                    split.name
                ));
            }
            if i > 0 && self.splits[i - 1].name > split.name {
                return Err(format!(
                    "splits[{i}].name {:?} comes before splits[{}].name {:?} (splits are sorted by name)",
                    split.name,
                    i - 1,
                    self.splits[i - 1].name
                ));
            }
        }
        if let Some(name) = &self.default_eval_split {
            if self.split_rows(name).is_none() {
                let names: Vec<&str> = self.splits.iter().map(|s| s.name.as_str()).collect();
                return Err(format!(
                    "default_eval_split {name:?} is not one of the splits [{}]",
                    names.join(", ")
                ));
            }
        }
        if !self.shards.is_empty() {
            let total = self
                .splits
                .iter()
                .try_fold(0u64, |sum, s| sum.checked_add(s.rows));
            if total != Some(self.rows) {
                let total = total.map_or_else(|| "more than 2^64".to_string(), |t| t.to_string());
                return Err(format!(
                    "splits[].rows sum to {total} but rows is {}",
                    self.rows
                ));
            }
        }
        Ok(())
    }

    /// Number of label classes.
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// Ids of the classes marked `normal`, ascending.
    pub fn normal_ids(&self) -> Vec<usize> {
        normal_ids(&self.classes)
    }

    /// Class names in id order.
    pub fn class_names(&self) -> Vec<&str> {
        self.classes.iter().map(|c| c.name.as_str()).collect()
    }

    /// Rows of split `name`, or `None` when the cache has no such split.
    pub fn split_rows(&self, name: &str) -> Option<u64> {
        self.splits.iter().find(|s| s.name == name).map(|s| s.rows)
    }

    /// `"ids 0..3: normal, crackle, wheeze, both"`: the class list in one
    /// line, for messages.
    pub fn describe_classes(&self) -> String {
        format!(
            "ids 0..{}: {}",
            self.classes.len().saturating_sub(1),
            self.class_names().join(", ")
        )
    }
}

/// Why a manifest of format `version` cannot be read by this build, or
/// `None` when it can.
fn version_problem(version: u64) -> Option<String> {
    let supported = u64::from(FORMAT_VERSION);
    if version < supported {
        Some(format!(
            "this cache was written by an older auscult (format version {version}); rebuild it \
             with this version's `auscult pipeline build` (this build reads version {supported})"
        ))
    } else if version > supported {
        Some(format!(
            "this cache was written by a newer auscult (format version {version}); this build \
             reads version {supported}: read it with that newer auscult, or rebuild it with this \
             version's `auscult pipeline build`"
        ))
    } else {
        None
    }
}

/// True for a non-empty `/`-separated relative path without `..`, `.` or
/// root components (so it cannot escape the cache dir).
pub fn is_safe_relative(file: &str) -> bool {
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
