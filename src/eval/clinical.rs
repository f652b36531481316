//! Evaluation a clinical reader trusts, from per-cycle predictions: the challenge's metrics with
//! patient-level bootstrap intervals, overall and per subgroup (device, chest location, …);
//! normal-vs-abnormal operating points; calibration; paired comparisons of two runs.
//!
//! Everything here is a pure function of plain data: the true labels and resampling units
//! (patients) of the cycles ([`Truth`]), and one or several runs' predictions on them (several:
//! seeds of one experiment, whose metrics are averaged draw by draw, so the interval is that of
//! the seed mean). The draws come from [`bootstrap::draws`]: the same units, resamples and seed
//! give the same draws, whichever run is evaluated.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::bootstrap::{self, Estimate};
use super::calibration::{self, Bin};
use super::metrics::ConfusionMatrix;
use super::operating::{self, Target};
use super::stats::{MeanStd, StdKind};

/// How the evaluation is computed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Bootstrap resamples (B).
    pub resamples: usize,
    /// Seed of the resampling stream.
    pub seed: u64,
    /// Coverage of the percentile intervals.
    pub level: f64,
    /// A subgroup with fewer cycles is flagged `small`.
    pub min_cycles: usize,
    /// A subgroup with fewer patients is flagged `small`.
    pub min_patients: usize,
    /// Reliability bins.
    pub bins: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            resamples: 1000,
            seed: 0,
            level: 0.95,
            min_cycles: 30,
            min_patients: 3,
            bins: calibration::DEFAULT_BINS,
        }
    }
}

/// The cycles evaluated: true class, resampling unit (patient), and the classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    pub labels: Vec<usize>,
    pub units: Vec<String>,
    pub n_classes: usize,
    /// Ids of the normal classes.
    pub normal: Vec<usize>,
}

impl Truth {
    fn is_abnormal(&self, i: usize) -> bool {
        !self.normal.contains(&self.labels[i])
    }

    /// Whether cycles `idx` hold a normal cycle, and an abnormal one.
    fn classes_present(&self, idx: &[usize]) -> (bool, bool) {
        let abnormal = idx.iter().filter(|&&i| self.is_abnormal(i)).count();
        (abnormal < idx.len(), abnormal > 0)
    }

    /// The cycles of `subset` grouped by unit, units in name order.
    pub fn members(&self, subset: &[usize]) -> Vec<Vec<usize>> {
        let mut by: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for &i in subset {
            by.entry(&self.units[i]).or_default().push(i);
        }
        by.into_values().collect()
    }

    /// Se, Sp, Score, HS of `predicted` on cycles `idx`.
    fn metrics(&self, predicted: &[usize], idx: &[usize]) -> [f64; 4] {
        let mut c = ConfusionMatrix::new(self.n_classes, &self.normal)
            .expect("classes checked when the truth was built");
        for &i in idx {
            c.counts[self.labels[i]][predicted[i]] += 1;
        }
        let m = c.metrics();
        [m.se, m.sp, m.score, m.hs]
    }

    /// The seed mean of [`Truth::metrics`] over `runs`.
    fn mean_metrics(&self, runs: &[&[usize]], idx: &[usize]) -> [f64; 4] {
        let mut out = [0.0; 4];
        for r in runs {
            for (o, v) in out.iter_mut().zip(self.metrics(r, idx)) {
                *o += v / runs.len() as f64;
            }
        }
        out
    }
}

/// The challenge's four metrics, each with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricEstimates {
    pub se: Estimate,
    pub sp: Estimate,
    pub score: Estimate,
    pub hs: Estimate,
}

/// Metrics on a set of cycles: counts, the seed mean with its bootstrap interval, the seed std.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMetrics {
    pub cycles: usize,
    pub patients: usize,
    #[serde(flatten)]
    pub metrics: MetricEstimates,
    /// Std over the runs (population) of Se, Sp, Score, HS; absent for one run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_std: Option<[f64; 4]>,
}

