//! Checksummed, streaming cache reader.

use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::prefetch::Prefetch;
use crate::shard::{CYCLE_ID_TENSOR, FORMAT_KEY, FORMAT_TAG, LABEL_TENSOR, MEL_TENSOR};
use crate::{CacheError, Manifest, Shard, ShardInfo, MANIFEST_FILE};

/// An opened cache directory: its manifest, shards read on demand.
#[derive(Clone, Debug)]
pub struct CacheReader {
    /// The cache directory.
    dir: PathBuf,
    /// Its validated manifest.
    manifest: Manifest,
}

impl CacheReader {
    /// Loads and validates `dir/manifest.json`, and checks that every listed
    /// shard exists with the listed size (and the metadata table, if listed,
    /// exists). Contents are verified when shards are read.
    pub fn open(dir: &Path) -> Result<Self, CacheError> {
        let manifest = Manifest::load(dir)?;
        for shard in &manifest.shards {
            let path = dir.join(&shard.file);
            let actual = file_size(&path)?;
            if actual != shard.bytes {
                return Err(CacheError::Size {
                    path,
                    expected: shard.bytes,
                    actual,
                });
            }
        }
        if let Some(file) = &manifest.metadata_file {
            file_size(&dir.join(file))?;
        }
        Ok(CacheReader {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// Loads and validates `dir/manifest.json` only, without looking at the files it lists
    /// (each shard is still fully checked when read): for [`verify_cache`](crate::verify), which
    /// reports every missing or damaged file rather than stopping at the first.
    pub fn open_manifest_only(dir: &Path) -> Result<Self, CacheError> {
        Ok(CacheReader {
            dir: dir.to_path_buf(),
            manifest: Manifest::load(dir)?,
        })
    }

    /// The cache's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of shards.
    pub fn num_shards(&self) -> usize {
        self.manifest.shards.len()
    }

    /// Reads shard `i` (0-based, manifest order) and verifies its size,
    /// blake3 checksum, format tag, tensor names, dtypes and shapes, row count,
    /// that `cycle_id` runs `first_row, first_row + 1, ...` and that every
    /// `label` is a class id of the manifest (`0..n_classes`). Every other
    /// way of reading shards ([`CacheReader::shards`], [`CacheReader::prefetch`],
    /// [`CacheReader::prefetch_order`], [`CacheReader::verify`]) goes through here.
    pub fn read_shard(&self, i: usize) -> Result<Shard, CacheError> {
        let info = self.manifest.shards.get(i).ok_or_else(|| {
            CacheError::format(
                self.dir.join(MANIFEST_FILE),
                format!(
                    "shard {i} requested but the manifest lists {}",
                    self.manifest.shards.len()
                ),
            )
        })?;
        let path = self.dir.join(&info.file);
        let bytes = std::fs::read(&path).map_err(|e| missing_or_io(&path, e))?;
        if bytes.len() as u64 != info.bytes {
            return Err(CacheError::Size {
                path,
                expected: info.bytes,
                actual: bytes.len() as u64,
            });
        }
        let actual = blake3::hash(&bytes).to_hex().to_string();
        if actual != info.blake3 {
            return Err(CacheError::Checksum {
                path,
                expected: info.blake3.clone(),
                actual,
            });
        }
        let shard = decode_shard(&path, &bytes, i, info, self.manifest.feature_shape)?;
        check_labels(&path, &shard, &self.manifest)?;
        Ok(shard)
    }

    /// Reads and verifies the shards one after the other, holding one in
    /// memory at a time.
    pub fn shards(&self) -> impl Iterator<Item = Result<Shard, CacheError>> + '_ {
        (0..self.num_shards()).map(move |i| self.read_shard(i))
    }

    /// Like [`CacheReader::shards`], but a background thread reads and
    /// verifies up to `depth` shards ahead (see [`Prefetch`]).
    pub fn prefetch(&self, depth: usize) -> Prefetch {
        Prefetch::spawn(self.clone(), (0..self.num_shards()).collect(), depth)
    }

    /// Like [`CacheReader::prefetch`], but yields the shards listed in
    /// `order` (e.g. a shuffled epoch order), in that order.
    pub fn prefetch_order(&self, order: Vec<usize>, depth: usize) -> Prefetch {
        Prefetch::spawn(self.clone(), order, depth)
    }

    /// Reads and verifies every shard; the first failure is returned.
    pub fn verify(&self) -> Result<(), CacheError> {
        self.shards().try_for_each(|shard| shard.map(drop))
    }
}

/// Size of the file at `path`; a missing file is [`CacheError::Missing`].
fn file_size(path: &Path) -> Result<u64, CacheError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| missing_or_io(path, e))
}

