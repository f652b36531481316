//! Removing a previous cache's outputs before a rebuild.

use std::path::{Path, PathBuf};

use crate::atomic::temp_target;
use crate::{CacheError, MANIFEST_FILE, METADATA_FILE, SHARDS_DIR};

/// Removes a previous cache's outputs in `dir` so a rebuild starts clean:
/// `manifest.json` (first, so a half-cleared dir never looks like a cache),
/// shard files `shards/<digits>.safetensors`, `metadata.parquet`, and stale
/// temporary files of any of these (`<name>.tmp-<pid>`). `shards/` itself is
/// removed when it ends up empty. Unrelated files are left alone; a missing
/// `dir` is not an error.
pub fn clear_outputs(dir: &Path) -> Result<(), CacheError> {
    if !dir.exists() {
        return Ok(());
    }
    remove_if_present(&dir.join(MANIFEST_FILE))?;
    let shards_dir = dir.join(SHARDS_DIR);
    if shards_dir.is_dir() {
        for file in find_shard_files(&shards_dir)? {
            remove_if_present(&file)?;
        }
        let is_empty = read_dir_names(&shards_dir)?.is_empty();
        if is_empty {
            std::fs::remove_dir(&shards_dir).map_err(|e| CacheError::io(&shards_dir, e))?;
        }
    }
    remove_if_present(&dir.join(METADATA_FILE))?;
    for name in read_dir_names(dir)? {
        if matches!(temp_target(&name), Some(MANIFEST_FILE | METADATA_FILE)) {
            remove_if_present(&dir.join(name))?;
        }
    }
    Ok(())
}

/// Shard files (and their stale temporaries) in `shards_dir`, sorted by name.
pub(crate) fn find_shard_files(shards_dir: &Path) -> Result<Vec<PathBuf>, CacheError> {
    let mut found: Vec<PathBuf> = read_dir_names(shards_dir)?
        .into_iter()
        .filter(|name| is_shard_name(temp_target(name).unwrap_or(name)))
        .map(|name| shards_dir.join(name))
        .collect();
    found.sort();
    Ok(found)
}

/// True for `<digits>.safetensors`, the names the writer gives shards.
pub fn is_shard_name(name: &str) -> bool {
    name.strip_suffix(".safetensors")
        .is_some_and(|stem| !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()))
}

/// The UTF-8 names of the entries of `dir` (others cannot be ours).
fn read_dir_names(dir: &Path) -> Result<Vec<String>, CacheError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CacheError::io(dir, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| CacheError::io(dir, e))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    Ok(names)
}

/// Removes the file at `path`; a file that is already gone is fine.
fn remove_if_present(path: &Path) -> Result<(), CacheError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CacheError::io(path, e)),
        _ => Ok(()),
    }
}
