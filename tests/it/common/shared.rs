//! Where the real-data tests find `../shared/data`, and whether its absence skips or fails them.
//!
//! A user's fresh clone has no `../shared/data`: the real-data tests then skip with a printed
//! reason. Where the data is expected (CI, with `AUSCULT_REQUIRE_DATA=1`), a missing path fails
//! the test instead, so a moved or renamed folder cannot turn the real-data tests into silent
//! passes. Included by `tests/common/mod.rs` and, through `#[path]`, by the pipeline's tests.
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
