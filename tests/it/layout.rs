//! The house rules that the compiler cannot see: the library imports nothing from the audio
//! pipeline and never decides anything by a dataset's name (the cache describes itself); its
//! folders import one way (tensor ← eval, model ← data ← train ← rundir ← report ← infer ←
//! sweep/jobs, the demo on top); no source file passes 700 lines and no folder holds 35% of the
//! source; the command line computes nothing and no command's file passes 400 code lines.

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
    library_code()
}

/// `<crate>/src`.
fn src_root() -> PathBuf {
    Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("src")
}

/// `(file, line number, line)` of the library's code lines.
fn library_code() -> Vec<(PathBuf, usize, String)> {
    let root = src_root();
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

/// `(file, line number, line)` of every code line (not a comment) under `src/<folder>`.
fn code_in(folder: &str) -> Vec<(PathBuf, usize, String)> {
    let root = src_root();
    library_code()
        .into_iter()
        .filter(|(f, _, _)| f.starts_with(root.join(folder)))
        .collect()
}

/// Lines of `src/<folder>` that name a module of the library it must not depend on.
fn upward_imports(folder: &str, forbidden: &[&str]) -> Vec<String> {
    code_in(folder)
        .into_iter()
        .filter(|(_, _, l)| {
            forbidden.iter().any(|m| {
                l.contains(&format!("crate::{m}::")) || l.contains(&format!("crate::{m};"))
            })
        })
        .map(|(f, n, l)| format!("{}:{n}: {}", f.display(), l.trim()))
        .collect()
}

#[test]
fn the_arrows_point_one_way() {
    // Each folder and the folders it must never import (they sit above it).
    let rules: [(&str, &[&str]); 9] = [
        (
            "tensor",
            &[
                "model", "data", "eval", "train", "rundir", "report", "infer", "sweep", "jobs",
                "demo",
            ],
        ),
        (
            "eval",
            &[
                "model", "data", "train", "rundir", "report", "infer", "sweep", "jobs", "demo",
            ],
        ),
        (
            "model",
            &[
                "data", "train", "rundir", "report", "infer", "sweep", "jobs", "demo",
            ],
        ),
        (
            "data",
            &[
                "train", "rundir", "report", "infer", "sweep", "jobs", "demo",
            ],
        ),
        ("train", &["report", "infer", "sweep", "jobs", "demo"]),
        // Whole jobs (jobs.rs, demo.rs) sit on top: only the command line calls the demo.
        ("rundir", &["report", "infer", "sweep", "jobs", "demo"]),
        ("report", &["infer", "sweep", "jobs", "demo"]),
        ("infer", &["sweep", "jobs", "demo"]),
        ("sweep", &["demo"]),
    ];
    let mut bad = Vec::new();
    for (folder, forbidden) in rules {
        bad.extend(upward_imports(folder, forbidden));
    }
    assert!(
        bad.is_empty(),
        "imports against the arrows:\n{}",
        bad.join("\n")
    );
}

/// The `src` folders of the workspace's four crates.
fn workspace_src_roots() -> Vec<PathBuf> {
    let root = src_root();
    let ws = root.parent().unwrap().to_path_buf();
    ["src", "cache/src", "pipeline/src", "pipeline/synth/src"]
        .iter()
        .map(|d| ws.join(d))
        .collect()
}

/// Unit tests live in each crate's one test binary (`tests/it/unit/<path>` tests
/// `src/<path>`), and every library says `test = false`: `cargo test` then compiles each
/// library once, not a second time with `cfg(test)` (that second compile was most of the test
/// command's compile time).
#[test]
fn no_library_compiles_its_tests_into_itself() {
    let mut bad = Vec::new();
    for root in workspace_src_roots() {
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        assert!(!files.is_empty(), "no sources under {}", root.display());
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (i, l) in text.lines().enumerate() {
                let code = l.trim_start();
                if code.starts_with("#[cfg(test)]") || code.starts_with("#[test]") {
                    bad.push(format!("{}:{}: {code}", f.display(), i + 1));
                }
            }
        }
        let manifest = std::fs::read_to_string(root.parent().unwrap().join("Cargo.toml")).unwrap();
        let lib = manifest.split("\n[").find(|s| s.starts_with("lib]"));
        if !lib.is_some_and(|l| l.lines().any(|x| x.trim() == "test = false")) {
            bad.push(format!(
                "{}: [lib] lacks `test = false`",
                root.parent().unwrap().join("Cargo.toml").display()
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "move these tests to the crate's tests/it/unit:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_source_file_is_over_700_lines_and_no_folder_holds_over_35_percent() {
    let root = src_root();
    let mut long = Vec::new();
    for other in workspace_src_roots().into_iter().skip(1) {
        let mut files = Vec::new();
        rust_files(&other, &mut files);
        for f in files {
            let n = std::fs::read_to_string(&f).unwrap().lines().count();
            if n > 700 {
                long.push(format!("{}: {n} lines", f.display()));
            }
        }
    }
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut total = 0usize;
    let mut by_folder = std::collections::BTreeMap::<String, usize>::new();
    for f in &files {
        let n = std::fs::read_to_string(f).unwrap().lines().count();
        total += n;
        if n > 700 {
            long.push(format!("{}: {n} lines", f.display()));
        }
        let rel = f.strip_prefix(&root).unwrap();
        if rel.components().count() > 1 {
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .into_owned();
            *by_folder.entry(top).or_default() += n;
        }
    }
    assert!(long.is_empty(), "split these files:\n{}", long.join("\n"));
    for (folder, n) in by_folder {
        assert!(
            n * 100 < 35 * total,
            "src/{folder} holds {n} of {total} lines (≥ 35%): split its concerns"
        );
    }
}

/// The command line's files (`src/cli/`, `src/main.rs`), code lines only.
fn cli_code() -> Vec<(PathBuf, usize, String)> {
    let root = src_root();
    let mut files = Vec::new();
    rust_files(&root.join("cli"), &mut files);
    files.push(root.join("main.rs"));
    let mut lines = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, l) in text.lines().enumerate() {
            if !l.trim_start().starts_with("//") {
                lines.push((f.clone(), i + 1, l.to_string()));
            }
        }
    }
    lines
}

#[test]
fn the_command_line_computes_nothing_and_stays_thin() {
    // Flags and one library (or pipeline) call per command: the tensors, tables and thread
    // pools are the library's and the pipeline's.
    let numeric = ["candle_core", "candle_nn", "parquet::", "rayon::", "gemm::"];
    let bad: Vec<String> = cli_code()
        .into_iter()
        .filter(|(_, _, l)| numeric.iter().any(|m| l.contains(m)))
        .map(|(f, n, l)| format!("{}:{n}: {}", f.display(), l.trim()))
        .collect();
    assert!(
        bad.is_empty(),
        "the command line computes (move it into the library):\n{}",
        bad.join("\n")
    );
    let mut long = Vec::new();
    let mut per_file = std::collections::BTreeMap::<PathBuf, usize>::new();
    for (f, _, _) in cli_code() {
        *per_file.entry(f).or_default() += 1;
    }
    for (f, n) in per_file {
        if n > 400 {
            long.push(format!("{}: {n} code lines", f.display()));
        }
    }
    assert!(
        long.is_empty(),
        "a command's file holds more than flags and dispatch:\n{}",
        long.join("\n")
    );
}
