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

/// Builds the table; `rows[i]` is cache row (`cycle_id`) i.
pub fn build_table(dataset: &str, rows: &[(CycleRecord, RowAudio)]) -> Result<Table, String> {
    let n = rows.len();
    let s = |f: &dyn Fn(&CycleRecord) -> String| rows.iter().map(|(r, _)| f(r)).collect::<Vec<_>>();
    let mut cols = vec![
        col("cycle_id", (0..n as i64).collect::<Vec<_>>()),
        col("dataset", vec![dataset.to_string(); n]),
        col("recording", s(&|r| r.recording.clone())),
        col(
            "annotation_file",
            s(&|r| {
                r.annotation_path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }),
        ),
        col(
            "source_line",
            rows.iter()
                .map(|(r, _)| match r.origin {
                    crate::record::Origin::Line(l) => l as i64,
                    crate::record::Origin::Event(i) => i as i64,
                })
                .collect::<Vec<_>>(),
        ),
        col("split", s(&|r| r.split.clone())),
        col(
            "onset_s",
            rows.iter().map(|(r, _)| r.onset_s).collect::<Vec<_>>(),
        ),
        col(
            "offset_s",
            rows.iter().map(|(r, _)| r.offset_s).collect::<Vec<_>>(),
        ),
        col(
            "duration_s",
            rows.iter()
                .map(|(r, _)| r.offset_s - r.onset_s)
                .collect::<Vec<_>>(),
        ),
        col(
            "label",
            rows.iter().map(|(r, _)| r.label).collect::<Vec<_>>(),
        ),
        col("label_name", s(&|r| r.label_name.clone())),
    ];
    match rows.first().map(|(r, _)| &r.meta) {
        Some(RecordMeta::Sprsound(_)) => cols.extend(sprsound_columns(rows)),
        _ => cols.extend(icbhi_columns(rows)),
    }
    let a =
        |f: &dyn Fn(&RowAudio) -> Option<i64>| rows.iter().map(|(_, a)| f(a)).collect::<Vec<_>>();
    cols.push(col(
        "source_sample_rate",
        a(&|x| x.source_sample_rate.map(i64::from)),
    ));
    cols.push(col("source_bits", a(&|x| x.source_bits.map(i64::from))));
    cols.push(col("shard", a(&|x| x.shard.map(i64::from))));
    cols.push(col("shard_row", a(&|x| x.shard_row.map(i64::from))));
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
        col(
            "patient_id",
            m.iter().map(|x| x.patient_id).collect::<Vec<_>>(),
        ),
        col(
            "recording_index",
            m.iter()
                .map(|x| x.recording_index.clone())
                .collect::<Vec<_>>(),
        ),
        col(
            "chest_location",
            m.iter()
                .map(|x| x.chest_location.clone())
                .collect::<Vec<_>>(),
        ),
        col(
            "acquisition_mode",
            m.iter()
                .map(|x| x.acquisition_mode.clone())
                .collect::<Vec<_>>(),
        ),
        col(
            "device",
            m.iter().map(|x| x.device.clone()).collect::<Vec<_>>(),
        ),
        col("crackles", m.iter().map(|x| x.crackles).collect::<Vec<_>>()),
        col("wheezes", m.iter().map(|x| x.wheezes).collect::<Vec<_>>()),
        col("age", m.iter().map(|x| x.age).collect::<Vec<_>>()),
        col("sex", m.iter().map(|x| x.sex.clone()).collect::<Vec<_>>()),
        col(
            "adult_bmi",
            m.iter().map(|x| x.adult_bmi).collect::<Vec<_>>(),
        ),
        col(
            "child_weight_kg",
            m.iter().map(|x| x.child_weight_kg).collect::<Vec<_>>(),
        ),
        col(
            "child_height_cm",
            m.iter().map(|x| x.child_height_cm).collect::<Vec<_>>(),
        ),
        col(
            "diagnosis",
            m.iter().map(|x| x.diagnosis.clone()).collect::<Vec<_>>(),
        ),
        col(
            "age_group",
            m.iter().map(|x| x.age_group.clone()).collect::<Vec<_>>(),
        ),
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
        col(
            "patient_id",
            m.iter().map(|x| x.patient_id.clone()).collect::<Vec<_>>(),
        ),
        col("age", m.iter().map(|x| x.age).collect::<Vec<_>>()),
        col("sex", m.iter().map(|x| x.sex.clone()).collect::<Vec<_>>()),
        col(
            "chest_location",
            m.iter()
                .map(|x| x.chest_location.clone())
                .collect::<Vec<_>>(),
        ),
        col(
            "chest_location_name",
            m.iter()
                .map(|x| x.chest_location_name.clone())
                .collect::<Vec<_>>(),
        ),
        col(
            "recording_id",
            m.iter().map(|x| x.recording_id.clone()).collect::<Vec<_>>(),
        ),
        col("year", m.iter().map(|x| x.year).collect::<Vec<_>>()),
        col(
            "record_label",
            m.iter().map(|x| x.record_label.clone()).collect::<Vec<_>>(),
        ),
        col(
            "event_type",
            m.iter().map(|x| x.event_type.clone()).collect::<Vec<_>>(),
        ),
        col(
            "label_binary",
            m.iter().map(|x| x.label_binary).collect::<Vec<_>>(),
        ),
        col(
            "age_group",
            m.iter().map(|x| x.age_group.clone()).collect::<Vec<_>>(),
        ),
    ]
}
