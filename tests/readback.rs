//! No device → host read inside a training step: every read of the trainer goes through
//! `readback`, which counts, and a run's reads do not grow with its number of steps. (One test
//! function: the counter is per process, and tests of one binary run in parallel — so this test
//! is its own binary, not a module of tests/it, whose other tests train in the same process.)

#[path = "it/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::path::Path;

use auscult::jobs::train;
use auscult::tensor::readback;
use auscult::train::experiment::{Experiment, MethodKind};
use auscult::train::runtime::Runtime;

/// Checkpoints a run wrote, replayed from its `metrics.jsonl` by the trainer's rule: per stage,
/// `best` / `best_val` whenever the evaluation / validation score beats the stage's best so
/// far, `best_loss` whenever a stage without evaluation lowers its training loss, and `last`
/// once at the stage's end.
fn checkpoint_writes(run: &Path) -> u64 {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let mut stages: Vec<(String, f64, f64, f64)> = Vec::new();
    let mut writes = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let stage = v["stage"].as_str().unwrap().to_string();
        if stages.last().is_none_or(|s| s.0 != stage) {
            stages.push((stage, f64::NEG_INFINITY, f64::NEG_INFINITY, f64::INFINITY));
            writes += 1; // `last`
        }
        let (_, best, best_val, best_loss) = stages.last_mut().unwrap();
        match v["eval"]["score"].as_f64() {
            Some(score) => {
                if score > *best {
                    (*best, writes) = (score, writes + 1);
                }
                if let Some(val) = v["val"]["score"].as_f64() {
                    if val > *best_val {
                        (*best_val, writes) = (val, writes + 1);
                    }
                }
            }
            None => {
                let loss = v["train_loss"].as_f64().unwrap();
                if loss < *best_loss {
                    (*best_loss, writes) = (loss, writes + 1);
                }
            }
        }
    }
    writes
}

#[test]
fn reads_per_epoch_do_not_grow_with_the_step_count() {
    let (_db, cache) = common::synth_icbhi_cache(16, 5, 8000, 16, None);
    // Expected metric reads per run: per epoch the mean loss, each loss term, and one confusion
    // matrix per classifying pass (train, evaluation). A contrastive stage has no classifier.
    // Then the runs' epochs, and whether the run draws an embedding plot.
    let cases = [
        (MethodKind::Ce, 2 * 3, 2, false),
        (MethodKind::Hybrid, 2 * (3 + 2), 2, false),
        // scl: 2 epochs of (loss + 1 head term), then 1 linear-evaluation epoch of 3.
        (MethodKind::Scl, 2 * 2 + 3, 2 + 1, true),
    ];
    for (method, metric_reads, epochs, plot) in cases {
        let mut reads = Vec::new();
        for batch_size in [4, 16] {
            let mut exp = Experiment {
                epochs: 2,
                batch_size,
                ..Experiment::of(method)
            };
            if method.needs_linear_eval() {
                exp.set("linear_eval.epochs=1").unwrap();
            }
            let out = tempfile::tempdir().unwrap();
            let before = (readback::count(), readback::copies());
            train(&exp, &Runtime::default(), cache.path(), out.path()).unwrap();
            let (all, copies) = (readback::count() - before.0, readback::copies() - before.1);
            // Whole-tensor copies for files, one read per dtype (f32, and i64 for BatchNorm's
            // batch counters): the resumable state after every epoch (2), every checkpoint
            // written (2: encoder and projectors together), and the embedding plot's (1); then
            // the clinical evaluation's probabilities, one read per checkpoint it evaluates.
            let writes = checkpoint_writes(out.path());
            let evaluated = common::json(&out.path().join("summary.json"))["evaluation"]
                .as_array()
                .map_or(0, Vec::len) as u64;
            assert_eq!(evaluated, 1, "{method}: the best checkpoint is evaluated");
            let expected_copies = 2 * epochs + 2 * writes + u64::from(plot) + evaluated;
            eprintln!(
                "{method} batch {batch_size}: {} metric reads, {copies} copies ({writes} \
                 checkpoints written)",
                all - copies
            );
            reads.push((all - copies, copies, expected_copies));
        }
        for (batch_size, (metric, copies, expected_copies)) in [4, 16].into_iter().zip(reads) {
            assert_eq!(
                metric, metric_reads,
                "{method} at batch {batch_size}: metric reads must be the same fixed number at \
                 batch 4 and 16 (4x the steps)"
            );
            assert_eq!(
                copies, expected_copies,
                "{method} at batch {batch_size}: copies for files must be a fixed number per \
                 epoch and per checkpoint written, whatever the step count"
            );
        }
    }
}
