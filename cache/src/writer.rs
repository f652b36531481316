//! Streaming shard writer: rows in, checksummed safetensors shards out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, TensorView};

use crate::atomic::write_atomic;
use crate::manifest::{shard_file, ShardInfo};
use crate::shard::{CYCLE_ID_TENSOR, FORMAT_KEY, FORMAT_TAG, LABEL_TENSOR, MEL_TENSOR};
use crate::{CacheError, SHARDS_DIR};

/// Accumulates rows in order and writes a shard every `shard_size` rows
/// (atomically: temporary name, then rename).
///
/// Holds at most one shard of rows in memory (plus the serialised file while
/// a shard is being written). Row `k` pushed gets `cycle_id = k`. After an
/// error the writer should be dropped: the cache is incomplete.
#[derive(Debug)]
pub struct ShardWriter {
    /// The cache directory (shards go to `dir/shards`).
    dir: PathBuf,
    /// `[n_mels, n_frames]` of every row.
    feature_shape: [usize; 2],
    /// Rows per shard (the last one may hold fewer).
    shard_size: usize,
    /// Little-endian f32 bytes of the buffered rows.
    mel_bytes: Vec<u8>,
    /// Labels of the buffered rows.
    labels: Vec<i64>,
    /// Shards written so far.
    shards: Vec<ShardInfo>,
    /// Rows accepted so far (written or buffered) = next cycle_id.
    rows_pushed: u64,
}

impl ShardWriter {
    /// Prepares to write shards of `shard_size` rows of `feature_shape`
    /// features into `dir/shards` (created if needed). Fails if that folder
    /// already holds shard files: run [`crate::clear_outputs`] first.
    pub fn create(
        dir: &Path,
        feature_shape: [usize; 2],
        shard_size: usize,
    ) -> Result<Self, CacheError> {
        let shards_dir = dir.join(SHARDS_DIR);
        if feature_shape.contains(&0) || shard_size == 0 {
            return Err(CacheError::format(
                &shards_dir,
                format!(
                    "invalid writer settings: feature_shape {feature_shape:?}, shard_size {shard_size} (all must be > 0)"
                ),
            ));
        }
        std::fs::create_dir_all(&shards_dir).map_err(|e| CacheError::io(&shards_dir, e))?;
        if let Some(stale) = crate::clear::find_shard_files(&shards_dir)?.first() {
            return Err(CacheError::format(
                stale,
                "a previous cache's shard is still here; call clear_outputs first",
            ));
        }
        let row_len = feature_shape[0] * feature_shape[1];
        Ok(ShardWriter {
            dir: dir.to_path_buf(),
            feature_shape,
            shard_size,
            mel_bytes: Vec::with_capacity(shard_size * row_len * 4),
            labels: Vec::with_capacity(shard_size),
            shards: Vec::new(),
            rows_pushed: 0,
        })
    }

    /// Appends one row and returns its `cycle_id` (its global row index).
    /// `mel` is row-major `[n_mels, n_frames]`; its length must be
    /// `n_mels * n_frames` and every value finite. Writes a shard when
    /// `shard_size` rows are buffered.
    pub fn push(&mut self, label: i64, mel: &[f32]) -> Result<i64, CacheError> {
        let row_len = self.feature_shape[0] * self.feature_shape[1];
        let cycle_id = i64::try_from(self.rows_pushed).map_err(|_| {
            CacheError::format(self.current_shard_path(), "row count overflows i64")
        })?;
        if mel.len() != row_len {
            return Err(CacheError::shape(
                self.current_shard_path(),
                format!(
                    "row {cycle_id}: mel has {} values, expected {row_len} ({} mels x {} frames)",
                    mel.len(),
                    self.feature_shape[0],
                    self.feature_shape[1]
                ),
            ));
        }
        if let Some(at) = mel.iter().position(|v| !v.is_finite()) {
            return Err(CacheError::format(
                self.current_shard_path(),
                format!(
                    "row {cycle_id}: mel value {} at index {at} is not finite",
                    mel[at]
                ),
            ));
        }
        for value in mel {
            self.mel_bytes.extend_from_slice(&value.to_le_bytes());
        }
        self.labels.push(label);
        self.rows_pushed += 1;
        if self.labels.len() == self.shard_size {
            self.flush()?;
        }
        Ok(cycle_id)
    }

    /// Rows accepted so far (written or still buffered); the next row's cycle_id.
    pub fn rows_written(&self) -> u64 {
        self.rows_pushed
    }

    /// Writes the last, partial shard (if any) and returns every shard written, in order.
    pub fn finish(mut self) -> Result<Vec<ShardInfo>, CacheError> {
        if !self.labels.is_empty() {
            self.flush()?;
        }
        Ok(self.shards)
    }

    /// Path of the shard the buffered rows will go to.
    fn current_shard_path(&self) -> PathBuf {
        self.dir.join(shard_file(self.shards.len()))
    }

    /// Serialises the buffered rows as the next shard and writes it atomically.
    fn flush(&mut self) -> Result<(), CacheError> {
        let path = self.current_shard_path();
        let rows = self.labels.len();
        let first_row = self.rows_pushed - rows as u64;
        let label_bytes: Vec<u8> = self.labels.iter().flat_map(|l| l.to_le_bytes()).collect();
        let cycle_bytes: Vec<u8> = (first_row..self.rows_pushed)
            .flat_map(|id| (id as i64).to_le_bytes())
            .collect();
        let st_err = |e: safetensors::SafeTensorError| CacheError::Safetensors {
            path: path.clone(),
            msg: e.to_string(),
        };
        let [n_mels, n_frames] = self.feature_shape;
        let tensors = vec![
            (
                CYCLE_ID_TENSOR,
                TensorView::new(Dtype::I64, vec![rows], &cycle_bytes).map_err(st_err)?,
            ),
            (
                LABEL_TENSOR,
                TensorView::new(Dtype::I64, vec![rows], &label_bytes).map_err(st_err)?,
            ),
            (
                MEL_TENSOR,
                TensorView::new(Dtype::F32, vec![rows, n_mels, n_frames], &self.mel_bytes)
                    .map_err(st_err)?,
            ),
        ];
        let info = HashMap::from([(FORMAT_KEY.to_string(), FORMAT_TAG.to_string())]);
        let bytes = safetensors::serialize(tensors, Some(info)).map_err(st_err)?;
        write_atomic(&path, &bytes)?;
        self.shards.push(ShardInfo {
            file: shard_file(self.shards.len()),
            first_row,
            rows: rows as u64,
            bytes: bytes.len() as u64,
            blake3: blake3::hash(&bytes).to_hex().to_string(),
        });
        self.mel_bytes.clear();
        self.labels.clear();
        Ok(())
    }
}
