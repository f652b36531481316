//! `pipeline inspect`: what a cache holds, from `manifest.json` and `metadata.parquet` only
//! (no shard is read).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use auscult_cache::table::{f64_column, read_table, string_column};
use auscult_cache::{ClassInfo, Manifest, SplitInfo, METADATA_FILE};
use serde::Serialize;

use crate::error::PipelineError;

/// Summary statistics of a numeric column.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stats {
    pub count: usize,
    pub min: f64,
    pub mean: f64,
    pub median: f64,
    pub max: f64,
}

impl Stats {
    fn of(mut v: Vec<f64>) -> Option<Stats> {
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Stats {
            count: n,
            min: v[0],
            mean: v.iter().sum::<f64>() / n as f64,
            median,
            max: v[n - 1],
        })
    }
}

/// Everything `inspect` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub dataset: String,
    pub tool: String,
    pub rows: u64,
    pub shards: usize,
    pub feature_shape: [usize; 2],
    pub params_hash: String,
    pub skipped: usize,
    /// The manifest's classes (id, name, normal), in id order.
    pub classes: Vec<ClassInfo>,
    /// The manifest's splits with their row counts, sorted by name.
    pub splits: Vec<SplitInfo>,
    /// The split a run evaluates when it names none.
    pub default_eval_split: Option<String>,
    /// Label names in label-index order (the manifest's class names).
    pub labels: Vec<String>,
    /// split → label name → rows.
    pub by_split_label: BTreeMap<String, BTreeMap<String, u64>>,
    /// column → value → rows, for the categorical columns present (device, chest_location, …).
    pub categories: BTreeMap<String, BTreeMap<String, u64>>,
    pub duration_s: Option<Stats>,
    /// Patients with rows in more than one split (patient → splits); None without `patient_id`.
    pub shared_patients: Option<BTreeMap<String, std::collections::BTreeSet<String>>>,
    /// Rows whose span is longer than the cached length (cropped).
    pub longer_than_target: usize,
    pub target_s: f64,
}

const CATEGORY_COLUMNS: [&str; 8] = [
    "device",
    "chest_location",
    "source_sample_rate",
    "source_bits",
    "sex",
    "age_group",
    "diagnosis",
    "year",
];

/// Reads a cache's manifest and metadata table.
pub fn inspect(dir: &Path) -> Result<Inspection, PipelineError> {
    let manifest = Manifest::load(dir)?;
    let table_path = dir.join(manifest.metadata_file.as_deref().unwrap_or(METADATA_FILE));
    let df = read_table(&table_path)?;
    let missing = |c: &str| PipelineError::Metadata {
        path: table_path.clone(),
        msg: format!("column `{c}` is missing"),
    };
    let split = string_column(&df, "split").ok_or_else(|| missing("split"))?;
    let label_name = string_column(&df, "label_name").ok_or_else(|| missing("label_name"))?;
    let mut by_split_label: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (s, n) in split.iter().zip(&label_name) {
        let (s, n) = (s.clone().unwrap_or_default(), n.clone().unwrap_or_default());
        *by_split_label.entry(s).or_default().entry(n).or_default() += 1;
    }
    let mut categories = BTreeMap::new();
    for c in CATEGORY_COLUMNS {
        if let Some(values) = string_column(&df, c) {
            let mut m: BTreeMap<String, u64> = BTreeMap::new();
            for v in values {
                *m.entry(v.unwrap_or_else(|| "(null)".into())).or_default() += 1;
            }
            categories.insert(c.to_string(), m);
        }
    }
    let durations: Vec<f64> = f64_column(&df, "duration_s")
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect();
    let target_s = manifest
        .params
        .pointer("/features/target_samples")
        .and_then(|v| v.as_f64())
        .zip(
            manifest
                .params
                .pointer("/features/sample_rate")
                .and_then(|v| v.as_f64()),
        )
        .map(|(n, sr)| n / sr)
        .unwrap_or(8.0);
    Ok(Inspection {
        dataset: manifest.dataset.clone(),
        tool: manifest.tool.clone(),
        rows: df.height() as u64,
        shards: manifest.shards.len(),
        feature_shape: manifest.feature_shape,
        params_hash: manifest.params_hash.clone(),
        skipped: manifest.skipped.len(),
        labels: manifest
            .class_names()
            .into_iter()
            .map(String::from)
            .collect(),
        classes: manifest.classes.clone(),
        splits: manifest.splits.clone(),
        default_eval_split: manifest.default_eval_split.clone(),
        by_split_label,
        categories,
        longer_than_target: durations.iter().filter(|d| **d > target_s).count(),
        shared_patients: auscult_cache::table::patients_in_several_splits(&df),
        duration_s: Stats::of(durations),
        target_s,
    })
}

