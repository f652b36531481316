//! The library's unit tests, one module per source file (`src/atomic.rs` → `unit/atomic.rs`):
//! here rather than in `#[cfg(test)]` modules so the library is compiled once (`test = false`).

mod atomic;
mod clear;
mod manifest;
mod table;
