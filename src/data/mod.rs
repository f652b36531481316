//! Training data from a `pipeline build` cache. The cache describes itself: its manifest gives
//! the classes (which are normal), the splits and their row counts, and the default evaluation
//! split. Split membership (and patient ids for the validation split) come from
//! `metadata.parquet`, read once here; labels and features come from the shards, every label
//! checked against the classes as the shard is read. A split's features are resident on the
//! training device when the run's splits fit its memory budget, else streamed from the shards
//! every pass ([`stream`]).

pub mod config;
pub mod labels;
pub mod protocol;
pub mod run_data;
pub mod split;
pub mod stream;
pub mod transforms;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, Context, Result};
use auscult_cache::table::{read_table, string_column};
use auscult_cache::CacheReader;
use auscult_cache::ClassInfo;
use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use run_data::{DataResidency, Residency, RunData, RunRows};
use split::Storage;
pub use split::{Batch, Batches, SplitData};
use stream::{Segment, Stream};

/// A cache opened for training: its classes, its row → split and row → patient maps.
pub struct CacheData {
    pub reader: CacheReader,
    /// The dataset's name, recorded in run summaries (never used to decide anything).
    pub dataset: String,
    /// The classes, in id order (from the manifest).
    pub classes: Vec<ClassInfo>,
    /// The split evaluated when a run names none (from the manifest).
    pub default_eval_split: Option<String>,
    pub feature_shape: [usize; 2],
    split_of: Vec<String>,
    patient_of: Vec<Option<String>>,
    /// The metadata table (read once; used for metadata-derived labels).
    pub table: auscult_cache::table::Table,
}

