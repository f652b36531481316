//! `auscult report`: the runs' results in the paper's layout (Sp, Se, Score, HS, ×100, mean ± std
//! over seeds) next to the paper's own numbers for the same row, so a reproduction can be read
//! against its target at a glance.
//!
//! A run dir is what `auscult train` wrote: `summary.json` of one seed (`best_by_eval.eval` holds
//! the metrics) or of several seeds (`seeds` list; `best_by_eval` holds mean ± std). A folder
//! without `summary.json` stands for its immediate sub-folders that have one. The paper's numbers
//! come from `configs/paper_results.toml` (compiled in; another file may be given). A run is
//! matched to the paper's row by what it did — dataset, method, initialisation (scratch or
//! AudioSet) and the contrastive labels or heads (the run's [`Signature`]) — never by its file
//! or folder name, so a CE run started from an SCL config is not printed beside SCL's numbers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

pub mod plots;

use crate::eval::metrics::{Metrics, MetricsSummary};
use crate::train::experiment::{canonical_labels, Signature};

/// The paper's reference numbers shipped with the repo.
pub const PAPER_RESULTS: &str = include_str!("../../configs/paper_results.toml");

/// Errors reading runs or the paper's numbers; each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: cannot read", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {msg}", path.display())]
    Json { path: PathBuf, msg: String },
    #[error("{}: {msg}", path.display())]
    PaperResults { path: PathBuf, msg: String },
    #[error("{}: no summary.json here or in any sub-folder (is it a run dir of `auscult train`?)", path.display())]
    NoRuns { path: PathBuf },
}

/// Mean ± std of a metric in [0, 1] over `n` seeds (std 0 for one seed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub mean: f64,
    pub std: f64,
    pub n: usize,
}

/// The four metrics the paper reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowMetrics {
    pub sp: Stat,
    pub se: Stat,
    pub score: Stat,
    pub hs: Stat,
}

impl RowMetrics {
    fn of_one(m: &Metrics) -> Self {
        let s = |v| Stat {
            mean: v,
            std: 0.0,
            n: 1,
        };
        RowMetrics {
            sp: s(m.sp),
            se: s(m.se),
            score: s(m.score),
            hs: s(m.hs),
        }
    }
    fn of_summary(m: &MetricsSummary) -> Self {
        let s = |v: crate::eval::metrics::MeanStd| Stat {
            mean: v.mean,
            std: v.std,
            n: v.n,
        };
        RowMetrics {
            sp: s(m.sp),
            se: s(m.se),
            score: s(m.score),
            hs: s(m.hs),
        }
    }
}

/// Which epoch of each run the table reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Selection {
    /// Best Score on the evaluation split (the paper's protocol).
    #[default]
    BestEval,
    /// Best Score on the held-out validation patients (needs `val_fraction` > 0).
    BestVal,
    /// The last epoch.
    Final,
}

impl Selection {
    fn key(self) -> &'static str {
        match self {
            Selection::BestEval => "best_by_eval",
            Selection::BestVal => "best_by_val",
            Selection::Final => "final_epoch",
        }
    }
    fn describe(self) -> &'static str {
        match self {
            Selection::BestEval => "best epoch on the evaluation split (the paper's protocol)",
            Selection::BestVal => "epoch chosen on held-out validation patients",
            Selection::Final => "last epoch",
        }
    }
}

/// One run dir as a table row.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub dir: PathBuf,
    /// Config stem, or the dir's name when the run recorded none.
    pub name: String,
    pub method: String,
    pub dataset: String,
    pub eval_split: Option<String>,
    /// What the run did (None for summaries written before auscult recorded it).
    pub signature: Option<Signature>,
    pub seeds: usize,
    /// The run's evaluation protocol (`official` for summaries written before it was recorded).
    pub protocol: String,
    /// None when the summary has no such selection (e.g. `best_by_val` without validation).
    pub metrics: Option<RowMetrics>,
}

/// The paper's numbers for one row, ×100 as printed: `[mean, std]` (std may be absent).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperRow {
    /// e.g. `Table 1`.
    pub table: String,
    /// The row's place in the paper (rows without one come last, by key).
    #[serde(default)]
    pub order: Option<u32>,
    /// The row as the paper names it, e.g. `SCL (AudioSet)`.
    pub row: String,
    /// What the row's runs did: dataset (`icbhi`, `sprsound`), method, `init` (`scratch` or
    /// `audioset`), and the contrastive `labels` (scl) or heads (mscl).
    pub dataset: String,
    pub method: String,
    pub init: String,
    pub labels: Option<String>,
    pub sp: Option<Vec<f64>>,
    pub se: Option<Vec<f64>>,
    pub score: Option<Vec<f64>>,
    pub hs: Option<Vec<f64>>,
    /// Where the numbers were read.
    pub source: Option<String>,
}