impl std::fmt::Display for Inspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "dataset {}  rows {}  shards {}  features {}×{}  ({}; params {})",
            self.dataset,
            self.rows,
            self.shards,
            self.feature_shape[0],
            self.feature_shape[1],
            self.tool,
            &self.params_hash[..self.params_hash.len().min(12)]
        )?;
        if self.skipped > 0 {
            writeln!(
                f,
                "skipped inputs: {} (listed in manifest.json)",
                self.skipped
            )?;
        }
        writeln!(f, "\nclasses ({}):", self.classes.len())?;
        for c in &self.classes {
            writeln!(
                f,
                "  {:>2}  {:<16} {}",
                c.id,
                c.name,
                if c.normal { "normal" } else { "abnormal" }
            )?;
        }
        writeln!(f, "splits:")?;
        for s in &self.splits {
            let default = if self.default_eval_split.as_deref() == Some(s.name.as_str()) {
                "  (default evaluation split)"
            } else {
                ""
            };
            writeln!(f, "  {:<12} {:>7} rows{default}", s.name, s.rows)?;
        }
        let w = self
            .labels
            .iter()
            .map(|l| l.len().max(7))
            .collect::<Vec<_>>();
        let mut head = format!("\n{:<12}", "split");
        for (l, w) in self.labels.iter().zip(&w) {
            let _ = write!(head, " {l:>w$}");
        }
        writeln!(f, "{head} {:>7}", "total")?;
        let mut totals = vec![0u64; self.labels.len()];
        for (split, counts) in &self.by_split_label {
            let mut line = format!("{split:<12}");
            let mut sum = 0;
            for (i, (l, w)) in self.labels.iter().zip(&w).enumerate() {
                let n = counts.get(l).copied().unwrap_or(0);
                totals[i] += n;
                sum += n;
                let _ = write!(line, " {n:>w$}");
            }
            writeln!(f, "{line} {sum:>7}")?;
        }
        let mut line = format!("{:<12}", "total");
        for (n, w) in totals.iter().zip(&w) {
            let _ = write!(line, " {n:>w$}");
        }
        writeln!(f, "{line} {:>7}", totals.iter().sum::<u64>())?;
        writeln!(f)?;
        for (c, m) in &self.categories {
            let vals: Vec<String> = m.iter().map(|(k, v)| format!("{k} {v}")).collect();
            writeln!(f, "{c:<20} {}", vals.join(", "))?;
        }
        if let Some(s) = &self.duration_s {
            writeln!(
                f,
                "{:<20} min {:.2}  mean {:.2}  median {:.2}  max {:.2}  (> {} s, cropped: {})",
                "duration (s)",
                s.min,
                s.mean,
                s.median,
                s.max,
                self.target_s,
                self.longer_than_target
            )?;
        }
        if let Some(shared) = &self.shared_patients {
            if shared.is_empty() {
                writeln!(
                    f,
                    "{:<20} none (splits are patient-disjoint)",
                    "shared patients"
                )?;
            } else {
                let list: Vec<String> = shared
                    .iter()
                    .map(|(p, s)| {
                        format!("{p} ({})", s.iter().cloned().collect::<Vec<_>>().join(", "))
                    })
                    .collect();
                writeln!(
                    f,
                    "{:<20} {} patient(s) in more than one split: {} \
                     (`auscult train --protocol leakage-free` evaluates without them)",
                    "shared patients",
                    shared.len(),
                    list.join("; ")
                )?;
            }
        }
        Ok(())
    }
}
