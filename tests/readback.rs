//! No device → host read inside a training step: every read of the trainer goes through
//! `readback`, which counts, and a run's reads do not grow with its number of steps. (One test
//! function: the counter is per process, and tests of one binary run in parallel.)

mod common;

use auscult::train::experiment::{Experiment, MethodKind};
use auscult::train::readback;
use auscult::train::runtime::Runtime;
use auscult::train::seeds::train;

#[test]
fn reads_per_epoch_do_not_grow_with_the_step_count() {
    let (_db, cache) = common::synth_icbhi_cache(16, 5, 8000, 16, None);
    // Expected reads per epoch: the mean loss, each loss term, and one confusion matrix per
    // classifying pass (train, evaluation). A contrastive stage has no classifier.
    let cases = [
        (MethodKind::Ce, 2 * 3),
        (MethodKind::Hybrid, 2 * (3 + 2)),
        // scl: 2 epochs of (loss + 1 head term), then 1 linear-evaluation epoch of 3.
        (MethodKind::Scl, 2 * 2 + 3),
    ];
    for (method, expected) in cases {
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
            let before = readback::count();
            train(&exp, &Runtime::default(), cache.path(), out.path()).unwrap();
            reads.push(readback::count() - before);
        }
        assert_eq!(
            reads,
            [expected, expected],
            "{method}: reads at batch 4 and 16 (4x the steps) must be the same fixed number"
        );
    }
}
