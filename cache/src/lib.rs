//! auscult's on-disk cache format, shared by the pipeline (writer) and the
//! trainer (reader). It knows nothing about datasets or models.
//!
//! A cache directory holds:
//! - `manifest.json` ([`Manifest`]): format version, tool, dataset, the
//!   preprocessing parameters and their [`params_hash`], feature shape, row
//!   count, the label classes ([`ClassInfo`]: id, name, normal), the splits
//!   with their row counts ([`SplitInfo`]) and the default evaluation split,
//!   the shard list with sizes and blake3 checksums, free-form counts,
//!   skipped inputs and the name of the metadata table. Deterministic: same
//!   inputs, byte-identical file. A manifest of another format version is
//!   refused on load with a message saying to rebuild the cache.
//! - `shards/NNNNN.safetensors`: tensors `mel` f32 `[n, n_mels, n_frames]`,
//!   `label` i64 `[n]`, `cycle_id` i64 `[n]` (global row index; rows are
//!   contiguous across shards), `__metadata__ = {"format": "auscult-cache-1"}`.
//!   Readable by Python's `safetensors.numpy.load_file`.
//! - optionally `metadata.parquet`: one row per cache row; its columns are
//!   the pipeline's, written and read through [`table`].
//!
//! Writing: [`clear_outputs`], then [`ShardWriter`] (`push` rows, `finish`),
//! then build a [`Manifest`] and [`Manifest::save`] it last. Every file is
//! written atomically ([`write_atomic`]). Reading: [`CacheReader::open`], then
//! [`CacheReader::shards`] or [`CacheReader::prefetch`]; every shard is
//! checksummed, shape-checked and its labels checked against the manifest's
//! classes as it is read.

pub mod atomic;
pub mod clear;
mod error;
pub mod manifest;
mod prefetch;
mod reader;
mod shard;
pub mod table;
pub mod verify;
mod writer;

pub use atomic::write_atomic;
pub use clear::clear_outputs;
pub use error::CacheError;
pub use manifest::{
    canonical_json, canonicalize, normal_ids, params_hash, shard_file, ClassInfo, Manifest,
    ShardInfo, SkippedInput, SplitInfo,
};
pub use prefetch::Prefetch;
pub use reader::CacheReader;
pub use shard::{Shard, CYCLE_ID_TENSOR, FORMAT_TAG, LABEL_TENSOR, MEL_TENSOR};
pub use writer::ShardWriter;

/// Name of the manifest file in a cache dir.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Name of the shard folder in a cache dir.
pub const SHARDS_DIR: &str = "shards";
/// Conventional name of the per-row metadata table in a cache dir.
pub const METADATA_FILE: &str = "metadata.parquet";
/// Version of the format this crate writes and reads (2: the manifest lists
/// its classes, splits and default evaluation split).
pub const FORMAT_VERSION: u32 = 2;
