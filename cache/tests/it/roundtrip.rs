//! Writing then reading a cache gives back exactly what was written.

use crate::common::{build_cache, list_files, shard_path, synthetic_label, synthetic_row, SHAPE};
use auscult_cache::{CacheReader, Manifest, ShardWriter};

#[test]
fn several_shards_with_partial_last_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = build_cache(dir.path(), 10, 4);

    let rows: Vec<u64> = manifest.shards.iter().map(|s| s.rows).collect();
    assert_eq!(rows, [4, 4, 2]);
    let first: Vec<u64> = manifest.shards.iter().map(|s| s.first_row).collect();
    assert_eq!(first, [0, 4, 8]);
    for (i, info) in manifest.shards.iter().enumerate() {
        let bytes = std::fs::read(shard_path(dir.path(), i)).unwrap();
        assert_eq!(info.file, format!("shards/{i:05}.safetensors"));
        assert_eq!(info.bytes, bytes.len() as u64);
        assert_eq!(info.blake3, blake3::hash(&bytes).to_hex().to_string());
    }

    let reader = CacheReader::open(dir.path()).unwrap();
    assert_eq!(reader.manifest(), &manifest);
    assert_eq!(reader.dir(), dir.path());
    reader.verify().unwrap();

    let mut next_row = 0u64;
    for (i, shard) in reader.shards().enumerate() {
        let shard = shard.unwrap();
        assert_eq!(shard.index, i);
        assert_eq!(shard.first_row, next_row);
        assert_eq!(shard.feature_shape, SHAPE);
        assert_eq!(shard.mel.len(), shard.rows() * SHAPE[0] * SHAPE[1]);
        for r in 0..shard.rows() {
            let row = next_row + r as u64;
            assert_eq!(shard.mel_row(r), synthetic_row(row).as_slice());
            assert_eq!(shard.label[r], synthetic_label(row));
            assert_eq!(shard.cycle_id[r], row as i64);
        }
        next_row += shard.rows() as u64;
    }
    assert_eq!(next_row, 10);
}

#[test]
fn prefetch_yields_the_same_shards() {
    let dir = tempfile::tempdir().unwrap();
    build_cache(dir.path(), 11, 3);
    let reader = CacheReader::open(dir.path()).unwrap();
    let direct: Vec<_> = reader.shards().map(Result::unwrap).collect();
    for depth in [0, 1, 4] {
        let fetched: Vec<_> = reader.prefetch(depth).map(Result::unwrap).collect();
        assert_eq!(fetched, direct, "depth {depth}");
    }
    let order = vec![3, 0, 2, 1];
    let fetched: Vec<_> = reader
        .prefetch_order(order.clone(), 2)
        .map(Result::unwrap)
        .collect();
    let expected: Vec<_> = order.iter().map(|&i| direct[i].clone()).collect();
    assert_eq!(fetched, expected);
    // Dropping a prefetcher before the end stops its thread (must not hang).
    let mut early = reader.prefetch(1);
    assert!(early.next().is_some());
    drop(early);
}

#[test]
fn prefetch_stops_after_an_error() {
    let dir = tempfile::tempdir().unwrap();
    build_cache(dir.path(), 6, 2);
    let reader = CacheReader::open(dir.path()).unwrap();
    let results: Vec<_> = reader.prefetch_order(vec![0, 7, 1], 2).collect();
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok());
    assert!(results[1].is_err());
}

#[test]
fn identical_input_gives_byte_identical_cache() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    build_cache(a.path(), 9, 4);
    build_cache(b.path(), 9, 4);
    let files = list_files(a.path());
    assert_eq!(files, list_files(b.path()));
    assert!(files.contains(&"manifest.json".to_string()));
    for file in files {
        let bytes_a = std::fs::read(a.path().join(&file)).unwrap();
        let bytes_b = std::fs::read(b.path().join(&file)).unwrap();
        assert!(
            bytes_a == bytes_b,
            "{file} differs between identical builds"
        );
    }
    let text = std::fs::read_to_string(a.path().join("manifest.json")).unwrap();
    assert!(!text.contains(&a.path().to_string_lossy().to_string()));
}

#[test]
fn empty_cache_roundtrips() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = build_cache(dir.path(), 0, 4);
    assert!(manifest.shards.is_empty());
    let reader = CacheReader::open(dir.path()).unwrap();
    assert_eq!(reader.shards().count(), 0);
    reader.verify().unwrap();
    assert_eq!(Manifest::load(dir.path()).unwrap(), manifest);
}

#[test]
fn exact_multiple_of_shard_size_has_no_empty_shard() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ShardWriter::create(dir.path(), SHAPE, 3).unwrap();
    for row in 0..6 {
        writer.push(0, &synthetic_row(row)).unwrap();
    }
    let shards = writer.finish().unwrap();
    assert_eq!(shards.iter().map(|s| s.rows).collect::<Vec<_>>(), [3, 3]);
    assert_eq!(list_files(dir.path()).len(), 2);
}
