//! Unit tests of `auscult::data`.

mod labels;
mod protocol;
mod transforms;
