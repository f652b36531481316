//! Finding the annotation folders of a SPRSound checkout and the audio folder of each.
//!
//! Accepted layouts (`--input` may be the repository root, a `releases/` folder or one release
//! folder):
//! - a release folder `BioCAS<YEAR>/` holding `train<YEAR>_json/` + `train<YEAR>_wav/` and/or
//!   `test<YEAR>_json/` + `test<YEAR>_wav/`. The test JSON folder either holds the files directly
//!   (2023+: `test2023_json/*.json`) or holds `inter_test_json/` and `intra_test_json/` (2022), whose
//!   audio shares the one `test<YEAR>_wav/` folder;
//! - the older unversioned layout with `train_json/`, `train_wav/`, `test_json/{inter_test_json,
//!   intra_test_json}/`, `test_wav/` directly in `--input` (year 2022 unless the input folder is
//!   named `BioCAS<YEAR>`);
//! - release folders found as `--input/BioCAS<YEAR>/` and, for years not found there,
//!   `--input/releases/BioCAS<YEAR>/`. When `--input` itself holds annotation folders for a year
//!   that also has a `BioCAS<YEAR>/` sub-folder, the sub-folder wins (they are two copies).
//!
//! The audio folder of `X_json/` is `X_wav/` beside it; when that folder is absent but the JSON
//! folder itself holds `.wav` files, the audio is looked up next to the JSON. Folders with other
//! names are ignored.
//!
//! Splits: `train` for training folders; for 2022, `inter_test` / `intra_test`; for a later year
//! (or a test folder without the inter/intra sub-folders), `test_<YEAR>`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::SprsoundError;

/// The year of the first public release, used when no folder name carries a year.
pub const FIRST_RELEASE_YEAR: i32 = 2022;

/// One folder of annotation files, with its split and where its audio lives.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonSource {
    /// `train`, `inter_test`, `intra_test` or `test_<YEAR>`.
    pub split: String,
    /// Release year.
    pub year: i32,
    pub json_dir: PathBuf,
    /// Folder holding the recordings; may not exist (then every JSON lacks its WAV).
    pub wav_dir: PathBuf,
}

/// `BioCAS2023` → 2023.
pub fn release_year(name: &str) -> Option<i32> {
    let digits = name.strip_prefix("BioCAS")?;
    (digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// `train2022_json` with prefix `train` → Some(Some(2022)); `train_json` → Some(None); other
/// names → None.
pub fn versioned_folder(name: &str, prefix: &str) -> Option<Option<i32>> {
    let digits = name.strip_prefix(prefix)?.strip_suffix("_json")?;
    if digits.is_empty() {
        return Some(None);
    }
    (digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok())
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, SprsoundError> {
    let entries = fs::read_dir(dir).map_err(|source| SprsoundError::ReadDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SprsoundError::ReadDir {
            path: dir.to_path_buf(),
            source,
        })?;
        paths.push(entry.path());
    }
    paths.sort();
    Ok(paths)
}

/// Files in `dir` whose extension is `ext` (ASCII case-insensitive), skipping hidden files;
/// sorted by path.
pub fn files_with_extension(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, SprsoundError> {
    Ok(read_dir_sorted(dir)?
        .into_iter()
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e.eq_ignore_ascii_case(ext))
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.starts_with('.'))
        })
        .collect())
}

fn dir_name(path: &Path) -> Option<&str> {
    path.file_name().and_then(|n| n.to_str())
}

/// The audio folder for `json_dir`, whose sibling audio folder would be `sibling_wav`.
fn audio_dir(json_dir: &Path, sibling_wav: PathBuf) -> Result<PathBuf, SprsoundError> {
    if sibling_wav.is_dir() || files_with_extension(json_dir, "wav")?.is_empty() {
        Ok(sibling_wav)
    } else {
        Ok(json_dir.to_path_buf())
    }
}

