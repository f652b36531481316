//! PNG plots of finished runs, and a 2-D PCA scatter of embeddings.
//!
//! ```text
//! <run>/plots/curves.png      per stage: training loss; evaluation Se / Sp / Score (and
//!                             validation Score) per epoch, the selected epochs marked
//! <run>/plots/confusion.png   the confusion matrix on the evaluation split at the best epoch by
//!                             its Score: counts and row-normalised, side by side
//! <run>/plots/subgroups.png   Score per subgroup with patient-bootstrap intervals, and
//! <run>/plots/reliability.png the reliability diagram (runs with a clinical evaluation)
//! ```
//!
//! A multi-seed parent dir gets the same two files: mean ± std bands over seeds per epoch, and
//! the seeds' confusion matrices summed ([`write_multi_plots`]). Everything is read back from
//! the run dir (`summary.json`, `metrics.jsonl`), so plots can be redrawn for any finished run
//! ([`ensure_plots`], used by `auscult report`).
//!
//! Text is drawn with DejaVu Sans compiled into the binary (`assets/fonts/`, with its licence):
//! plots render on a machine without system fonts or fontconfig. Every PNG is rendered into
//! memory, then written under a temporary name in the same folder and renamed.

pub mod canvas;
pub mod clinical;
pub mod confusion;
pub mod curves;
pub mod draw;
pub mod embedding;
pub mod input;
pub mod legend;
pub mod pca;
pub mod series;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use crate::eval::metrics::{ConfusionMatrix, Metrics};
use crate::rundir::{self, MultiRunSummary, RunSummary, Summary};
use crate::train::observer::{Embeddings, RunObserver};
use canvas::{encode_png, Canvas, FONT};
pub use clinical::{write_clinical_plots, RELIABILITY_PNG, SUBGROUPS_PNG};
pub(crate) use input::seed_dir;
pub use pca::{pca2, Pca2};

use confusion::*;
use curves::*;
use draw::*;
pub use embedding::*;
use input::*;
use legend::*;
use series::*;

/// The folder of a run dir that holds its plots.
pub const PLOTS_DIR: &str = "plots";
/// A contrastive run's 2-D projection of its evaluation embeddings (see `run::embedding_plot`).
pub const EMBEDDING_PNG: &str = "embedding.png";
/// Loss and metric curves.
pub const CURVES_PNG: &str = "curves.png";
/// The best epoch's confusion matrix.
pub const CONFUSION_PNG: &str = "confusion.png";
/// Pixel size of `confusion.png`.
pub const CONFUSION_SIZE: (u32, u32) = (1500, 700);

const CURVES_WIDTH: u32 = 1500;
const CURVES_ROW_HEIGHT: u32 = 460;
const TITLE_HEIGHT: u32 = 50;

/// Pixel size of a `curves.png` with `stages` rows (one per training stage: 1 for ce / hybrid,
/// 2 for a contrastive method and its linear evaluation).
pub fn curves_size(stages: usize) -> (u32, u32) {
    (
        CURVES_WIDTH,
        TITLE_HEIGHT + stages.max(1) as u32 * CURVES_ROW_HEIGHT,
    )
}

// ---------------------------------------------------------------------------------------------
// Entry points

/// Draws `<run_dir>/plots/curves.png` and `<run_dir>/plots/confusion.png` of a single-seed run
/// dir from its `summary.json` and `metrics.jsonl`; returns their paths.
pub fn write_run_plots(run_dir: &Path) -> Result<Vec<PathBuf>> {
    let summary = run_dir.join("summary.json");
    let Summary::Single(info) = rundir::read_summary(run_dir)? else {
        bail!(
            "{}: the summary of several seeds (plot it with write_multi_plots)",
            summary.display()
        );
    };
    let stages = read_metrics(&run_dir.join("metrics.jsonl"))?;
    let out = plots_dir(run_dir)?;

    let seed = format!("seed {}", info.seed);
    let title = figure_title(
        &info.method,
        info.config_name.as_deref(),
        &seed,
        Some(&info.dataset),
    );
    let rows = run_rows(&stages, &info);
    let curves = out.join(CURVES_PNG);
    render_png(&curves, curves_size(rows.len()), |root| {
        draw_curves(root, &title, &rows)
    })?;

    let counts = checked_counts(&info.best_by_eval.eval.confusion, &summary)?;
    let names = class_names(&info, counts.len());
    let split = info.split();
    let conf_title = format!(
        "{title}: {split} confusion at epoch {} (best {split} Score)",
        info.best_by_eval.epoch
    );
    let confusion = write_confusion(&out, &conf_title, &names, &counts)?;
    Ok(vec![curves, confusion])
}

