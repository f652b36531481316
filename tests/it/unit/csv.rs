//! Unit tests of `auscult::csv` (`src/csv.rs`).

#[test]
fn records_read_back_what_field_quotes() {
    let names = ["crackle", "a,b", "say \"hi\"", "two\nlines", ""];
    let line: Vec<String> = names.iter().map(|n| auscult::csv::field(n)).collect();
    let text = format!("h1,h2,h3,h4,h5\r\n{}\n", line.join(","));
    let recs = auscult::csv::records(&text).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1], names);
    assert_eq!(auscult::csv::records("a,b").unwrap(), [["a", "b"]]);
    let err = auscult::csv::records("a\n\"open,b\n").unwrap_err();
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn fields_with_separators_are_quoted() {
    assert_eq!(auscult::csv::field("crackle"), "crackle");
    assert_eq!(auscult::csv::field("a,b"), "\"a,b\"");
    assert_eq!(auscult::csv::field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(auscult::csv::field("two\nlines"), "\"two\nlines\"");
}
