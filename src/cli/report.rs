//! `auscult report <runs-dir>...`: the runs' Sp / Se / Score / HS beside the paper's numbers.

use std::path::PathBuf;

use auscult::report::{
    collect_runs, default_paper_results, parse_paper_results, render, render_paper_layout,
    render_selections, write_markdown_report, Format, Selection,
};
use clap::{Args, ValueEnum};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    /// Markdown table.
    Md,
    /// Comma-separated values.
    Csv,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LayoutArg {
    /// One row per run dir, with the paper's row it reproduces beside it.
    Runs,
    /// The paper's Tables 1–3, each paper row with the runs that reproduce it (or "not run"),
    /// Δ Score and Δ in units of the paper's std.
    Paper,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SelectArg {
    /// Best epoch on the evaluation split (the paper's protocol).
    BestEval,
    /// Epoch chosen on held-out validation patients (runs with val_fraction > 0).
    BestVal,
    /// Last epoch.
    Final,
}

/// Tabulates finished runs in the paper's layout: one row per run dir (one seed, or several
/// seeds as mean ± std), Sp / Se / Score / HS ×100, next to the paper's numbers for the run's
/// row of the paper (configs/paper_results.toml), printed on stdout.
///
/// Also writes a Markdown report (--out, default report.md in the first RUNS_DIR): the same
/// table, then each run's plots/curves.png and plots/confusion.png embedded with links relative
/// to the report (a multi-seed run: its mean ± std plots, and links to each seed's). Plots
/// missing from a run dir are drawn from its summary.json and metrics.jsonl first.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Run dirs written by `auscult train`, or folders holding run dirs (e.g. `runs/`).
    #[arg(required = true, value_name = "RUNS_DIR")]
    pub runs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "md")]
    pub format: FormatArg,
    /// Which epoch of each run to report.
    #[arg(long, value_enum, default_value = "best-eval")]
    pub select: SelectArg,
    /// Table layout (markdown).
    #[arg(long, value_enum, default_value = "runs")]
    pub layout: LayoutArg,
    /// Also print each run's Score under every epoch selection side by side (best test epoch,
    /// best validation epoch, last epoch): how much of a number is epoch selection on the test
    /// set.
    #[arg(long)]
    pub protocols: bool,
    /// Paper numbers keyed by config stem (default: the compiled-in configs/paper_results.toml).
    #[arg(long, value_name = "TOML")]
    pub paper: Option<PathBuf>,
    /// Where to write the Markdown report with the plots (default: report.md in the first
    /// RUNS_DIR).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let selection = match args.select {
        SelectArg::BestEval => Selection::BestEval,
        SelectArg::BestVal => Selection::BestVal,
        SelectArg::Final => Selection::Final,
    };
    let format = match args.format {
        FormatArg::Md => Format::Markdown,
        FormatArg::Csv => Format::Csv,
    };
    let paper = match &args.paper {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            parse_paper_results(&text, p)?
        }
        None => default_paper_results(),
    };
    let rows = collect_runs(&args.runs, selection)?;
    match (args.layout, format) {
        (LayoutArg::Paper, Format::Markdown) => {
            print!("{}", render_paper_layout(&rows, &paper, selection))
        }
        _ => print!("{}", render(&rows, &paper, format, selection)),
    }
    if args.protocols {
        print!("\n{}", render_selections(&args.runs)?);
    }
    let out = args.out.unwrap_or_else(|| args.runs[0].join("report.md"));
    write_markdown_report(&rows, &paper, selection, &out)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
