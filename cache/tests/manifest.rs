//! manifest.json: JSON roundtrip, canonical params hash, validation on load.

mod common;

use auscult_cache::{canonical_json, params_hash, CacheError, Manifest, MANIFEST_FILE};
use common::build_cache;
use serde_json::{json, Map, Value};

#[test]
fn manifest_json_roundtrips() {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = build_cache(dir.path(), 5, 2);
    manifest.metadata_file = Some("metadata.parquet".to_string());
    manifest.extra = json!({"z": [1, 2], "a": null});
    manifest.save(dir.path()).unwrap();
    let loaded = Manifest::load(dir.path()).unwrap();
    assert_eq!(loaded, manifest);
    // Saving what was loaded reproduces the same bytes.
    let first = std::fs::read(dir.path().join(MANIFEST_FILE)).unwrap();
    loaded.save(dir.path()).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join(MANIFEST_FILE)).unwrap(),
        first
    );
    // It is JSON a generic parser reads, with the documented field names.
    let value: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(value["format_version"], 1);
    assert_eq!(value["feature_shape"], json!([3, 5]));
    assert_eq!(value["shards"][0]["file"], "shards/00000.safetensors");
    assert_eq!(value["skipped"][0]["reason"], "unreadable");
}

#[test]
fn params_hash_ignores_key_order() {
    let mut inner_a = Map::new();
    inner_a.insert("x".into(), json!(1));
    inner_a.insert("y".into(), json!([2.5, "s"]));
    let mut a = Map::new();
    a.insert("b".into(), Value::Object(inner_a));
    a.insert("a".into(), json!(true));

    let mut inner_b = Map::new();
    inner_b.insert("y".into(), json!([2.5, "s"]));
    inner_b.insert("x".into(), json!(1));
    let mut b = Map::new();
    b.insert("a".into(), json!(true));
    b.insert("b".into(), Value::Object(inner_b));

    let (a, b) = (Value::Object(a), Value::Object(b));
    let canonical = r#"{"a":true,"b":{"x":1,"y":[2.5,"s"]}}"#;
    assert_eq!(canonical_json(&a), canonical);
    assert_eq!(canonical_json(&b), canonical);
    assert_eq!(params_hash(&a), params_hash(&b));
    assert_eq!(
        params_hash(&a),
        blake3::hash(canonical.as_bytes()).to_hex().to_string()
    );
    assert_ne!(params_hash(&a), params_hash(&json!({"a": false})));
}

/// A change made to a manifest's JSON.
type ManifestEdit = dyn FnOnce(&mut Value);

/// Saves a valid cache, rewrites its manifest with `edit`, and returns the
/// error `Manifest::load` gives.
fn load_error(edit: impl FnOnce(&mut Value)) -> (CacheError, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    build_cache(dir.path(), 5, 2);
    let path = dir.path().join(MANIFEST_FILE);
    let mut value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(&path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    (Manifest::load(dir.path()).unwrap_err(), path)
}

#[test]
fn inconsistent_manifests_are_rejected_naming_the_file() {
    let cases: Vec<(&str, Box<ManifestEdit>)> = vec![
        (
            "format_version",
            Box::new(|v| v["format_version"] = json!(2)),
        ),
        (
            "params_hash",
            Box::new(|v| v["params"]["n_mels"] = json!(128)),
        ),
        ("rows", Box::new(|v| v["rows"] = json!(6))),
        (
            "first_row",
            Box::new(|v| v["shards"][1]["first_row"] = json!(3)),
        ),
        (
            "relative",
            Box::new(|v| v["shards"][0]["file"] = json!("../x")),
        ),
        (
            "blake3",
            Box::new(|v| v["shards"][0]["blake3"] = json!("abc")),
        ),
        ("zero", Box::new(|v| v["feature_shape"] = json!([0, 5]))),
    ];
    for (needle, edit) in cases {
        let (err, path) = load_error(edit);
        match &err {
            CacheError::Format { path: at, msg } => {
                assert_eq!(at, &path);
                assert!(msg.contains(needle), "{needle}: {msg}");
            }
            other => panic!("{needle}: expected a format error, got {other:?}"),
        }
    }
}

#[test]
fn malformed_json_reports_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(MANIFEST_FILE);
    std::fs::write(&path, "{\n  \"format_version\": 1,\n  oops\n}").unwrap();
    let err = Manifest::load(dir.path()).unwrap_err();
    assert!(matches!(&err, CacheError::Json { path: p, .. } if *p == path));
    let msg = err.to_string();
    assert!(
        msg.contains("manifest.json") && msg.contains("line 3"),
        "{msg}"
    );

    let (err, _) = load_error(|v| v["surprise"] = json!(1));
    assert!(err.to_string().contains("surprise"), "{err}");
}

#[test]
fn missing_manifest_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = Manifest::load(dir.path()).unwrap_err();
    assert!(matches!(&err, CacheError::Io { path, .. } if *path == dir.path().join(MANIFEST_FILE)));
}

#[test]
fn save_refuses_an_inconsistent_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = build_cache(dir.path(), 5, 2);
    let before = std::fs::read(dir.path().join(MANIFEST_FILE)).unwrap();
    manifest.params_hash = "0".repeat(64);
    assert!(matches!(
        manifest.save(dir.path()),
        Err(CacheError::Format { .. })
    ));
    assert_eq!(
        std::fs::read(dir.path().join(MANIFEST_FILE)).unwrap(),
        before
    );
}
