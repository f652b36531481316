//! Unit tests of `auscult::report::paper` (`src/report/paper.rs`).

use auscult::report::*;
use auscult::train::experiment::canonical_labels;
use std::path::Path;

#[test]
fn shipped_paper_results_parse() {
    let p = default_paper_results();
    for (k, r) in &p {
        assert!(!r.table.is_empty() && !r.row.is_empty(), "{k}");
    }
}

#[test]
fn shipped_paper_rows_have_distinct_signatures() {
    let p = default_paper_results();
    let rows: Vec<&PaperRow> = p.values().collect();
    for (i, a) in rows.iter().enumerate() {
        for b in &rows[i + 1..] {
            let same = a.dataset == b.dataset
                && a.method == b.method
                && a.init == b.init
                && a.labels.as_deref().map(canonical_labels)
                    == b.labels.as_deref().map(canonical_labels);
            assert!(!same, "{} and {} cannot be told apart", a.row, b.row);
        }
    }
}

#[test]
fn bad_paper_rows_name_the_key() {
    let err = parse_paper_results(
        "[x]\ntable = \"T\"\nrow = \"r\"\ndataset = \"icbhi\"\nmethod = \"ce\"\ninit = \"scratch\"\nsp = [1.0, 2.0, 3.0]\n",
        Path::new("p.toml"),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("p.toml") && err.to_string().contains("[x].sp"),
        "{err}"
    );
    assert!(parse_paper_results(
        "[x]\ntable = \"T\"\nrow = \"r\"\ndataset = \"icbhi\"\nmethod = \"ce\"\ninit = \"scratch\"\nbogus = 1\n",
        Path::new("p.toml")
    )
    .is_err());
    let err = parse_paper_results(
        "[x]\ntable = \"T\"\nrow = \"r\"\ndataset = \"icbhi\"\nmethod = \"ce\"\ninit = \"imagenet\"\n",
        Path::new("p.toml"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("[x].init"), "{err}");
}
