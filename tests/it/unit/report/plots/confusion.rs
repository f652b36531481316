//! Unit tests of `auscult::report::plots::confusion` (`src/report/plots/confusion.rs`).

use auscult::report::plots::confusion::*;
use plotters::style::RGBColor;

#[test]
fn blues_spans_white_to_dark_blue() {
    assert_eq!(blues(0.0), RGBColor(247, 251, 255));
    assert_eq!(blues(1.0), RGBColor(8, 48, 107));
    assert_eq!(blues(0.5), RGBColor(107, 174, 214));
    assert_eq!(blues(f64::NAN), blues(0.0));
    let mid = blues(0.6);
    assert!(mid.2 < 214 && mid.2 > 181, "{mid:?}");
}
