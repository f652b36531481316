//! manifest.json: JSON roundtrip, canonical params hash, validation on load.

use crate::common::{build_cache, test_classes};
use auscult_cache::{canonical_json, params_hash, CacheError, Manifest, MANIFEST_FILE};
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
    assert_eq!(value["format_version"], 2);
    assert_eq!(
        value["classes"][0],
        json!({"id": 0, "name": "normal", "normal": true})
    );
    assert_eq!(value["classes"][3]["name"], "both");
    assert_eq!(
        value["splits"],
        json!([{"name": "test", "rows": 2}, {"name": "train", "rows": 3}])
    );
    assert_eq!(value["default_eval_split"], "test");
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
/// Each `(needle, edit)`: the edited manifest fails to load with a format error naming the
/// manifest and containing `needle`.
fn assert_format_errors(cases: Vec<(&str, Box<ManifestEdit>)>) {
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
            "newer auscult (format version 3)",
            Box::new(|v| v["format_version"] = json!(3)),
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
    assert_format_errors(cases);
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

#[test]
fn a_version_1_manifest_says_to_rebuild() {
    // What an older auscult wrote: version 1, no classes/splits/default_eval_split.
    let (err, path) = load_error(|v| {
        let o = v.as_object_mut().unwrap();
        o.insert("format_version".into(), json!(1));
        o.remove("classes");
        o.remove("splits");
        o.remove("default_eval_split");
    });
    match &err {
        CacheError::Format { path: at, .. } => assert_eq!(at, &path),
        other => panic!("expected a format error, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "{}: format error: this cache was written by an older auscult (format version 1); \
             rebuild it with this version's `auscult pipeline build` (this build reads version 2)",
            path.display()
        )
    );
}

#[test]
fn a_newer_version_is_named_as_such() {
    // Even with fields this build does not know, the version is what is reported.
    let (err, path) = load_error(|v| {
        v["format_version"] = json!(7);
        v["something_new"] = json!({"x": 1});
    });
    let msg = err.to_string();
    assert!(
        msg.starts_with(&path.display().to_string())
            && msg.contains("written by a newer auscult (format version 7)")
            && msg.contains("this build reads version 2"),
        "{msg}"
    );
}

#[test]
fn invalid_classes_and_splits_are_rejected_naming_the_json_path() {
    let cases: Vec<(&str, Box<ManifestEdit>)> = vec![
        ("classes is empty", Box::new(|v| v["classes"] = json!([]))),
        (
            "classes[2].id is 5, expected 2",
            Box::new(|v| v["classes"][2]["id"] = json!(5)),
        ),
        (
            "classes[0].id is -1",
            Box::new(|v| v["classes"][0]["id"] = json!(-1)),
        ),
        (
            "classes[1].name is empty",
            Box::new(|v| v["classes"][1]["name"] = json!("")),
        ),
        (
            "classes[3].name \"crackle\" repeats classes[1].name",
            Box::new(|v| v["classes"][3]["name"] = json!("crackle")),
        ),
        (
            "no class has normal = true",
            Box::new(|v| v["classes"][0]["normal"] = json!(false)),
        ),
        (
            "every class has normal = true",
            Box::new(|v| {
                for c in v["classes"].as_array_mut().unwrap() {
                    c["normal"] = json!(true);
                }
            }),
        ),
        (
            "splits[1].name is empty",
            Box::new(|v| v["splits"][1]["name"] = json!("")),
        ),
        (
            "splits[1].name \"test\" repeats splits[0].name",
            Box::new(|v| v["splits"][1]["name"] = json!("test")),
        ),
        (
            "sorted by name",
            Box::new(|v| v["splits"][0]["name"] = json!("zzz")),
        ),
        (
            "default_eval_split \"val\" is not one of the splits [test, train]",
            Box::new(|v| v["default_eval_split"] = json!("val")),
        ),
        (
            "splits[].rows sum to 6 but rows is 5",
            Box::new(|v| v["splits"][0]["rows"] = json!(3)),
        ),
    ];
    assert_format_errors(cases);
    // A missing class list is a JSON error naming the field.
    let (err, _) = load_error(|v| {
        v.as_object_mut().unwrap().remove("classes");
    });
    assert!(
        matches!(&err, CacheError::Json { .. }) && err.to_string().contains("classes"),
        "{err}"
    );
}

#[test]
fn a_metadata_only_cache_counts_table_rows_in_its_splits() {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = build_cache(dir.path(), 0, 4);
    assert!(manifest.shards.is_empty());
    manifest.splits[0].rows = 40;
    manifest.splits[1].rows = 60;
    manifest.default_eval_split = None;
    manifest.save(dir.path()).unwrap();
    let loaded = Manifest::load(dir.path()).unwrap();
    assert_eq!(loaded.split_rows("train"), Some(60));
    assert_eq!(loaded.default_eval_split, None);
}

#[test]
fn class_and_split_helpers() {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = build_cache(dir.path(), 5, 2);
    assert_eq!(manifest.classes, test_classes());
    assert_eq!(manifest.n_classes(), 4);
    assert_eq!(manifest.normal_ids(), [0]);
    assert_eq!(
        manifest.class_names(),
        ["normal", "crackle", "wheeze", "both"]
    );
    assert_eq!(manifest.split_rows("test"), Some(2));
    assert_eq!(manifest.split_rows("train"), Some(3));
    assert_eq!(manifest.split_rows("val"), None);
    assert_eq!(
        manifest.describe_classes(),
        "ids 0..3: normal, crackle, wheeze, both"
    );
    manifest.classes[3].normal = true;
    assert_eq!(manifest.normal_ids(), [0, 3]);
    manifest.save(dir.path()).unwrap();
    manifest.classes.truncate(1);
    let err = manifest.save(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("at least one must be abnormal"),
        "{err}"
    );
}
