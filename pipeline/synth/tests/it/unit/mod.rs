//! The library's unit tests, one module per source file (`src/icbhi_plan.rs` →
//! `unit/icbhi_plan.rs`): here rather than in `#[cfg(test)]` modules so the library is compiled
//! once (`test = false`).

mod fsio;
mod icbhi;
mod icbhi_corpus;
mod icbhi_plan;
mod signals;
mod sprsound;
mod wav;
