//! Unit tests of `auscult::model`.

mod cnn6;
mod conv;
mod projector;