/// Annotation folders directly inside one release folder (or the old top-level layout).
fn sources_in_release(dir: &Path, release: Option<i32>) -> Result<Vec<JsonSource>, SprsoundError> {
    let mut sources = Vec::new();
    for path in read_dir_sorted(dir)?.into_iter().filter(|p| p.is_dir()) {
        let Some(name) = dir_name(&path) else {
            continue;
        };
        let Some(base) = name.strip_suffix("_json") else {
            continue;
        };
        let sibling_wav = dir.join(format!("{base}_wav"));
        if let Some(folder_year) = versioned_folder(name, "train") {
            let year = folder_year.or(release).unwrap_or(FIRST_RELEASE_YEAR);
            sources.push(JsonSource {
                split: "train".into(),
                year,
                wav_dir: audio_dir(&path, sibling_wav)?,
                json_dir: path,
            });
        } else if let Some(folder_year) = versioned_folder(name, "test") {
            let year = folder_year.or(release).unwrap_or(FIRST_RELEASE_YEAR);
            for sub in ["inter_test", "intra_test"] {
                let sub_dir = path.join(format!("{sub}_json"));
                if sub_dir.is_dir() {
                    let split = if year == FIRST_RELEASE_YEAR {
                        sub.to_string()
                    } else {
                        format!("test_{year}")
                    };
                    sources.push(JsonSource {
                        split,
                        year,
                        wav_dir: audio_dir(&sub_dir, sibling_wav.clone())?,
                        json_dir: sub_dir,
                    });
                }
            }
            if !files_with_extension(&path, "json")?.is_empty() {
                sources.push(JsonSource {
                    split: format!("test_{year}"),
                    year,
                    wav_dir: audio_dir(&path, sibling_wav)?,
                    json_dir: path,
                });
            }
        }
    }
    Ok(sources)
}

/// Release folders `BioCAS<YEAR>` under `input`, then under `input/releases` for missing years.
fn release_dirs(input: &Path) -> Result<BTreeMap<i32, PathBuf>, SprsoundError> {
    let mut found = BTreeMap::new();
    for parent in [input.to_path_buf(), input.join("releases")] {
        if !parent.is_dir() {
            continue;
        }
        for path in read_dir_sorted(&parent)?.into_iter().filter(|p| p.is_dir()) {
            if let Some(year) = dir_name(&path).and_then(release_year) {
                found.entry(year).or_insert(path);
            }
        }
    }
    Ok(found)
}

fn split_rank(split: &str) -> u8 {
    match split {
        "train" => 0,
        "inter_test" => 1,
        "intra_test" => 2,
        _ => 3,
    }
}

/// All annotation folders reachable from `input`, ordered by year, then train / inter / intra /
/// other, then path.
pub fn discover_sources(input: &Path) -> Result<Vec<JsonSource>, SprsoundError> {
    if !input.exists() {
        return Err(SprsoundError::InputMissing {
            path: input.to_path_buf(),
        });
    }
    if !input.is_dir() {
        return Err(SprsoundError::NotADirectory {
            path: input.to_path_buf(),
        });
    }
    let releases = release_dirs(input)?;
    let own_year = dir_name(input).and_then(release_year);
    let mut sources: Vec<JsonSource> = sources_in_release(input, own_year)?
        .into_iter()
        .filter(|s| {
            let shadowed = releases.contains_key(&s.year);
            if shadowed {
                tracing::warn!(
                    "ignoring {}: BioCAS{} folder found under {} is used instead",
                    s.json_dir.display(),
                    s.year,
                    input.display()
                );
            }
            !shadowed
        })
        .collect();
    for (year, dir) in &releases {
        sources.extend(sources_in_release(dir, Some(*year))?);
    }
    if sources.is_empty() {
        return Err(SprsoundError::NoJsonFolders {
            path: input.to_path_buf(),
        });
    }
    sources.sort_by(|a, b| {
        (a.year, split_rank(&a.split), &a.json_dir).cmp(&(
            b.year,
            split_rank(&b.split),
            &b.json_dir,
        ))
    });
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
