//! Unit tests of `src/sprsound/layout.rs`.

use std::fs;
use std::path::Path;

use auscult_pipeline::sprsound::layout::*;
use auscult_pipeline::sprsound::SprsoundError;

fn mkdirs(root: &Path, dirs: &[&str]) {
    for d in dirs {
        fs::create_dir_all(root.join(d)).unwrap();
    }
}

fn summary(root: &Path, sources: &[JsonSource]) -> Vec<(String, i32, String, String)> {
    let rel = |p: &Path| p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
    sources
        .iter()
        .map(|s| (s.split.clone(), s.year, rel(&s.json_dir), rel(&s.wav_dir)))
        .collect()
}

fn row(split: &str, year: i32, json: &str, wav: &str) -> (String, i32, String, String) {
    (split.into(), year, json.into(), wav.into())
}

#[test]
fn names() {
    assert_eq!(release_year("BioCAS2024"), Some(2024));
    assert_eq!(release_year("BioCAS24"), None);
    assert_eq!(release_year("biocas2024"), None);
    assert_eq!(
        versioned_folder("train2022_json", "train"),
        Some(Some(2022))
    );
    assert_eq!(versioned_folder("train_json", "train"), Some(None));
    assert_eq!(versioned_folder("train_wav", "train"), None);
    assert_eq!(versioned_folder("trainX_json", "train"), None);
}

#[test]
fn repository_root_with_2022_and_later_years() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    mkdirs(
        root,
        &[
            "BioCAS2022/train2022_json",
            "BioCAS2022/train2022_wav",
            "BioCAS2022/test2022_json/inter_test_json",
            "BioCAS2022/test2022_json/intra_test_json",
            "BioCAS2022/test2022_wav",
            "BioCAS2023/test2023_json",
            "BioCAS2023/test2023_wav",
            "releases/BioCAS2022/train2022_json",
            "releases/BioCAS2025/test2025_json",
            "scripts",
        ],
    );
    fs::write(
        root.join("BioCAS2023/test2023_json/1_1.0_0_p1_1.json"),
        "{}",
    )
    .unwrap();
    fs::write(
        root.join("releases/BioCAS2025/test2025_json/1_1.0_0_p1_1.json"),
        "{}",
    )
    .unwrap();
    let sources = discover_sources(root).unwrap();
    assert_eq!(
        summary(root, &sources),
        vec![
            row(
                "train",
                2022,
                "BioCAS2022/train2022_json",
                "BioCAS2022/train2022_wav"
            ),
            row(
                "inter_test",
                2022,
                "BioCAS2022/test2022_json/inter_test_json",
                "BioCAS2022/test2022_wav"
            ),
            row(
                "intra_test",
                2022,
                "BioCAS2022/test2022_json/intra_test_json",
                "BioCAS2022/test2022_wav"
            ),
            row(
                "test_2023",
                2023,
                "BioCAS2023/test2023_json",
                "BioCAS2023/test2023_wav"
            ),
            row(
                "test_2025",
                2025,
                "releases/BioCAS2025/test2025_json",
                "releases/BioCAS2025/test2025_wav"
            ),
        ]
    );
    // One release folder given directly.
    let only = discover_sources(&root.join("BioCAS2023")).unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!((only[0].split.as_str(), only[0].year), ("test_2023", 2023));
}

#[test]
fn old_unversioned_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    mkdirs(
        root,
        &[
            "train_json",
            "train_wav",
            "test_json/inter_test_json",
            "test_json/intra_test_json",
            "test_wav",
        ],
    );
    assert_eq!(
        summary(root, &discover_sources(root).unwrap()),
        vec![
            row("train", 2022, "train_json", "train_wav"),
            row("inter_test", 2022, "test_json/inter_test_json", "test_wav"),
            row("intra_test", 2022, "test_json/intra_test_json", "test_wav"),
        ]
    );
}

#[test]
fn top_level_copy_is_shadowed_by_release_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    mkdirs(root, &["train_json", "BioCAS2022/train2022_json"]);
    assert_eq!(
        summary(root, &discover_sources(root).unwrap()),
        vec![row(
            "train",
            2022,
            "BioCAS2022/train2022_json",
            "BioCAS2022/train2022_wav"
        )]
    );
}

#[test]
fn wavs_next_to_json_when_no_wav_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    mkdirs(root, &["train_json"]);
    fs::write(root.join("train_json/a.wav"), b"").unwrap();
    assert_eq!(
        summary(root, &discover_sources(root).unwrap()),
        vec![row("train", 2022, "train_json", "train_json")]
    );
}

#[test]
fn layout_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    assert!(matches!(
        discover_sources(&missing),
        Err(SprsoundError::InputMissing { .. })
    ));
    let file = tmp.path().join("f");
    fs::write(&file, "").unwrap();
    assert!(matches!(
        discover_sources(&file),
        Err(SprsoundError::NotADirectory { .. })
    ));
    mkdirs(tmp.path(), &["empty/other_json"]);
    let msg = discover_sources(&tmp.path().join("empty"))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no SPRSound annotation folders"), "{msg}");
}
