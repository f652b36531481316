//! Streamed passes over a split too large to keep resident: shards are read and verified by a
//! background thread a bounded number ahead (`stream_prefetch`), and the split's rows of up to
//! `stream_window` shards are buffered, shuffled together (training) and cut into batches.
//!
//! Memory per pass: at most `stream_window` shards' rows of the split plus one batch in the
//! buffer, `stream_prefetch` shards queued and one being read.

use anyhow::{Context, Result};
use auscult_cache::{CacheReader, Prefetch};
use candle_core::Tensor;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::split::{Batch, Features, SplitData};

/// The rows of one split inside one shard.
pub struct Segment {
    /// Shard index in the manifest.
    pub shard: usize,
    /// (row within the shard, row of the split), ascending.
    pub rows: Vec<(usize, u32)>,
}

/// How a split is streamed from the cache.
pub struct Stream {
    pub reader: CacheReader,
    pub segments: Vec<Segment>,
    /// Shards read ahead by the background thread.
    pub prefetch: usize,
    /// Shards whose rows are shuffled together (training passes).
    pub window: usize,
    /// `[n_mels, n_frames]` of one row.
    pub feature_shape: [usize; 2],
}

/// One pass over a streamed split (an iterator of batches).
pub struct StreamEpoch<'a> {
    split: &'a SplitData,
    stream: &'a Stream,
    batch_size: usize,
    /// `None`: rows in split order (evaluation).
    rng: Option<ChaCha8Rng>,
    /// Segments (indices into `stream.segments`) still to read, in reading order.
    pending: std::vec::IntoIter<usize>,
    shards: Prefetch,
    /// Buffered rows: split row and features; rows before `pos` are already handed out.
    buf_idx: Vec<u32>,
    buf_mel: Vec<f32>,
    pos: usize,
    peak: usize,
    failed: bool,
}

impl<'a> StreamEpoch<'a> {
    pub(super) fn new(
        split: &'a SplitData,
        stream: &'a Stream,
        batch_size: usize,
        mut rng: Option<ChaCha8Rng>,
    ) -> Result<Self> {
        let mut order: Vec<usize> = (0..stream.segments.len()).collect();
        if let Some(rng) = rng.as_mut() {
            order.shuffle(rng);
        }
        let shard_order = order.iter().map(|&s| stream.segments[s].shard).collect();
        let shards = stream.reader.prefetch_order(shard_order, stream.prefetch);
        Ok(StreamEpoch {
            split,
            stream,
            batch_size,
            rng,
            pending: order.into_iter(),
            shards,
            buf_idx: Vec::new(),
            buf_mel: Vec::new(),
            pos: 0,
            peak: 0,
            failed: false,
        })
    }

    /// Most rows held in the buffer at once so far.
    pub fn peak_buffered_rows(&self) -> usize {
        self.peak
    }

    fn row_len(&self) -> usize {
        self.stream.feature_shape[0] * self.stream.feature_shape[1]
    }

    /// Drops handed-out rows, then appends the rows of up to one window of shards (one shard in
    /// ordered passes) and shuffles what is buffered. Returns false when nothing was left to read.
    fn refill(&mut self) -> Result<bool> {
        let len = self.row_len();
        self.buf_idx.drain(..self.pos);
        self.buf_mel.drain(..self.pos * len);
        self.pos = 0;
        let window = if self.rng.is_some() {
            self.stream.window
        } else {
            1
        };
        let mut read = 0;
        while read < window {
            let Some(seg) = self.pending.next() else {
                break;
            };
            let segment = &self.stream.segments[seg];
            let shard = self
                .shards
                .next()
                .context("shard reader stopped early")?
                .with_context(|| format!("streaming split `{}`", self.split.name))?;
            anyhow::ensure!(
                shard.index == segment.shard,
                "streaming split `{}`: expected shard {}, read {}",
                self.split.name,
                segment.shard,
                shard.index
            );
            for &(k, row) in &segment.rows {
                self.buf_idx.push(row);
                self.buf_mel.extend_from_slice(shard.mel_row(k));
            }
            read += 1;
        }
        if let Some(rng) = self.rng.as_mut() {
            let mut perm: Vec<usize> = (0..self.buf_idx.len()).collect();
            perm.shuffle(rng);
            let idx = perm.iter().map(|&p| self.buf_idx[p]).collect();
            let mut mel = Vec::with_capacity(self.buf_mel.len());
            for &p in &perm {
                mel.extend_from_slice(&self.buf_mel[p * len..(p + 1) * len]);
            }
            (self.buf_idx, self.buf_mel) = (idx, mel);
        }
        self.peak = self.peak.max(self.buf_idx.len());
        Ok(read > 0)
    }

    /// The next `n` buffered rows as a batch on the device.
    fn take(&mut self, n: usize) -> Result<Batch<'a>> {
        let len = self.row_len();
        let (a, b) = (self.pos, self.pos + n);
        self.pos = b;
        let [m, t] = self.stream.feature_shape;
        let x = Tensor::from_slice(
            &self.buf_mel[a * len..b * len],
            (n, 1, m, t),
            self.split.device(),
        )?;
        self.split
            .batch(self.buf_idx[a..b].to_vec(), Features::Ready(x))
    }

    fn next_batch(&mut self) -> Result<Option<Batch<'a>>> {
        loop {
            let buffered = self.buf_idx.len() - self.pos;
            if buffered >= self.batch_size {
                return self.take(self.batch_size).map(Some);
            }
            if !self.refill()? {
                let rest = self.buf_idx.len() - self.pos;
                return if rest > 0 {
                    self.take(rest).map(Some)
                } else {
                    Ok(None)
                };
            }
        }
    }
}

impl<'a> Iterator for StreamEpoch<'a> {
    type Item = Result<Batch<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let r = self.next_batch().transpose();
        if matches!(r, Some(Err(_))) {
            self.failed = true;
        }
        r
    }
}