/// Draws `<parent>/plots/curves.png` (mean ± std over seeds per epoch, each seed's selected
/// epochs marked) and `<parent>/plots/confusion.png` (the seeds' best-epoch confusion matrices
/// summed) of a multi-seed parent dir; returns their paths.
pub fn write_multi_plots(parent: &Path) -> Result<Vec<PathBuf>> {
    let summary = parent.join("summary.json");
    let multi = read_multi(parent)?;
    ensure!(!multi.runs.is_empty(), "{}: no runs", summary.display());
    let mut seeds = Vec::new();
    for r in &multi.runs {
        let dir = seed_dir(parent, r)?;
        let info = rundir::read_run_summary(&dir)?;
        let stages = read_metrics(&dir.join("metrics.jsonl"))?;
        seeds.push((dir, info, stages));
    }
    let out = plots_dir(parent)?;
    let seed_list = multi
        .seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let n = seeds.len();
    let title = figure_title(
        &multi.method,
        multi.config_name.as_deref(),
        &format!("{n} seeds ({seed_list}), mean ± std"),
        Some(&multi.dataset),
    );
    let rows = multi_rows(
        &seeds
            .iter()
            .map(|(_, i, s)| (i, &s[..]))
            .collect::<Vec<_>>(),
    );
    let curves = out.join(CURVES_PNG);
    render_png(&curves, curves_size(rows.len()), |root| {
        draw_curves(root, &title, &rows)
    })?;

    let (first_dir, first, _) = &seeds[0];
    let mut total = checked_counts(&first.best_by_eval.eval.confusion, first_dir)?;
    for (dir, info, _) in &seeds[1..] {
        let c = checked_counts(&info.best_by_eval.eval.confusion, dir)?;
        ensure!(
            c.len() == total.len(),
            "{}: {} classes, but {} has {}",
            dir.join("summary.json").display(),
            c.len(),
            first_dir.display(),
            total.len()
        );
        for (row, add) in total.iter_mut().zip(&c) {
            for (a, b) in row.iter_mut().zip(add) {
                *a += b;
            }
        }
    }
    let names = class_names(first, total.len());
    let split = first.split();
    let conf_title = format!(
        "{}: {split} confusion summed over seeds, each at its best {split} Score",
        figure_title(
            &multi.method,
            multi.config_name.as_deref(),
            &format!("{n} seeds ({seed_list})"),
            Some(&multi.dataset),
        )
    );
    let confusion = write_confusion(&out, &conf_title, &names, &total)?;
    Ok(vec![curves, confusion])
}

/// `<out>/confusion.png` of `counts` (rows: true class), titled `title`.
fn write_confusion(
    out: &Path,
    title: &str,
    names: &[String],
    counts: &[Vec<u64>],
) -> Result<PathBuf> {
    let path = out.join(CONFUSION_PNG);
    render_png(&path, CONFUSION_SIZE, |root| {
        draw_confusion(root, title, names, counts)
    })?;
    Ok(path)
}

/// The plots of a run dir (single- or multi-seed), drawn when any is missing: `curves.png`,
/// `confusion.png`, and for a multi-seed parent then each seed's two (in seed order).
pub fn ensure_plots(dir: &Path) -> Result<Vec<PathBuf>> {
    let own = [CURVES_PNG, CONFUSION_PNG].map(|f| dir.join(PLOTS_DIR).join(f));
    let Summary::Multi(multi) = rundir::read_summary(dir)? else {
        if own.iter().all(|p| p.is_file()) {
            return Ok(own.to_vec());
        }
        return write_run_plots(dir);
    };
    let mut files = if own.iter().all(|p| p.is_file()) {
        own.to_vec()
    } else {
        write_multi_plots(dir)?
    };
    for r in &multi.runs {
        files.extend(ensure_plots(&seed_dir(dir, r)?)?);
    }
    Ok(files)
}

fn plots_dir(run_dir: &Path) -> Result<PathBuf> {
    let out = run_dir.join(PLOTS_DIR);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    Ok(out)
}

/// `method (config) · seeds · dataset`, leaving out what is unknown.
fn figure_title(method: &str, config: Option<&str>, seeds: &str, dataset: Option<&str>) -> String {
    let mut t = method.to_string();
    if let Some(c) = config.filter(|c| *c != method) {
        t.push_str(&format!(" ({c})"));
    }
    for part in [Some(seeds), dataset].into_iter().flatten() {
        if !part.is_empty() {
            t.push_str(" · ");
            t.push_str(part);
        }
    }
    t
}

/// The plots as an observer of training ([`crate::train::observer`]): each finished run's
/// plots, the mean ± std plots of several seeds, and `plots/embedding.png` (a 2-D PCA of the
/// evaluation split's embeddings by class and, for metadata methods, by sex and by age group).
/// A plot that cannot be drawn costs a warning, never the run.
pub struct Plots;

impl RunObserver for Plots {
    fn wants_embeddings(&self) -> bool {
        true
    }

    fn embeddings(&self, run_dir: &Path, e: &Embeddings) {
        let dir = run_dir.join(PLOTS_DIR);
        let drawn = std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating {}", dir.display()))
            .and_then(|()| embedding_png(&dir.join(EMBEDDING_PNG), e.values, e.dim, e.panels));
        if let Err(e) = drawn {
            tracing::warn!("no embedding plot for {}: {e:#}", run_dir.display());
        }
    }

    fn run_finished(&self, run_dir: &Path) {
        let drawn = write_run_plots(run_dir).and_then(|mut files| {
            files.extend(write_clinical_plots(run_dir)?);
            Ok(files)
        });
        log_plots(run_dir, drawn);
    }

    fn runs_finished(&self, parent: &Path) {
        log_plots(parent, write_multi_plots(parent));
    }
}

/// `plots: a, b, c`, or a warning naming `dir`.
fn log_plots(dir: &Path, drawn: Result<Vec<PathBuf>>) {
    match drawn {
        Ok(files) => {
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            tracing::info!("plots: {}", names.join(", "))
        }
        Err(e) => tracing::warn!("no plots for {}: {e:#}", dir.display()),
    }
}
