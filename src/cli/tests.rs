//! Refusals decided while parsing the command line (clap and the argument types' parsers): no
//! process to start and no cache needed. The refusals that need a run dir, a cache or an
//! experiment file are in tests/it.

use clap::Parser;

use super::Cli;

/// The parse error of `args` (after the program name) as text; fails if they parse.
fn refused(args: &[&str]) -> String {
    let argv = std::iter::once("auscult").chain(args.iter().copied());
    match Cli::try_parse_from(argv) {
        Ok(cli) => panic!("{args:?} was accepted: {cli:?}"),
        Err(e) => e.to_string(),
    }
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
