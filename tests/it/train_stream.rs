//! Streaming splits from the shards (splits larger than the memory budget): the same rows and
//! features as resident splits, bounded buffering, deterministic shuffles, training that learns,
//! and corrupt shards reported mid-run.

use crate::common;

use auscult::data::transforms::{SpecAugmentApply, Standardize};
use auscult::data::{CacheData, Placement, RunData, SplitData};
use auscult::jobs::train;
use auscult::train::experiment::{DataConfig, Experiment, MethodKind};
use auscult::train::runtime::{DataResidency, Runtime};
use candle_core::{Device, Tensor};
use common::{lines_without_timing, values};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const SHARD_ROWS: usize = 5;

/// A synthetic cache of 1 s, 32-mel clips in shards of `SHARD_ROWS` rows.
fn small_cache(recordings: usize, seed: u64) -> (tempfile::TempDir, tempfile::TempDir) {
    common::synth_icbhi_cache(recordings, seed, 16000, 32, Some(SHARD_ROWS))
}

fn train_split(cache: &CacheData, placement: Placement) -> SplitData {
    let rows = cache.rows_of("train");
    let mut v = cache
        .load_splits(&[("train", &rows)], &Device::Cpu, placement)
        .unwrap();
    v.remove(0)
}

/// (row indices, features) of one pass, concatenated over its batches.
fn collect(batches: auscult::data::Batches<'_>) -> (Vec<Vec<u32>>, Tensor, usize) {
    let mut batches = batches;
    let (mut idx, mut xs) = (Vec::new(), Vec::new());
    for b in batches.by_ref() {
        let b = b.unwrap();
        xs.push(b.x().unwrap());
        assert_eq!(b.targets().len(), b.idx.len());
        idx.push(b.idx.clone());
    }
    let peak = batches.peak_buffered_rows();
    (idx, Tensor::cat(&xs, 0).unwrap(), peak)
}

#[test]
fn streamed_passes_hold_the_resident_rows() {
    let (_db, dir) = small_cache(24, 2);
    let cache = CacheData::open(dir.path()).unwrap();
    let resident = train_split(&cache, Placement::Resident);
    let window = 2;
    let streamed = train_split(
        &cache,
        Placement::Streamed {
            prefetch: 1,
            window,
        },
    );
    assert!(resident.is_resident() && !streamed.is_resident());
    assert_eq!(resident.labels, streamed.labels);
    assert_eq!(resident.cycle_ids, streamed.cycle_ids);
    let n = resident.len();
    assert!(n > 4 * SHARD_ROWS, "need several shards, have {n} rows");

    // Ordered passes: the same rows, in row order, with identical features.
    let (ri, rx, _) = collect(resident.ordered(7, true).unwrap());
    let (si, sx, _) = collect(streamed.ordered(7, true).unwrap());
    assert_eq!(ri.concat(), (0..n as u32).collect::<Vec<_>>());
    assert_eq!(ri, si);
    assert_eq!(values::<f32>(&rx).unwrap(), values::<f32>(&sx).unwrap());

    // Training epochs: every row once, full batches but the last, features of the right rows,
    // and at most one window of shards (+ a partial batch) buffered.
    let batch = 8;
    let epoch = |seed: u64| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        collect(streamed.epoch(batch, &mut rng, true).unwrap())
    };
    let (idx, x, peak) = epoch(3);
    let flat = idx.concat();
    let mut sorted = flat.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..n as u32).collect::<Vec<_>>());
    assert!(idx[..idx.len() - 1].iter().all(|b| b.len() == batch));
    let ids = Tensor::from_slice(&flat, flat.len(), &Device::Cpu).unwrap();
    assert_eq!(
        values::<f32>(&x).unwrap(),
        values::<f32>(&rx.index_select(&ids, 0).unwrap()).unwrap()
    );
    assert!(
        peak < window * SHARD_ROWS + batch && peak < n,
        "buffered {peak} rows of {n}"
    );
    assert_ne!(
        flat,
        (0..n as u32).collect::<Vec<_>>(),
        "epochs are shuffled"
    );
    // The same seed gives the same epoch; another seed another one.
    assert_eq!(epoch(3).0, idx);
    assert_ne!(epoch(4).0, idx);
    // A feature-less pass (precomputed embeddings) reads no shard and refuses features.
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let first = streamed
        .epoch(batch, &mut rng, false)
        .unwrap()
        .next()
        .unwrap();
    assert!(first.unwrap().x().is_err());
}

