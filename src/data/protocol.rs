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

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> (Vec<String>, Vec<Option<String>>) {
        // Patients a, b train; b, c test (b on both sides); d test without... a null patient.
        let split = ["train", "train", "train", "test", "test", "test", "test"];
        let patient = [
            Some("a"),
            Some("b"),
            Some("a"),
            Some("b"),
            Some("c"),
            None,
            Some("b"),
        ];
        (
            split.iter().map(|s| s.to_string()).collect(),
            patient.iter().map(|p| p.map(str::to_string)).collect(),
        )
    }

    #[test]
    fn leakage_free_drops_the_test_rows_of_patients_seen_in_train() {
        let (s, p) = table();
        let eval: Vec<usize> = (3..7).collect();
        let (kept, dropped) = leakage_free(&s, &p, "train", &eval);
        assert_eq!(kept, vec![4, 5]);
        assert_eq!(dropped.into_iter().collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn kfold_folds_are_patient_disjoint_and_cover_every_patient_row_once() {
        let p: Vec<Option<String>> = (0..40)
            .map(|i| (i % 13 != 0).then(|| format!("p{}", i % 9)))
            .collect();
        let mut seen = vec![0; p.len()];
        for f in 0..3 {
            let (train, eval) = kfold(&p, 3, f, 7).unwrap();
            let pe: BTreeSet<_> = eval.iter().map(|&r| p[r].clone()).collect();
            let pt: BTreeSet<_> = train.iter().map(|&r| p[r].clone()).collect();
            assert!(pe.is_disjoint(&pt), "fold {f}");
            assert_eq!(train.len() + eval.len(), p.iter().flatten().count());
            for r in eval {
                seen[r] += 1;
            }
        }
        for (r, n) in seen.iter().enumerate() {
            assert_eq!(*n, usize::from(p[r].is_some()), "row {r}");
        }
        // Same seed, same folds; another seed, other folds.
        assert_eq!(kfold(&p, 3, 1, 7), kfold(&p, 3, 1, 7));
        assert_ne!(kfold(&p, 3, 1, 7), kfold(&p, 3, 1, 8));
        assert!(kfold(&p, 3, 3, 7).is_err());
        assert!(kfold(&p, 10, 0, 7)
            .unwrap_err()
            .contains("at least 10 patients"));
    }

    #[test]
    fn protocols_parse_and_print() {
        for s in ["official", "val", "leakage-free", "kfold:5"] {
            assert_eq!(s.parse::<Protocol>().unwrap().to_string(), s);
        }
        for bad in ["kfold:1", "kfold:x", "test"] {
            assert!(bad.parse::<Protocol>().is_err(), "{bad}");
        }
    }
}
