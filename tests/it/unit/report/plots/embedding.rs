//! Unit tests of `auscult::report::plots::embedding` (`src/report/plots/embedding.rs`).

use auscult::report::plots::*;

#[test]
fn categories_merge_the_rare_labels() {
    let labels: Vec<String> = ["a", "b", "b", "c", "c", "c", "d"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let c = categories(&labels, 3);
    let names: Vec<(&str, usize)> = c.iter().map(|x| (x.0.as_str(), x.1)).collect();
    assert_eq!(names, [("c", 3), ("b", 2), ("other (2 labels)", 2)]);
    assert_eq!(categories(&labels, 12).len(), 4);
    // At most one category per palette colour: none shares another's colour.
    let many: Vec<String> = (0..30).map(|i| format!("g{}", i % 15)).collect();
    let c = categories(&many, EMB_MAX_CATEGORIES);
    assert_eq!(c.len(), EMB_MAX_CATEGORIES);
    let colours: std::collections::BTreeSet<(u8, u8, u8)> =
        c.iter().map(|x| (x.2 .0, x.2 .1, x.2 .2)).collect();
    assert_eq!(colours.len(), c.len());
}
