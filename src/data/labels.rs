//! Labels derived from the metadata table, for supervised-contrastive heads
//! (`auscult train scl --labels sex+age_group`, `auscult train mscl --heads class:0.25,sex:0.75`).
//!
//! A label spec is a `+`-joined list of metadata columns; `class` stands for the row's class
//! label (the table's `label` column). A row's label is the tuple of its values in those columns;
//! the label id is the index of that tuple among the distinct tuples of the whole table, sorted
//! (so ids are deterministic and independent of the split). A row with a null in any of the
//! columns has no label: heads exclude it through their validity mask.

use std::fmt;
use std::str::FromStr;

use auscult_cache::table::string_column;
use auscult_cache::table::Table;

/// The spec word for the row's class label.
pub const CLASS: &str = "class";
/// The metadata column `class` reads.
pub const CLASS_COLUMN: &str = "label";

/// Errors in label specs or in building labels from a table.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// A spec names no column (e.g. `""` or `sex+`).
    #[error("label spec `{0}`: empty column name (expected e.g. `sex+age_group` or `class`)")]
    EmptyColumn(String),
    /// The same column twice in one spec.
    #[error("label spec `{spec}`: column `{column}` appears twice")]
    DuplicateColumn { spec: String, column: String },
    /// A column the metadata table does not have.
    #[error(
        "label spec `{spec}`: metadata.parquet has no column `{column}` (columns: {available})"
    )]
    UnknownColumn {
        spec: String,
        column: String,
        available: String,
    },
    /// A malformed `--heads` list.
    #[error(
        "heads `{spec}`: {msg} (expected `spec:weight,...`, e.g. `class:0.25,sex+age_group:0.75`)"
    )]
    BadHeads { spec: String, msg: String },
    /// A split row that is not a row of the table.
    #[error("cycle_id {cycle_id} is not a row of metadata.parquet ({rows} rows)")]
    RowOutOfRange { cycle_id: i64, rows: usize },
}

/// Which metadata columns make up a label, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSpec {
    /// Column names as written (`class` kept as the word `class`).
    pub columns: Vec<String>,
}

impl LabelSpec {
    /// The class label alone (plain SCL).
    pub fn class() -> Self {
        LabelSpec {
            columns: vec![CLASS.to_string()],
        }
    }

    /// True for the spec `class` alone: labels come with every row, nothing is missing.
    pub fn is_class(&self) -> bool {
        self.columns.len() == 1 && self.columns[0] == CLASS
    }
}

impl fmt::Display for LabelSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.columns.join("+"))
    }
}

impl FromStr for LabelSpec {
    type Err = LabelError;

    /// Parses `col[+col...]` (surrounding spaces ignored).
    fn from_str(s: &str) -> Result<Self, LabelError> {
        let mut columns: Vec<String> = Vec::new();
        for part in s.split('+') {
            let c = part.trim();
            if c.is_empty() {
                return Err(LabelError::EmptyColumn(s.to_string()));
            }
            if columns.iter().any(|x| x == c) {
                return Err(LabelError::DuplicateColumn {
                    spec: s.to_string(),
                    column: c.to_string(),
                });
            }
            columns.push(c.to_string());
        }
        Ok(LabelSpec { columns })
    }
}

/// One head of a multi-head (M-SCL) objective: its labels and its weight λ.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadSpec {
    pub labels: LabelSpec,
    pub weight: f64,
}

/// Parses `spec:weight,spec:weight,...` (e.g. `class:0.25,sex+age_group:0.75`); weights must be
/// finite and > 0, specs distinct.
pub fn parse_heads(s: &str) -> Result<Vec<HeadSpec>, LabelError> {
    let bad = |msg: String| LabelError::BadHeads {
        spec: s.to_string(),
        msg,
    };
    let mut heads: Vec<HeadSpec> = Vec::new();
    for item in s.split(',') {
        let item = item.trim();
        let (spec, weight) = item
            .rsplit_once(':')
            .ok_or_else(|| bad(format!("`{item}` has no `:weight`")))?;
        let weight: f64 = weight
            .trim()
            .parse()
            .map_err(|_| bad(format!("`{weight}` is not a number")))?;
        if !(weight.is_finite() && weight > 0.0) {
            return Err(bad(format!("weight {weight} must be finite and > 0")));
        }
        let labels: LabelSpec = spec.parse()?;
        if heads.iter().any(|h| h.labels == labels) {
            return Err(bad(format!("head `{labels}` appears twice")));
        }
        heads.push(HeadSpec { labels, weight });
    }
    Ok(heads)
}

/// The labels of one spec over every row of the metadata table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableLabels {
    pub spec: LabelSpec,
    /// Distinct value tuples (one string per column), sorted; a label id indexes this list.
    pub values: Vec<Vec<String>>,
    /// Label id of each table row (= cache row / `cycle_id`), `None` where a column is null.
    pub ids: Vec<Option<u32>>,
}

impl TableLabels {
    /// Reads the spec's columns from `table` (any dtype, rendered as text).
    pub fn build(table: &Table, spec: &LabelSpec) -> Result<Self, LabelError> {
        let mut columns = Vec::with_capacity(spec.columns.len());
        for c in &spec.columns {
            let name = if c == CLASS { CLASS_COLUMN } else { c.as_str() };
            let values = string_column(table, name).ok_or_else(|| LabelError::UnknownColumn {
                spec: spec.to_string(),
                column: c.clone(),
                available: table.column_names().join(", "),
            })?;
            columns.push(values);
        }
        let rows = table.height();
        let tuples: Vec<Option<Vec<String>>> = (0..rows)
            .map(|r| columns.iter().map(|col| col[r].clone()).collect())
            .collect();
        let mut values: Vec<Vec<String>> = tuples.iter().flatten().cloned().collect();
        values.sort();
        values.dedup();
        let ids = tuples
            .iter()
            .map(|t| {
                t.as_ref()
                    .map(|t| values.binary_search(t).expect("tuple is in values") as u32)
            })
            .collect();
        Ok(TableLabels {
            spec: spec.clone(),
            values,
            ids,
        })
    }

    /// The labels of the split rows whose table rows are `cycle_ids`.
    pub fn for_rows(&self, cycle_ids: &[i64]) -> Result<SplitLabels, LabelError> {
        let mut ids = Vec::with_capacity(cycle_ids.len());
        let mut valid = Vec::with_capacity(cycle_ids.len());
        for &c in cycle_ids {
            let id = usize::try_from(c)
                .ok()
                .and_then(|r| self.ids.get(r))
                .ok_or(LabelError::RowOutOfRange {
                    cycle_id: c,
                    rows: self.ids.len(),
                })?;
            ids.push(id.unwrap_or(0));
            valid.push(id.is_some());
        }
        Ok(SplitLabels { ids, valid })
    }
}

/// Labels of the rows of one split, in split order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitLabels {
    /// Label id per row (0, meaningless, where the row has no label).
    pub ids: Vec<u32>,
    /// Whether the row has a label.
    pub valid: Vec<bool>,
}

impl SplitLabels {
    /// Rows without a label.
    pub fn missing(&self) -> usize {
        self.valid.iter().filter(|v| !**v).count()
    }
}