/// Metrics of `runs` (predicted classes of the same cycles) on `subset`, with the patient
/// bootstrap interval of their mean.
pub fn group_metrics(
    truth: &Truth,
    runs: &[&[usize]],
    subset: &[usize],
    opts: &Options,
) -> GroupMetrics {
    let members = truth.members(subset);
    let point = truth.mean_metrics(runs, subset);
    let present = truth.classes_present(subset);
    let mut resampled: [Vec<f64>; 4] = Default::default();
    for d in bootstrap::draws(members.len(), opts.resamples, opts.seed) {
        let idx = bootstrap::expand(&d, &members);
        // A resample that lost the normal or the abnormal cycles the set has is left out: its
        // Se or Sp is undefined (not 0).
        if truth.classes_present(&idx) != present {
            continue;
        }
        for (k, v) in truth.mean_metrics(runs, &idx).into_iter().enumerate() {
            resampled[k].push(v);
        }
    }
    let e = |k: usize| Estimate::of(point[k], &resampled[k], opts.level);
    let seed_std = (runs.len() > 1).then(|| {
        let per: Vec<[f64; 4]> = runs.iter().map(|r| truth.metrics(r, subset)).collect();
        std::array::from_fn(|k| {
            let v: Vec<f64> = per.iter().map(|m| m[k]).collect();
            MeanStd::of(&v, StdKind::Population).map_or(0.0, |s| s.std)
        })
    });
    GroupMetrics {
        cycles: subset.len(),
        patients: members.len(),
        metrics: MetricEstimates {
            se: e(0),
            sp: e(1),
            score: e(2),
            hs: e(3),
        },
        seed_std,
    }
}

/// One subgroup: the cycles whose `column` holds `group` (`(missing)` for no value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subgroup {
    pub column: String,
    pub group: String,
    /// Fewer cycles or patients than the options' minimum: shown, not to be trusted.
    pub small: bool,
    #[serde(flatten)]
    pub metrics: GroupMetrics,
}

/// The label of a missing subgroup value.
pub const MISSING: &str = "(missing)";

/// The cycles of each value of `values`, values in name order.
pub fn groups_of(values: &[Option<String>]) -> BTreeMap<String, Vec<usize>> {
    let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, v) in values.iter().enumerate() {
        out.entry(v.clone().unwrap_or_else(|| MISSING.into()))
            .or_default()
            .push(i);
    }
    out
}

/// Every subgroup of every `(column, values)` pair.
pub fn subgroups(
    truth: &Truth,
    runs: &[&[usize]],
    columns: &[(String, Vec<Option<String>>)],
    opts: &Options,
) -> Vec<Subgroup> {
    let mut out = Vec::new();
    for (column, values) in columns {
        for (group, idx) in groups_of(values) {
            let metrics = group_metrics(truth, runs, &idx, opts);
            out.push(Subgroup {
                column: column.clone(),
                group,
                small: metrics.cycles < opts.min_cycles || metrics.patients < opts.min_patients,
                metrics,
            });
        }
    }
    out
}

/// A normal-vs-abnormal operating point, each number with its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatingEstimate {
    /// `se_at_sp_0.90`, `se_at_sp_0.95`, `sp_at_se_0.90`.
    pub name: String,
    /// Call a cycle abnormal when its abnormal score is ≥ this.
    pub threshold: Estimate,
    pub se: Estimate,
    pub sp: Estimate,
}

/// The binary view of the probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operating {
    pub auroc: Estimate,
    pub points: Vec<OperatingEstimate>,
}

/// The operating points reported.
pub const TARGETS: [Target; 3] = [
    Target::SeAtSp(0.90),
    Target::SeAtSp(0.95),
    Target::SpAtSe(0.90),
];

/// Abnormal score of each cycle: one minus the probability of the normal classes.
pub fn abnormal_scores(probabilities: &[Vec<f64>], normal: &[usize]) -> Vec<f64> {
    probabilities
        .iter()
        .map(|p| 1.0 - normal.iter().map(|&c| p[c]).sum::<f64>())
        .collect()
}