#[test]
fn auto_residency_follows_the_memory_budget() {
    let (_db, dir) = small_cache(12, 5);
    let cache = CacheData::open(dir.path()).unwrap();
    let mut rt = Runtime::default();
    assert_eq!(rt.data_residency, DataResidency::Auto);
    let d = DataConfig::default();
    let load = |rt: &Runtime| RunData::load(&cache, &d, 0, rt, &Device::Cpu).unwrap();
    let data = load(&rt);
    assert!(data.train.is_resident() && data.eval.is_resident());
    rt.memory_budget_mib = 0;
    let data = load(&rt);
    assert!(!data.train.is_resident() && !data.eval.is_resident());
    rt.data_residency = DataResidency::Resident;
    assert!(load(&rt).train.is_resident());
}

fn stream_config(method: MethodKind, epochs: usize) -> Experiment {
    let mut e = Experiment {
        epochs,
        batch_size: 16,
        ..Experiment::of(method)
    };
    e.input.standardize = Standardize::TrainStats;
    e.input.specaugment.apply = SpecAugmentApply::Off;
    e.data.stream_window = 2;
    e
}

fn streamed() -> Runtime {
    Runtime {
        data_residency: DataResidency::Stream,
        ..Runtime::default()
    }
}

#[test]
fn streamed_ce_learns_and_is_deterministic() {
    let (_db, dir) = small_cache(60, 1);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cfg = stream_config(MethodKind::Ce, 6);
    let s = train(&cfg, &streamed(), dir.path(), a.path()).unwrap();
    let best = s.best_by_eval.unwrap();
    assert!(
        best.score.mean >= 0.8,
        "best test Score {}",
        best.score.mean
    );
    let mut short = cfg.clone();
    short.epochs = 2;
    // `a` holds the finished 6-epoch run: replaced on purpose.
    auscult::jobs::train_named(&short, &streamed(), None, dir.path(), a.path(), true).unwrap();
    train(&short, &streamed(), dir.path(), b.path()).unwrap();
    assert_eq!(
        lines_without_timing(&a.path().join("metrics.jsonl")),
        lines_without_timing(&b.path().join("metrics.jsonl"))
    );
    // Where it ran is recorded in the outputs, not in the experiment.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["runtime"]["data_residency"], "stream");
    assert_eq!(summary["placement"], "streamed");
    let config = std::fs::read_to_string(a.path().join("config.toml")).unwrap();
    assert!(!config.contains("residency"), "{config}");
}

#[test]
fn streamed_scl_runs_linear_evaluation() {
    let (_db, dir) = small_cache(16, 3);
    let out = tempfile::tempdir().unwrap();
    let mut cfg = stream_config(MethodKind::Scl, 1);
    cfg.set("linear_eval.epochs=2").unwrap();
    let s = train(&cfg, &streamed(), dir.path(), out.path()).unwrap();
    assert!(s.best_by_eval.is_some());
    let stages: Vec<String> = lines_without_timing(&out.path().join("metrics.jsonl"))
        .iter()
        .map(|l| l["stage"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stages, ["scl", "linear_eval", "linear_eval"]);
}

#[test]
fn a_shard_corrupted_mid_run_is_reported() {
    let (_db, dir) = small_cache(12, 7);
    let cache = CacheData::open(dir.path()).unwrap();
    let streamed = train_split(
        &cache,
        Placement::Streamed {
            prefetch: 1,
            window: 1,
        },
    );
    // Every shard is damaged after the split was opened (so whichever the pass reads first).
    for info in &cache.reader.manifest().shards {
        let shard = dir.path().join(&info.file);
        let mut bytes = std::fs::read(&shard).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&shard, bytes).unwrap();
    }
    let results: Vec<_> = streamed.ordered(4, true).unwrap().collect();
    let err = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("the corrupt shard is reported");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("shards/") && msg.contains("checksum") && msg.contains("train"),
        "message names the shard and the split: {msg}"
    );
    assert!(
        results.last().unwrap().is_err(),
        "the pass stops at the error"
    );
}
