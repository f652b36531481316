//! The cache crate's tests, one binary: files, integrity, labels, legacy tables, manifest, round
//! trip, and the library's unit tests (`unit`, one module per source file).

mod common;
mod files;
mod integrity;
mod labels;
mod legacy_table;
mod manifest;
mod roundtrip;
mod unit;
