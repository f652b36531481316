//! Metadata tables written by earlier auscult versions, through Polars 0.55 (Arrow string views,
//! all columns optional): the fixtures are the `metadata.parquet` of `pipeline build
//! --metadata-only` on `pipeline synth --recordings 6 --seed 3` databases (ICBHI and SPRSound
//! layouts). They must read with every column, type and null, and write back unchanged.

use std::collections::BTreeMap;
use std::path::PathBuf;

use auscult_cache::table::{f64_column, read_table, string_column, write_table, Values};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn counts(values: Vec<Option<String>>) -> BTreeMap<String, usize> {
    let mut c = BTreeMap::new();
    for v in values {
        *c.entry(v.unwrap_or_else(|| "(null)".into())).or_default() += 1;
    }
    c
}

fn map(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn polars_written_icbhi_table_reads_whole() {
    let t = read_table(&fixture("icbhi-polars-0.55.parquet")).unwrap();
    assert_eq!(t.height(), 36);
    assert_eq!(t.column_names().len(), 29);
    assert_eq!(t.column_names()[..3], ["cycle_id", "dataset", "recording"]);
    let kind = |n: &str| std::mem::discriminant(&t.column(n).unwrap().values);
    assert_eq!(
        kind("patient_id"),
        std::mem::discriminant(&Values::I64(vec![]))
    );
    assert_eq!(
        kind("crackles"),
        std::mem::discriminant(&Values::Bool(vec![]))
    );
    assert_eq!(kind("age"), std::mem::discriminant(&Values::F64(vec![])));
    assert_eq!(kind("device"), std::mem::discriminant(&Values::Str(vec![])));
    assert_eq!(
        counts(string_column(&t, "device").unwrap()),
        map(&[
            ("AKGC417L", 8),
            ("Litt3200", 18),
            ("LittC2SE", 5),
            ("Meditron", 5)
        ])
    );
    assert_eq!(
        counts(string_column(&t, "sex").unwrap()),
        map(&[("(null)", 5), ("F", 8), ("M", 23)])
    );
    assert_eq!(
        counts(string_column(&t, "crackles").unwrap()),
        map(&[("false", 24), ("true", 12)])
    );
    assert_eq!(counts(string_column(&t, "age").unwrap())["38.0"], 18);
    assert_eq!(counts(string_column(&t, "patient_id").unwrap())["103"], 18);
    assert!(f64_column(&t, "source_bits")
        .unwrap()
        .iter()
        .all(Option::is_none));
    let ids = f64_column(&t, "cycle_id").unwrap();
    assert!(ids.iter().enumerate().all(|(i, v)| *v == Some(i as f64)));
}

#[test]
fn polars_written_sprsound_table_reads_whole() {
    let t = read_table(&fixture("sprsound-polars-0.55.parquet")).unwrap();
    assert_eq!(t.height(), 38);
    assert_eq!(t.column_names().len(), 26);
    assert_eq!(
        std::mem::discriminant(&t.column("year").unwrap().values),
        std::mem::discriminant(&Values::I32(vec![]))
    );
    assert_eq!(
        counts(string_column(&t, "year").unwrap()),
        map(&[("2022", 38)])
    );
    assert_eq!(
        counts(string_column(&t, "label_binary").unwrap()),
        map(&[("0", 19), ("1", 19)])
    );
    assert_eq!(
        counts(string_column(&t, "patient_id").unwrap())["42258219"],
        17
    );
    assert_eq!(counts(string_column(&t, "age").unwrap())["11.8"], 17);
}

#[test]
fn legacy_tables_write_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["icbhi-polars-0.55.parquet", "sprsound-polars-0.55.parquet"] {
        let old = read_table(&fixture(name)).unwrap();
        let path = dir.path().join(name);
        write_table(&path, &old).unwrap();
        assert_eq!(read_table(&path).unwrap(), old, "{name}");
    }
}
