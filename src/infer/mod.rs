//! Using a finished run: class probabilities for new recordings, encoder embeddings.

pub mod classify;
pub mod embed;
pub mod evaluate;
pub mod predict;
