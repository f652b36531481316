//! The representation-learning methods end to end on CPU: synth → build → train → (linear
//! evaluation) → summary. Inputs are tiny (16 mel bands × 16 frames, or 32 × 32 for the learning
//! test) so CNN6 stays cheap.

use crate::common;

use std::path::Path;

use auscult::jobs::{train, train_named};
use auscult::train::experiment::{Experiment, MethodKind};
use auscult::train::runtime::Runtime;
use auscult_cache::table::{read_table, string_column};
use common::{json, shared_icbhi_cache};
use serde_json::Value;

/// A cache of `recordings` synthetic recordings with `seconds`-long clips and `mels` bands
/// (shared by the tests asking for the same one).
fn cache(
    recordings: usize,
    seed: u64,
    seconds: f64,
    mels: usize,
) -> &'static (tempfile::TempDir, tempfile::TempDir) {
    shared_icbhi_cache(recordings, seed, (16000.0 * seconds) as usize, mels, None)
}

/// Few cheap epochs of `method`; mild SpecAugment sized for 16-frame inputs; `extra` TOML lines
/// (top-level fields first, then sections) complete the experiment.
fn tiny(method: MethodKind, epochs: usize, linear_epochs: usize, extra: &str) -> Experiment {
    common::tiny(
        method,
        epochs,
        linear_epochs,
        extra,
        "freq_mask_param = 4\ntime_mask_param = 4",
    )
}

/// Trains on CPU with the default runtime.
fn run(
    exp: &Experiment,
    cache: &Path,
    out: &Path,
) -> anyhow::Result<auscult::train::launch::MultiRunSummary> {
    train(exp, &Runtime::default(), cache, out)
}

/// `metrics.jsonl` lines without the timing fields.
fn epochs_of(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("seconds");
            o.remove("samples_per_s");
            v
        })
        .collect()
}

/// Training rows whose `column` is null, counted straight from metadata.parquet.
fn train_rows_missing(cache: &Path, column: &str) -> usize {
    let table = read_table(&cache.join("metadata.parquet")).unwrap();
    let split = string_column(&table, "split").unwrap();
    let values = string_column(&table, column).unwrap();
    split
        .iter()
        .zip(&values)
        .filter(|(s, v)| s.as_deref() == Some("train") && v.is_none())
        .count()
}

#[test]
fn scl_then_linear_evaluation_learns_the_synthetic_classes() {
    let (_db, cache) = cache(60, 1, 1.0, 32);
    let out = tempfile::tempdir().unwrap();
    // lr 3e-4 (not the paper's 1e-3 from scratch): with Adam the projections' norm grows fast
    // at 1e-3 and SupCon's angular updates shrink with it; a few epochs then barely help.
    let mut cfg = tiny(MethodKind::Scl, 2, 15, "lr = 3e-4");
    cfg.set("input.specaugment.apply=off").unwrap();
    let s = run(&cfg, cache.path(), out.path()).unwrap();
    let lines = epochs_of(out.path());
    let (scl, probe): (Vec<&Value>, Vec<&Value>) = lines.iter().partition(|l| l["stage"] == "scl");
    assert_eq!((scl.len(), probe.len()), (2, 15));
    // The contrastive stage trains no classifier: no evaluation until linear evaluation.
    assert!(scl.iter().all(|l| l["eval"].is_null()) && probe.iter().all(|l| l["eval"].is_object()));
    let loss = |i: usize| scl[i]["train_loss"].as_f64().unwrap();
    assert!(
        loss(1) < loss(0),
        "SupCon loss must fall: {} → {}",
        loss(0),
        loss(1)
    );
    let best = s.best_by_eval.unwrap();
    eprintln!(
        "scl: best test Score {:.4} (Se {:.4}, Sp {:.4})",
        best.score.mean, best.se.mean, best.sp.mean
    );
    assert!(
        best.score.mean >= 0.8,
        "best test Score after linear evaluation {}",
        best.score.mean
    );
}

