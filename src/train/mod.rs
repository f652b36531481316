//! The trainer: CNN6 over cached log-mels, methods (a loss plus heads), the one training loop.
//!
//! Reading order for a newcomer: [`experiment`] (what a run is asked to do) → [`seeds`] (the
//! entry point: seeds of one experiment) → [`run`] (one seed: model, method, stages) → [`fit`]
//! (the loop) → [`methods`] (the losses) and [`data`] (batches from the cache).

pub mod cnn6;
pub mod conv;
pub mod data;
pub mod embed;
pub mod experiment;
pub mod fit;
pub mod labels;
pub mod losses;
pub mod methods;
pub mod metrics;
pub mod optim;
pub mod panns;
pub mod parity;
pub mod plots;
pub mod predict;
pub mod readback;
pub mod report;
pub mod resume;
pub mod run;
pub mod run_dir;
pub mod runtime;
pub mod schedule;
pub mod seeds;
#[doc(hidden)]
pub mod test_support;
pub mod transforms;
