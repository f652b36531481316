//! The cache crate's integration tests, one binary: files, integrity, labels, manifest, round trip.

mod common;
mod files;
mod integrity;
mod labels;
mod manifest;
mod roundtrip;
