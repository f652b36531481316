//! Unit tests of `auscult::rundir`.

mod existing;
mod lock;
mod schema;
