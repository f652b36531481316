//! Labels are checked against the manifest's classes whenever a shard is read.

use crate::common::{build_cache_with_labels, shard_path, synthetic_label};
use auscult_cache::{CacheError, CacheReader};

/// A 20-row cache whose row 17 has label `bad`, in shards of `shard_size`.
fn cache_with_bad_row_17(bad: i64, shard_size: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    build_cache_with_labels(dir.path(), 20, shard_size, |row| {
        if row == 17 {
            bad
        } else {
            synthetic_label(row)
        }
    });
    dir
}

#[test]
fn out_of_range_label_names_the_shard_file_and_the_row() {
    let dir = cache_with_bad_row_17(9, 32);
    let reader = CacheReader::open(dir.path()).unwrap(); // open reads no shard
    let err = reader.read_shard(0).unwrap_err();
    let path = shard_path(dir.path(), 0);
    match &err {
        CacheError::Label {
            path: at,
            row,
            cycle_id,
            label,
            ..
        } => {
            assert_eq!(at, &path);
            assert_eq!((*row, *cycle_id, *label), (17, 17, 9));
        }
        other => panic!("expected a label error, got {other:?}"),
    }
    let msg = err.to_string();
    assert_eq!(
        msg,
        format!(
            "{}: row 17 (cycle_id 17): label 9 is not a class of this cache \
             (ids 0..3: normal, crackle, wheeze, both)",
            path.display()
        )
    );
}

#[test]
fn negative_label_is_rejected_on_every_read_path() {
    // Shards of 8 rows: row 17 is row 1 of shard 2.
    let dir = cache_with_bad_row_17(-1, 8);
    let reader = CacheReader::open(dir.path()).unwrap();
    reader.read_shard(0).unwrap();
    reader.read_shard(1).unwrap();
    let check = |err: CacheError| {
        let msg = err.to_string();
        assert!(
            msg.contains("00002.safetensors")
                && msg.contains("row 1 (cycle_id 17)")
                && msg.contains("label -1"),
            "{msg}"
        );
    };
    check(reader.read_shard(2).unwrap_err());
    check(reader.verify().unwrap_err());
    check(reader.shards().find_map(Result::err).unwrap());
    let prefetched: Vec<_> = reader.prefetch(2).collect();
    assert_eq!(prefetched.len(), 3, "iteration stops after the error");
    check(prefetched.into_iter().find_map(Result::err).unwrap());
    check(
        reader
            .prefetch_order(vec![2, 0, 1], 1)
            .next()
            .unwrap()
            .unwrap_err(),
    );
}

#[test]
fn labels_of_every_class_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    build_cache_with_labels(dir.path(), 12, 5, |row| (row % 4) as i64);
    let reader = CacheReader::open(dir.path()).unwrap();
    reader.verify().unwrap();
    let labels: Vec<i64> = reader.prefetch(1).flat_map(|s| s.unwrap().label).collect();
    assert_eq!(labels, (0..12).map(|r| r % 4).collect::<Vec<i64>>());
}
