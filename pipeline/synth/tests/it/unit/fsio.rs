//! Unit tests of `src/fsio.rs`.

use std::fs;

use auscult_synth::fsio::*;

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
    let err = copy_atomic(&dir.path().join("absent.txt"), &dir.path().join("y.txt")).unwrap_err();
    assert!(err.to_string().contains("absent.txt"), "{err}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}
