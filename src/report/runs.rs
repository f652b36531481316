//! Run dirs as table rows, read from their `summary.json`.

use super::*;

/// Reads the `summary.json` of one run dir.
pub fn load_run(dir: &Path, selection: Selection) -> Result<RunRow, ReportError> {
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    let key = selection.key();
    let row = |name: &Option<String>, method: &str, dataset: &str, sig: &Signature| RunRow {
        dir: dir.to_path_buf(),
        name: name.clone().unwrap_or(dir_name.clone()),
        method: method.to_string(),
        dataset: dataset.to_string(),
        synthetic: false,
        eval_split: None,
        signature: recorded_signature(sig).cloned(),
        seeds: 1,
        protocol: String::new(),
        metrics: None,
    };
    Ok(match rundir::read_summary(dir)? {
        Summary::Single(s) => RunRow {
            eval_split: (!s.eval_split.is_empty()).then(|| s.eval_split.clone()),
            protocol: s.protocol.to_string(),
            metrics: s.selected(key).map(|sel| RowMetrics::of_one(&sel.eval)),
            synthetic: s.synthetic,
            ..row(&s.config_name, &s.method, &s.dataset, &s.signature)
        },
        Summary::Multi(m) => RunRow {
            seeds: m.seeds.len(),
            protocol: m.protocol.to_string(),
            metrics: m.selected(key).map(RowMetrics::of_summary),
            synthetic: m.synthetic,
            ..row(&m.config_name, &m.method, &m.dataset, &m.signature)
        },
    })
}

impl From<ReadError> for ReportError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Io { path, source } => ReportError::Io { path, source },
            ReadError::Malformed { path, msg } => ReportError::Json { path, msg },
        }
    }
}

/// Rows of every path: a run dir, or a folder of run dirs (sub-folders sorted by name).
pub fn collect_runs(paths: &[PathBuf], selection: Selection) -> Result<Vec<RunRow>, ReportError> {
    let mut rows = Vec::new();
    for p in paths {
        if p.join("summary.json").is_file() {
            rows.push(load_run(p, selection)?);
            continue;
        }
        let entries = std::fs::read_dir(p).map_err(|source| ReportError::Io {
            path: p.clone(),
            source,
        })?;
        let mut subdirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|d| d.join("summary.json").is_file())
            .collect();
        if subdirs.is_empty() {
            return Err(ReportError::NoRuns { path: p.clone() });
        }
        subdirs.sort();
        for d in subdirs {
            rows.push(load_run(&d, selection)?);
        }
    }
    Ok(rows)
}
