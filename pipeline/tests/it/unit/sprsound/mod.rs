//! Unit tests of `src/sprsound/` (`scan.rs`: the scanner on generated folders).

mod json;
mod labels;
mod layout;
mod names;
mod scan;
