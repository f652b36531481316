//! `auscult report <runs-dir>...`: the runs' Sp / Se / Score / HS beside the paper's numbers.

use std::path::PathBuf;

use auscult::eval::clinical::Options;
use auscult::report::clinical::{compare_runs, render_by, render_compare, render_evaluations};
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

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ByArg {
    /// Recording device (`device`).
    Device,
    /// Chest location (`chest_location`).
    Location,
    Sex,
    /// Age group (`age_group`).
    #[value(name = "age_group", alias = "age-group")]
    AgeGroup,
}

impl ByArg {
    fn name(self) -> &'static str {
        match self {
            ByArg::Device => "device",
            ByArg::Location => "location",
            ByArg::Sex => "sex",
            ByArg::AgeGroup => "age_group",
        }
    }
}

/// The patient bootstrap's settings (`report --by/--compare`, `evaluate`).
#[derive(Args, Debug, Clone)]
pub struct BootstrapArgs {
    /// Bootstrap resamples of the test patients (B). In `report`: for --by and --compare (the
    /// plain report shows what each run recorded; `auscult evaluate` recomputes it).
    #[arg(long, default_value_t = 1000, value_name = "B")]
    pub resamples: usize,
    /// Seed of the bootstrap's draws (the same seed gives the same resamples).
    #[arg(long, default_value_t = 0)]
    pub bootstrap_seed: u64,
    /// Subgroups with fewer cycles are flagged (†).
    #[arg(long, default_value_t = 30)]
    pub min_cycles: usize,
    /// Subgroups with fewer patients are flagged (†).
    #[arg(long, default_value_t = 3)]
    pub min_patients: usize,
}

impl BootstrapArgs {
    pub fn options(&self) -> anyhow::Result<Options> {
        anyhow::ensure!(self.resamples > 0, "--resamples must be at least 1");
        Ok(Options {
            resamples: self.resamples,
            seed: self.bootstrap_seed,
            min_cycles: self.min_cycles,
            min_patients: self.min_patients,
            ..Options::default()
        })
    }
}

/// Tabulates finished runs in the paper's layout: one row per run dir (one seed, or several
/// seeds as mean ± std), Sp / Se / Score / HS ×100, next to the paper's numbers for the run's
/// row of the paper (configs/paper_results.toml), printed on stdout.
///
/// Also writes a Markdown report (--out, default report.md in the first RUNS_DIR): the same
/// table, then each run's plots/curves.png and plots/confusion.png embedded with links relative
/// to the report (a multi-seed run: its mean ± std plots, and links to each seed's). Plots
/// missing from a run dir are drawn from its summary.json and metrics.jsonl first.
///
/// Runs evaluated clinically (every run trained by this version, or `auscult evaluate`) also get
/// a table of Score with its 95% patient-bootstrap interval, AUROC, operating points and
/// calibration in report.md (and on stdout with --clinical). `--by device` tabulates the metrics per group of a metadata column instead;
/// `--compare RUN_A RUN_B` the paired difference in Score between two runs.
///
/// Examples:
///   auscult report runs/ --clinical
///   auscult report runs/ce runs/scl --by device
///   auscult report --compare runs/ce runs/scl
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ReportArgs {
    /// Run dirs written by `auscult train`, or folders holding run dirs (e.g. `runs/`).
    #[arg(required_unless_present = "compare", value_name = "RUNS_DIR")]
    pub runs: Vec<PathBuf>,
    /// Per group of a metadata column: Se / Sp / Score / HS and counts, mean ± std over seeds
    /// with the patient-bootstrap 95% interval of the seed mean; small groups flagged (†).
    #[arg(long, value_enum)]
    pub by: Option<ByArg>,
    /// The paired difference Score(B) − Score(A) on the same bootstrap draws of the same test
    /// patients, its 95% interval and the share of resamples where B beats A.
    #[arg(long, num_args = 2, value_names = ["RUN_A", "RUN_B"], conflicts_with_all = ["runs", "by"])]
    pub compare: Option<Vec<PathBuf>>,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
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
    /// Also print the clinical evaluation's table (always in report.md): per seed run Score
    /// with its 95% patient-bootstrap interval, AUROC, Se @ Sp 0.90 / 0.95 and Sp @ Se 0.90
    /// with their thresholds, ECE, temperature; a multi-seed run's mean ± std.
    #[arg(long)]
    pub clinical: bool,
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
    let opts = args.bootstrap.options()?;
    if let Some(ab) = &args.compare {
        let c = compare_runs(&ab[0], &ab[1], selection, &opts)?;
        print!("{}", render_compare(&ab[0], &ab[1], &c));
        return Ok(());
    }
    let dirs = run_dirs(&args.runs)?;
    if let Some(by) = args.by {
        print!("{}", render_by(&dirs, by.name(), selection, &opts)?);
        return Ok(());
    }
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
    if args.clinical {
        let clinical = render_evaluations(&dirs, selection)?;
        if !clinical.is_empty() {
            print!("\n{clinical}");
        }
    }
    let out = args.out.unwrap_or_else(|| args.runs[0].join("report.md"));
    write_markdown_report(&rows, &paper, selection, &out)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// The run dirs the report's rows come from.
fn run_dirs(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    Ok(collect_runs(paths, Selection::BestEval)?
        .into_iter()
        .map(|r| r.dir)
        .collect())
}
