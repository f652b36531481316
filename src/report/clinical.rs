//! The clinical evaluation read back from run dirs: a run's `predictions/<checkpoint>.csv` as the
//! inputs of [`crate::eval::clinical`], the evaluation that lands in `summary.json`, and the
//! report's tables: subgroups (`report --by`), paired comparisons (`report --compare`), and each
//! run's intervals, operating points and calibration.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};

use super::Selection;
use crate::eval::bootstrap::Estimate;
use crate::eval::clinical::{self, Comparison, Evaluation, Options, SeedsEvaluation, Truth};
use crate::rundir::{self, FeatureSpec, Predictions, Summary};

/// The cycles of one split of a predictions file, as the evaluation takes them.
#[derive(Debug, Clone)]
pub struct SplitCycles {
    pub cycle_ids: Vec<i64>,
    pub truth: Truth,
    pub probabilities: Vec<Vec<f64>>,
    /// Each subgroup column with its value per cycle.
    pub columns: Vec<(String, Vec<Option<String>>)>,
}

impl SplitCycles {
    /// The rows of `split` in `p`; `normal`: ids of the normal classes.
    pub fn of(p: &Predictions, split: &str, normal: &[usize]) -> Self {
        let rows: Vec<_> = p.of_split(split).collect();
        SplitCycles {
            cycle_ids: rows.iter().map(|r| r.cycle_id).collect(),
            truth: Truth {
                labels: rows.iter().map(|r| r.label).collect(),
                units: rows.iter().map(|r| r.patient.clone()).collect(),
                n_classes: p.class_names.len(),
                normal: normal.to_vec(),
            },
            probabilities: rows
                .iter()
                .map(|r| r.probabilities.iter().map(|&v| v as f64).collect())
                .collect(),
            columns: p
                .group_columns
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    (
                        c.clone(),
                        rows.iter().map(|r| r.groups[k].clone()).collect(),
                    )
                })
                .collect(),
        }
    }
}

/// The evaluation of checkpoint `checkpoint` (epoch `epoch`) from its predictions `p`: the
/// evaluation split `split` measured, the `val` rows (when any) fitting the temperature.
pub fn evaluation_of(
    p: &Predictions,
    split: &str,
    checkpoint: &str,
    epoch: usize,
    normal: &[usize],
    opts: &Options,
) -> Result<Evaluation> {
    let test = SplitCycles::of(p, split, normal);
    ensure!(
        !test.cycle_ids.is_empty(),
        "predictions of `{checkpoint}`: no row of split `{split}`"
    );
    let val = SplitCycles::of(p, "val", normal);
    let val = (!val.cycle_ids.is_empty()).then_some(val);
    let m = clinical::measure(
        &test.truth,
        &test.probabilities,
        &test.columns,
        val.as_ref()
            .map(|v| (&v.truth.labels[..], &v.probabilities[..])),
        opts,
    );
    Ok(Evaluation {
        checkpoint: checkpoint.into(),
        epoch,
        split: split.into(),
        options: *opts,
        overall: m.overall,
        subgroups: m.subgroups,
        operating: m.operating,
        calibration: m.calibration,
    })
}

/// The checkpoint a selection's predictions are named after.
pub fn checkpoint_of(selection: Selection) -> &'static str {
    match selection {
        Selection::BestEval => "best",
        Selection::BestVal => "best_val",
        Selection::Final => "last",
    }
}

/// The `--by` names and the metadata columns they stand for.
pub const BY_COLUMNS: [(&str, &str); 4] = [
    ("device", "device"),
    ("location", "chest_location"),
    ("sex", "sex"),
    ("age_group", "age_group"),
];

/// A run dir (one seed, or several) as its seeds' predictions of the same evaluation cycles.
pub struct RunCycles {
    pub dir: PathBuf,
    /// The cycles, as the first seed lists them.
    pub cycles: SplitCycles,
    /// Each seed's predicted classes, in `cycles`' order.
    pub predicted: Vec<Vec<usize>>,
}

