//! Where the real-data tests find `../shared/data`, and whether its absence skips or fails them.
//!
//! A user's fresh clone has no `../shared/data`: the real-data tests then skip with a printed
//! reason. Where the data is expected (CI, with `AUSCULT_REQUIRE_DATA=1`), a missing path fails
//! the test instead, so a moved or renamed folder cannot turn the real-data tests into silent
//! passes. Included by `tests/it/common/mod.rs` and, through `#[path]`, by the pipeline's tests
//! (`pipeline/tests/it/main.rs`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Environment variable that, set to `1`, makes a missing real-data path a test failure.
pub const REQUIRE_DATA_VAR: &str = "AUSCULT_REQUIRE_DATA";

/// Whether `AUSCULT_REQUIRE_DATA=1` is set.
pub fn require_data() -> bool {
    std::env::var(REQUIRE_DATA_VAR).is_ok_and(|v| v.trim() == "1")
}

/// The decision, without side effects: `path` when it exists; `None` (skip) when it is absent
/// and not `require`d; an error naming the path when it is absent and `require`d.
pub fn resolve_shared(path: &Path, require: bool) -> Result<Option<PathBuf>, String> {
    if path.exists() {
        Ok(Some(path.to_path_buf()))
    } else if require {
        Err(format!(
            "{} not found, and {REQUIRE_DATA_VAR}=1 says the real data must be there",
            path.display()
        ))
    } else {
        Ok(None)
    }
}

/// [`resolve_shared`] under the environment's [`require_data`]: prints why the test skips, or
/// panics (failing the test) naming the path.
pub fn shared_or_skip(path: &Path) -> Option<PathBuf> {
    match resolve_shared(path, require_data()) {
        Ok(Some(p)) => Some(p),
        Ok(None) => {
            eprintln!(
                "skipping: {} not found (real-data tests need ../shared/data; set \
                 {REQUIRE_DATA_VAR}=1 to fail instead)",
                path.display()
            );
            None
        }
        Err(msg) => panic!("{msg}"),
    }
}

/// `<workspace>/../shared/data`, from the workspace root.
pub fn shared_data_root(workspace: &Path) -> PathBuf {
    workspace.join("../shared/data")
}

/// The run-time `CARGO_MANIFEST_DIR` (right even for a test binary built from another checkout
/// sharing the target dir), else the compile-time one.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
}

/// The workspace root: the nearest ancestor of the run-time manifest dir (this crate's or the
/// pipeline's) whose `Cargo.toml` declares `[workspace]`.
pub fn workspace_dir() -> PathBuf {
    let start = manifest_dir();
    start
        .ancestors()
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml"))
                .is_ok_and(|t| t.lines().any(|l| l.trim() == "[workspace]"))
        })
        .unwrap_or(&start)
        .to_path_buf()
}

/// `../shared/data/<name>` beside the workspace, or None (with a printed reason) when absent —
/// the case on a user's fresh clone. With `AUSCULT_REQUIRE_DATA=1` a missing folder fails the
/// test instead (see [`resolve_shared`]).
pub fn shared_data(name: &str) -> Option<PathBuf> {
    shared_or_skip(&shared_data_root(&workspace_dir()).join(name))
}

/// `../shared/data/icbhi` when it holds the real mini database (`ICBHI_final_database/`), or
/// None with a printed reason (a failure with `AUSCULT_REQUIRE_DATA=1`).
pub fn mini_database() -> Option<PathBuf> {
    let icbhi = shared_data("icbhi")?;
    shared_or_skip(&icbhi.join("ICBHI_final_database"))?;
    Some(icbhi)
}

/// A synthetic SPRSound database of 12 recordings (the pipeline's and the CLI's SPRSound tests).
pub fn synth_sprsound_db(seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    auscult_synth::sprsound::synth_sprsound(
        dir.path(),
        &auscult_synth::sprsound::SprsoundSynthOptions {
            recordings: 12,
            seed,
        },
    )
    .unwrap();
    dir
}
