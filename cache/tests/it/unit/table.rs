//! Unit tests of `src/table.rs`.

use auscult_cache::table::*;
use auscult_cache::CacheError;

fn sample() -> Table {
    Table::new(
        3,
        vec![
            Column::new("split", vec!["train", "test", "train"]),
            Column::new("label", vec![0i64, 3, 1]),
            Column::new("age", vec![Some(1.5f64), None, Some(70.0)]),
            Column::new("year", vec![2022i32, 2022, 2023]),
            Column::new("crackles", vec![Some(true), Some(false), None]),
            Column::new("sex", vec![Some("F".to_string()), None, Some("M".into())]),
        ],
    )
    .unwrap()
}

#[test]
fn table_round_trips_and_columns_cast() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metadata.parquet");
    write_table(&path, &sample()).unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["metadata.parquet"], "no temporary file is left");
    let df = read_table(&path).unwrap();
    assert_eq!(df, sample());
    assert_eq!(
        string_column(&df, "split").unwrap(),
        [
            Some("train".into()),
            Some("test".into()),
            Some("train".into())
        ]
    );
    assert_eq!(
        string_column(&df, "label").unwrap(),
        [Some("0".into()), Some("3".into()), Some("1".into())]
    );
    assert_eq!(
        string_column(&df, "age").unwrap(),
        [Some("1.5".into()), None, Some("70.0".into())]
    );
    assert_eq!(
        string_column(&df, "crackles").unwrap(),
        [Some("true".into()), Some("false".into()), None]
    );
    assert_eq!(
        f64_column(&df, "age").unwrap(),
        [Some(1.5), None, Some(70.0)]
    );
    assert_eq!(f64_column(&df, "label").unwrap()[1], Some(3.0));
    assert_eq!(f64_column(&df, "year").unwrap()[2], Some(2023.0));
    assert_eq!(f64_column(&df, "split").unwrap(), [None, None, None]);
    assert!(string_column(&df, "nope").is_none());
    assert!(f64_column(&df, "nope").is_none());
    // The same table gives the same bytes.
    let again = dir.path().join("again.parquet");
    write_table(&again, &sample()).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&again).unwrap()
    );
}

#[test]
fn tables_of_mismatched_columns_are_refused() {
    let e = Table::new(2, vec![Column::new("a", vec![1i64])]).unwrap_err();
    assert!(e.contains("column a has 1 values"), "{e}");
    let e = Table::new(
        1,
        vec![Column::new("a", vec![1i64]), Column::new("a", vec![2i64])],
    )
    .unwrap_err();
    assert!(e.contains("given twice"), "{e}");
}

#[test]
fn read_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("metadata.parquet");
    assert!(matches!(
        read_table(&missing),
        Err(CacheError::Missing { path }) if path == missing
    ));
    let garbage = dir.path().join("garbage.parquet");
    std::fs::write(&garbage, b"not parquet at all").unwrap();
    let err = read_table(&garbage).unwrap_err();
    assert!(matches!(&err, CacheError::Table { path, .. } if *path == garbage));
    assert!(err.to_string().contains("garbage.parquet"), "{err}");
}
