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
