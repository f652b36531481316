//! The house rules that the compiler cannot see: the trainer imports nothing from the audio
//! pipeline and never decides anything by a dataset's name (the cache describes itself).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Lines of the library's sources (all of `src/` but the command line) that are code, not
/// comments.
fn trainer_code() -> Vec<(PathBuf, usize, String)> {
    let root = Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    // The library: everything but the command line (which wires the pipeline to the trainer).
    files.retain(|f| !f.starts_with(root.join("cli")) && !f.ends_with("main.rs"));
    assert!(
        files.len() > 20,
        "found only {} files under {}",
        files.len(),
        root.display()
    );
    let mut lines = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, l) in text.lines().enumerate() {
            let code = l.trim_start();
            if !code.starts_with("//") {
                lines.push((f.clone(), i + 1, l.to_string()));
            }
        }
    }
    lines
}

#[test]
fn the_trainer_imports_nothing_from_the_pipeline() {
    let bad: Vec<String> = trainer_code()
        .into_iter()
        .filter(|(_, _, l)| l.contains("auscult_pipeline"))
        .map(|(f, n, l)| format!("{}:{n}: {}", f.display(), l.trim()))
        .collect();
    assert!(
        bad.is_empty(),
        "src/train uses the pipeline:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_trainer_names_no_dataset() {
    let bad: Vec<String> = trainer_code()
        .into_iter()
        .filter(|(_, _, l)| l.contains("\"icbhi\"") || l.contains("\"sprsound\""))
        .map(|(f, n, l)| format!("{}:{n}: {}", f.display(), l.trim()))
        .collect();
    assert!(
        bad.is_empty(),
        "src/train decides by a dataset's name:\n{}",
        bad.join("\n")
    );
}
