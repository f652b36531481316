//! Atomic writes, clearing old outputs and writer input checks.

use crate::common::{build_cache, list_files, synthetic_row, SHAPE};
use auscult_cache::{clear_outputs, write_atomic, CacheError, ShardWriter};

#[test]
fn write_atomic_leaves_only_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    write_atomic(&path, b"first").unwrap();
    write_atomic(&path, b"second").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"second");
    assert_eq!(list_files(dir.path()), ["out.json"]);
}

#[test]
fn write_atomic_failure_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("out.json");
    let err = write_atomic(&path, b"x").unwrap_err();
    assert!(matches!(err, CacheError::Io { .. }));
    assert!(list_files(dir.path()).is_empty());
}

#[test]
fn clear_outputs_removes_only_cache_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    build_cache(d, 10, 4);
    for (file, body) in [
        ("metadata.parquet", "table"),
        ("manifest.json.tmp-4242", "stale"),
        ("metadata.parquet.tmp-7", "stale"),
        ("shards/00003.safetensors.tmp-99", "stale"),
        ("notes.txt", "mine"),
        ("manifest.json.bak", "mine"),
        ("shards/README", "mine"),
        ("shards/model.safetensors", "mine"),
    ] {
        std::fs::write(d.join(file), body).unwrap();
    }
    clear_outputs(d).unwrap();
    assert_eq!(
        list_files(d),
        [
            "manifest.json.bak",
            "notes.txt",
            "shards/README",
            "shards/model.safetensors"
        ]
    );
}

#[test]
fn clear_outputs_removes_an_emptied_shards_dir_and_allows_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    build_cache(dir.path(), 10, 4);
    // A writer refuses to mix with a previous cache's shards.
    let err = ShardWriter::create(dir.path(), SHAPE, 4).unwrap_err();
    assert!(err.to_string().contains("clear_outputs"), "{err}");

    clear_outputs(dir.path()).unwrap();
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    build_cache(dir.path(), 3, 4);
    // A missing dir is fine too.
    clear_outputs(&dir.path().join("never-made")).unwrap();
}

#[test]
fn bad_rows_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ShardWriter::create(dir.path(), SHAPE, 4).unwrap();
    let short = vec![0.0f32; SHAPE[0] * SHAPE[1] - 1];
    match writer.push(0, &short) {
        Err(CacheError::Shape { path, msg }) => {
            assert!(path.ends_with("shards/00000.safetensors"), "{path:?}");
            assert!(msg.contains("14") && msg.contains("15"), "{msg}");
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    let mut nan_row = synthetic_row(0);
    nan_row[7] = f32::NAN;
    assert!(matches!(
        writer.push(0, &nan_row),
        Err(CacheError::Format { .. })
    ));
    // Rejected rows are not counted; the writer goes on.
    assert_eq!(writer.rows_written(), 0);
    assert_eq!(writer.push(1, &synthetic_row(0)).unwrap(), 0);
    assert_eq!(writer.finish().unwrap().len(), 1);
}

#[test]
fn bad_writer_settings_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    assert!(ShardWriter::create(dir.path(), SHAPE, 0).is_err());
    assert!(ShardWriter::create(dir.path(), [0, 5], 4).is_err());
}
