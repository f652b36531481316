//! auscult-synth's tests, one binary: the library's unit tests (`unit`, one module per source
//! file).

mod unit;
