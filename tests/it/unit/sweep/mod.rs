//! Unit tests of `auscult::sweep`.

mod requeue;
mod slurm_args;
