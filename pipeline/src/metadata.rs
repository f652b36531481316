//! The metadata table (`metadata.parquet`): one row per cache row. This module builds the
//! dataset's columns; the cache crate writes and reads the file ([`auscult_cache::table`]).
//! Column meanings are documented in the README ("Metadata table").

use auscult_cache::table::{Column, Table, Values};

use crate::record::{CycleRecord, RecordMeta};

/// What reading the audio told us about a row; all `None` for `--metadata-only`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RowAudio {
    pub source_sample_rate: Option<u32>,
    pub source_bits: Option<u16>,
    pub shard: Option<u32>,
    pub shard_row: Option<u32>,
}

fn col(name: &str, values: impl Into<Values>) -> Column {
    Column::new(name, values)
}

/// The column `name` of `f` over `items`.
fn field<M, T>(items: &[M], name: &str, f: impl Fn(&M) -> T) -> Column
where
    Values: From<Vec<T>>,
{
    col(name, items.iter().map(f).collect::<Vec<_>>())
}

/// Builds the table; `rows[i]` is cache row (`cycle_id`) i.
pub fn build_table(dataset: &str, rows: &[(CycleRecord, RowAudio)]) -> Result<Table, String> {
    let n = rows.len();
    let mut cols = vec![
        col("cycle_id", (0..n as i64).collect::<Vec<_>>()),
        col("dataset", vec![dataset.to_string(); n]),
        field(rows, "recording", |(r, _)| r.recording.clone()),
        field(rows, "annotation_file", |(r, _)| {
            r.annotation_path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        }),
        field(rows, "source_line", |(r, _)| match r.origin {
            crate::record::Origin::Line(l) => l as i64,
            crate::record::Origin::Event(i) => i as i64,
        }),
        field(rows, "split", |(r, _)| r.split.clone()),
        field(rows, "onset_s", |(r, _)| r.onset_s),
        field(rows, "offset_s", |(r, _)| r.offset_s),
        field(rows, "duration_s", |(r, _)| r.offset_s - r.onset_s),
        field(rows, "label", |(r, _)| r.label),
        field(rows, "label_name", |(r, _)| r.label_name.clone()),
    ];
    match rows.first().map(|(r, _)| &r.meta) {
        Some(RecordMeta::Sprsound(_)) => cols.extend(sprsound_columns(rows)),
        _ => cols.extend(icbhi_columns(rows)),
    }
    cols.extend([
        field(rows, "source_sample_rate", |(_, a)| {
            a.source_sample_rate.map(i64::from)
        }),
        field(rows, "source_bits", |(_, a)| a.source_bits.map(i64::from)),
        field(rows, "shard", |(_, a)| a.shard.map(i64::from)),
        field(rows, "shard_row", |(_, a)| a.shard_row.map(i64::from)),
    ]);
    Table::new(n, cols)
}

fn icbhi_columns(rows: &[(CycleRecord, RowAudio)]) -> Vec<Column> {
    let m: Vec<_> = rows
        .iter()
        .map(|(r, _)| match &r.meta {
            RecordMeta::Icbhi(m) => m.clone(),
            RecordMeta::Sprsound(_) => Default::default(),
        })
        .collect();
    vec![
        field(&m, "patient_id", |x| x.patient_id),
        field(&m, "recording_index", |x| x.recording_index.clone()),
        field(&m, "chest_location", |x| x.chest_location.clone()),
        field(&m, "acquisition_mode", |x| x.acquisition_mode.clone()),
        field(&m, "device", |x| x.device.clone()),
        field(&m, "crackles", |x| x.crackles),
        field(&m, "wheezes", |x| x.wheezes),
        field(&m, "age", |x| x.age),
        field(&m, "sex", |x| x.sex.clone()),
        field(&m, "adult_bmi", |x| x.adult_bmi),
        field(&m, "child_weight_kg", |x| x.child_weight_kg),
        field(&m, "child_height_cm", |x| x.child_height_cm),
        field(&m, "diagnosis", |x| x.diagnosis.clone()),
        field(&m, "age_group", |x| x.age_group.clone()),
    ]
}

fn sprsound_columns(rows: &[(CycleRecord, RowAudio)]) -> Vec<Column> {
    let m: Vec<_> = rows
        .iter()
        .map(|(r, _)| match &r.meta {
            RecordMeta::Sprsound(m) => m.clone(),
            RecordMeta::Icbhi(_) => Default::default(),
        })
        .collect();
    vec![
        field(&m, "patient_id", |x| x.patient_id.clone()),
        field(&m, "age", |x| x.age),
        field(&m, "sex", |x| x.sex.clone()),
        field(&m, "chest_location", |x| x.chest_location.clone()),
        field(&m, "chest_location_name", |x| x.chest_location_name.clone()),
        field(&m, "recording_id", |x| x.recording_id.clone()),
        field(&m, "year", |x| x.year),
        field(&m, "record_label", |x| x.record_label.clone()),
        field(&m, "event_type", |x| x.event_type.clone()),
        field(&m, "label_binary", |x| x.label_binary),
        field(&m, "age_group", |x| x.age_group.clone()),
    ]
}
