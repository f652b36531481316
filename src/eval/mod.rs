//! Scoring a classifier: confusion matrices and the ICBHI challenge's Sp, Se, Score.

pub mod metrics;
pub mod stats;
