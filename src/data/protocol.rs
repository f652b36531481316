//! Evaluation protocols: which cache rows a run trains on and which it is evaluated on.
//!
//! - `official` (default): the cache's train split, evaluated on its evaluation split, the epoch
//!   with the best evaluation Score reported (the paper's protocol, and every public codebase's).
//! - `val`: as `official`, with a patient-disjoint validation split carved from train
//!   (`val_fraction`, 0.2 unless set) that chooses the epoch (`best_by_val`).
//! - `leakage-free`: the evaluation split without the rows of patients who also have rows in the
//!   train split (ICBHI's official split file puts patients 156 and 218 on both sides), computed
//!   from the data, never from a list.
//! - `kfold:K`: every row with a patient, in K patient-wise folds; fold `data.fold` is evaluated
//!   and the others train. `auscult train` runs all K folds (`fold_<f>/`) and reports mean ± std
//!   over them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// An evaluation protocol (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Official,
    Val,
    LeakageFree,
    KFold(usize),
}

impl Protocol {
    /// The validation fraction a `val` run uses when none is set.
    pub const DEFAULT_VAL_FRACTION: f64 = 0.2;
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Official => f.write_str("official"),
            Protocol::Val => f.write_str("val"),
            Protocol::LeakageFree => f.write_str("leakage-free"),
            Protocol::KFold(k) => write!(f, "kfold:{k}"),
        }
    }
}

impl FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "official" => Ok(Protocol::Official),
            "val" => Ok(Protocol::Val),
            "leakage-free" => Ok(Protocol::LeakageFree),
            _ => match s.strip_prefix("kfold:").map(str::parse::<usize>) {
                Some(Ok(k)) if k >= 2 => Ok(Protocol::KFold(k)),
                _ => Err(format!(
                    "protocol `{s}`: expected official, val, leakage-free or kfold:K (K ≥ 2)"
                )),
            },
        }
    }
}

impl serde::Serialize for Protocol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Protocol {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Rows of the evaluation split whose patient has no row in the train split, and the patients
/// dropped (those on both sides). `split_of[r]` / `patient_of[r]` describe cache row `r`; rows
/// without a patient are kept.
pub fn leakage_free(
    split_of: &[String],
    patient_of: &[Option<String>],
    train_split: &str,
    eval_rows: &[usize],
) -> (Vec<usize>, BTreeSet<String>) {
    let in_train: BTreeSet<&str> = (0..split_of.len())
        .filter(|&r| split_of[r] == train_split)
        .filter_map(|r| patient_of[r].as_deref())
        .collect();
    let mut dropped = BTreeSet::new();
    let kept = eval_rows
        .iter()
        .copied()
        .filter(|&r| match patient_of[r].as_deref() {
            Some(p) if in_train.contains(p) => {
                dropped.insert(p.to_string());
                false
            }
            _ => true,
        })
        .collect();
    (kept, dropped)
}

/// (train rows, evaluation rows) of fold `fold` of `k` patient-wise folds over every row with a
/// patient: patients sorted, shuffled with `fold_seed`, dealt round-robin into folds.
pub fn kfold(
    patient_of: &[Option<String>],
    k: usize,
    fold: usize,
    fold_seed: u64,
) -> Result<(Vec<usize>, Vec<usize>), String> {
    if fold >= k {
        return Err(format!("fold {fold} of kfold:{k} (folds are 0..{})", k - 1));
    }
    let mut rows_of: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (r, p) in patient_of.iter().enumerate() {
        if let Some(p) = p.as_deref() {
            rows_of.entry(p).or_default().push(r);
        }
    }
    if rows_of.len() < k {
        return Err(format!(
            "kfold:{k} needs at least {k} patients; the cache has {}",
            rows_of.len()
        ));
    }
    let mut patients: Vec<&str> = rows_of.keys().copied().collect();
    patients.shuffle(&mut ChaCha8Rng::seed_from_u64(fold_seed));
    let (mut train, mut eval) = (Vec::new(), Vec::new());
    for (i, p) in patients.iter().enumerate() {
        let dest = if i % k == fold { &mut eval } else { &mut train };
        dest.extend(&rows_of[p]);
    }
    train.sort_unstable();
    eval.sort_unstable();
    Ok((train, eval))
}
