//! Reading a run dir: `metrics.jsonl` by stage, and `summary.json` as far as the plots need it.

use super::*;

/// Se / Sp / Score of one evaluation (the rest of `Metrics` is not plotted).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub(super) struct Scores {
    pub(super) se: f64,
    pub(super) sp: f64,
    pub(super) score: f64,
}

/// The fields of one `metrics.jsonl` line (an `EpochRecord`) that the plots use.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct EpochLine {
    pub(super) stage: String,
    pub(super) epoch: usize,
    pub(super) train_loss: f64,
    #[serde(default)]
    pub(super) loss_terms: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub(super) val: Option<Scores>,
    #[serde(default)]
    pub(super) eval: Option<Scores>,
}

/// One epoch of one stage.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct EpochPoint {
    pub(super) epoch: usize,
    pub(super) loss: f64,
    pub(super) terms: BTreeMap<String, f64>,
    pub(super) eval: Option<Scores>,
    pub(super) val: Option<Scores>,
}

/// The epochs of one stage, in file order.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Stage {
    pub(super) name: String,
    pub(super) epochs: Vec<EpochPoint>,
}

impl Stage {
    pub(super) fn evaluates(&self) -> bool {
        self.epochs.iter().any(|e| e.eval.is_some())
    }
    pub(super) fn has_val(&self) -> bool {
        self.epochs.iter().any(|e| e.val.is_some())
    }
    pub(super) fn max_epoch(&self) -> usize {
        self.epochs.iter().map(|e| e.epoch).max().unwrap_or(1)
    }
    /// Names of the loss terms, when there are several (one term is the loss itself).
    pub(super) fn term_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .epochs
            .iter()
            .flat_map(|e| e.terms.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        if names.len() < 2 {
            names.clear();
        }
        names
    }
}

/// Reads `metrics.jsonl`: its stages in order of first appearance. A line that is not an epoch
/// record is an error naming the file and the line.
pub(super) fn read_metrics(path: &Path) -> Result<Vec<Stage>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let mut stages: Vec<Stage> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let rec: EpochLine = serde_json::from_str(line).with_context(|| {
            format!(
                "{} line {}: not an epoch record of `auscult train`",
                path.display(),
                i + 1
            )
        })?;
        let terms = rec
            .loss_terms
            .iter()
            .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
            .collect();
        let point = EpochPoint {
            epoch: rec.epoch,
            loss: rec.train_loss,
            terms,
            eval: rec.eval,
            val: rec.val,
        };
        match stages.iter_mut().find(|s| s.name == rec.stage) {
            Some(s) => s.epochs.push(point),
            None => stages.push(Stage {
                name: rec.stage,
                epochs: vec![point],
            }),
        }
    }
    if stages.is_empty() {
        bail!("{}: no epoch records", path.display());
    }
    Ok(stages)
}

/// `Selected` of `summary.json`, as far as the plots need it.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Pick {
    pub(super) epoch: usize,
    pub(super) eval: PickEval,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct PickEval {
    pub(super) confusion: ConfusionMatrix,
}

/// `RunSummary` of `summary.json`, as far as the plots need it.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct RunInfo {
    pub(super) method: String,
    #[serde(default)]
    pub(super) config_name: Option<String>,
    #[serde(default)]
    pub(super) seed: Option<u64>,
    #[serde(default)]
    pub(super) dataset: Option<String>,
    #[serde(default)]
    pub(super) eval_split: Option<String>,
    /// Absent from summaries written before auscult recorded it.
    #[serde(default)]
    pub(super) class_names: Vec<String>,
    pub(super) best_by_eval: Pick,
    #[serde(default)]
    pub(super) best_by_val: Option<Pick>,
}

impl RunInfo {
    pub(super) fn split(&self) -> &str {
        self.eval_split.as_deref().unwrap_or("eval")
    }
}

/// `MultiRunSummary` of a multi-seed parent's `summary.json`, as far as the plots need it.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct MultiInfo {
    pub(super) method: String,
    #[serde(default)]
    pub(super) config_name: Option<String>,
    #[serde(default)]
    pub(super) dataset: Option<String>,
    pub(super) seeds: Vec<u64>,
    pub(super) runs: Vec<String>,
}

pub(super) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: unexpected content", path.display()))
}

/// Whether `dir/summary.json` is a multi-seed parent's (it lists `seeds`).
pub(super) fn is_multi(dir: &Path) -> Result<bool> {
    let v: serde_json::Value = read_json(&dir.join("summary.json"))?;
    Ok(v.get("seeds").is_some_and(serde_json::Value::is_array))
}

/// The row × column counts of `cm`, checked to be square over `n_classes`.
pub(super) fn checked_counts(cm: &ConfusionMatrix, origin: &Path) -> Result<Vec<Vec<u64>>> {
    let n = cm.n_classes;
    ensure!(
        n >= 1 && cm.counts.len() == n && cm.counts.iter().all(|r| r.len() == n),
        "{}: the confusion matrix is not {n} × {n}",
        origin.display()
    );
    Ok(cm.counts.clone())
}

/// The class names of `info`, or `class 0`, `class 1`, … when the summary has none for `n`
/// classes.
pub(super) fn class_names(info: &RunInfo, n: usize) -> Vec<String> {
    if info.class_names.len() == n {
        info.class_names.clone()
    } else {
        (0..n).map(|i| format!("class {i}")).collect()
    }
}

/// A seed dir of a multi-seed parent: `runs` holds the paths as given when training, so the
/// seed's folder name is looked up under `parent` first (the parent may have moved).
pub(super) fn seed_dir(parent: &Path, run: &str) -> Result<PathBuf> {
    let given = Path::new(run);
    if let Some(name) = given.file_name() {
        let inside = parent.join(name);
        if inside.join("summary.json").is_file() {
            return Ok(inside);
        }
    }
    if given.join("summary.json").is_file() {
        return Ok(given.to_path_buf());
    }
    bail!(
        "{}: run `{run}` listed in summary.json has no summary.json (looked in {})",
        parent.display(),
        parent.join(given.file_name().unwrap_or_default()).display()
    )
}
