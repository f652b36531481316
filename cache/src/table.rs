//! The per-row metadata table (`metadata.parquet`): Parquet through Polars.
//!
//! This module knows nothing about the columns a dataset puts there (the
//! pipeline builds them); it writes a table atomically, reads it back, and
//! extracts columns by name whatever their stored dtype.

use std::path::Path;

use polars::prelude::*;

use crate::atomic::write_atomic;
use crate::CacheError;

/// A [`CacheError::Table`] on `path`.
fn table_error(path: &Path, e: impl std::fmt::Display) -> CacheError {
    CacheError::Table {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

/// Writes `df` to `path` as zstd-compressed Parquet, atomically (a
/// temporary sibling `<name>.tmp-<pid>`, fsynced, then renamed): a reader
/// never sees a half-written table, and a failed write leaves `path` as it
/// was. The output does not depend on the number of threads.
pub fn write_table(path: &Path, df: &mut DataFrame) -> Result<(), CacheError> {
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .with_compression(ParquetCompression::Zstd(None))
        .set_parallel(false)
        .finish(df)
        .map_err(|e| table_error(path, e))?;
    write_atomic(path, &bytes)
}

/// Reads the Parquet table at `path`. A missing file is
/// [`CacheError::Missing`], an unreadable one [`CacheError::Io`], a file
/// Polars cannot parse [`CacheError::Table`].
pub fn read_table(path: &Path) -> Result<DataFrame, CacheError> {
    let file = std::fs::File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CacheError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            CacheError::io(path, e)
        }
    })?;
    ParquetReader::new(file)
        .finish()
        .map_err(|e| table_error(path, e))
}

/// Column `name` of `df` as text values (any dtype is cast to a string;
/// nulls stay `None`), or `None` when there is no such column or it cannot
/// be cast.
pub fn string_column(df: &DataFrame, name: &str) -> Option<Vec<Option<String>>> {
    let c = df.column(name).ok()?;
    let s = c.as_materialized_series().cast(&DataType::String).ok()?;
    let ca = s.str().ok()?;
    Some(ca.iter().map(|v| v.map(str::to_string)).collect())
}

/// Column `name` of `df` as `f64` values (numeric dtypes are cast; nulls
/// stay `None`), or `None` when there is no such column or it cannot be
/// cast.
pub fn f64_column(df: &DataFrame, name: &str) -> Option<Vec<Option<f64>>> {
    let c = df.column(name).ok()?;
    let s = c.as_materialized_series().cast(&DataType::Float64).ok()?;
    Some(s.f64().ok()?.iter().collect())
}

/// Patients whose rows lie in more than one split (patient → those splits), from the `split`
/// and `patient_id` columns; None when the table has no `patient_id`. ICBHI's official split
/// file puts patients 156 and 218 on both sides.
pub fn patients_in_several_splits(
    df: &DataFrame,
) -> Option<std::collections::BTreeMap<String, std::collections::BTreeSet<String>>> {
    let split = string_column(df, "split")?;
    let patient = string_column(df, "patient_id")?;
    let mut of: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for (s, p) in split.into_iter().zip(patient) {
        if let (Some(s), Some(p)) = (s, p) {
            of.entry(p).or_default().insert(s);
        }
    }
    of.retain(|_, s| s.len() > 1);
    Some(of)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DataFrame {
        DataFrame::new(
            3,
            vec![
                Series::new("split".into(), ["train", "test", "train"]).into_column(),
                Series::new("label".into(), [0i64, 3, 1]).into_column(),
                Series::new("age".into(), [Some(1.5f64), None, Some(70.0)]).into_column(),
            ],
        )
        .unwrap()
    }

    #[test]
    fn table_round_trips_and_columns_cast() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metadata.parquet");
        write_table(&path, &mut sample()).unwrap();
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
            f64_column(&df, "age").unwrap(),
            [Some(1.5), None, Some(70.0)]
        );
        assert_eq!(f64_column(&df, "label").unwrap()[1], Some(3.0));
        assert!(string_column(&df, "nope").is_none());
        assert!(f64_column(&df, "nope").is_none());
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
}