impl PaperRow {
    /// Whether a run of `dataset` with `sig` reproduces this row.
    pub fn matches(&self, dataset: &str, sig: &Signature) -> bool {
        self.dataset == dataset
            && self.method == sig.method
            && self.init == sig.init
            && self.labels.as_deref().map(canonical_labels) == sig.labels
    }
}

/// Paper rows by the stem of the config file that reproduces them.
pub type PaperResults = BTreeMap<String, PaperRow>;

/// Parses a paper-results TOML (`origin` names it in errors).
pub fn parse_paper_results(text: &str, origin: &Path) -> Result<PaperResults, ReportError> {
    let rows: PaperResults = toml::from_str(text).map_err(|e| ReportError::PaperResults {
        path: origin.into(),
        msg: e.to_string(),
    })?;
    for (key, row) in &rows {
        if !matches!(row.init.as_str(), "scratch" | "audioset") {
            return Err(ReportError::PaperResults {
                path: origin.into(),
                msg: format!(
                    "[{key}].init is `{}`: expected scratch or audioset",
                    row.init
                ),
            });
        }
        for (name, v) in [
            ("sp", &row.sp),
            ("se", &row.se),
            ("score", &row.score),
            ("hs", &row.hs),
        ] {
            if let Some(v) = v {
                if v.is_empty() || v.len() > 2 {
                    let msg = format!(
                        "[{key}].{name}: expected [mean] or [mean, std], got {} values",
                        v.len()
                    );
                    return Err(ReportError::PaperResults {
                        path: origin.into(),
                        msg,
                    });
                }
            }
        }
    }
    Ok(rows)
}

/// The compiled-in `configs/paper_results.toml`.
pub fn default_paper_results() -> PaperResults {
    parse_paper_results(PAPER_RESULTS, Path::new("configs/paper_results.toml"))
        .expect("configs/paper_results.toml is valid")
}

fn field<'a>(v: &'a Value, key: &str, path: &Path) -> Result<&'a Value, ReportError> {
    v.get(key).ok_or_else(|| ReportError::Json {
        path: path.into(),
        msg: format!("no field `{key}`"),
    })
}

fn decode<T: for<'de> Deserialize<'de>>(
    v: &Value,
    what: &str,
    path: &Path,
) -> Result<T, ReportError> {
    T::deserialize(v).map_err(|e| ReportError::Json {
        path: path.into(),
        msg: format!("`{what}`: {e}"),
    })
}

/// Reads the `summary.json` of one run dir.
pub fn load_run(dir: &Path, selection: Selection) -> Result<RunRow, ReportError> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|source| ReportError::Io {
        path: path.clone(),
        source,
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|e| ReportError::Json {
        path: path.clone(),
        msg: e.to_string(),
    })?;
    let text_of = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let method = text_of("method").ok_or_else(|| ReportError::Json {
        path: path.clone(),
        msg: "no field `method`".into(),
    })?;
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    let key = selection.key();
    let sel = field(&v, key, &path)?;
    let (seeds, metrics) = match v.get("seeds").and_then(Value::as_array) {
        // Several seeds: the selection is a MetricsSummary (or null).
        Some(seeds) => {
            let m: Option<MetricsSummary> = decode(sel, key, &path)?;
            (seeds.len(), m.as_ref().map(RowMetrics::of_summary))
        }
        // One seed: the selection is {epoch, eval, val} (or null).
        None => {
            let m = if sel.is_null() {
                None
            } else {
                Some(decode::<Metrics>(field(sel, "eval", &path)?, key, &path)?)
            };
            (1, m.as_ref().map(RowMetrics::of_one))
        }
    };
    let signature = match v.get("signature") {
        Some(s) => Some(decode::<Signature>(s, "signature", &path)?),
        None => None,
    };
    Ok(RunRow {
        dir: dir.to_path_buf(),
        name: text_of("config_name").unwrap_or(dir_name),
        method,
        dataset: text_of("dataset").unwrap_or_default(),
        eval_split: text_of("eval_split"),
        signature,
        seeds,
        protocol: text_of("protocol").unwrap_or_else(|| "official".into()),
        metrics,
    })
}

