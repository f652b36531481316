//! Unit tests of `src/atomic.rs`.

use std::path::Path;

use auscult_cache::atomic::*;

#[test]
fn temp_target_recognises_only_our_temp_names() {
    assert_eq!(temp_target("manifest.json.tmp-123"), Some("manifest.json"));
    assert_eq!(temp_target("a.tmp-b.tmp-9"), Some("a.tmp-b"));
    assert_eq!(temp_target("manifest.json.tmp-"), None);
    assert_eq!(temp_target("manifest.json.tmp-12x"), None);
    assert_eq!(temp_target(".tmp-12"), None);
    assert_eq!(temp_target("manifest.json"), None);
}

#[test]
fn temp_path_is_a_sibling() {
    let p = temp_path(Path::new("/a/b/manifest.json"));
    assert_eq!(p.parent(), Some(Path::new("/a/b")));
    let name = p.file_name().unwrap().to_str().unwrap();
    assert_eq!(temp_target(name), Some("manifest.json"));
}
