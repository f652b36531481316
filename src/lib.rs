//! auscult: respiratory-sound representation learning. The binary's CLI sits on top of this
//! library. One folder per concern, the arrows pointing one way:
//!
//! ```text
//! tensor ◀── model ◀── train ──▶ rundir ◀── report
//!    ▲          ▲        │  ▲        ▲   ▲
//!    └── data ◀─┼────────┘  └ sweep  │   └ infer ──▶ model, data, report
//!         eval ◀┘ (scores, used by train, infer and report)
//! ```
//!
//! - [`tensor`]: host ↔ device reads and deterministic synthetic tensors.
//! - [`model`]: CNN6 and its conv kernels, the projector, AudioSet (PANNs) import.
//! - [`data`]: the cache opened for training: splits, protocols, labels, input transforms.
//! - [`eval`]: confusion matrices and the challenge's scores; the clinical math (patient
//!   bootstrap, operating points, calibration, subgroups) as pure functions.
//! - [`train`]: experiments, the runtime, the one loop, methods, losses, optimiser, resume.
//! - [`rundir`]: the run folder's files.
//! - [`report`]: tables beside the paper's numbers, report.md, plots.
//! - [`infer`]: predict, embed and evaluate (the clinical evaluation's inference pass) with a
//!   finished run; `evaluate` turns its predictions into an evaluation through [`report`].
//! - [`sweep`]: grids of experiments × seeds, locally or on Slurm.
//! - [`jobs`] and [`demo`]: whole jobs (training, then its evaluation and plots; the demo's
//!   training and report), called by the command line.

pub mod csv;
pub mod data;
pub mod demo;
pub mod eval;
pub mod infer;
pub mod jobs;
pub mod model;
pub mod report;
pub mod rundir;
pub mod sweep;
pub mod tensor;
pub mod train;

/// An error and its causes on one line, `outer: inner: …`, each cause said once: a layer whose
/// text already ends with the next one's (`path: No space left on device (os error 28)` over
/// the OS error itself) does not repeat it.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|p| p.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}
