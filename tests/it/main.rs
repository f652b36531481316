//! The root crate's integration tests: one test binary (`it`), one module per topic.

mod common;

mod cli;
mod clinical;
mod clobber;
mod demo;
mod embed;
mod experiment_cli;
mod gpu_check_rehearsal;
mod icbhi_real;
mod layout;
mod methods_e2e;
mod model_parity;
mod numerics_parity;
mod panns_loader;
mod pipeline_cli;
mod pipeline_verify;
mod plots;
mod predict;
mod protocols;
mod report;
mod resume;
mod slurm;
mod sweep;
mod train_ce;
mod train_real;
mod train_stream;
mod unit;
