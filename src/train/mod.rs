//! The trainer: CNN6 over cached log-mels, losses, optimiser, metrics, the training loop.

pub mod cnn6;
pub mod config;
pub mod conv;
pub mod data;
pub mod labels;
pub mod losses;
pub mod methods;
pub mod metrics;
pub mod optim;
pub mod panns;
pub mod report;
pub mod run;
pub mod schedule;
pub mod transforms;
