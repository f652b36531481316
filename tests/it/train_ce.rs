//! CE trainer end to end on CPU: synth → build → train, learning and determinism.
//! Small inputs (1 s clips, 32 mel bands) keep CNN6 cheap enough for a test.

use crate::common;

use auscult::data::transforms::{SpecAugmentApply, Standardize};
use auscult::jobs::train;
use auscult::train::experiment::{Experiment, MethodKind};
use auscult::train::runtime::Runtime;
use common::{lines_without_timing, shared_icbhi_cache};

/// A cache of 1 s, 32-mel clips (shared by the tests asking for the same one).
fn small_cache(recordings: usize, seed: u64) -> &'static (tempfile::TempDir, tempfile::TempDir) {
    shared_icbhi_cache(recordings, seed, 16000, 32, None)
}

fn small_config(epochs: usize) -> Experiment {
    let mut e = Experiment {
        epochs,
        batch_size: 16,
        ..Experiment::of(MethodKind::Ce)
    };
    e.input.standardize = Standardize::TrainStats;
    e.input.specaugment.apply = SpecAugmentApply::Off;
    e
}

#[test]
fn same_seed_gives_identical_metrics() {
    let (_db, cache) = small_cache(16, 4);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut cfg = small_config(2);
    cfg.input.specaugment.apply = SpecAugmentApply::Always;
    cfg.input.specaugment.time_mask_param = 8;
    cfg.input.specaugment.freq_mask_param = 4;
    cfg.data.val_fraction = 0.3;
    for out in [a.path(), b.path()] {
        train(&cfg, &Runtime::default(), cache.path(), out).unwrap();
    }
    let (la, lb) = (
        lines_without_timing(&a.path().join("metrics.jsonl")),
        lines_without_timing(&b.path().join("metrics.jsonl")),
    );
    assert_eq!(la.len(), 2);
    assert_eq!(la, lb);
    // Checkpoints carry the official `_CNN6` key names.
    let ck = candle_core::safetensors::load(
        a.path().join("checkpoints/last.safetensors"),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    for k in [
        "conv_block1.conv1.weight",
        "conv_block4.bn1.running_var",
        "conv_block2.bn1.num_batches_tracked",
        "linear.weight",
    ] {
        assert!(ck.contains_key(k), "{k} missing");
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.path().join("summary.json")).unwrap()).unwrap();
    assert!(summary["best_by_eval"]["epoch"].as_u64().is_some());
    // Patient-disjoint validation selects an epoch too, reported beside the test-selected one.
    assert!(
        summary["best_by_val"]["val"]["score"].as_f64().is_some(),
        "{summary}"
    );
    assert!(summary["val_rows"].as_u64().unwrap() > 0);
    // Measured train stats are outputs (summary, transform.json), never part of the experiment.
    let std = summary["input_stats"]["std"].as_f64().unwrap();
    assert!(std > 0.0 && std.is_finite(), "{summary}");
    let transform = std::fs::read_to_string(a.path().join("transform.json")).unwrap();
    assert!(transform.contains("\"std\""), "{transform}");
    let config = std::fs::read_to_string(a.path().join("config.toml")).unwrap();
    assert!(
        config.contains("standardize = \"train-stats\"") && !config.contains("std ="),
        "{config}"
    );
}

#[test]
fn ce_learns_the_synthetic_classes() {
    let (_db, cache) = small_cache(60, 1);
    let out = tempfile::tempdir().unwrap();
    let cfg = small_config(6);
    let s = train(&cfg, &Runtime::default(), cache.path(), out.path()).unwrap();
    let lines = lines_without_timing(&out.path().join("metrics.jsonl"));
    let loss = |i: usize| lines[i]["train_loss"].as_f64().unwrap();
    assert!(
        loss(lines.len() - 1) < 0.8 * loss(0),
        "training loss must fall: {} → {}",
        loss(0),
        loss(lines.len() - 1)
    );
    let best = s.best_by_eval.unwrap();
    // The paper's protocol (best test epoch); chance (all normal) scores 0.5.
    assert!(
        best.score.mean >= 0.8,
        "best test Score {}",
        best.score.mean
    );
}

#[test]
fn a_diverging_run_stops_with_a_clear_error() {
    let (_db, cache) = small_cache(12, 9);
    let out = tempfile::tempdir().unwrap();
    let mut cfg = small_config(3);
    cfg.batch_size = 4;
    cfg.lr = 1e38;
    let err = train(&cfg, &Runtime::default(), cache.path(), out.path())
        .expect_err("an lr of 1e38 overflows f32");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("diverged") && msg.contains("ce epoch"),
        "message names the stage, epoch and cause: {msg}"
    );
}
