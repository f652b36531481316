//! Training data from a `pipeline build` cache: the rows of a split, resident on the training
//! device, gathered into batches. Split membership (and patient ids for the validation split)
//! come from `metadata.parquet`, read once here; labels and features come from the shards.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, Context, Result};
use auscult_cache::CacheReader;
use auscult_pipeline::metadata::{read_table, string_column};
use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The rows of one split, resident on a device.
pub struct SplitData {
    pub name: String,
    /// `[N, 1, n_mels, n_frames]` dB log-mels.
    pub mel: Tensor,
    /// `[N]` class labels (host copy for metrics and sampling).
    pub labels: Vec<i64>,
    /// Cache row of each row (its `cycle_id`).
    pub cycle_ids: Vec<i64>,
}

impl SplitData {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Rows `idx` as a batch `[B, 1, M, T]` and their labels `[B]` (u32) on the same device.
    pub fn batch(&self, idx: &[u32]) -> Result<(Tensor, Tensor)> {
        let dev = self.mel.device();
        let ids = Tensor::from_slice(idx, idx.len(), dev)?;
        let x = self.mel.index_select(&ids, 0)?;
        let y: Vec<u32> = idx
            .iter()
            .map(|&i| self.labels[i as usize] as u32)
            .collect();
        Ok((x, Tensor::from_vec(y, idx.len(), dev)?))
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
}

/// A cache opened for training: its row → split and row → patient maps.
pub struct CacheData {
    pub reader: CacheReader,
    pub dataset: String,
    pub n_classes: usize,
    pub feature_shape: [usize; 2],
    split_of: Vec<String>,
    patient_of: Vec<Option<String>>,
    /// The metadata table (read once; used for metadata-derived labels).
    pub table: polars::prelude::DataFrame,
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
        let patient_of =
            string_column(&table, "patient_id").unwrap_or_else(|| vec![None; split_of.len()]);
        let n_classes = match m.dataset.as_str() {
            "sprsound" => 7,
            _ => 4,
        };
        Ok(CacheData {
            dataset: m.dataset.clone(),
            feature_shape: m.feature_shape,
            reader,
            n_classes,
            split_of,
            patient_of,
            table,
        })
    }

    /// The split evaluated by default: `test` (ICBHI) or `inter_test` (SPRSound, the paper's choice).
    pub fn default_eval_split(&self) -> &'static str {
        if self.dataset == "sprsound" {
            "inter_test"
        } else {
            "test"
        }
    }

    pub fn splits(&self) -> BTreeSet<&str> {
        self.split_of.iter().map(String::as_str).collect()
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

    /// Loads the given cache rows (ascending) onto `device`, streaming shard by shard with
    /// checksum verification; only the needed rows are kept.
    pub fn load(&self, name: &str, rows: &[usize], device: &Device) -> Result<SplitData> {
        let [m, t] = self.feature_shape;
        let row_len = m * t;
        let wanted: BTreeSet<usize> = rows.iter().copied().collect();
        let mut mel = Vec::with_capacity(rows.len() * row_len);
        let mut labels = Vec::with_capacity(rows.len());
        let mut cycle_ids = Vec::with_capacity(rows.len());
        for (i, info) in self.reader.manifest().shards.iter().enumerate() {
            let (lo, hi) = (
                info.first_row as usize,
                (info.first_row + info.rows) as usize,
            );
            if wanted.range(lo..hi).next().is_none() {
                continue;
            }
            let shard = self.reader.read_shard(i)?;
            for r in wanted.range(lo..hi) {
                let k = r - lo;
                mel.extend_from_slice(shard.mel_row(k));
                labels.push(shard.label[k]);
                cycle_ids.push(shard.cycle_id[k]);
            }
        }
        let n = labels.len();
        let mel = Tensor::from_vec(mel, (n, 1, m, t), device)?;
        Ok(SplitData {
            name: name.to_string(),
            mel,
            labels,
            cycle_ids,
        })
    }
}

/// Shuffled batch indices of an epoch (`torch.utils.data.DataLoader(shuffle=True)`: the last
/// batch may be smaller).
pub fn epoch_batches(n: usize, batch_size: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<u32>> {
    let mut idx: Vec<u32> = (0..n as u32).collect();
    idx.shuffle(rng);
    idx.chunks(batch_size).map(<[u32]>::to_vec).collect()
}

/// Indices in order, for evaluation.
pub fn ordered_batches(n: usize, batch_size: usize) -> Vec<Vec<u32>> {
    let idx: Vec<u32> = (0..n as u32).collect();
    idx.chunks(batch_size).map(<[u32]>::to_vec).collect()
}
