//! The per-row metadata table (`metadata.parquet`): named, nullable columns, stored as
//! zstd-compressed Parquet through the `parquet` crate's low-level API.
//!
//! This module knows nothing about the columns a dataset puts there (the pipeline builds
//! them); it writes a table atomically, reads it back (files written by earlier versions
//! through Polars included), and extracts columns by name whatever their stored type.

use std::path::Path;
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, Type as PhysicalType, ZstdLevel};
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DataType, DoubleType, Int32Type, Int64Type,
};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};
use parquet::record::Field;
use parquet::schema::types::Type;

use crate::atomic::write_atomic;
use crate::CacheError;

/// The values of one column, `None` where a row has none.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Bool(Vec<Option<bool>>),
    I32(Vec<Option<i32>>),
    I64(Vec<Option<i64>>),
    F64(Vec<Option<f64>>),
    Str(Vec<Option<String>>),
}

impl Values {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Values::Bool(v) => v.len(),
            Values::I32(v) => v.len(),
            Values::I64(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::Str(v) => v.len(),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as text (numbers as Polars casts them: `3`, `1.5`, `70.0`).
    pub fn to_strings(&self) -> Vec<Option<String>> {
        fn map<T>(v: &[Option<T>], f: impl Fn(&T) -> String) -> Vec<Option<String>> {
            v.iter().map(|x| x.as_ref().map(&f)).collect()
        }
        match self {
            Values::Bool(v) => map(v, bool::to_string),
            Values::I32(v) => map(v, i32::to_string),
            Values::I64(v) => map(v, i64::to_string),
            Values::F64(v) => map(v, |x| format!("{x:?}")),
            Values::Str(v) => v.clone(),
        }
    }

    /// The values as numbers (booleans as 0/1, text parsed; what does not parse is `None`).
    pub fn to_f64(&self) -> Vec<Option<f64>> {
        fn map<T>(v: &[Option<T>], f: impl Fn(&T) -> Option<f64>) -> Vec<Option<f64>> {
            v.iter().map(|x| x.as_ref().and_then(&f)).collect()
        }
        match self {
            Values::Bool(v) => map(v, |b| Some(f64::from(u8::from(*b)))),
            Values::I32(v) => map(v, |x| Some(f64::from(*x))),
            Values::I64(v) => map(v, |x| Some(*x as f64)),
            Values::F64(v) => v.clone(),
            Values::Str(v) => map(v, |s| s.trim().parse().ok()),
        }
    }
}

macro_rules! values_from {
    ($t:ty, $variant:ident, $conv:expr) => {
        impl From<Vec<$t>> for Values {
            fn from(v: Vec<$t>) -> Self {
                Values::$variant(v.into_iter().map(|x| Some($conv(x))).collect())
            }
        }
        impl From<Vec<Option<$t>>> for Values {
            fn from(v: Vec<Option<$t>>) -> Self {
                Values::$variant(v.into_iter().map(|x| x.map($conv)).collect())
            }
        }
    };
}
values_from!(bool, Bool, |x| x);
values_from!(i32, I32, |x| x);
values_from!(i64, I64, |x| x);
values_from!(f64, F64, |x| x);
values_from!(String, Str, |x| x);
values_from!(&str, Str, str::to_string);

/// One named column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: Values,
}

impl Column {
    pub fn new(name: &str, values: impl Into<Values>) -> Self {
        Column {
            name: name.to_string(),
            values: values.into(),
        }
    }
}

/// Named columns of equal length.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    height: usize,
    columns: Vec<Column>,
}

impl Table {
    /// A table of `height` rows; every column must have that many values and its own name.
    pub fn new(height: usize, columns: Vec<Column>) -> Result<Self, String> {
        for (i, c) in columns.iter().enumerate() {
            if c.values.len() != height {
                return Err(format!(
                    "column {} has {} values, the table {height} rows",
                    c.name,
                    c.values.len()
                ));
            }
            if columns[..i].iter().any(|d| d.name == c.name) {
                return Err(format!("column {} is given twice", c.name));
            }
        }
        Ok(Table { height, columns })
    }

