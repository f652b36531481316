//! The one error type of the crate: every variant names the file at fault.

use std::path::PathBuf;

/// Everything that can go wrong while writing or reading a cache.
///
/// Every variant carries the path of the file (or directory) involved, so a
/// message alone is enough to find the culprit.
#[derive(thiserror::Error, Debug)]
pub enum CacheError {
    /// An operating-system I/O failure on `path`.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory being accessed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Malformed or unserialisable JSON; serde_json's message carries the
    /// line and column (or the field) at fault.
    #[error("{}: invalid JSON: {source}", path.display())]
    Json {
        /// The JSON file.
        path: PathBuf,
        /// The underlying error, with line/column.
        #[source]
        source: serde_json::Error,
    },
    /// The safetensors library could not parse or serialise a shard.
    #[error("{}: safetensors: {msg}", path.display())]
    Safetensors {
        /// The shard file.
        path: PathBuf,
        /// What the safetensors library reported.
        msg: String,
    },
    /// The blake3 checksum of a file differs from the one in the manifest.
    #[error("{}: blake3 checksum mismatch: manifest says {expected}, file hashes to {actual}", path.display())]
    Checksum {
        /// The shard file.
        path: PathBuf,
        /// Hex digest listed in the manifest.
        expected: String,
        /// Hex digest of the bytes on disk.
        actual: String,
    },
    /// A file's size differs from the size listed in the manifest
    /// (typically a truncated or partially copied shard).
    #[error("{}: size mismatch: manifest says {expected} bytes, file has {actual}", path.display())]
    Size {
        /// The shard file.
        path: PathBuf,
        /// Size listed in the manifest.
        expected: u64,
        /// Size found on disk.
        actual: u64,
    },
    /// A file listed in the manifest (shard or metadata table) does not exist.
    #[error("{}: file listed in the manifest is missing", path.display())]
    Missing {
        /// The expected file.
        path: PathBuf,
    },
    /// A tensor has the wrong shape or dtype, or a row has the wrong length.
    #[error("{}: shape error: {msg}", path.display())]
    Shape {
        /// The shard file (being read, or being written for `push`).
        path: PathBuf,
        /// What was expected and what was found.
        msg: String,
    },
    /// A shard row's `label` is not the id of one of the manifest's classes.
    #[error("{}: row {row} (cycle_id {cycle_id}): label {label} is not a class of this cache ({classes})", path.display())]
    Label {
        /// The shard file.
        path: PathBuf,
        /// Row within the shard (0-based).
        row: usize,
        /// Global row index (`cycle_id`) of that row.
        cycle_id: i64,
        /// The offending label value.
        label: i64,
        /// The cache's classes, e.g. `ids 0..3: normal, crackle, wheeze, both`.
        classes: String,
    },
    /// The metadata table (Parquet) could not be written or read.
    #[error("{}: metadata table: {msg}", path.display())]
    Table {
        /// The table file.
        path: PathBuf,
        /// What the Parquet reader or writer reported.
        msg: String,
    },
    /// Any other violation of the cache format (unsupported version,
    /// inconsistent row counts, bad values, bad arguments).
    #[error("{}: format error: {msg}", path.display())]
    Format {
        /// The file at fault.
        path: PathBuf,
        /// What rule was broken.
        msg: String,
    },
}

impl CacheError {
    /// Shorthand for an [`CacheError::Io`] on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CacheError::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for a [`CacheError::Format`] on `path`.
    pub(crate) fn format(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        CacheError::Format {
            path: path.into(),
            msg: msg.into(),
        }
    }

    /// Shorthand for a [`CacheError::Shape`] on `path`.
    pub(crate) fn shape(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        CacheError::Shape {
            path: path.into(),
            msg: msg.into(),
        }
    }
}
