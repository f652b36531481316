//! The `auscult` command line.

mod cli;

use std::io::IsTerminal;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUSCULT_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if args.verbose { "debug" } else { "info" })
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: a log piped to a file stays plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", auscult::error_text(&e));
            std::process::ExitCode::FAILURE
        }
    }
}
