//! Training: what a run is asked to do, where it runs, and the one loop.
//!
//! Reading order for a newcomer: [`experiment`] (what a run is asked to do) → [`launch`] (the
//! entry point: seeds of one experiment) → [`run`] (one seed: model, method, stages) → [`fit`]
//! (the loop) → [`methods`] (a loss plus heads) and [`crate::data`] (batches from the cache).

pub mod device_check;
pub mod experiment;
pub mod fit;
pub mod interrupt;
pub mod launch;
pub mod losses;
pub mod methods;
pub mod observer;
pub mod optim;
pub mod resume;
pub mod run;
pub mod runtime;
pub mod schedule;
