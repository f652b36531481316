//! Unit tests of `auscult::report`.

mod markdown;
mod paper;
mod plots;
mod render;