/// The seed dirs of a run dir (itself for one seed).
pub fn seed_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(match rundir::read_summary(dir)? {
        Summary::Single(_) => vec![dir.to_path_buf()],
        Summary::Multi(m) => m
            .runs
            .iter()
            .map(|r| super::plots::seed_dir(dir, r))
            .collect::<Result<_>>()?,
    })
}

/// Reads the predictions of `selection`'s checkpoint of every seed of `dir`.
pub fn load_run_cycles(dir: &Path, selection: Selection) -> Result<RunCycles> {
    ensure!(
        selection != Selection::Final,
        "the clinical evaluation covers the selected checkpoints (--select best-eval or \
         best-val), not the last epoch"
    );
    let ck = checkpoint_of(selection);
    let mut cycles: Option<SplitCycles> = None;
    let mut predicted = Vec::new();
    for seed in seed_dirs(dir)? {
        let summary = rundir::read_run_summary(&seed)?;
        let spec = FeatureSpec::read(&seed)?;
        let normal = spec.normal_ids();
        let p = Predictions::read(&seed, ck).with_context(|| {
            format!(
                "no predictions of checkpoint `{ck}` in {} (runs trained before the clinical \
                 evaluation: `auscult evaluate {}`)",
                seed.display(),
                dir.display()
            )
        })?;
        let c = SplitCycles::of(&p, summary.split(), &normal);
        let pred = clinical::predicted(&c.probabilities);
        match &cycles {
            None => {
                predicted.push(pred);
                cycles = Some(c);
            }
            Some(first) => predicted.push(align(first, &c, &pred, &seed)?),
        }
    }
    Ok(RunCycles {
        dir: dir.to_path_buf(),
        cycles: cycles.with_context(|| format!("{}: no runs", dir.display()))?,
        predicted,
    })
}

/// `pred` (of `other`'s cycles) in `first`'s cycle order; the cycles (and their patients) must
/// be the same.
fn align(
    first: &SplitCycles,
    other: &SplitCycles,
    pred: &[usize],
    what: &Path,
) -> Result<Vec<usize>> {
    let at: BTreeMap<i64, usize> = other
        .cycle_ids
        .iter()
        .enumerate()
        .map(|(i, &c)| (c, i))
        .collect();
    ensure!(
        at.len() == first.cycle_ids.len(),
        "{}: {} evaluation cycles, the runs compared with it have {}",
        what.display(),
        at.len(),
        first.cycle_ids.len()
    );
    let mut out = Vec::with_capacity(pred.len());
    for (k, c) in first.cycle_ids.iter().enumerate() {
        let Some(&i) = at.get(c) else {
            bail!(
                "{}: cycle {c} is not among its evaluation cycles: the runs were evaluated on \
                 different cycles",
                what.display()
            );
        };
        ensure!(
            other.truth.units[i] == first.truth.units[k]
                && other.truth.labels[i] == first.truth.labels[k],
            "{}: cycle {c} has another patient or label than in the runs compared with it",
            what.display()
        );
        out.push(pred[i]);
    }
    Ok(out)
}

fn pct(v: f64) -> String {
    format!("{:.2}", 100.0 * v)
}

/// `mean ± std` (×100; no std for one run) of one metric.
fn cell(e: &Estimate, std: Option<f64>) -> String {
    match std {
        Some(s) => format!("{} ± {}", pct(e.value), pct(s)),
        None => pct(e.value),
    }
}

/// A threshold on the abnormal score, with 3 significant digits.
fn threshold(t: f64) -> String {
    if t == 0.0 || (1e-3..=1.0).contains(&t.abs()) {
        format!("{t:.3}")
    } else {
        format!("{t:.2e}")
    }
}

/// `[lo, hi]` ×100.
fn ci(e: &Estimate) -> String {
    format!("[{}, {}]", pct(e.lo), pct(e.hi))
}

