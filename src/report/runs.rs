//! Run dirs as table rows, read from their `summary.json`.

use super::*;

pub(super) fn field<'a>(v: &'a Value, key: &str, path: &Path) -> Result<&'a Value, ReportError> {
    v.get(key).ok_or_else(|| ReportError::Json {
        path: path.into(),
        msg: format!("no field `{key}`"),
    })
}

pub(super) fn decode<T: for<'de> Deserialize<'de>>(
    v: &Value,
    what: &str,
    path: &Path,
) -> Result<T, ReportError> {
    T::deserialize(v).map_err(|e| ReportError::Json {
        path: path.into(),
        msg: format!("`{what}`: {e}"),
    })
}

/// Reads the `summary.json` of one run dir.
pub fn load_run(dir: &Path, selection: Selection) -> Result<RunRow, ReportError> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|source| ReportError::Io {
        path: path.clone(),
        source,
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|e| ReportError::Json {
        path: path.clone(),
        msg: e.to_string(),
    })?;
    let text_of = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let method = text_of("method").ok_or_else(|| ReportError::Json {
        path: path.clone(),
        msg: "no field `method`".into(),
    })?;
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    let key = selection.key();
    let sel = field(&v, key, &path)?;
    let (seeds, metrics) = match v.get("seeds").and_then(Value::as_array) {
        // Several seeds: the selection is a MetricsSummary (or null).
        Some(seeds) => {
            let m: Option<MetricsSummary> = decode(sel, key, &path)?;
            (seeds.len(), m.as_ref().map(RowMetrics::of_summary))
        }
        // One seed: the selection is {epoch, eval, val} (or null).
        None => {
            let m = if sel.is_null() {
                None
            } else {
                Some(decode::<Metrics>(field(sel, "eval", &path)?, key, &path)?)
            };
            (1, m.as_ref().map(RowMetrics::of_one))
        }
    };
    let signature = match v.get("signature") {
        Some(s) => Some(decode::<Signature>(s, "signature", &path)?),
        None => None,
    };
    Ok(RunRow {
        dir: dir.to_path_buf(),
        name: text_of("config_name").unwrap_or(dir_name),
        method,
        dataset: text_of("dataset").unwrap_or_default(),
        eval_split: text_of("eval_split"),
        signature,
        seeds,
        protocol: text_of("protocol").unwrap_or_else(|| "official".into()),
        metrics,
    })
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