/// Rows of every path: a run dir, or a folder of run dirs (sub-folders sorted by name).
pub fn collect_runs(paths: &[PathBuf], selection: Selection) -> Result<Vec<RunRow>, ReportError> {
    let mut rows = Vec::new();
    for p in paths {
        if p.join("summary.json").is_file() {
            rows.push(load_run(p, selection)?);
            continue;
        }
        let entries = std::fs::read_dir(p).map_err(|source| ReportError::Io {
            path: p.clone(),
            source,
        })?;
        let mut subdirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|d| d.join("summary.json").is_file())
            .collect();
        if subdirs.is_empty() {
            return Err(ReportError::NoRuns { path: p.clone() });
        }
        subdirs.sort();
        for d in subdirs {
            rows.push(load_run(&d, selection)?);
        }
    }
    Ok(rows)
}

/// Output format of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// A Markdown table (with a caption line).
    #[default]
    Markdown,
    /// Comma-separated values, one column per number.
    Csv,
}

/// `mean ± std` ×100 with 2 decimals; the mean alone for one seed.
fn pct(s: &Stat) -> String {
    if s.n > 1 {
        format!("{:.2} ± {:.2}", 100.0 * s.mean, 100.0 * s.std)
    } else {
        format!("{:.2}", 100.0 * s.mean)
    }
}

/// Sp, Se, Score, HS of a run (×100, mean ± std), "–" when it has no such selection.
fn our_cells(r: &RunRow) -> [String; 4] {
    match &r.metrics {
        Some(m) => [pct(&m.sp), pct(&m.se), pct(&m.score), pct(&m.hs)],
        None => std::array::from_fn(|_| "–".to_string()),
    }
}

