//! The library's unit tests, one module per source file (`src/features/mel.rs` →
//! `unit/features/mel.rs`): here rather than in `#[cfg(test)]` modules so the library is compiled
//! once (`test = false`).

mod audio;
mod features;
mod icbhi;
mod resample;
mod sprsound;
