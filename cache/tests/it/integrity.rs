//! Damaged caches are detected and the error names the file at fault.

use std::collections::HashMap;

use crate::common::{build_cache, shard_path};
use auscult_cache::{CacheError, CacheReader, Manifest};
use safetensors::tensor::{Dtype, TensorView};

#[test]
fn flipped_byte_is_a_checksum_error_naming_the_shard() {
    let dir = tempfile::tempdir().unwrap();
    build_cache(dir.path(), 10, 4);
    let path = shard_path(dir.path(), 1);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    let reader = CacheReader::open(dir.path()).unwrap(); // same size: open succeeds
    reader.read_shard(0).unwrap();
    match reader.read_shard(1) {
        Err(CacheError::Checksum {
            path: at,
            expected,
            actual,
        }) => {
            assert_eq!(at, path);
            assert_ne!(expected, actual);
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
    let err = reader.verify().unwrap_err();
    assert!(err.to_string().contains("00001.safetensors"), "{err}");
}

#[test]
fn truncated_shard_is_detected_at_open_and_at_read() {
    let dir = tempfile::tempdir().unwrap();
    build_cache(dir.path(), 10, 4);
    let reader = CacheReader::open(dir.path()).unwrap();
    let path = shard_path(dir.path(), 2);
    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len - 3).unwrap();
    drop(file);

    match reader.read_shard(2) {
        Err(CacheError::Size {
            path: at,
            expected,
            actual,
        }) => {
            assert_eq!(at, path);
            assert_eq!((expected, actual), (len, len - 3));
        }
        other => panic!("expected a size error, got {other:?}"),
    }
    match CacheReader::open(dir.path()) {
        Err(CacheError::Size { path: at, .. }) => assert_eq!(at, path),
        other => panic!("expected a size error, got {other:?}"),
    }
}

#[test]
fn missing_shard_is_detected_at_open() {
    let dir = tempfile::tempdir().unwrap();
    build_cache(dir.path(), 10, 4);
    let path = shard_path(dir.path(), 1);
    std::fs::remove_file(&path).unwrap();
    match CacheReader::open(dir.path()) {
        Err(CacheError::Missing { path: at }) => assert_eq!(at, path),
        other => panic!("expected a missing-file error, got {other:?}"),
    }
}

#[test]
fn missing_metadata_table_is_detected_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = build_cache(dir.path(), 3, 4);
    manifest.metadata_file = Some(auscult_cache::METADATA_FILE.to_string());
    manifest.save(dir.path()).unwrap();
    match CacheReader::open(dir.path()) {
        Err(CacheError::Missing { path }) => {
            assert_eq!(path, dir.path().join(auscult_cache::METADATA_FILE))
        }
        other => panic!("expected a missing-file error, got {other:?}"),
    }
    std::fs::write(dir.path().join(auscult_cache::METADATA_FILE), b"table").unwrap();
    CacheReader::open(dir.path()).unwrap();
}

/// Replaces shard 0 of a 1-shard cache with `tensors`, fixing the manifest's
/// size and checksum so that only the content checks can catch it.
fn replace_shard(dir: &std::path::Path, tensors: Vec<(&str, TensorView<'_>)>, tag: Option<&str>) {
    let info = tag.map(|t| HashMap::from([("format".to_string(), t.to_string())]));
    let bytes = safetensors::serialize(tensors, info).unwrap();
    std::fs::write(shard_path(dir, 0), &bytes).unwrap();
    let mut manifest = Manifest::load(dir).unwrap();
    manifest.shards[0].bytes = bytes.len() as u64;
    manifest.shards[0].blake3 = blake3::hash(&bytes).to_hex().to_string();
    manifest.save(dir).unwrap();
}

/// The error of reading shard 0 of the cache in `dir`.
fn shard_0_error(dir: &std::path::Path) -> CacheError {
    CacheReader::open(dir).unwrap().read_shard(0).unwrap_err()
}

fn i64_bytes(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A 2-row shard's bytes: `mel` (all zero) of `mel_shape`, labels 0 and 1, the cycle ids
/// `ids` (none: the tensor is left out).
struct Shard {
    mel: Vec<u8>,
    labels: Vec<u8>,
    ids: Option<Vec<u8>>,
}

impl Shard {
    fn new(ids: Option<&[i64]>) -> Self {
        Shard {
            mel: vec![0u8; 2 * 15 * 4],
            labels: i64_bytes(&[0, 1]),
            ids: ids.map(i64_bytes),
        }
    }

    fn tensors(&self, mel_shape: Vec<usize>) -> Vec<(&str, TensorView<'_>)> {
        let view = |dtype, shape: Vec<usize>, data| TensorView::new(dtype, shape, data).unwrap();
        let mut tensors = vec![
            ("mel", view(Dtype::F32, mel_shape, &self.mel)),
            ("label", view(Dtype::I64, vec![2], &self.labels)),
        ];
        if let Some(ids) = &self.ids {
            tensors.push(("cycle_id", view(Dtype::I64, vec![2], ids)));
        }
        tensors
    }

    /// The error of reading a 1-shard cache in `dir` whose shard 0 is this one.
    fn error(&self, dir: &std::path::Path, mel_shape: Vec<usize>, tag: Option<&str>) -> CacheError {
        replace_shard(dir, self.tensors(mel_shape), tag);
        shard_0_error(dir)
    }
}

#[test]
fn content_errors_are_caught_even_with_a_valid_checksum() {
    let dir = tempfile::tempdir().unwrap();
    build_cache(dir.path(), 2, 4);
    let path = shard_path(dir.path(), 0);
    let tag = Some(auscult_cache::FORMAT_TAG);

    // Non-contiguous cycle ids.
    let err = Shard::new(Some(&[0, 5])).error(dir.path(), vec![2, 3, 5], tag);
    assert!(
        matches!(&err, CacheError::Format { path: p, .. } if *p == path),
        "{err}"
    );
    assert!(err.to_string().contains("cycle_id[1]"), "{err}");

    // Wrong feature shape.
    let shard = Shard::new(Some(&[0, 1]));
    let err = shard.error(dir.path(), vec![2, 5, 3], tag);
    assert!(
        matches!(&err, CacheError::Shape { path: p, .. } if *p == path),
        "{err}"
    );

    // Missing tensor.
    let err = Shard::new(None).error(dir.path(), vec![2, 3, 5], tag);
    assert!(
        matches!(&err, CacheError::Format { path: p, .. } if *p == path),
        "{err}"
    );

    // No format tag.
    let err = shard.error(dir.path(), vec![2, 3, 5], None);
    assert!(err.to_string().contains("__metadata__"), "{err}");

    // Not a safetensors file at all.
    std::fs::write(&path, b"garbage").unwrap();
    let mut manifest = Manifest::load(dir.path()).unwrap();
    manifest.shards[0].bytes = 7;
    manifest.shards[0].blake3 = blake3::hash(b"garbage").to_hex().to_string();
    manifest.save(dir.path()).unwrap();
    let err = shard_0_error(dir.path());
    assert!(
        matches!(&err, CacheError::Safetensors { path: p, .. } if *p == path),
        "{err}"
    );
}

#[test]
fn out_of_range_shard_index_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    build_cache(dir.path(), 3, 4);
    let reader = CacheReader::open(dir.path()).unwrap();
    assert!(matches!(
        reader.read_shard(1),
        Err(CacheError::Format { .. })
    ));
}
