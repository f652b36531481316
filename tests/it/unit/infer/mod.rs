//! Unit tests of `auscult::infer`.

mod classify;
