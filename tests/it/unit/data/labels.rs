//! Unit tests of `auscult::data::labels` (`src/data/labels.rs`).

use auscult::data::labels::*;
use auscult_cache::table::Column;
use auscult_cache::table::Table;

fn table() -> Table {
    let cols = vec![
        Column::new("label", vec![0i64, 1, 2, 0, 1]),
        Column::new(
            "sex",
            vec![Some("M"), Some("F"), None, Some("M"), Some("F")],
        ),
        Column::new(
            "age_group",
            vec![
                Some("adult"),
                Some("child"),
                Some("adult"),
                Some("child"),
                Some("child"),
            ],
        ),
    ];
    Table::new(5, cols).unwrap()
}

#[test]
fn specs_parse_and_print() {
    let s: LabelSpec = " sex + age_group ".parse().unwrap();
    assert_eq!(s.columns, vec!["sex", "age_group"]);
    assert_eq!(s.to_string(), "sex+age_group");
    assert!(LabelSpec::class().is_class());
    assert!(matches!(
        "sex+".parse::<LabelSpec>(),
        Err(LabelError::EmptyColumn(_))
    ));
    assert!(matches!(
        "sex+sex".parse::<LabelSpec>(),
        Err(LabelError::DuplicateColumn { .. })
    ));
}

#[test]
fn heads_parse() {
    let h = parse_heads("class:0.25, sex+age_group:0.75").unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(
        (h[0].labels.to_string(), h[0].weight),
        ("class".to_string(), 0.25)
    );
    assert_eq!(
        (h[1].labels.to_string(), h[1].weight),
        ("sex+age_group".to_string(), 0.75)
    );
    for bad in [
        "class",
        "class:x",
        "class:0",
        "class:1,class:2",
        "class:-1",
        ":1",
    ] {
        assert!(parse_heads(bad).is_err(), "{bad}");
    }
}

#[test]
fn labels_are_sorted_tuple_indices_with_nulls_invalid() {
    let t = table();
    let l = TableLabels::build(&t, &"sex+age_group".parse().unwrap()).unwrap();
    // Distinct non-null tuples, sorted: (F, child), (M, adult), (M, child).
    assert_eq!(
        l.values,
        vec![vec!["F", "child"], vec!["M", "adult"], vec!["M", "child"]]
    );
    assert_eq!(l.ids, vec![Some(1), Some(0), None, Some(2), Some(0)]);
    let s = l.for_rows(&[4, 2, 0]).unwrap();
    assert_eq!(s.ids, vec![0, 0, 1]);
    assert_eq!(s.valid, vec![true, false, true]);
    assert_eq!(s.missing(), 1);
    assert!(matches!(
        l.for_rows(&[5]),
        Err(LabelError::RowOutOfRange {
            cycle_id: 5,
            rows: 5
        })
    ));
    // `class` reads the label column: (adult,0) (child,1) (adult,2) (child,0) (child,1).
    let c = TableLabels::build(&t, &"age_group+class".parse().unwrap()).unwrap();
    assert_eq!(c.values.len(), 4);
    assert_eq!(c.ids[1], c.ids[4]);
    assert_eq!(c.ids.iter().flatten().count(), 5);
}

#[test]
fn unknown_column_names_the_available_ones() {
    let err = TableLabels::build(&table(), &"height".parse().unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no column `height`") && err.contains("sex, age_group"),
        "{err}"
    );
}
