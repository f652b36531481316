//! Reading a run dir: `metrics.jsonl` by stage, and `summary.json` as far as the plots need it.

use super::*;

/// Se / Sp / Score of one evaluation (the rest of `Metrics` is not plotted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    pub se: f64,
    pub sp: f64,
    pub score: f64,
}

impl Scores {
    fn of(m: &Metrics) -> Self {
        Scores {
            se: m.se,
            sp: m.sp,
            score: m.score,
        }
    }
}

/// One epoch of one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochPoint {
    pub epoch: usize,
    pub loss: f64,
    pub terms: BTreeMap<String, f64>,
    pub eval: Option<Scores>,
    pub val: Option<Scores>,
}

/// The epochs of one stage, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: String,
    pub epochs: Vec<EpochPoint>,
}

impl Stage {
    /// Whether any epoch has a test-split evaluation.
    pub fn evaluates(&self) -> bool {
        self.epochs.iter().any(|e| e.eval.is_some())
    }
    /// Whether any epoch has a validation evaluation.
    pub fn has_val(&self) -> bool {
        self.epochs.iter().any(|e| e.val.is_some())
    }
    /// The last epoch number (1 for an empty stage).
    pub fn max_epoch(&self) -> usize {
        self.epochs.iter().map(|e| e.epoch).max().unwrap_or(1)
    }
    /// Names of the loss terms, when there are several (one term is the loss itself).
    pub fn term_names(&self) -> Vec<String> {
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
pub fn read_metrics(path: &Path) -> Result<Vec<Stage>> {
    let mut stages: Vec<Stage> = Vec::new();
    for rec in rundir::read_metrics(path)? {
        let terms = rec
            .loss_terms
            .iter()
            .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
            .collect();
        let point = EpochPoint {
            epoch: rec.epoch,
            loss: rec.train_loss,
            terms,
            eval: rec.eval.as_ref().map(Scores::of),
            val: rec.val.as_ref().map(Scores::of),
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

/// A multi-seed parent's `summary.json`.
pub fn read_multi(parent: &Path) -> Result<MultiRunSummary> {
    match rundir::read_summary(parent)? {
        Summary::Multi(m) => Ok(*m),
        Summary::Single(_) => bail!(
            "{}: the summary of one seed (plot it with write_run_plots)",
            parent.join("summary.json").display()
        ),
    }
}

/// The row × column counts of `cm`, checked to be square over `n_classes`.
pub fn checked_counts(cm: &ConfusionMatrix, origin: &Path) -> Result<Vec<Vec<u64>>> {
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
pub fn class_names(info: &RunSummary, n: usize) -> Vec<String> {
    if info.class_names.len() == n {
        info.class_names.clone()
    } else {
        (0..n).map(|i| format!("class {i}")).collect()
    }
}

/// A seed dir of a multi-seed parent: `runs` holds the paths as given when training, so the
/// seed's folder name is looked up under `parent` first (the parent may have moved).
pub fn seed_dir(parent: &Path, run: &str) -> Result<PathBuf> {
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
