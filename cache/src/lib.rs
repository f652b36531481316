//! auscult cache format.
