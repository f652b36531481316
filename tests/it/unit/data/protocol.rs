//! Unit tests of `auscult::data::protocol` (`src/data/protocol.rs`).

use auscult::data::protocol::*;
use std::collections::BTreeSet;

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
