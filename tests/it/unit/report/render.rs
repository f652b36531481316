//! Unit tests of `auscult::report::render` (`src/report/render.rs`).

use auscult::csv::field as csv_field;
use auscult::eval::stats::StdKind;
use auscult::report::*;

#[test]
fn cells_format_percentages() {
    assert_eq!(
        pct(&Stat {
            mean: 0.5392,
            std: 0.0071,
            n: 5,
            kind: StdKind::Population
        }),
        "53.92 ± 0.71"
    );
    assert_eq!(
        pct(&Stat {
            mean: 0.5,
            std: 0.0,
            n: 1,
            kind: StdKind::Population
        }),
        "50.00"
    );
    assert_eq!(paper_cell(&Some(vec![53.92, 0.71])), "53.92 ± 0.71");
    assert_eq!(paper_cell(&None), "–");
    assert_eq!(csv_field("a,b"), "\"a,b\"");
}
