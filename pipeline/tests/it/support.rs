//! Helpers shared by the pipeline's integration tests.

use std::path::Path;

/// A small synthetic ICBHI database in a temp dir.
pub fn synth_icbhi_db(recordings: usize, seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let o = auscult_synth::IcbhiSynthOptions {
        recordings,
        seed,
        ..Default::default()
    };
    auscult_synth::synth_icbhi(dir.path(), &o).unwrap();
    dir
}

/// A cache manifest's classes as `(id, name, normal)`.
pub fn class_table(m: &auscult_cache::Manifest) -> Vec<(i64, &str, bool)> {
    m.classes
        .iter()
        .map(|c| (c.id, c.name.as_str(), c.normal))
        .collect()
}

/// Split name → rows of a cache's metadata table.
pub fn table_split_counts(cache: &Path) -> Vec<(String, u64)> {
    let df = auscult_cache::table::read_table(&cache.join("metadata.parquet")).unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for s in auscult_cache::table::string_column(&df, "split").unwrap() {
        *counts.entry(s.unwrap()).or_insert(0u64) += 1;
    }
    counts.into_iter().collect()
}
