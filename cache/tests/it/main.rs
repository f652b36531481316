//! The cache crate's integration tests, one binary: files, integrity, labels, legacy tables,
//! manifest, round trip.

mod common;
mod files;
mod integrity;
mod labels;
mod legacy_table;
mod manifest;
mod roundtrip;