#[test]
fn mscl_reports_per_head_losses_and_rows_without_metadata() {
    let (_db, cache) = cache(24, 3, 0.5, 16);
    let missing = train_rows_missing(cache.path(), "sex");
    assert!(
        missing > 0,
        "the synthetic database's all-NA patient should be in the training split"
    );
    let out = tempfile::tempdir().unwrap();
    let mut cfg = tiny(MethodKind::Mscl, 1, 1, "");
    cfg.set("mscl.heads=class:0.5,sex:0.5").unwrap();
    train_named(
        &cfg,
        &Runtime::default(),
        Some("my_mscl"),
        cache.path(),
        out.path(),
        false,
    )
    .unwrap();
    let s = json(&out.path().join("summary.json"));
    assert_eq!(s["method"], "mscl");
    assert_eq!(s["config_name"], "my_mscl");
    let terms = s["loss_terms_last_epoch"].as_object().unwrap();
    let (class, sex) = (
        terms["supcon[class]"].as_f64().unwrap(),
        terms["supcon[sex]"].as_f64().unwrap(),
    );
    assert!(class > 0.0 && sex > 0.0, "{terms:?}");
    // The total is the weighted sum of the heads (averaged over the same batches).
    let stage: Vec<Value> = epochs_of(out.path())
        .into_iter()
        .filter(|l| l["stage"] == "mscl")
        .collect();
    let total = stage[0]["train_loss"].as_f64().unwrap();
    assert!(
        (total - 0.5 * (class + sex)).abs() < 1e-4,
        "{total} vs 0.5·({class} + {sex})"
    );
    let heads = s["method_info"]["heads"].as_array().unwrap();
    assert_eq!(heads[0]["labels"], "class");
    assert_eq!(heads[1]["labels"], "sex");
    assert_eq!(
        heads[1]["train_rows_missing_label"].as_u64().unwrap() as usize,
        missing
    );
    assert_eq!(heads[1]["distinct_labels"], 2, "F and M");
    assert!(s["best_by_eval"]["eval"]["score"].is_number());
    // Checkpoints: the encoder under `_CNN6` names, the projectors beside it.
    let ck = out.path().join("checkpoints");
    let p = candle_core::safetensors::load(
        ck.join("pretrain_best_loss.projectors.safetensors"),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    assert_eq!(p["head1.linear2.weight"].dims(), [128, 512]);
    assert!(ck.join("last.safetensors").is_file() && ck.join("best.safetensors").is_file());
    assert!(ck.join("pretrain_last.projectors.safetensors").is_file());
    // Linear evaluation's checkpoints hold the encoder and linear head only: no projectors
    // file beside them that belongs to another encoder.
    assert!(!ck.join("last.projectors.safetensors").exists());
    assert!(!ck.join("best.projectors.safetensors").exists());
}

#[test]
fn scl_on_metadata_labels_counts_and_excludes_rows_without_them() {
    let (_db, cache) = cache(24, 3, 0.5, 16);
    let out = tempfile::tempdir().unwrap();
    // Per-batch min-max (official replication): linear evaluation embeds every batch anew.
    let mut cfg = tiny(MethodKind::Scl, 2, 1, "");
    cfg.set("scl.labels=sex+age_group").unwrap();
    cfg.set("scl.encoder_checkpoint=best-loss").unwrap();
    cfg.set("input.minmax=per-batch").unwrap();
    run(&cfg, cache.path(), out.path()).unwrap();
    let s = json(&out.path().join("summary.json"));
    let head = &s["method_info"]["heads"][0];
    assert_eq!(head["labels"], "sex+age_group");
    // sex and age_group are null together (the all-NA patient), so the counts agree.
    assert_eq!(
        head["train_rows_missing_label"].as_u64().unwrap() as usize,
        train_rows_missing(cache.path(), "sex")
    );
    assert!(head["distinct_labels"].as_u64().unwrap() <= 4);
    assert!(s["loss_terms_last_epoch"]["supcon[sex+age_group]"]
        .as_f64()
        .unwrap()
        .is_finite());
}

#[test]
fn simclr_and_mscl_are_deterministic_and_select_on_validation() {
    let (_db, cache) = cache(16, 5, 0.5, 16);
    for kind in [MethodKind::Simclr, MethodKind::Mscl] {
        let mut cfg = tiny(kind, 1, 1, "");
        cfg.set("data.val_fraction=0.3").unwrap();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for out in [a.path(), b.path()] {
            run(&cfg, cache.path(), out).unwrap();
        }
        let (la, lb) = (epochs_of(a.path()), epochs_of(b.path()));
        assert_eq!(
            la.len(),
            2,
            "one contrastive and one linear-evaluation epoch"
        );
        assert_eq!(la, lb, "{}", kind.name());
        // Linear evaluation is also scored on the held-out patients.
        assert!(la[1]["val"]["score"].is_number());
        assert!(json(&a.path().join("summary.json"))["best_by_val"]["val"]["score"].is_number());
    }
}

#[test]
fn hybrid_evaluates_every_epoch_and_reports_both_terms() {
    let (_db, cache) = cache(16, 5, 0.5, 16);
    let out = tempfile::tempdir().unwrap();
    let s = run(
        &tiny(MethodKind::Hybrid, 2, 1, ""),
        cache.path(),
        out.path(),
    )
    .unwrap();
    assert_eq!(s.method, "hybrid");
    let lines = epochs_of(out.path());
    assert_eq!(lines.len(), 2, "no linear-evaluation stage");
    let summary = json(&out.path().join("summary.json"));
    let train_rows = summary["train_rows"].as_u64().unwrap();
    for l in &lines {
        assert_eq!(l["stage"], "hybrid");
        assert!(l["eval"]["score"].is_number());
        let (sc, ce) = (
            l["loss_terms"]["supcon"].as_f64().unwrap(),
            l["loss_terms"]["ce"].as_f64().unwrap(),
        );
        let total = l["train_loss"].as_f64().unwrap();
        assert!(
            (total - (0.5 * sc + 0.5 * ce)).abs() < 1e-4,
            "{total} vs α·{sc} + (1−α)·{ce}"
        );
        // Training metrics count both views' predictions, as hybrid.py does.
        let m = &l["train"];
        assert_eq!(
            m["n_normal"].as_u64().unwrap() + m["n_abnormal"].as_u64().unwrap(),
            2 * train_rows
        );
    }
}

#[test]
fn bad_method_settings_are_errors_that_name_them() {
    let (_db, cache) = cache(16, 5, 0.5, 16);
    let out = tempfile::tempdir().unwrap();
    // A section of another method is refused before anything runs.
    let mut cfg = tiny(MethodKind::Ce, 1, 1, "");
    cfg.set("scl.labels=sex").unwrap();
    let err = format!("{:#}", run(&cfg, cache.path(), out.path()).unwrap_err());
    assert!(err.contains("[scl]") && err.contains("`ce`"), "{err}");
    let mut cfg = tiny(MethodKind::Scl, 1, 1, "");
    cfg.set("scl.labels=sex+height").unwrap();
    let err = format!("{:#}", run(&cfg, cache.path(), out.path()).unwrap_err());
    assert!(
        err.contains("no column `height`") && err.contains("age_group"),
        "{err}"
    );
    let mut cfg = tiny(MethodKind::Mscl, 1, 1, "");
    cfg.set("mscl.heads=class:0.5,sex").unwrap();
    let err = format!("{:#}", run(&cfg, cache.path(), out.path()).unwrap_err());
    assert!(err.contains("`sex` has no `:weight`"), "{err}");
}
