//! Normal vs abnormal as a binary decision on a score (the abnormal score of a cycle is one minus
//! the probability of its normal classes): the ROC curve, its area, and operating points.
//!
//! A cycle is called abnormal when its score is ≥ the threshold `t`. Here Se and Sp are the
//! binary ones — Se = abnormal cycles called abnormal / abnormal cycles, Sp = normal cycles
//! called normal / normal cycles — not the challenge's exact-class Se.
//!
//! AUROC is the Mann–Whitney statistic: the probability that a random abnormal cycle scores
//! above a random normal one, ties counting one half, computed from mid-ranks:
//! `AUROC = (R₊ − n₊(n₊+1)/2) / (n₊·n₋)` with `R₊` the sum of the abnormal cycles' ranks.

/// One point of the ROC curve: call abnormal every score ≥ `threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RocPoint {
    pub threshold: f64,
    /// Binary sensitivity at the threshold.
    pub se: f64,
    /// Binary specificity at the threshold.
    pub sp: f64,
}

/// AUROC of `scores` with `positive` (abnormal) flags; None without a positive or a negative.
pub fn auroc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let mid = (i + j + 2) as f64 / 2.0;
        rank_sum += mid * order[i..=j].iter().filter(|&&k| positive[k]).count() as f64;
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// The ROC curve: one point per distinct score (descending thresholds), after the point whose
/// threshold is the next float above the largest score (nothing called abnormal: Se 0, Sp 1).
/// Empty without a positive or a negative.
pub fn roc(scores: &[f64], positive: &[bool]) -> Vec<RocPoint> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut points = vec![RocPoint {
        threshold: scores[order[0]].next_up(),
        se: 0.0,
        sp: 1.0,
    }];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < order.len() {
        let t = scores[order[i]];
        while i < order.len() && scores[order[i]] == t {
            if positive[order[i]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        points.push(RocPoint {
            threshold: t,
            se: tp as f64 / n_pos as f64,
            sp: 1.0 - fp as f64 / n_neg as f64,
        });
    }
    points
}

/// What an operating point holds fixed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// The highest Se among thresholds with Sp ≥ the value.
    SeAtSp(f64),
    /// The highest Sp among thresholds with Se ≥ the value.
    SpAtSe(f64),
}

impl Target {
    /// `se_at_sp_0.90`, `sp_at_se_0.90`.
    pub fn name(&self) -> String {
        match self {
            Target::SeAtSp(v) => format!("se_at_sp_{v:.2}"),
            Target::SpAtSe(v) => format!("sp_at_se_{v:.2}"),
        }
    }
}

/// The point of `curve` meeting `target` (ties: the higher threshold, i.e. the first met);
/// None when no point meets it or the curve is empty. The first point (nothing called abnormal)
/// never qualifies for `SpAtSe` with a positive target, and for `SeAtSp` only when no threshold
/// at a score reaches the specificity.
pub fn operating_point(curve: &[RocPoint], target: Target) -> Option<RocPoint> {
    let mut best: Option<RocPoint> = None;
    for p in curve {
        let (ok, value) = match target {
            Target::SeAtSp(s) => (p.sp >= s, p.se),
            Target::SpAtSe(s) => (p.se >= s, p.sp),
        };
        let better = |b: &RocPoint| match target {
            Target::SeAtSp(_) => value > b.se,
            Target::SpAtSe(_) => value > b.sp,
        };
        if ok && best.as_ref().is_none_or(better) {
            best = Some(*p);
        }
    }
    best
}
