//! Unit tests of `auscult::tensor`.

mod readback;