/// A Markdown table row.
fn md_row(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

fn paper_cell(v: &Option<Vec<f64>>) -> String {
    match v.as_deref() {
        Some([m, s]) => format!("{m:.2} ± {s:.2}"),
        Some([m]) => format!("{m:.2}"),
        _ => "–".into(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The paper's row a run reproduces: the one with the run's dataset and signature.
pub fn paper_of<'a>(row: &RunRow, paper: &'a PaperResults) -> Option<&'a PaperRow> {
    let sig = row.signature.as_ref()?;
    paper.values().find(|p| p.matches(&row.dataset, sig))
}

/// Our Score minus the paper's, ×100.
fn delta_score(row: &RunRow, p: Option<&PaperRow>) -> Option<f64> {
    let ours = row.metrics?.score.mean * 100.0;
    let theirs = p?.score.as_ref()?.first()?;
    Some(ours - theirs)
}

/// The tables of the paper with our runs in them: per table (in the paper's order), each
/// paper row with the runs that reproduce it (or "not run"), ours beside the paper's numbers,
/// Δ Score and Δ in units of the paper's std. Runs that match no paper row are listed after.
pub fn render_paper_layout(rows: &[RunRow], paper: &PaperResults, selection: Selection) -> String {
    let mut order: Vec<(&String, &PaperRow)> = paper.iter().collect();
    order.sort_by(|a, b| {
        (&a.1.table, a.1.order.unwrap_or(u32::MAX), a.0).cmp(&(
            &b.1.table,
            b.1.order.unwrap_or(u32::MAX),
            b.0,
        ))
    });
    let mut out = format!(
        "Selection: {}. Values ×100; ours mean ± std (population) over seeds, the paper's mean ± \
         std over 10 runs (Moummad & Farrugia 2023). Δ = ours − paper; Δ/σ in units of the \
         paper's std.\n",
        selection.describe()
    );
    let mut table = "";
    for (_, p) in &order {
        if p.table != table {
            table = &p.table;
            out.push_str(&format!(
                "\n### {table}\n\n| Paper row | Run | Protocol | Seeds | Sp | Se | Score | HS | \
                 Paper Sp | Paper Se | Paper Score | Paper HS | Δ Score | Δ/σ |\n\
                 |:--|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
            ));
        }
        let theirs = [&p.sp, &p.se, &p.score, &p.hs].map(paper_cell);
        let mine: Vec<&RunRow> = rows
            .iter()
            .filter(|r| {
                r.signature
                    .as_ref()
                    .is_some_and(|s| p.matches(&r.dataset, s))
            })
            .collect();
        if mine.is_empty() {
            out.push_str(&format!(
                "| {} | not run | | | | | | | {} | {} | {} | {} | | |\n",
                p.row, theirs[0], theirs[1], theirs[2], theirs[3]
            ));
        }
        for r in mine {
            let delta = delta_score(r, Some(p));
            let sigma = delta
                .zip(
                    p.score
                        .as_ref()
                        .and_then(|v| v.get(1))
                        .filter(|s| **s > 0.0),
                )
                .map(|(d, s)| format!("{:+.1}", d / s))
                .unwrap_or_else(|| "–".into());
            let mut cells = vec![
                p.row.clone(),
                r.name.clone(),
                r.protocol.clone(),
                r.seeds.to_string(),
            ];
            cells.extend(our_cells(r));
            cells.extend(theirs.iter().cloned());
            cells.push(delta.map_or_else(|| "–".into(), |d| format!("{d:+.2}")));
            cells.push(sigma);
            out.push_str(&md_row(&cells));
        }
    }
    let unmatched: Vec<&RunRow> = rows
        .iter()
        .filter(|r| paper_of(r, paper).is_none())
        .collect();
    if !unmatched.is_empty() {
        out.push_str("\n### Runs matching no row of the paper\n\n| Run | Method | Protocol | Seeds | Sp | Se | Score | HS |\n|:--|:--|:--|--:|--:|--:|--:|--:|\n");
        for r in unmatched {
            let mut cells = vec![
                r.name.clone(),
                r.method.clone(),
                r.protocol.clone(),
                r.seeds.to_string(),
            ];
            cells.extend(our_cells(r));
            out.push_str(&md_row(&cells));
        }
    }
    out
}

/// Each run's Score under every epoch selection, side by side: the paper's (best epoch on the
/// test split), the honest one (best epoch on held-out validation patients; runs with
/// `val_fraction` > 0 or `--protocol val`) and the last epoch. "Test-selection gain" is the
/// first minus the second: how much of a number is the choice of epoch on the test set.
pub fn render_selections(paths: &[PathBuf]) -> Result<String, ReportError> {
    let of = |s| collect_runs(paths, s);
    let (eval, val, last) = (
        of(Selection::BestEval)?,
        of(Selection::BestVal)?,
        of(Selection::Final)?,
    );
    let mut out = String::from(
        "Score ×100 (mean ± std over seeds) of the epoch chosen three ways.\n\n\
         | Run | Protocol | Seeds | best test epoch (paper) | best validation epoch | last epoch | test-selection gain |\n\
         |:--|:--|--:|--:|--:|--:|--:|\n",
    );
    for ((e, v), l) in eval.iter().zip(&val).zip(&last) {
        let score = |r: &RunRow| r.metrics.map(|m| m.score);
        let cell = |s: Option<Stat>| s.as_ref().map_or_else(|| "–".into(), pct);
        let gain = score(e).zip(score(v)).map_or_else(
            || "–".into(),
            |(a, b)| format!("{:+.2}", 100.0 * (a.mean - b.mean)),
        );
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {gain} |\n",
            e.name,
            e.protocol,
            e.seeds,
            cell(score(e)),
            cell(score(v)),
            cell(score(l))
        ));
    }
    Ok(out)
}

/// Renders the table.
pub fn render(
    rows: &[RunRow],
    paper: &PaperResults,
    format: Format,
    selection: Selection,
) -> String {
    match format {
        Format::Markdown => render_markdown(rows, paper, selection),
        Format::Csv => render_csv(rows, paper),
    }
}

fn render_markdown(rows: &[RunRow], paper: &PaperResults, selection: Selection) -> String {
    let mut out = format!(
        "Selection: {}. Values ×100; mean ± std (population) over seeds. Δ Score = ours − paper.\n\n",
        selection.describe()
    );
    out.push_str("| Run | Paper row | Method | Seeds | Sp | Se | Score | HS | Paper Sp | Paper Se | Paper Score | Paper HS | Δ Score |\n");
    out.push_str("|:--|:--|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for r in rows {
        let p = paper_of(r, paper);
        let theirs: [String; 4] = match p {
            Some(p) => [&p.sp, &p.se, &p.score, &p.hs].map(paper_cell),
            None => std::array::from_fn(|_| "–".to_string()),
        };
        let paper_row = p
            .map(|p| format!("{}: {}", p.table, p.row))
            .unwrap_or_else(|| "–".into());
        let delta = delta_score(r, p)
            .map(|d| format!("{d:+.2}"))
            .unwrap_or_else(|| "–".into());
        let mut cells = vec![
            r.name.clone(),
            paper_row,
            r.method.clone(),
            r.seeds.to_string(),
        ];
        cells.extend(our_cells(r));
        cells.extend(theirs);
        cells.push(delta);
        out.push_str(&md_row(&cells));
    }
    out
}

