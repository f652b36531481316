//! Unit tests of `auscult::train`.

mod device_check;
mod experiment;
mod losses;
mod optim;
mod runtime;
mod schedule;