    /// Number of rows.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The column names, in order.
    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// Column `name`, if there is one.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A [`CacheError::Table`] on `path`.
fn table_error(path: &Path, e: impl std::fmt::Display) -> CacheError {
    CacheError::Table {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

/// Writes one optional column: its present values (through `f`) and its definition levels.
fn write_column<D: DataType, T>(
    w: &mut SerializedColumnWriter<'_>,
    v: &[Option<T>],
    f: impl Fn(&T) -> D::T,
) -> parquet::errors::Result<()> {
    let defs: Vec<i16> = v.iter().map(|x| i16::from(x.is_some())).collect();
    let vals: Vec<D::T> = v.iter().flatten().map(f).collect();
    w.typed::<D>().write_batch(&vals, Some(&defs), None)?;
    Ok(())
}

/// The table as zstd-compressed Parquet bytes (one row group, every column optional).
fn encode(table: &Table) -> parquet::errors::Result<Vec<u8>> {
    let fields = table
        .columns
        .iter()
        .map(|c| {
            let (physical, logical) = match c.values {
                Values::Bool(_) => (PhysicalType::BOOLEAN, None),
                Values::I32(_) => (PhysicalType::INT32, None),
                Values::I64(_) => (PhysicalType::INT64, None),
                Values::F64(_) => (PhysicalType::DOUBLE, None),
                Values::Str(_) => (PhysicalType::BYTE_ARRAY, Some(LogicalType::String)),
            };
            Type::primitive_type_builder(&c.name, physical)
                .with_repetition(Repetition::OPTIONAL)
                .with_logical_type(logical)
                .build()
                .map(Arc::new)
        })
        .collect::<parquet::errors::Result<Vec<_>>>()?;
    let schema = Arc::new(
        Type::group_type_builder("schema")
            .with_fields(fields)
            .build()?,
    );
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut bytes = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut bytes, schema, Arc::new(props))?;
    let mut group = writer.next_row_group()?;
    let mut columns = table.columns.iter();
    while let Some(mut w) = group.next_column()? {
        let Some(c) = columns.next() else {
            return Err(parquet::errors::ParquetError::General(
                "more Parquet columns than table columns".into(),
            ));
        };
        match &c.values {
            Values::Bool(v) => write_column::<BoolType, _>(&mut w, v, |x| *x)?,
            Values::I32(v) => write_column::<Int32Type, _>(&mut w, v, |x| *x)?,
            Values::I64(v) => write_column::<Int64Type, _>(&mut w, v, |x| *x)?,
            Values::F64(v) => write_column::<DoubleType, _>(&mut w, v, |x| *x)?,
            Values::Str(v) => {
                write_column::<ByteArrayType, _>(&mut w, v, |s| ByteArray::from(s.as_str()))?
            }
        }
        w.close()?;
    }
    group.close()?;
    writer.close()?;
    Ok(bytes)
}

/// Writes `table` to `path` as zstd-compressed Parquet, atomically (a temporary sibling
/// `<name>.tmp-<pid>`, fsynced, then renamed): a reader never sees a half-written table, and a
/// failed write leaves `path` as it was. The bytes depend on the table only.
pub fn write_table(path: &Path, table: &Table) -> Result<(), CacheError> {
    let bytes = encode(table).map_err(|e| table_error(path, e))?;
    write_atomic(path, &bytes)
}

/// An empty column for a Parquet leaf of this physical type (integers narrower than 64 bits
/// read as `I32`, `FLOAT` as `F64`); `None` for types a metadata table never holds.
fn empty_values(physical: PhysicalType) -> Option<Values> {
    Some(match physical {
        PhysicalType::BOOLEAN => Values::Bool(Vec::new()),
        PhysicalType::INT32 => Values::I32(Vec::new()),
        PhysicalType::INT64 => Values::I64(Vec::new()),
        PhysicalType::FLOAT | PhysicalType::DOUBLE => Values::F64(Vec::new()),
        PhysicalType::BYTE_ARRAY => Values::Str(Vec::new()),
        _ => return None,
    })
}

/// Appends one record field to `values`; false when its type does not fit the column.
fn push(values: &mut Values, field: &Field) -> bool {
    match (values, field) {
        (Values::Bool(v), Field::Null) => v.push(None),
        (Values::I32(v), Field::Null) => v.push(None),
        (Values::I64(v), Field::Null) => v.push(None),
        (Values::F64(v), Field::Null) => v.push(None),
        (Values::Str(v), Field::Null) => v.push(None),
        (Values::Bool(v), Field::Bool(b)) => v.push(Some(*b)),
        (Values::I32(v), Field::Byte(x)) => v.push(Some(i32::from(*x))),
        (Values::I32(v), Field::Short(x)) => v.push(Some(i32::from(*x))),
        (Values::I32(v), Field::Int(x)) => v.push(Some(*x)),
        (Values::I32(v), Field::UByte(x)) => v.push(Some(i32::from(*x))),
        (Values::I32(v), Field::UShort(x)) => v.push(Some(i32::from(*x))),
        (Values::I64(v), Field::Long(x)) => v.push(Some(*x)),
        (Values::F64(v), Field::Float(x)) => v.push(Some(f64::from(*x))),
        (Values::F64(v), Field::Double(x)) => v.push(Some(*x)),
        (Values::Str(v), Field::Str(s)) => v.push(Some(s.clone())),
        _ => return false,
    }
    true
}

/// The table in Parquet file `file`.
fn decode(file: std::fs::File) -> Result<Table, String> {
    let reader = SerializedFileReader::new(file).map_err(|e| e.to_string())?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let mut columns = Vec::with_capacity(schema.num_columns());
    for c in schema.columns() {
        if c.max_rep_level() > 0 || c.path().parts().len() != 1 {
            return Err(format!("column {} is nested", c.path()));
        }
        let values = empty_values(c.physical_type()).ok_or_else(|| {
            format!(
                "column {} has Parquet type {}, which a metadata table does not hold",
                c.name(),
                c.physical_type()
            )
        })?;
        columns.push(Column {
            name: c.name().to_string(),
            values,
        });
    }
    let mut height = 0;
    for row in reader.get_row_iter(None).map_err(|e| e.to_string())? {
        let row = row.map_err(|e| format!("row {height}: {e}"))?;
        for (column, (_, field)) in columns.iter_mut().zip(row.get_column_iter()) {
            if !push(&mut column.values, field) {
                return Err(format!(
                    "row {height}, column {}: unexpected value {field}",
                    column.name
                ));
            }
        }
        height += 1;
    }
    Table::new(height, columns)
}

/// Reads the Parquet table at `path`. A missing file is [`CacheError::Missing`], an
/// unreadable one [`CacheError::Io`], a file that is not such a table [`CacheError::Table`].
pub fn read_table(path: &Path) -> Result<Table, CacheError> {
    let file = std::fs::File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CacheError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            CacheError::io(path, e)
        }
    })?;
    decode(file).map_err(|e| table_error(path, e))
}

/// Column `name` of `table` as text values (numbers and booleans rendered as text; nulls stay
/// `None`), or `None` when there is no such column.
pub fn string_column(table: &Table, name: &str) -> Option<Vec<Option<String>>> {
    Some(table.column(name)?.values.to_strings())
}

/// Column `name` of `table` as `f64` values (numbers converted, text parsed; nulls and what
/// does not parse stay `None`), or `None` when there is no such column.
pub fn f64_column(table: &Table, name: &str) -> Option<Vec<Option<f64>>> {
    Some(table.column(name)?.values.to_f64())
}

/// Patients whose rows lie in more than one split (patient → those splits), from the `split`
/// and `patient_id` columns; None when the table has no `patient_id`. ICBHI's official split
/// file puts patients 156 and 218 on both sides.
pub fn patients_in_several_splits(
    table: &Table,
) -> Option<std::collections::BTreeMap<String, std::collections::BTreeSet<String>>> {
    let split = string_column(table, "split")?;
    let patient = string_column(table, "patient_id")?;
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
