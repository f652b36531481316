//! One shard file in memory, and the tensor layout shared by writer and reader.

/// Name of the feature tensor: f32 `[rows, n_mels, n_frames]`.
pub const MEL_TENSOR: &str = "mel";
/// Name of the label tensor: i64 `[rows]`.
pub const LABEL_TENSOR: &str = "label";
/// Name of the row-id tensor: i64 `[rows]`, the global row index in the cache.
pub const CYCLE_ID_TENSOR: &str = "cycle_id";
/// Key of the format tag in a shard's safetensors `__metadata__`.
pub const FORMAT_KEY: &str = "format";
/// Value of the format tag in a shard's safetensors `__metadata__`.
pub const FORMAT_TAG: &str = "auscult-cache-1";

/// The decoded, verified contents of one shard file.
#[derive(Clone, Debug, PartialEq)]
pub struct Shard {
    /// Position of the shard in the manifest's list.
    pub index: usize,
    /// Global index of the first row (= `cycle_id[0]`).
    pub first_row: u64,
    /// Features, row-major `[rows, n_mels, n_frames]`.
    pub mel: Vec<f32>,
    /// One label per row.
    pub label: Vec<i64>,
    /// Global row index of each row: `first_row + i`.
    pub cycle_id: Vec<i64>,
    /// `[n_mels, n_frames]` of one row.
    pub feature_shape: [usize; 2],
}

impl Shard {
    /// Number of rows in the shard.
    pub fn rows(&self) -> usize {
        self.label.len()
    }

    /// Number of f32 values in one row (`n_mels * n_frames`).
    pub fn row_len(&self) -> usize {
        self.feature_shape[0] * self.feature_shape[1]
    }

    /// The features of row `i` (row-major `[n_mels, n_frames]`).
    ///
    /// Panics if `i >= self.rows()`, like slice indexing.
    pub fn mel_row(&self, i: usize) -> &[f32] {
        let len = self.row_len();
        &self.mel[i * len..(i + 1) * len]
    }
}
