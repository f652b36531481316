//! Atomic file writes: a reader never sees a partially written output.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::CacheError;

/// Marker between a file name and the writer's process id in temporary names.
const TEMP_MARKER: &str = ".tmp-";

/// The temporary sibling of `path` used while writing it:
/// `<name>.tmp-<pid>` in the same directory (so the final rename stays on
/// one file system).
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!("{TEMP_MARKER}{}", std::process::id()));
    path.with_file_name(name)
}

/// If `file_name` is a temporary name made by [`temp_path`]
/// (`<final>.tmp-<digits>`), returns the final name it stands for.
pub fn temp_target(file_name: &str) -> Option<&str> {
    let (target, pid) = file_name.rsplit_once(TEMP_MARKER)?;
    let is_pid = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    (is_pid && !target.is_empty()).then_some(target)
}

/// Writes `bytes` to `path` atomically: writes `<name>.tmp-<pid>` in the same
/// directory, fsyncs it, renames it over `path`, then fsyncs the directory
/// (best effort). On failure the temporary file is removed and `path` is
/// left as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    let tmp = temp_path(path);
    let result = write_and_sync(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| CacheError::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    sync_parent_dir(path);
    Ok(())
}

/// Creates `tmp`, writes `bytes` and flushes them to disk.
fn write_and_sync(tmp: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    let mut file = File::create(tmp).map_err(|e| CacheError::io(tmp, e))?;
    file.write_all(bytes).map_err(|e| CacheError::io(tmp, e))?;
    file.sync_all().map_err(|e| CacheError::io(tmp, e))
}

/// Makes the rename durable where the platform allows opening directories
/// (Unix); failures are ignored because the data itself is already synced.
fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(handle) = File::open(dir) {
            let _ = handle.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
