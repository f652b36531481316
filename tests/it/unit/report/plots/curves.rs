//! Unit tests of `auscult::report::plots::curves` (`src/report/plots/curves.rs`).

use auscult::report::plots::curves::*;

#[test]
fn tick_labels_share_one_number_of_decimals() {
    let unit = tick_formatter(-0.02, 1.02, 11);
    assert_eq!([0.5, 1.0, -1e-12].map(|v| unit(&v)), ["0.5", "1.0", "0.0"]);
    let loss = tick_formatter(0.3, 2.1, 8);
    assert_eq!([0.5, 2.0].map(|v| loss(&v)), ["0.5", "2.0"]);
    let small = tick_formatter(0.011, 0.014, 8);
    assert_eq!(small(&0.0125), "0.0125");
    let big = tick_formatter(0.0, 2e6, 8);
    assert_eq!(big(&1e6), "1.00e6");
    let epochs = tick_formatter(0.0, 400.0, 8);
    assert_eq!(epochs(&350.0), "350");
}
