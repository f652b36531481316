//! The pipeline's tests (its `auscult_pipeline`/`auscult_cache` API; the tests that run the
//! `auscult` CLI live in the root crate's tests/it): one test binary, one module per topic, and
//! the library's unit tests (`unit`, one module per source file).

/// Where the real-data tests find `../shared/data` (shared with the root crate's tests).
#[path = "../../../tests/it/common/shared.rs"]
mod shared;
mod support;

mod bad_input;
mod features_parity;
mod icbhi;
mod sprsound;
mod sprsound_real;
mod unit;
