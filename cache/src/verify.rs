//! `auscult pipeline verify`: re-checks a finished cache against its manifest and reports every
//! problem found, not just the first — each shard's size, checksum, tensors, rows and labels,
//! files in `shards/` the manifest does not list, and the metadata table's rows, `cycle_id`s,
//! labels and split counts against the manifest and the shards.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::table::{read_table, string_column};
use crate::{CacheReader, MANIFEST_FILE, METADATA_FILE, SHARDS_DIR};

/// One thing wrong with a cache: the file at fault and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.what)
    }
}

/// What [`verify_cache`] checked and found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub shards_checked: usize,
    pub rows_checked: u64,
    pub table_rows: Option<usize>,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies the cache in `dir`. A missing or invalid manifest is the one problem reported (the
/// rest cannot be checked without it): a cache without `manifest.json` is an unfinished build.
pub fn verify_cache(dir: &Path) -> VerifyReport {
    let mut report = VerifyReport::default();
    let problems = &mut Vec::new();
    check(dir, &mut report, problems);
    report.problems = std::mem::take(problems);
    report
}

fn problem(problems: &mut Vec<Problem>, file: PathBuf, what: String) {
    problems.push(Problem { file, what });
}

fn check(dir: &Path, report: &mut VerifyReport, problems: &mut Vec<Problem>) {
    if !dir.join(MANIFEST_FILE).is_file() {
        problem(
            problems,
            dir.join(MANIFEST_FILE),
            "missing: the build did not finish (rerun `auscult pipeline build`)".into(),
        );
        return;
    }
    let reader = match CacheReader::open_manifest_only(dir) {
        Ok(r) => r,
        Err(e) => {
            problem(
                problems,
                dir.join(MANIFEST_FILE),
                format!("unreadable: {e}"),
            );
            return;
        }
    };
    let m = reader.manifest().clone();
    // Shards, each fully re-read; their labels kept for the table check.
    let mut labels: Vec<Option<i64>> = vec![None; m.rows as usize];
    for (i, info) in m.shards.iter().enumerate() {
        match reader.read_shard(i) {
            Ok(shard) => {
                for (k, &l) in shard.label.iter().enumerate() {
                    labels[info.first_row as usize + k] = Some(l);
                }
                report.rows_checked += info.rows;
            }
            Err(e) => problem(
                problems,
                dir.join(&info.file),
                strip_path(&e.to_string(), &dir.join(&info.file)),
            ),
        }
        report.shards_checked += 1;
    }
    // Files in shards/ that the manifest does not list (leftovers of another build).
    let listed: std::collections::BTreeSet<PathBuf> =
        m.shards.iter().map(|s| dir.join(&s.file)).collect();
    if let Ok(entries) = std::fs::read_dir(dir.join(SHARDS_DIR)) {
        let mut extra: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| !listed.contains(p))
            .collect();
        extra.sort();
        for p in extra {
            problem(problems, p, "not listed in the manifest".into());
        }
    }
    // The metadata table against the manifest and the shards.
    let table_file = dir.join(m.metadata_file.as_deref().unwrap_or(METADATA_FILE));
    if m.metadata_file.is_none() {
        return;
    }
    let table = match read_table(&table_file) {
        Ok(t) => t,
        Err(e) => {
            problem(
                problems,
                table_file.clone(),
                strip_path(&e.to_string(), &table_file),
            );
            return;
        }
    };
    report.table_rows = Some(table.height());
    let expected_rows: u64 = m.splits.iter().map(|s| s.rows).sum();
    if table.height() as u64 != expected_rows {
        problem(
            problems,
            table_file.clone(),
            format!(
                "{} rows, but the manifest's splits hold {expected_rows}",
                table.height()
            ),
        );
    }
    match string_column(&table, "split") {
        None => problem(problems, table_file.clone(), "no `split` column".into()),
        Some(split) => {
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for s in split.into_iter().flatten() {
                *counts.entry(s).or_default() += 1;
            }
            for s in &m.splits {
                let n = counts.remove(&s.name).unwrap_or(0);
                if n != s.rows {
                    problem(
                        problems,
                        table_file.clone(),
                        format!(
                            "split `{}` has {n} rows, the manifest says {}",
                            s.name, s.rows
                        ),
                    );
                }
            }
            for (name, n) in counts {
                problem(
                    problems,
                    table_file.clone(),
                    format!("split `{name}` ({n} rows) is not in the manifest"),
                );
            }
        }
    }
    let ints = |name: &str| -> Option<Vec<Option<i64>>> {
        string_column(&table, name).map(|v| {
            v.into_iter()
                .map(|x| x.and_then(|s| s.parse().ok()))
                .collect()
        })
    };
    if let Some(ids) = ints("cycle_id") {
        if let Some(row) = ids
            .iter()
            .enumerate()
            .position(|(i, id)| *id != Some(i as i64))
        {
            problem(
                problems,
                table_file.clone(),
                format!("row {row}: cycle_id is {:?}, expected {row}", ids[row]),
            );
        }
    }
    if !m.shards.is_empty() {
        if let Some(table_labels) = ints("label") {
            let wrong = table_labels
                .iter()
                .zip(&labels)
                .enumerate()
                .find(|(_, (t, s))| s.is_some() && t != s);
            if let Some((row, (t, s))) = wrong {
                problem(
                    problems,
                    table_file.clone(),
                    format!(
                        "row {row}: label {} but the shard holds {}",
                        t.map_or("null".into(), |v| v.to_string()),
                        s.map_or("null".into(), |v| v.to_string())
                    ),
                );
            }
        }
    }
}

/// A cache error's message without the leading `<path>: ` (the report names the file itself).
fn strip_path(msg: &str, path: &Path) -> String {
    let prefix = format!("{}: ", path.display());
    msg.strip_prefix(&prefix).unwrap_or(msg).to_string()
}
