//! Refusals decided while parsing the command line (clap and the argument types' parsers): no
//! process to start and no cache needed, the binary refuses before it reads anything. The
//! refusals that need a run dir, a cache or an experiment file are in the topics' modules.

use crate::common::auscult;

/// The parse error of `args` (after the program name) as text; fails if they parse.
fn refused(args: &[&str]) -> String {
    let out = auscult(args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} was accepted: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn kfold_needs_two_folds() {
    let err = refused(&["train", "ce", "--data", "x", "--protocol", "kfold:1"]);
    assert!(err.contains("K ≥ 2"), "{err}");
}

#[test]
fn resume_refuses_experiment_flags() {
    let err = refused(&["train", "--resume", "some-run", "--epochs", "3"]);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn an_os_error_is_said_once() {
    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {source}")]
    struct Io {
        path: String,
        source: std::io::Error,
    }
    let os = std::io::Error::from_raw_os_error(28);
    let os_text = os.to_string();
    let e = anyhow::Error::new(Io {
        path: "run/best.safetensors".into(),
        source: os,
    })
    .context("writing run/best.safetensors");
    let text = auscult::error_text(&e);
    assert_eq!(
        text,
        format!("writing run/best.safetensors: run/best.safetensors: {os_text}")
    );
    assert_eq!(text.matches(&os_text).count(), 1, "{text}");
    // Causes that add something are all kept.
    let e = anyhow::anyhow!("inner").context("middle").context("outer");
    assert_eq!(auscult::error_text(&e), "outer: middle: inner");
}
