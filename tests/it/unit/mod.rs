//! The library's unit tests, one file per source file (`tests/it/unit/<path>` tests `src/<path>`).

mod csv;
mod data;
mod eval;
mod infer;
mod model;
mod report;
mod rundir;
mod sweep;
mod tensor;
mod train;