/// AUROC and [`TARGETS`] of one run; None without an abnormal or a normal cycle.
pub fn operating(truth: &Truth, scores: &[f64], opts: &Options) -> Option<Operating> {
    let all: Vec<usize> = (0..scores.len()).collect();
    let at = |idx: &[usize]| {
        let s: Vec<f64> = idx.iter().map(|&i| scores[i]).collect();
        let pos: Vec<bool> = idx.iter().map(|&i| truth.is_abnormal(i)).collect();
        let curve = operating::roc(&s, &pos);
        let points: Vec<Option<operating::RocPoint>> = TARGETS
            .iter()
            .map(|&t| operating::operating_point(&curve, t))
            .collect();
        (operating::auroc(&s, &pos), points)
    };
    let (auroc, points) = at(&all);
    let auroc = auroc?;
    let members = truth.members(&all);
    let mut r_auc = Vec::new();
    let mut r_pts: Vec<[Vec<f64>; 3]> = vec![Default::default(); TARGETS.len()];
    for d in bootstrap::draws(members.len(), opts.resamples, opts.seed) {
        let (a, p) = at(&bootstrap::expand(&d, &members));
        r_auc.push(a.unwrap_or(f64::NAN));
        for (r, p) in r_pts.iter_mut().zip(p) {
            let p = p.map_or([f64::NAN; 3], |p| [p.threshold, p.se, p.sp]);
            for k in 0..3 {
                r[k].push(p[k]);
            }
        }
    }
    let est = |v: f64, r: &[f64]| Estimate::of(v, r, opts.level);
    Some(Operating {
        auroc: est(auroc, &r_auc),
        points: TARGETS
            .iter()
            .zip(points)
            .zip(&r_pts)
            .filter_map(|((t, p), r)| {
                let p = p?;
                Some(OperatingEstimate {
                    name: t.name(),
                    threshold: est(p.threshold, &r[0]),
                    se: est(p.se, &r[1]),
                    sp: est(p.sp, &r[2]),
                })
            })
            .collect(),
    })
}

/// Calibration of one run's probabilities on the evaluation split, and of the same
/// probabilities scaled by the temperature fitted on the validation split (when there is one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub ece: Estimate,
    pub bins: Vec<Bin>,
    /// Mean negative log-likelihood of the labels.
    pub nll: f64,
    /// The temperature fitted on the validation split (None: no validation split).
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Validation cycles the temperature was fitted on.
    #[serde(default)]
    pub val_cycles: usize,
    #[serde(default)]
    pub scaled_ece: Option<Estimate>,
    #[serde(default)]
    pub scaled_bins: Option<Vec<Bin>>,
    #[serde(default)]
    pub scaled_nll: Option<f64>,
}

/// ECE with its interval, and the bins, of `probabilities`.
fn ece_of(truth: &Truth, probabilities: &[Vec<f64>], opts: &Options) -> (Estimate, Vec<Bin>) {
    let (conf, ok) = calibration::confidence_correct(probabilities, &truth.labels);
    let bins_at = |idx: &[usize]| {
        let c: Vec<f64> = idx.iter().map(|&i| conf[i]).collect();
        let o: Vec<bool> = idx.iter().map(|&i| ok[i]).collect();
        calibration::reliability(&c, &o, opts.bins)
    };
    let all: Vec<usize> = (0..conf.len()).collect();
    let bins = bins_at(&all);
    let members = truth.members(&all);
    let r: Vec<f64> = bootstrap::draws(members.len(), opts.resamples, opts.seed)
        .iter()
        .map(|d| calibration::ece(&bins_at(&bootstrap::expand(d, &members))))
        .collect();
    (Estimate::of(calibration::ece(&bins), &r, opts.level), bins)
}

/// [`Calibration`] of `probabilities`; `val` (labels and probabilities of the validation split)
/// fits the temperature.
pub fn calibration(
    truth: &Truth,
    probabilities: &[Vec<f64>],
    val: Option<(&[usize], &[Vec<f64>])>,
    opts: &Options,
) -> Calibration {
    let (ece, bins) = ece_of(truth, probabilities, opts);
    let temperature = val.and_then(|(l, p)| calibration::fit_temperature(p, l));
    let scaled = temperature.map(|t| {
        let p: Vec<Vec<f64>> = probabilities
            .iter()
            .map(|p| calibration::apply_temperature(p, t))
            .collect();
        let (e, b) = ece_of(truth, &p, opts);
        (e, b, calibration::nll(&p, &truth.labels, 1.0))
    });
    Calibration {
        ece,
        bins,
        nll: calibration::nll(probabilities, &truth.labels, 1.0),
        temperature,
        val_cycles: val.map_or(0, |(l, _)| l.len()),
        scaled_ece: scaled.as_ref().map(|s| s.0),
        scaled_bins: scaled.as_ref().map(|s| s.1.clone()),
        scaled_nll: scaled.as_ref().map(|s| s.2),
    }
}

