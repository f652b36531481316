//! The trainer on real recordings: the 19-recording ICBHI mini database in ../shared/data (skipped
//! when absent) → cache → CE from a PANNs-format checkpoint, streamed from the shards. Short clips
//! (2 s) keep CNN6 cheap; the conv weights do not depend on the input size.

use crate::common;

use auscult::jobs::train;
use auscult::tensor::synthetic::max_abs_diff;
use auscult::train::experiment::{Experiment, MethodKind};
use auscult::train::runtime::{DataResidency, Runtime};
use auscult_pipeline::build::{build, BuildOptions, Dataset};
use candle_core::Device;
use common::{lines_without_timing, mini_database, shared_data};

#[test]
fn ce_from_audioset_format_weights_on_the_real_mini_database() {
    let (Some(icbhi), Some(panns)) = (mini_database(), shared_data("panns")) else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let mut o = BuildOptions::new(Dataset::Icbhi, &icbhi, cache.path());
    o.features.target_samples = 32000;
    o.shard_size = 32;
    let built = build(&o).unwrap();
    let weights = panns.join("Cnn6_format_fixture.safetensors");
    let cfg = Experiment {
        epochs: 1,
        batch_size: 32,
        lr: 1e-4,
        pretrained: Some(weights.clone()),
        ..Experiment::of(MethodKind::Ce)
    };
    let rt = Runtime {
        data_residency: DataResidency::Stream,
        ..Runtime::default()
    };
    let out = tempfile::tempdir().unwrap();
    let s = train(&cfg, &rt, cache.path(), out.path()).unwrap();
    assert!(s.best_by_eval.is_some());

    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("summary.json")).unwrap()).unwrap();
    let rows = |k: &str| summary[k].as_u64().unwrap() as usize;
    assert_eq!(rows("train_rows") + rows("eval_rows"), built.rows);
    assert!(rows("train_rows") > 0 && rows("eval_rows") > 0);
    let line = &lines_without_timing(&out.path().join("metrics.jsonl"))[0];
    assert!(line["train_loss"].as_f64().unwrap().is_finite(), "{line}");

    // The encoder started from the checkpoint: one epoch at lr 1e-4 moves each conv weight by
    // a few 1e-4 (Adam), far less than the distance to a fresh Xavier init.
    let ckpt = candle_core::safetensors::load(
        out.path().join("checkpoints/last.safetensors"),
        &Device::Cpu,
    )
    .unwrap();
    let init = candle_core::safetensors::load(&weights, &Device::Cpu).unwrap();
    for k in ["conv_block1.conv1.weight", "conv_block4.conv1.weight"] {
        let d = max_abs_diff(&ckpt[k], &init[k]);
        assert!(d < 5e-3, "{k} moved {d} from the checkpoint");
    }
}
