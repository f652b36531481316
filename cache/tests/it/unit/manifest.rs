//! Unit tests of `src/manifest.rs`.

use auscult_cache::manifest::*;

#[test]
fn safe_relative_paths() {
    assert!(is_safe_relative("shards/00000.safetensors"));
    assert!(is_safe_relative("metadata.parquet"));
    for bad in [
        "",
        "/etc/passwd",
        "../x",
        "shards/../../x",
        "./x",
        "a//b",
        "a\\b",
    ] {
        assert!(!is_safe_relative(bad), "{bad:?} accepted");
    }
}

#[test]
fn shard_file_is_zero_padded() {
    assert_eq!(shard_file(0), "shards/00000.safetensors");
    assert_eq!(shard_file(12345), "shards/12345.safetensors");
}
