//! Unit tests of `auscult::eval`.

mod bootstrap;
mod calibration;
mod clinical;
mod metrics;
mod operating;
mod stats;