/// `report --by <by>`: per run, the metrics of every group of the column `by` names (mean ±
/// std over seeds, the bootstrap interval of the seed mean), small groups flagged.
pub fn render_by(
    dirs: &[PathBuf],
    by: &str,
    selection: Selection,
    opts: &Options,
) -> Result<String> {
    let column = BY_COLUMNS
        .iter()
        .find(|(name, _)| *name == by)
        .map(|(_, c)| *c)
        .with_context(|| {
            format!(
                "--by {by}: expected one of {}",
                BY_COLUMNS.map(|b| b.0).join(", ")
            )
        })?;
    let mut out = format!(
        "Subgroups by {by} (`{column}`), {} selection: ×100, mean ± std over seeds; 95% CI: \
         patient bootstrap of the seed mean (B = {}, seed {}); † fewer than {} cycles or {} \
         patients\n\n\
         | run | {by} | cycles | patients | Se | Sp | Score | Score 95% CI | HS | |\n\
         |---|---|---:|---:|---:|---:|---:|---|---:|---|\n",
        checkpoint_of(selection),
        opts.resamples,
        opts.seed,
        opts.min_cycles,
        opts.min_patients
    );
    for dir in dirs {
        let r = load_run_cycles(dir, selection)?;
        let Some((_, values)) = r.cycles.columns.iter().find(|(c, _)| c == column) else {
            bail!(
                "{}: its cache has no `{column}` column (its subgroup columns: {})",
                dir.display(),
                r.cycles
                    .columns
                    .iter()
                    .map(|c| c.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        let runs: Vec<&[usize]> = r.predicted.iter().map(Vec::as_slice).collect();
        let groups = clinical::subgroups(
            &r.cycles.truth,
            &runs,
            &[(column.to_string(), values.clone())],
            opts,
        );
        let name = dir.display().to_string();
        for g in groups {
            let m = &g.metrics;
            let sd = |k: usize| m.seed_std.map(|s| s[k]);
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                g.group,
                m.cycles,
                m.patients,
                cell(&m.metrics.se, sd(0)),
                cell(&m.metrics.sp, sd(1)),
                cell(&m.metrics.score, sd(2)),
                ci(&m.metrics.score),
                cell(&m.metrics.hs, sd(3)),
                if g.small { "†" } else { "" }
            );
        }
    }
    Ok(out)
}

/// `report --compare A B`: Score of B less Score of A on the same bootstrap draws of the same
/// test patients (several seeds: their mean).
pub fn compare_runs(
    a: &Path,
    b: &Path,
    selection: Selection,
    opts: &Options,
) -> Result<Comparison> {
    let ra = load_run_cycles(a, selection)?;
    let rb = load_run_cycles(b, selection)?;
    let pb: Vec<Vec<usize>> = rb
        .predicted
        .iter()
        .map(|p| align(&ra.cycles, &rb.cycles, p, b))
        .collect::<Result<_>>()?;
    fn runs(v: &[Vec<usize>]) -> Vec<&[usize]> {
        v.iter().map(Vec::as_slice).collect()
    }
    Ok(clinical::compare(
        &ra.cycles.truth,
        &runs(&ra.predicted),
        &runs(&pb),
        opts,
    ))
}

/// The text of a [`Comparison`] of `a` and `b`.
pub fn render_compare(a: &Path, b: &Path, c: &Comparison) -> String {
    format!(
        "Paired comparison on {} cycles of {} patients (patient bootstrap, B = {}):\n\
         A = {}: Score {} {}\n\
         B = {}: Score {} {}\n\
         ΔScore (B − A) = {} 95% CI {}; B beats A in {:.1}% of resamples\n",
        c.cycles,
        c.patients,
        c.resamples,
        a.display(),
        pct(c.score_a.value),
        ci(&c.score_a),
        b.display(),
        pct(c.score_b.value),
        ci(&c.score_b),
        pct(c.delta.value),
        ci(&c.delta),
        100.0 * c.share_b_better
    )
}

/// Each seed run's recorded evaluation of `selection` (runs without one are left out): Score
/// and AUROC with their intervals, the operating points and calibration, as a Markdown table;
/// a multi-seed run adds a line of its seeds' mean ± std with the interval of the mean.
pub fn render_evaluations(dirs: &[PathBuf], selection: Selection) -> Result<String> {
    let ck = checkpoint_of(selection);
    let mut lines = Vec::new();
    for dir in dirs {
        for seed in seed_dirs(dir)? {
            let s = rundir::read_run_summary(&seed)?;
            if let Some(e) = s.evaluation.iter().find(|e| e.checkpoint == ck) {
                lines.push(evaluation_line(&seed.display().to_string(), e));
            }
        }
        if let Summary::Multi(m) = rundir::read_summary(dir)? {
            if let Some(e) = m.evaluation.iter().find(|e| e.checkpoint == ck) {
                let o = &e.overall;
                let std = o.seed_std.map(|s| s[2]);
                let cells = [
                    format!("{} (mean of {} seeds)", dir.display(), e.seeds),
                    o.patients.to_string(),
                    cell(&o.metrics.score, std),
                    ci(&o.metrics.score),
                ];
                lines.push(format!("| {} | – | – | – | – | – | – |", cells.join(" | ")));
            }
        }
    }
    if lines.is_empty() {
        return Ok(String::new());
    }
    Ok(format!(
        "Clinical evaluation ({ck} checkpoint): ×100, 95% CI by patient bootstrap; operating \
         points normal vs abnormal at threshold t on 1 − P(normal)\n\n\
         | run | patients | Score | Score 95% CI | AUROC | Se @ Sp 0.90 | Se @ Sp 0.95 | Sp @ Se 0.90 | ECE | T |\n\
         |---|---:|---:|---|---|---|---|---|---|---|\n{}\n",
        lines.join("\n")
    ))
}

/// One seed's line of [`render_evaluations`].
fn evaluation_line(name: &str, e: &Evaluation) -> String {
    let op = |name: &str| {
        e.operating
            .as_ref()
            .and_then(|o| o.points.iter().find(|p| p.name == name))
            .map_or("–".to_string(), |p| {
                let v = if name.starts_with("se_") {
                    &p.se
                } else {
                    &p.sp
                };
                format!("{} @ t={}", pct(v.value), threshold(p.threshold.value))
            })
    };
    let with_ci = |e: &Estimate| format!("{} {}", pct(e.value), ci(e));
    let cells = [
        name.to_string(),
        e.overall.patients.to_string(),
        pct(e.overall.metrics.score.value),
        ci(&e.overall.metrics.score),
        e.operating
            .as_ref()
            .map_or("–".into(), |o| with_ci(&o.auroc)),
        op("se_at_sp_0.90"),
        op("se_at_sp_0.95"),
        op("sp_at_se_0.90"),
        with_ci(&e.calibration.ece),
        e.calibration
            .temperature
            .map_or("–".into(), |t| format!("{t:.3}")),
    ];
    format!("| {} |", cells.join(" | "))
}

/// The evaluation of the seeds of the multi-seed run in `dir` on their common evaluation
/// cycles: the seed mean of each metric with the bootstrap interval of that mean, the seed std,
/// overall and per subgroup.
pub fn seeds_evaluation(
    dir: &Path,
    selection: Selection,
    opts: &Options,
) -> Result<SeedsEvaluation> {
    let r = load_run_cycles(dir, selection)?;
    let runs: Vec<&[usize]> = r.predicted.iter().map(Vec::as_slice).collect();
    let all: Vec<usize> = (0..r.cycles.cycle_ids.len()).collect();
    let first = seed_dirs(dir)?
        .into_iter()
        .next()
        .context("a multi-seed run without runs")?;
    Ok(SeedsEvaluation {
        checkpoint: checkpoint_of(selection).into(),
        split: rundir::read_run_summary(&first)?.split().to_string(),
        seeds: runs.len(),
        options: *opts,
        overall: clinical::group_metrics(&r.cycles.truth, &runs, &all, opts),
        subgroups: clinical::subgroups(&r.cycles.truth, &runs, &r.cycles.columns, opts),
    })
}
