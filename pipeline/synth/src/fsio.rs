//! Atomic file output: everything is written under a temporary name in the destination folder,
//! then renamed, so a reader never sees a partial file.

use std::fs;
use std::path::{Path, PathBuf};

use super::SynthError;

/// The temporary sibling of `dest` used while writing it: `.<file name>.tmp<pid>` (never ends in
/// `.wav`/`.txt`, so dataset readers skip a leftover one).
pub fn temp_path_for(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.tmp{}", std::process::id()))
}

/// Writes `temp` with `write`, then renames it onto `dest`; removes `temp` on failure.
pub fn commit_atomic<F>(dest: &Path, write: F) -> Result<(), SynthError>
where
    F: FnOnce(&Path) -> Result<(), SynthError>,
{
    let temp = temp_path_for(dest);
    let result = write(&temp)
        .and_then(|()| fs::rename(&temp, dest).map_err(|source| SynthError::io(dest, source)));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Writes `contents` to `dest` atomically.
pub fn write_atomic(dest: &Path, contents: &[u8]) -> Result<(), SynthError> {
    commit_atomic(dest, |temp| {
        fs::write(temp, contents).map_err(|source| SynthError::io(temp, source))
    })
}

/// Copies `src` to `dest` atomically (byte for byte).
pub fn copy_atomic(src: &Path, dest: &Path) -> Result<(), SynthError> {
    let contents = fs::read(src).map_err(|source| SynthError::io(src, source))?;
    write_atomic(dest, &contents)
}

/// Creates `dir` and its parents.
pub fn create_dir_all(dir: &Path) -> Result<(), SynthError> {
    fs::create_dir_all(dir).map_err(|source| SynthError::io(dir, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_copy_leaves_only_final_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        let b = dir.path().join("b.txt");
        write_atomic(&a, b"hello\n").unwrap();
        copy_atomic(&a, &b).unwrap();
        assert_eq!(fs::read(&b).unwrap(), b"hello\n");
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a.txt", "b.txt"]);
    }

    #[test]
    fn failed_write_removes_temp_and_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no_such_dir").join("x.txt");
        let err = write_atomic(&missing, b"x").unwrap_err();
        assert!(err.to_string().contains("no_such_dir"), "{err}");
        let err =
            copy_atomic(&dir.path().join("absent.txt"), &dir.path().join("y.txt")).unwrap_err();
        assert!(err.to_string().contains("absent.txt"), "{err}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