impl CacheData {
    pub fn open(dir: &Path) -> Result<Self> {
        let reader =
            CacheReader::open(dir).with_context(|| format!("opening cache {}", dir.display()))?;
        let m = reader.manifest();
        if m.shards.is_empty() {
            bail!(
                "cache {} holds no features (built with --metadata-only?)",
                dir.display()
            );
        }
        let table_path = dir.join(m.metadata_file.as_deref().unwrap_or("metadata.parquet"));
        let table = read_table(&table_path)?;
        if table.height() as u64 != m.rows {
            bail!(
                "{}: {} rows but the manifest lists {}",
                table_path.display(),
                table.height(),
                m.rows
            );
        }
        let split_of: Vec<String> = string_column(&table, "split")
            .with_context(|| format!("{}: no `split` column", table_path.display()))?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect();
        for s in &m.splits {
            let n = split_of.iter().filter(|x| **x == s.name).count() as u64;
            if n != s.rows {
                bail!(
                    "{}: split `{}` has {n} rows but the manifest lists {}",
                    table_path.display(),
                    s.name,
                    s.rows
                );
            }
        }
        let patient_of =
            string_column(&table, "patient_id").unwrap_or_else(|| vec![None; split_of.len()]);
        Ok(CacheData {
            dataset: m.dataset.clone(),
            classes: m.classes.clone(),
            default_eval_split: m.default_eval_split.clone(),
            feature_shape: m.feature_shape,
            reader,
            split_of,
            patient_of,
            table,
        })
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// Ids of the normal classes.
    pub fn normal_ids(&self) -> Vec<usize> {
        auscult_cache::normal_ids(&self.classes)
    }

    /// The splits present in the cache, sorted.
    pub fn split_names(&self) -> Vec<&str> {
        self.split_of
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Cache rows of `split`.
    pub fn rows_of(&self, split: &str) -> Vec<usize> {
        (0..self.split_of.len())
            .filter(|&i| self.split_of[i] == split)
            .collect()
    }

    /// Splits `rows` into (train, validation) by patient: whole patients, drawn with `seed`, go
    /// to validation until it holds at least `fraction` of the rows.
    pub fn patient_holdout(
        &self,
        rows: &[usize],
        fraction: f64,
        seed: u64,
    ) -> Result<(Vec<usize>, Vec<usize>)> {
        let mut by_patient: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for &r in rows {
            let p = self.patient_of[r]
                .as_deref()
                .context("validation split needs a patient_id column")?;
            by_patient.entry(p).or_default().push(r);
        }
        let mut patients: Vec<&str> = by_patient.keys().copied().collect();
        patients.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let want = (rows.len() as f64 * fraction).ceil() as usize;
        let mut val = BTreeSet::new();
        let mut n = 0;
        for p in patients {
            if n >= want {
                break;
            }
            n += by_patient[p].len();
            val.insert(p);
        }
        if val.len() == by_patient.len() {
            bail!("val_fraction {fraction} leaves no training patient");
        }
        let (v, t): (Vec<usize>, Vec<usize>) = rows
            .iter()
            .partition(|&&r| val.contains(self.patient_of[r].as_deref().unwrap_or("")));
        Ok((t, v))
    }

    /// Bytes of f32 features of `rows` rows.
    pub fn feature_bytes(&self, rows: usize) -> u64 {
        let [m, t] = self.feature_shape;
        (rows * m * t * std::mem::size_of::<f32>()) as u64
    }

    /// Opens the named splits (each a list of ascending cache rows) in one pass over the shards
    /// they touch, each shard's checksum verified. Labels and row ids are read now; features are
    /// copied onto `device` ([`Placement::Resident`]) or left in the shards to be streamed each
    /// pass ([`Placement::Streamed`]).
    pub fn load_splits(
        &self,
        splits: &[(&str, &[usize])],
        device: &Device,
        placement: Placement,
    ) -> Result<Vec<SplitData>> {
        let [m, t] = self.feature_shape;
        let row_len = m * t;
        let resident = placement == Placement::Resident;
        struct Acc {
            segments: Vec<Segment>,
            mel: Vec<f32>,
            labels: Vec<i64>,
            cycle_ids: Vec<i64>,
        }
        let mut acc: Vec<Acc> = splits
            .iter()
            .map(|(_, rows)| Acc {
                segments: Vec::new(),
                mel: Vec::with_capacity(if resident { rows.len() * row_len } else { 0 }),
                labels: Vec::with_capacity(rows.len()),
                cycle_ids: Vec::with_capacity(rows.len()),
            })
            .collect();
        let wanted: Vec<BTreeSet<usize>> = splits
            .iter()
            .map(|(_, rows)| rows.iter().copied().collect())
            .collect();
        let infos = &self.reader.manifest().shards;
        let range = |i: usize| {
            let s = &infos[i];
            s.first_row as usize..(s.first_row + s.rows) as usize
        };
        let needed: Vec<usize> = (0..infos.len())
            .filter(|&i| wanted.iter().any(|w| w.range(range(i)).next().is_some()))
            .collect();
        for shard in self.reader.prefetch_order(needed, 2) {
            let shard = shard?;
            let lo = shard.first_row as usize;
            for (a, w) in acc.iter_mut().zip(&wanted) {
                let mut seg = Segment {
                    shard: shard.index,
                    rows: Vec::new(),
                };
                for r in w.range(range(shard.index)) {
                    let k = r - lo;
                    if resident {
                        a.mel.extend_from_slice(shard.mel_row(k));
                    }
                    seg.rows.push((k, a.labels.len() as u32));
                    a.labels.push(shard.label[k]);
                    a.cycle_ids.push(shard.cycle_id[k]);
                }
                if !seg.rows.is_empty() {
                    a.segments.push(seg);
                }
            }
        }
        splits
            .iter()
            .zip(acc)
            .map(|((name, _), a)| {
                let storage = match placement {
                    Placement::Resident => {
                        let n = a.labels.len();
                        Storage::Resident(Tensor::from_vec(a.mel, (n, 1, m, t), device)?)
                    }
                    Placement::Streamed { prefetch, window } => {
                        Storage::Streamed(Box::new(Stream {
                            reader: self.reader.clone(),
                            segments: a.segments,
                            prefetch,
                            window,
                            feature_shape: self.feature_shape,
                        }))
                    }
                };
                Ok(SplitData::new(name, a.labels, a.cycle_ids, device, storage))
            })
            .collect()
    }
}

/// How the features of a run's splits are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Copied once onto the training device; batches are gathered there.
    Resident,
    /// Streamed from the shards every pass: `prefetch` shards read ahead, rows of `window`
    /// shards shuffled together.
    Streamed { prefetch: usize, window: usize },
}
