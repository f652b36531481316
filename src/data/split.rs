//! One split's rows and how batches of them are produced: gathered from features resident on the
//! training device, or streamed from the cache's shards (see [`stream`](super::stream)).

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::stream::{Stream, StreamEpoch};

/// Where a split's features are held.
pub enum Storage {
    /// `[N, 1, n_mels, n_frames]` dB log-mels on the training device.
    Resident(Tensor),
    /// Read from the cache's shards each pass, a bounded number of shards in memory.
    Streamed(Box<Stream>),
}

/// The rows of one split: labels and row ids on the host, features resident or streamed.
pub struct SplitData {
    pub name: String,
    /// Class label of each row (host copy for metrics, class weights and sampling).
    pub labels: Vec<i64>,
    /// Cache row of each row (its `cycle_id`).
    pub cycle_ids: Vec<i64>,
    key: u64,
    device: Device,
    storage: Storage,
}

/// Distinguishes the splits of a process (keys of per-split caches such as frozen embeddings).
static NEXT_KEY: AtomicU64 = AtomicU64::new(0);

impl SplitData {
    pub(super) fn new(
        name: &str,
        labels: Vec<i64>,
        cycle_ids: Vec<i64>,
        device: &Device,
        storage: Storage,
    ) -> Self {
        SplitData {
            name: name.to_string(),
            labels,
            cycle_ids,
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
            device: device.clone(),
            storage,
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// The training device (where batches are put).
    pub fn device(&self) -> &Device {
        &self.device
    }
    /// A key unique to this split within the process.
    pub fn key(&self) -> u64 {
        self.key
    }
    /// Whether the features are resident on the device (else streamed from the shards).
    pub fn is_resident(&self) -> bool {
        matches!(self.storage, Storage::Resident(_))
    }
    /// Per-class counts over `n_classes`.
    pub fn class_counts(&self, n_classes: usize) -> Vec<usize> {
        let mut c = vec![0; n_classes];
        for &l in &self.labels {
            if (l as usize) < n_classes {
                c[l as usize] += 1;
            }
        }
        c
    }

    /// One training epoch: every row once, in batches of `batch_size` (the last may be smaller),
    /// reshuffled from `rng`. Resident (and feature-less) epochs are a global permutation, as
    /// `DataLoader(shuffle=True)`; streamed epochs shuffle the shard order and the rows within a
    /// window of shards. `features = false` yields rows and labels only ([`Batch::x`] fails):
    /// for stages that read precomputed embeddings.
    pub fn epoch(
        &self,
        batch_size: usize,
        rng: &mut ChaCha8Rng,
        features: bool,
    ) -> Result<Batches<'_>> {
        match (&self.storage, features) {
            (Storage::Streamed(s), true) => {
                let child = ChaCha8Rng::seed_from_u64(rng.next_u64());
                Ok(Batches::Streamed(Box::new(StreamEpoch::new(
                    self,
                    s,
                    batch_size,
                    Some(child),
                )?)))
            }
            _ => {
                let mut idx: Vec<u32> = (0..self.len() as u32).collect();
                idx.shuffle(rng);
                Ok(self.indexed(idx, batch_size, features))
            }
        }
    }

    /// Every row once, in row order, in batches of `batch_size`: for evaluation.
    pub fn ordered(&self, batch_size: usize, features: bool) -> Result<Batches<'_>> {
        match (&self.storage, features) {
            (Storage::Streamed(s), true) => Ok(Batches::Streamed(Box::new(StreamEpoch::new(
                self, s, batch_size, None,
            )?))),
            _ => Ok(self.indexed((0..self.len() as u32).collect(), batch_size, features)),
        }
    }

    fn indexed(&self, idx: Vec<u32>, batch_size: usize, features: bool) -> Batches<'_> {
        let chunks: Vec<Vec<u32>> = idx.chunks(batch_size).map(<[u32]>::to_vec).collect();
        let mel = match (&self.storage, features) {
            (Storage::Resident(mel), true) => Some(mel),
            _ => None,
        };
        Batches::Indexed {
            split: self,
            mel,
            chunks: chunks.into_iter(),
        }
    }

    /// A batch of rows `idx` whose features are `features` (or gathered on demand).
    pub(super) fn batch<'a>(&'a self, idx: Vec<u32>, features: Features<'a>) -> Result<Batch<'a>> {
        let classes: Vec<u32> = idx
            .iter()
            .map(|&i| self.labels[i as usize] as u32)
            .collect();
        let targets = classes.iter().map(|&c| c as usize).collect();
        let y = Tensor::from_vec(classes, idx.len(), &self.device)?;
        Ok(Batch {
            split: &self.name,
            idx,
            y,
            targets,
            features,
        })
    }
}

/// Where a batch's features come from.
pub(super) enum Features<'a> {
    /// Rows `idx` of the resident tensor, gathered when asked for.
    Gather(&'a Tensor),
    /// Already on the device (streamed).
    Ready(Tensor),
    /// Not loaded (feature-less pass).
    None,
}

/// One batch: its rows in the split, their labels on the device, and their features.
pub struct Batch<'a> {
    split: &'a str,
    /// Rows of the split (indices into its `labels` / `cycle_ids`).
    pub idx: Vec<u32>,
    y: Tensor,
    targets: Vec<usize>,
    features: Features<'a>,
}

impl Batch<'_> {
    /// `[B]` class labels (u32) on the training device.
    pub fn y(&self) -> &Tensor {
        &self.y
    }
    /// Class labels as host indices (for confusion matrices; no device read-back).
    pub fn targets(&self) -> &[usize] {
        &self.targets
    }
    /// `[B, 1, n_mels, n_frames]` dB log-mels on the training device.
    pub fn x(&self) -> Result<Tensor> {
        match &self.features {
            Features::Ready(x) => Ok(x.clone()),
            Features::Gather(mel) => {
                let ids = Tensor::from_slice(&self.idx, self.idx.len(), mel.device())?;
                Ok(mel.index_select(&ids, 0)?)
            }
            Features::None => None.with_context(|| {
                format!(
                    "split `{}`: features were not loaded for this pass (internal error)",
                    self.split
                )
            }),
        }
    }
}

/// The batches of one pass over a split.
pub enum Batches<'a> {
    Indexed {
        split: &'a SplitData,
        mel: Option<&'a Tensor>,
        chunks: std::vec::IntoIter<Vec<u32>>,
    },
    Streamed(Box<StreamEpoch<'a>>),
}

impl Batches<'_> {
    /// Most rows a streamed pass has held in memory at once so far (0 for resident passes).
    pub fn peak_buffered_rows(&self) -> usize {
        match self {
            Batches::Indexed { .. } => 0,
            Batches::Streamed(s) => s.peak_buffered_rows(),
        }
    }
}

impl<'a> Iterator for Batches<'a> {
    type Item = Result<Batch<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Batches::Indexed { split, mel, chunks } => {
                let idx = chunks.next()?;
                let features = match mel {
                    Some(m) => Features::Gather(m),
                    None => Features::None,
                };
                Some(split.batch(idx, features))
            }
            Batches::Streamed(s) => s.next(),
        }
    }
}
