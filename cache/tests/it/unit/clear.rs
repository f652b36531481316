//! Unit tests of `src/clear.rs`.

use auscult_cache::clear::*;

#[test]
fn shard_names() {
    assert!(is_shard_name("00000.safetensors"));
    assert!(is_shard_name("123456.safetensors"));
    assert!(!is_shard_name(".safetensors"));
    assert!(!is_shard_name("model.safetensors"));
    assert!(!is_shard_name("00000.safetensors.bak"));
}
