//! Background read-ahead of shards for the trainer.

use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::JoinHandle;

use crate::{CacheError, CacheReader, Shard};

/// Iterator over shards read and verified by a background thread, at most
/// `depth` ahead of the consumer (a bounded `sync_channel`).
///
/// Memory: up to `depth` shards queued, one being read by the thread and the
/// one the consumer holds. Iteration stops after the first error (which is
/// yielded). Dropping the iterator early stops and joins the thread.
#[derive(Debug)]
pub struct Prefetch {
    /// Receiving end of the channel; `None` once dropped.
    rx: Option<Receiver<Result<Shard, CacheError>>>,
    /// The reading thread; `None` once joined.
    handle: Option<JoinHandle<()>>,
}

impl Prefetch {
    /// Starts a thread that reads the shards `order` of `reader`, in that order.
    pub(crate) fn spawn(reader: CacheReader, order: Vec<usize>, depth: usize) -> Prefetch {
        let (tx, rx) = sync_channel(depth);
        let handle = std::thread::spawn(move || {
            for i in order {
                let shard = reader.read_shard(i);
                let failed = shard.is_err();
                if tx.send(shard).is_err() || failed {
                    break;
                }
            }
        });
        Prefetch {
            rx: Some(rx),
            handle: Some(handle),
        }
    }

    /// Joins the reading thread, re-raising its panic if it had one.
    fn join(&mut self) {
        if let Some(handle) = self.handle.take() {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

impl Iterator for Prefetch {
    type Item = Result<Shard, CacheError>;

    fn next(&mut self) -> Option<Self::Item> {
        let received = self.rx.as_ref()?.recv().ok();
        if received.is_none() {
            self.rx = None;
            self.join();
        }
        received
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        // Closing the channel first makes a blocked `send` fail, so the thread ends.
        self.rx = None;
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