fn render_csv(rows: &[RunRow], paper: &PaperResults) -> String {
    let mut out = String::from(
        "run,paper_row,method,dataset,eval_split,seeds,sp_mean,sp_std,se_mean,se_std,score_mean,score_std,hs_mean,hs_std,\
         paper_sp_mean,paper_sp_std,paper_se_mean,paper_se_std,paper_score_mean,paper_score_std,paper_hs_mean,paper_hs_std,delta_score\n",
    );
    let num = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    for r in rows {
        let p = paper_of(r, paper);
        let mut cells = vec![
            csv_field(&r.name),
            csv_field(
                &p.map(|p| format!("{}: {}", p.table, p.row))
                    .unwrap_or_default(),
            ),
            csv_field(&r.method),
            csv_field(&r.dataset),
            csv_field(r.eval_split.as_deref().unwrap_or_default()),
            r.seeds.to_string(),
        ];
        for f in [
            |m: &RowMetrics| m.sp,
            |m: &RowMetrics| m.se,
            |m: &RowMetrics| m.score,
            |m: &RowMetrics| m.hs,
        ] {
            let s = r.metrics.as_ref().map(f);
            cells.push(num(s.map(|s| 100.0 * s.mean)));
            cells.push(num(s.map(|s| 100.0 * s.std)));
        }
        for f in [
            |p: &PaperRow| p.sp.clone(),
            |p: &PaperRow| p.se.clone(),
            |p: &PaperRow| p.score.clone(),
            |p: &PaperRow| p.hs.clone(),
        ] {
            let v = p.and_then(f).unwrap_or_default();
            cells.push(num(v.first().copied()));
            cells.push(num(v.get(1).copied()));
        }
        cells.push(num(delta_score(r, p)));
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// A path as a Markdown link target relative to `base` (the report's folder): `/`-separated,
/// in `<…>` when it holds spaces or parentheses. Both paths are made absolute first; a target
/// on another root (another drive) stays absolute.
pub fn relative_link(target: &Path, base: &Path) -> String {
    let abs = |p: &Path| {
        std::fs::canonicalize(p).unwrap_or_else(|_| {
            std::env::current_dir()
                .map(|d| d.join(p))
                .unwrap_or_else(|_| p.to_path_buf())
        })
    };
    let (t, b) = (abs(target), abs(base));
    let tc: Vec<_> = t.components().collect();
    let bc: Vec<_> = b.components().collect();
    let common = tc.iter().zip(&bc).take_while(|(x, y)| x == y).count();
    let link = if common == 0 {
        t.display().to_string()
    } else {
        let mut parts: Vec<String> = vec!["..".to_string(); bc.len() - common];
        parts.extend(
            tc[common..]
                .iter()
                .map(|c| c.as_os_str().to_string_lossy().into_owned()),
        );
        if parts.is_empty() {
            ".".into()
        } else {
            parts.join("/")
        }
    };
    if link.contains([' ', '(', ')', '<', '>']) {
        format!("<{link}>")
    } else {
        link
    }
}

/// The Markdown report written by `auscult report`: the table of [`render`] (Markdown), then
/// per run its plots, embedded with links relative to `out`'s folder. Plots missing from a run
/// dir are drawn from it first ([`plots::ensure_plots`](crate::report::plots::ensure_plots)); a run whose
/// plots cannot be drawn gets a line saying why instead of images. Writes `out` atomically and
/// returns its text.
pub fn write_markdown_report(
    rows: &[RunRow],
    paper: &PaperResults,
    selection: Selection,
    out: &Path,
) -> anyhow::Result<String> {
    use anyhow::Context;
    let base = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
    let mut md = String::from("# auscult report\n\n");
    md.push_str(&render_markdown(rows, paper, selection));
    md.push_str("\n## Plots\n\n");
    for r in rows {
        md.push_str(&format!(
            "### {} (`{}`)\n\n",
            r.name,
            relative_link(&r.dir, &base)
        ));
        match crate::report::plots::ensure_plots(&r.dir) {
            Ok(files) => {
                let (own, seeds) = files.split_at(files.len().min(2));
                // A contrastive run's embedding plot (drawn at training time) follows its own.
                let embedding = r
                    .dir
                    .join(crate::report::plots::PLOTS_DIR)
                    .join(crate::report::plots::EMBEDDING_PNG);
                let extra = embedding.is_file().then_some(embedding);
                for f in own.iter().chain(extra.as_ref()) {
                    let alt = f.file_stem().unwrap_or_default().to_string_lossy();
                    md.push_str(&format!("![{alt}]({})\n\n", relative_link(f, &base)));
                }
                if !seeds.is_empty() {
                    md.push_str("Seeds:");
                    for f in seeds {
                        let seed = f
                            .parent()
                            .and_then(Path::parent)
                            .and_then(Path::file_name)
                            .unwrap_or_default()
                            .to_string_lossy();
                        let what = f.file_stem().unwrap_or_default().to_string_lossy();
                        md.push_str(&format!(" [{seed} {what}]({})", relative_link(f, &base)));
                    }
                    md.push_str("\n\n");
                }
            }
            Err(e) => {
                tracing::warn!("no plots for {}: {e:#}", r.dir.display());
                md.push_str(&format!("_No plots: {e:#}_\n\n"));
            }
        }
    }
    auscult_cache::write_atomic(out, md.as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_paper_results_parse() {
        let p = default_paper_results();
        for (k, r) in &p {
            assert!(!r.table.is_empty() && !r.row.is_empty(), "{k}");
        }
    }

    #[test]
    fn shipped_paper_rows_have_distinct_signatures() {
        let p = default_paper_results();
        let rows: Vec<&PaperRow> = p.values().collect();
        for (i, a) in rows.iter().enumerate() {
            for b in &rows[i + 1..] {
                let same = a.dataset == b.dataset
                    && a.method == b.method
                    && a.init == b.init
                    && a.labels.as_deref().map(canonical_labels)
                        == b.labels.as_deref().map(canonical_labels);
                assert!(!same, "{} and {} cannot be told apart", a.row, b.row);
            }
        }
    }

    #[test]
    fn bad_paper_rows_name_the_key() {
        let err = parse_paper_results(
            "[x]\ntable = \"T\"\nrow = \"r\"\ndataset = \"icbhi\"\nmethod = \"ce\"\ninit = \"scratch\"\nsp = [1.0, 2.0, 3.0]\n",
            Path::new("p.toml"),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("p.toml") && err.to_string().contains("[x].sp"),
            "{err}"
        );
        assert!(parse_paper_results(
            "[x]\ntable = \"T\"\nrow = \"r\"\ndataset = \"icbhi\"\nmethod = \"ce\"\ninit = \"scratch\"\nbogus = 1\n",
            Path::new("p.toml")
        )
        .is_err());
        let err = parse_paper_results(
            "[x]\ntable = \"T\"\nrow = \"r\"\ndataset = \"icbhi\"\nmethod = \"ce\"\ninit = \"imagenet\"\n",
            Path::new("p.toml"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("[x].init"), "{err}");
    }

    #[test]
    fn cells_format_percentages() {
        assert_eq!(
            pct(&Stat {
                mean: 0.5392,
                std: 0.0071,
                n: 5
            }),
            "53.92 ± 0.71"
        );
        assert_eq!(
            pct(&Stat {
                mean: 0.5,
                std: 0.0,
                n: 1
            }),
            "50.00"
        );
        assert_eq!(paper_cell(&Some(vec![53.92, 0.71])), "53.92 ± 0.71");
        assert_eq!(paper_cell(&None), "–");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }

    #[test]
    fn links_are_relative_to_the_report_folder() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("runs").join("seed_0").join("plots");
        std::fs::create_dir_all(&run).unwrap();
        let png = run.join("curves.png");
        std::fs::write(&png, b"x").unwrap();
        let runs = dir.path().join("runs");
        assert_eq!(relative_link(&png, &runs), "seed_0/plots/curves.png");
        let other = dir.path().join("elsewhere");
        std::fs::create_dir_all(&other).unwrap();
        assert_eq!(
            relative_link(&png, &other),
            "../runs/seed_0/plots/curves.png"
        );
        assert_eq!(relative_link(&runs, &runs), ".");
        let spaced = dir.path().join("my runs");
        std::fs::create_dir_all(&spaced).unwrap();
        assert_eq!(relative_link(&spaced, dir.path()), "<my runs>");
    }
}