/// Maps "not found" to [`CacheError::Missing`], anything else to [`CacheError::Io`].
fn missing_or_io(path: &Path, e: std::io::Error) -> CacheError {
    if e.kind() == std::io::ErrorKind::NotFound {
        CacheError::Missing {
            path: path.to_path_buf(),
        }
    } else {
        CacheError::io(path, e)
    }
}

/// Parses and checks the safetensors bytes of shard `index` read from `path`.
fn decode_shard(
    path: &Path,
    bytes: &[u8],
    index: usize,
    info: &ShardInfo,
    feature_shape: [usize; 2],
) -> Result<Shard, CacheError> {
    let st_err = |e: safetensors::SafeTensorError| CacheError::Safetensors {
        path: path.to_path_buf(),
        msg: e.to_string(),
    };
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(st_err)?;
    let tag = metadata.metadata().as_ref().and_then(|m| m.get(FORMAT_KEY));
    if tag.map(String::as_str) != Some(FORMAT_TAG) {
        return Err(CacheError::format(
            path,
            format!("__metadata__.{FORMAT_KEY} is {tag:?}, expected {FORMAT_TAG:?}"),
        ));
    }
    let tensors = SafeTensors::deserialize(bytes).map_err(st_err)?;
    let mut names = tensors.names();
    names.sort_unstable();
    let mut expected = [CYCLE_ID_TENSOR, LABEL_TENSOR, MEL_TENSOR];
    expected.sort_unstable();
    if names != expected {
        return Err(CacheError::format(
            path,
            format!("tensors are {names:?}, expected {expected:?}"),
        ));
    }
    let rows = usize::try_from(info.rows)
        .map_err(|_| CacheError::format(path, "row count does not fit in memory"))?;
    let [n_mels, n_frames] = feature_shape;
    let tensor = |name: &str, dtype: Dtype, shape: &[usize]| {
        let view = tensors.tensor(name).map_err(st_err)?;
        check_view(path, name, &view, dtype, shape)?;
        Ok::<_, CacheError>(view)
    };
    let mel = decode_f32(tensor(MEL_TENSOR, Dtype::F32, &[rows, n_mels, n_frames])?.data());
    let label = decode_i64(tensor(LABEL_TENSOR, Dtype::I64, &[rows])?.data());
    let cycle_id = decode_i64(tensor(CYCLE_ID_TENSOR, Dtype::I64, &[rows])?.data());
    for (i, &id) in cycle_id.iter().enumerate() {
        let expected = info.first_row + i as u64;
        if u64::try_from(id).ok() != Some(expected) {
            return Err(CacheError::format(
                path,
                format!("cycle_id[{i}] is {id}, expected {expected} (rows must be contiguous)"),
            ));
        }
    }
    Ok(Shard {
        index,
        first_row: info.first_row,
        mel,
        label,
        cycle_id,
        feature_shape,
    })
}

/// Checks that every label of `shard` (read from `path`) is a class id of
/// `manifest`; the error names the file, the row and its `cycle_id`.
fn check_labels(path: &Path, shard: &Shard, manifest: &Manifest) -> Result<(), CacheError> {
    let n_classes = manifest.n_classes() as i64;
    match shard
        .label
        .iter()
        .position(|&label| !(0..n_classes).contains(&label))
    {
        None => Ok(()),
        Some(row) => Err(CacheError::Label {
            path: path.to_path_buf(),
            row,
            cycle_id: shard.cycle_id[row],
            label: shard.label[row],
            classes: manifest.describe_classes(),
        }),
    }
}

/// Checks that tensor `name` has `dtype` and `shape`.
fn check_view(
    path: &Path,
    name: &str,
    view: &TensorView<'_>,
    dtype: Dtype,
    shape: &[usize],
) -> Result<(), CacheError> {
    if view.dtype() != dtype || view.shape() != shape {
        return Err(CacheError::shape(
            path,
            format!(
                "tensor {name:?} is {:?} {:?}, expected {dtype:?} {shape:?}",
                view.dtype(),
                view.shape()
            ),
        ));
    }
    Ok(())
}

/// Little-endian f32 bytes to values.
fn decode_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Little-endian i64 bytes to values.
fn decode_i64(bytes: &[u8]) -> Vec<i64> {
    bytes
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect()
}
