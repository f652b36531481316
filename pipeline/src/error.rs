//! Pipeline errors. Every message names the file (and line or JSON path) at fault.

use std::path::{Path, PathBuf};

/// A problem with one input (a file, a line, an event). The build either fails on it
/// (`--on-error fail`) or leaves the input out and records it (`--on-error skip`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InputIssue {
    pub input: PathBuf,
    /// 1-based line, when the issue is one line of a text file.
    pub line: Option<usize>,
    /// Location inside a structured file, e.g. `event_annotation[3]`.
    pub location: Option<String>,
    pub reason: String,
}

impl InputIssue {
    pub fn file(input: &Path, reason: impl Into<String>) -> Self {
        InputIssue {
            input: input.to_path_buf(),
            line: None,
            location: None,
            reason: reason.into(),
        }
    }
    pub fn at_line(input: &Path, line: usize, reason: impl Into<String>) -> Self {
        InputIssue {
            input: input.to_path_buf(),
            line: Some(line),
            location: None,
            reason: reason.into(),
        }
    }
    pub fn at(input: &Path, location: impl Into<String>, reason: impl Into<String>) -> Self {
        InputIssue {
            input: input.to_path_buf(),
            line: None,
            location: Some(location.into()),
            reason: reason.into(),
        }
    }
    /// `path[:line][ location]`, the way the issue is named in messages and the manifest.
    pub fn place(&self) -> String {
        let mut s = self.input.display().to_string();
        if let Some(l) = self.line {
            s.push_str(&format!(":{l}"));
        }
        if let Some(loc) = &self.location {
            s.push_str(&format!(" {loc}"));
        }
        s
    }
}

impl std::fmt::Display for InputIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place(), self.reason)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {msg}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        msg: String,
    },
    #[error("{0}")]
    Layout(String),
    #[error("{}: {msg}", path.display())]
    Audio { path: PathBuf, msg: String },
    #[error("invalid option: {0}")]
    Options(String),
    #[error("{} bad input(s); nothing was written (use --on-error skip to build the rest):\n{}", .0.len(), list(.0))]
    BadInputs(Vec<InputIssue>),
    #[error(transparent)]
    Cache(#[from] auscult_cache::CacheError),
    #[error("metadata table {}: {msg}", path.display())]
    Metadata { path: PathBuf, msg: String },
}

fn list(issues: &[InputIssue]) -> String {
    issues
        .iter()
        .map(|i| format!("  {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl PipelineError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        PipelineError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
