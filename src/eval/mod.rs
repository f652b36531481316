//! Scoring a classifier: confusion matrices and the ICBHI challenge's Sp, Se, Score; and the
//! clinical view of per-cycle predictions: patient-level bootstrap intervals, subgroups,
//! operating points, calibration.

pub mod bootstrap;
pub mod calibration;
pub mod clinical;
pub mod metrics;
pub mod operating;
pub mod stats;