/// The whole evaluation of one run on its evaluation split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The checkpoint evaluated (`best`, `best_val`).
    pub checkpoint: String,
    /// Its epoch.
    pub epoch: usize,
    pub split: String,
    pub options: Options,
    pub overall: GroupMetrics,
    pub subgroups: Vec<Subgroup>,
    /// None when the split lacks normal or abnormal cycles.
    pub operating: Option<Operating>,
    pub calibration: Calibration,
}

/// The evaluation of several seeds of one experiment on the same cycles (a multi-seed run's
/// `summary.json`): each metric is the seed mean with the bootstrap interval of that mean (the
/// seeds' metrics averaged draw by draw) and the seed std.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedsEvaluation {
    pub checkpoint: String,
    pub split: String,
    pub seeds: usize,
    pub options: Options,
    pub overall: GroupMetrics,
    pub subgroups: Vec<Subgroup>,
}

/// Argmax class of each probability row.
pub fn predicted(probabilities: &[Vec<f64>]) -> Vec<usize> {
    probabilities
        .iter()
        .map(|p| calibration::argmax(p))
        .collect()
}

/// The measurements of [`Evaluation`] (its identifying fields left to the caller to fill).
pub struct Measured {
    pub overall: GroupMetrics,
    pub subgroups: Vec<Subgroup>,
    pub operating: Option<Operating>,
    pub calibration: Calibration,
}

/// Everything measured on one run's `probabilities` of `truth`'s cycles.
pub fn measure(
    truth: &Truth,
    probabilities: &[Vec<f64>],
    columns: &[(String, Vec<Option<String>>)],
    val: Option<(&[usize], &[Vec<f64>])>,
    opts: &Options,
) -> Measured {
    let pred = predicted(probabilities);
    let all: Vec<usize> = (0..pred.len()).collect();
    Measured {
        overall: group_metrics(truth, &[&pred], &all, opts),
        subgroups: subgroups(truth, &[&pred], columns, opts),
        operating: operating(truth, &abnormal_scores(probabilities, &truth.normal), opts),
        calibration: calibration(truth, probabilities, val, opts),
    }
}

/// Score of run B less run A, paired on the same patient draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub cycles: usize,
    pub patients: usize,
    /// Resamples used (those that kept both normal and abnormal cycles when the set has both).
    pub resamples: usize,
    pub score_a: Estimate,
    pub score_b: Estimate,
    /// Score(B) − Score(A).
    pub delta: Estimate,
    /// Share of resamples where B's Score is above A's.
    pub share_b_better: f64,
}

/// [`Comparison`] of runs `a` and `b` (each one or several seeds' predicted classes of the same
/// cycles of `truth`).
pub fn compare(truth: &Truth, a: &[&[usize]], b: &[&[usize]], opts: &Options) -> Comparison {
    let all: Vec<usize> = (0..truth.labels.len()).collect();
    let members = truth.members(&all);
    let score = |runs: &[&[usize]], idx: &[usize]| truth.mean_metrics(runs, idx)[2];
    let present = truth.classes_present(&all);
    let (mut ra, mut rb, mut rd) = (Vec::new(), Vec::new(), Vec::new());
    for d in bootstrap::draws(members.len(), opts.resamples, opts.seed) {
        let idx = bootstrap::expand(&d, &members);
        if truth.classes_present(&idx) != present {
            continue;
        }
        let (sa, sb) = (score(a, &idx), score(b, &idx));
        ra.push(sa);
        rb.push(sb);
        rd.push(sb - sa);
    }
    let (sa, sb) = (score(a, &all), score(b, &all));
    let better = rd.iter().filter(|&&d| d > 0.0).count();
    Comparison {
        cycles: all.len(),
        patients: members.len(),
        resamples: rd.len(),
        score_a: Estimate::of(sa, &ra, opts.level),
        score_b: Estimate::of(sb, &rb, opts.level),
        delta: Estimate::of(sb - sa, &rd, opts.level),
        share_b_better: if rd.is_empty() {
            0.0
        } else {
            better as f64 / rd.len() as f64
        },
    }
}
