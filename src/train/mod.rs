//! The trainer: CNN6 over cached log-mels, losses, optimiser, metrics, the training loop.

pub mod cnn6;
pub mod conv;
pub mod losses;
pub mod metrics;
pub mod optim;
pub mod panns;
pub mod schedule;
pub mod transforms;
