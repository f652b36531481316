//! PNG plots of finished runs, and a 2-D PCA scatter of embeddings.
//!
//! ```text
//! <run>/plots/curves.png      per stage: training loss; evaluation Se / Sp / Score (and
//!                             validation Score) per epoch, the selected epochs marked
//! <run>/plots/confusion.png   the confusion matrix on the evaluation split at the best epoch by
//!                             its Score: counts and row-normalised, side by side
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

mod canvas;
mod pca;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::eval::metrics::ConfusionMatrix;
use canvas::{encode_png, Canvas, FONT};
pub use pca::{pca2, Pca2};

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
// Reading a run dir

/// Se / Sp / Score of one evaluation (the rest of `Metrics` is not plotted).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
struct Scores {
    se: f64,
    sp: f64,
    score: f64,
}

/// The fields of one `metrics.jsonl` line (an `EpochRecord`) that the plots use.
#[derive(Debug, Clone, Deserialize)]
struct EpochLine {
    stage: String,
    epoch: usize,
    train_loss: f64,
    #[serde(default)]
    loss_terms: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    val: Option<Scores>,
    #[serde(default)]
    eval: Option<Scores>,
}

/// One epoch of one stage.
#[derive(Debug, Clone, PartialEq)]
struct EpochPoint {
    epoch: usize,
    loss: f64,
    terms: BTreeMap<String, f64>,
    eval: Option<Scores>,
    val: Option<Scores>,
}

/// The epochs of one stage, in file order.
#[derive(Debug, Clone, PartialEq)]
struct Stage {
    name: String,
    epochs: Vec<EpochPoint>,
}

impl Stage {
    fn evaluates(&self) -> bool {
        self.epochs.iter().any(|e| e.eval.is_some())
    }
    fn has_val(&self) -> bool {
        self.epochs.iter().any(|e| e.val.is_some())
    }
    fn max_epoch(&self) -> usize {
        self.epochs.iter().map(|e| e.epoch).max().unwrap_or(1)
    }
    /// Names of the loss terms, when there are several (one term is the loss itself).
    fn term_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .epochs
            .iter()
            .flat_map(|e| e.terms.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        if names.len() < 2 {
            names.clear();
        }
        names
    }
}

/// Reads `metrics.jsonl`: its stages in order of first appearance. A line that is not an epoch
/// record is an error naming the file and the line.
fn read_metrics(path: &Path) -> Result<Vec<Stage>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let mut stages: Vec<Stage> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let rec: EpochLine = serde_json::from_str(line).with_context(|| {
            format!(
                "{} line {}: not an epoch record of `auscult train`",
                path.display(),
                i + 1
            )
        })?;
        let terms = rec
            .loss_terms
            .iter()
            .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
            .collect();
        let point = EpochPoint {
            epoch: rec.epoch,
            loss: rec.train_loss,
            terms,
            eval: rec.eval,
            val: rec.val,
        };
        match stages.iter_mut().find(|s| s.name == rec.stage) {
            Some(s) => s.epochs.push(point),
            None => stages.push(Stage {
                name: rec.stage,
                epochs: vec![point],
            }),
        }
    }
    if stages.is_empty() {
        bail!("{}: no epoch records", path.display());
    }
    Ok(stages)
}

/// `Selected` of `summary.json`, as far as the plots need it.
#[derive(Debug, Clone, Deserialize)]
struct Pick {
    epoch: usize,
    eval: PickEval,
}

#[derive(Debug, Clone, Deserialize)]
struct PickEval {
    confusion: ConfusionMatrix,
}

/// `RunSummary` of `summary.json`, as far as the plots need it.
#[derive(Debug, Clone, Deserialize)]
struct RunInfo {
    method: String,
    #[serde(default)]
    config_name: Option<String>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    dataset: Option<String>,
    #[serde(default)]
    eval_split: Option<String>,
    /// Absent from summaries written before auscult recorded it.
    #[serde(default)]
    class_names: Vec<String>,
    best_by_eval: Pick,
    #[serde(default)]
    best_by_val: Option<Pick>,
}

impl RunInfo {
    fn split(&self) -> &str {
        self.eval_split.as_deref().unwrap_or("eval")
    }
}

/// `MultiRunSummary` of a multi-seed parent's `summary.json`, as far as the plots need it.
#[derive(Debug, Clone, Deserialize)]
struct MultiInfo {
    method: String,
    #[serde(default)]
    config_name: Option<String>,
    #[serde(default)]
    dataset: Option<String>,
    seeds: Vec<u64>,
    runs: Vec<String>,
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: unexpected content", path.display()))
}

/// Whether `dir/summary.json` is a multi-seed parent's (it lists `seeds`).
fn is_multi(dir: &Path) -> Result<bool> {
    let v: serde_json::Value = read_json(&dir.join("summary.json"))?;
    Ok(v.get("seeds").is_some_and(serde_json::Value::is_array))
}

/// The row × column counts of `cm`, checked to be square over `n_classes`.
fn checked_counts(cm: &ConfusionMatrix, origin: &Path) -> Result<Vec<Vec<u64>>> {
    let n = cm.n_classes;
    ensure!(
        n >= 1 && cm.counts.len() == n && cm.counts.iter().all(|r| r.len() == n),
        "{}: the confusion matrix is not {n} × {n}",
        origin.display()
    );
    Ok(cm.counts.clone())
}

/// The class names of `info`, or `class 0`, `class 1`, … when the summary has none for `n`
/// classes.
fn class_names(info: &RunInfo, n: usize) -> Vec<String> {
    if info.class_names.len() == n {
        info.class_names.clone()
    } else {
        (0..n).map(|i| format!("class {i}")).collect()
    }
}

/// A seed dir of a multi-seed parent: `runs` holds the paths as given when training, so the
/// seed's folder name is looked up under `parent` first (the parent may have moved).
fn seed_dir(parent: &Path, run: &str) -> Result<PathBuf> {
    let given = Path::new(run);
    if let Some(name) = given.file_name() {
        let inside = parent.join(name);
        if inside.join("summary.json").is_file() {
            return Ok(inside);
        }
    }
    if given.join("summary.json").is_file() {
        return Ok(given.to_path_buf());
    }
    bail!(
        "{}: run `{run}` listed in summary.json has no summary.json (looked in {})",
        parent.display(),
        parent.join(given.file_name().unwrap_or_default()).display()
    )
}

// ---------------------------------------------------------------------------------------------
// Entry points

/// Draws `<run_dir>/plots/curves.png` and `<run_dir>/plots/confusion.png` of a single-seed run
/// dir from its `summary.json` and `metrics.jsonl`; returns their paths.
pub fn write_run_plots(run_dir: &Path) -> Result<Vec<PathBuf>> {
    let summary = run_dir.join("summary.json");
    if is_multi(run_dir)? {
        bail!(
            "{}: the summary of several seeds (plot it with write_multi_plots)",
            summary.display()
        );
    }
    let info: RunInfo = read_json(&summary)?;
    let stages = read_metrics(&run_dir.join("metrics.jsonl"))?;
    let out = plots_dir(run_dir)?;

    let seed = info.seed.map(|s| format!("seed {s}")).unwrap_or_default();
    let title = figure_title(
        &info.method,
        info.config_name.as_deref(),
        &seed,
        info.dataset.as_deref(),
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
    let multi: MultiInfo = read_json(&summary)?;
    ensure!(!multi.runs.is_empty(), "{}: no runs", summary.display());
    let mut seeds = Vec::new();
    for r in &multi.runs {
        let dir = seed_dir(parent, r)?;
        let info: RunInfo = read_json(&dir.join("summary.json"))?;
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
        multi.dataset.as_deref(),
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
            multi.dataset.as_deref(),
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
    if !is_multi(dir)? {
        if own.iter().all(|p| p.is_file()) {
            return Ok(own.to_vec());
        }
        return write_run_plots(dir);
    }
    let mut files = if own.iter().all(|p| p.is_file()) {
        own.to_vec()
    } else {
        write_multi_plots(dir)?
    };
    let multi: MultiInfo = read_json(&dir.join("summary.json"))?;
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

// ---------------------------------------------------------------------------------------------
// What a curves panel shows

/// How a line is stroked.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stroke {
    Solid(u32),
    Dashed(u32),
}

/// One line of a panel, with an optional band (a mean ± std).
#[derive(Debug, Clone)]
struct Series {
    label: String,
    color: RGBColor,
    stroke: Stroke,
    /// (epoch, value).
    points: Vec<(f64, f64)>,
    /// (epoch, low, high).
    band: Vec<(f64, f64, f64)>,
}

/// Vertical lines at selected epochs.
#[derive(Debug, Clone)]
struct Marker {
    label: String,
    color: RGBColor,
    stroke: Stroke,
    epochs: Vec<usize>,
}

/// One chart: a stage's loss, or its metrics in [0, 1].
#[derive(Debug, Clone)]
struct Panel {
    title: String,
    y_desc: String,
    /// Metrics: the y axis is [0, 1]; else it fits the data.
    unit_range: bool,
    series: Vec<Series>,
    markers: Vec<Marker>,
    max_epoch: usize,
}

/// A categorical palette (the "tab10" colours).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const C_LOSS: RGBColor = RGBColor(31, 119, 180);
const C_SE: RGBColor = PALETTE[0];
const C_SP: RGBColor = PALETTE[1];
const C_SCORE: RGBColor = PALETTE[2];
const C_VAL: RGBColor = PALETTE[4];
const C_BEST_EVAL: RGBColor = PALETTE[3];
const C_BEST_VAL: RGBColor = PALETTE[5];

/// A stage's title: its name, and `pretraining` for a stage that is not evaluated but followed
/// by one that is.
fn stage_title(stages: &[Stage], i: usize) -> String {
    let s = &stages[i];
    if !s.evaluates() && stages[i + 1..].iter().any(Stage::evaluates) {
        format!("{} pretraining", s.name)
    } else if s.name == "linear_eval" {
        "linear evaluation".into()
    } else {
        s.name.clone()
    }
}

fn line(label: String, color: RGBColor, stroke: Stroke, points: Vec<(f64, f64)>) -> Series {
    Series {
        label,
        color,
        stroke,
        points,
        band: Vec::new(),
    }
}

/// The panels of a single run: per stage its loss, and its metrics when it is evaluated; the
/// summary's selections are marked on the last evaluated stage.
fn run_rows(stages: &[Stage], info: &RunInfo) -> Vec<Vec<Panel>> {
    let marked = stages.iter().rposition(Stage::evaluates);
    let split = info.split();
    let mut rows = Vec::new();
    for (i, s) in stages.iter().enumerate() {
        let title = stage_title(stages, i);
        let xy = |f: &dyn Fn(&EpochPoint) -> Option<f64>| -> Vec<(f64, f64)> {
            s.epochs
                .iter()
                .filter_map(|e| f(e).map(|v| (e.epoch as f64, v)))
                .collect()
        };
        let mut loss = vec![line(
            "train loss".into(),
            C_LOSS,
            Stroke::Solid(2),
            xy(&|e| Some(e.loss)),
        )];
        for (k, name) in s.term_names().into_iter().enumerate() {
            let pts = xy(&|e| e.terms.get(&name).copied());
            loss.push(line(
                name,
                PALETTE[(k + 1) % PALETTE.len()],
                Stroke::Solid(1),
                pts,
            ));
        }
        let mut row = vec![Panel {
            title: format!("{title}: training loss"),
            y_desc: "loss".into(),
            unit_range: false,
            series: loss,
            markers: Vec::new(),
            max_epoch: s.max_epoch(),
        }];
        if s.evaluates() {
            let mut series = vec![
                line(
                    format!("{split} Se"),
                    C_SE,
                    Stroke::Solid(2),
                    xy(&|e| e.eval.map(|m| m.se)),
                ),
                line(
                    format!("{split} Sp"),
                    C_SP,
                    Stroke::Solid(2),
                    xy(&|e| e.eval.map(|m| m.sp)),
                ),
                line(
                    format!("{split} Score"),
                    C_SCORE,
                    Stroke::Solid(3),
                    xy(&|e| e.eval.map(|m| m.score)),
                ),
            ];
            if s.has_val() {
                series.push(line(
                    "val Score".into(),
                    C_VAL,
                    Stroke::Dashed(2),
                    xy(&|e| e.val.map(|m| m.score)),
                ));
            }
            let mut markers = Vec::new();
            if marked == Some(i) {
                let b = info.best_by_eval.epoch;
                markers.push(Marker {
                    label: format!("best {split} Score (epoch {b})"),
                    color: C_BEST_EVAL,
                    stroke: Stroke::Solid(2),
                    epochs: vec![b],
                });
                if let Some(v) = &info.best_by_val {
                    markers.push(Marker {
                        label: format!("best val Score (epoch {})", v.epoch),
                        color: C_BEST_VAL,
                        stroke: Stroke::Dashed(2),
                        epochs: vec![v.epoch],
                    });
                }
            }
            row.push(Panel {
                title: format!("{title}: metrics on {split}"),
                y_desc: "metric (0–1)".into(),
                unit_range: true,
                series,
                markers,
                max_epoch: s.max_epoch(),
            });
        }
        rows.push(row);
    }
    rows
}

/// Mean and population std of `v` (non-empty).
fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// A mean curve: (epoch, mean) points and the (epoch, mean − std, mean + std) band.
type MeanCurve = (Vec<(f64, f64)>, Vec<(f64, f64, f64)>);

/// Mean ± std over `seeds` of a per-epoch value.
fn aggregate(seeds: &[&Stage], f: &dyn Fn(&EpochPoint) -> Option<f64>) -> MeanCurve {
    let mut by_epoch: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for s in seeds {
        for e in &s.epochs {
            if let Some(v) = f(e).filter(|v| v.is_finite()) {
                by_epoch.entry(e.epoch).or_default().push(v);
            }
        }
    }
    let mut points = Vec::new();
    let mut band = Vec::new();
    for (epoch, v) in by_epoch {
        let (m, s) = mean_std(&v);
        points.push((epoch as f64, m));
        band.push((epoch as f64, m - s, m + s));
    }
    (points, band)
}

fn banded(label: String, color: RGBColor, stroke: Stroke, (points, band): MeanCurve) -> Series {
    Series {
        label,
        color,
        stroke,
        points,
        band,
    }
}

fn epochs_list(v: &[usize]) -> String {
    v.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The panels of several seeds: the first seed's stages, each value as mean ± std over the
/// seeds that have the stage; every seed's selected epochs marked.
fn multi_rows(seeds: &[(&RunInfo, &[Stage])]) -> Vec<Vec<Panel>> {
    let Some((first, first_stages)) = seeds.first() else {
        return Vec::new();
    };
    let split = first.split();
    let n = seeds.len();
    let marked = first_stages.iter().rposition(Stage::evaluates);
    let mut rows = Vec::new();
    for (i, s0) in first_stages.iter().enumerate() {
        let same: Vec<&Stage> = seeds
            .iter()
            .filter_map(|(_, st)| st.iter().find(|s| s.name == s0.name))
            .collect();
        let title = stage_title(first_stages, i);
        let max_epoch = same.iter().map(|s| s.max_epoch()).max().unwrap_or(1);
        let mut row = vec![Panel {
            title: format!("{title}: training loss"),
            y_desc: "loss".into(),
            unit_range: false,
            series: vec![banded(
                format!("train loss (mean ± std, {} seeds)", same.len()),
                C_LOSS,
                Stroke::Solid(2),
                aggregate(&same, &|e| Some(e.loss)),
            )],
            markers: Vec::new(),
            max_epoch,
        }];
        if s0.evaluates() {
            let mut series = vec![
                banded(
                    format!("{split} Se"),
                    C_SE,
                    Stroke::Solid(2),
                    aggregate(&same, &|e| e.eval.map(|m| m.se)),
                ),
                banded(
                    format!("{split} Sp"),
                    C_SP,
                    Stroke::Solid(2),
                    aggregate(&same, &|e| e.eval.map(|m| m.sp)),
                ),
                banded(
                    format!("{split} Score"),
                    C_SCORE,
                    Stroke::Solid(3),
                    aggregate(&same, &|e| e.eval.map(|m| m.score)),
                ),
            ];
            if same.iter().any(|s| s.has_val()) {
                series.push(banded(
                    "val Score".into(),
                    C_VAL,
                    Stroke::Dashed(2),
                    aggregate(&same, &|e| e.val.map(|m| m.score)),
                ));
            }
            let mut markers = Vec::new();
            if marked == Some(i) {
                let best: Vec<usize> = seeds.iter().map(|(r, _)| r.best_by_eval.epoch).collect();
                markers.push(Marker {
                    label: format!(
                        "best {split} Score per seed (epochs {})",
                        epochs_list(&best)
                    ),
                    color: C_BEST_EVAL,
                    stroke: Stroke::Solid(1),
                    epochs: best,
                });
                let val: Vec<usize> = seeds
                    .iter()
                    .filter_map(|(r, _)| r.best_by_val.as_ref().map(|v| v.epoch))
                    .collect();
                if !val.is_empty() {
                    markers.push(Marker {
                        label: format!("best val Score per seed (epochs {})", epochs_list(&val)),
                        color: C_BEST_VAL,
                        stroke: Stroke::Dashed(1),
                        epochs: val,
                    });
                }
            }
            row.push(Panel {
                title: format!("{title}: metrics on {split} (mean ± std over {n} seeds)"),
                y_desc: "metric (0–1)".into(),
                unit_range: true,
                series,
                markers,
                max_epoch,
            });
        }
        rows.push(row);
    }
    rows
}

// ---------------------------------------------------------------------------------------------
// Rendering

type Area<'a> = DrawingArea<Canvas<'a>, Shift>;

/// Renders `draw` into an RGB buffer of `size` pixels and writes it to `path` as a PNG
/// (temporary name, then rename).
fn render_png(path: &Path, size: (u32, u32), draw: impl FnOnce(&Area) -> Result<()>) -> Result<()> {
    let (w, h) = size;
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = Canvas::new(&mut rgb, size)?.into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root).with_context(|| format!("drawing {}", path.display()))?;
        root.present()?;
    }
    let bytes = encode_png(&rgb, w, h).with_context(|| format!("encoding {}", path.display()))?;
    auscult_cache::write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))
}

fn text_style(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

/// Pixel width of `text` in `style`.
fn text_width(area: &Area, text: &str, style: &TextStyle) -> Result<u32> {
    Ok(area.estimate_text_size(text, style)?.0)
}

/// `text`, shortened with `…` to at most `max` pixels.
fn fit_text(area: &Area, text: &str, style: &TextStyle, max: u32) -> Result<String> {
    if text_width(area, text, style)? <= max {
        return Ok(text.to_string());
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let t: String = chars.iter().collect::<String>() + "…";
        if text_width(area, &t, style)? <= max {
            return Ok(t);
        }
    }
    Ok("…".into())
}

/// A centred title line across `area`.
fn draw_title(area: &Area, title: &str) -> Result<()> {
    let (w, h) = area.dim_in_pixel();
    let style = text_style(22);
    let t = fit_text(area, title, &style, w.saturating_sub(40))?;
    area.draw(&Text::new(
        t,
        (w as i32 / 2, h as i32 / 2),
        style.pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(())
}

fn draw_curves(root: &Area, title: &str, rows: &[Vec<Panel>]) -> Result<()> {
    let (top, body) = root.split_vertically(TITLE_HEIGHT);
    draw_title(&top, title)?;
    if rows.is_empty() {
        return Ok(());
    }
    for (row, area) in rows.iter().zip(body.split_evenly((rows.len(), 1))) {
        for (panel, cell) in row.iter().zip(area.split_evenly((1, row.len().max(1)))) {
            draw_panel(&cell.margin(4, 8, 10, 14), panel)?;
        }
    }
    Ok(())
}

/// What a legend entry's sample shows.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    Line(RGBColor, Stroke),
    /// A line over a band.
    Band(RGBColor, Stroke),
    /// A short vertical line (a marker).
    Vertical(RGBColor, Stroke),
    /// A filled dot.
    Dot(RGBColor),
}

const LEGEND_FONT: u32 = 14;
const LEGEND_LINE: u32 = 22;
const SWATCH_W: i32 = 28;

/// Entries laid out left to right, wrapping at `width`: each entry's (x, line).
fn legend_layout(
    area: &Area,
    entries: &[(Swatch, String)],
    width: u32,
) -> Result<Vec<(i32, i32, String)>> {
    let style = text_style(LEGEND_FONT);
    let max_text = width.saturating_sub(SWATCH_W as u32 + 12).max(20);
    let (mut x, mut line) = (0i32, 0i32);
    let mut out = Vec::new();
    for (_, label) in entries {
        let label = fit_text(area, label, &style, max_text)?;
        let w = SWATCH_W + 6 + text_width(area, &label, &style)? as i32;
        if x > 0 && x + w > width as i32 {
            x = 0;
            line += 1;
        }
        out.push((x, line, label));
        x += w + 22;
    }
    Ok(out)
}

fn stroke_style(color: RGBColor, stroke: Stroke) -> ShapeStyle {
    let width = match stroke {
        Stroke::Solid(w) | Stroke::Dashed(w) => w,
    };
    color.stroke_width(width)
}

/// A line from `a` to `b` (pixel coordinates of `area`), solid or dashed.
fn draw_segment(
    area: &Area,
    a: (i32, i32),
    b: (i32, i32),
    color: RGBColor,
    s: Stroke,
) -> Result<()> {
    let style = stroke_style(color, s);
    match s {
        Stroke::Solid(_) => area.draw(&PathElement::new(vec![a, b], style))?,
        Stroke::Dashed(_) => area.draw(&DashedPathElement::new(vec![a, b], 6, 4, style))?,
    }
    Ok(())
}

/// Draws the legend entries in `area` starting at pixel `x0`.
fn draw_legend(area: &Area, entries: &[(Swatch, String)], x0: i32, width: u32) -> Result<()> {
    let layout = legend_layout(area, entries, width)?;
    let style = text_style(LEGEND_FONT);
    for ((swatch, _), (x, line, label)) in entries.iter().zip(layout) {
        let x = x0 + x;
        let yc = 6 + line * LEGEND_LINE as i32 + LEGEND_LINE as i32 / 2;
        match *swatch {
            Swatch::Line(c, s) => draw_segment(area, (x, yc), (x + SWATCH_W, yc), c, s)?,
            Swatch::Band(c, s) => {
                area.draw(&Rectangle::new(
                    [(x, yc - 7), (x + SWATCH_W, yc + 7)],
                    c.mix(0.2).filled(),
                ))?;
                draw_segment(area, (x, yc), (x + SWATCH_W, yc), c, s)?;
            }
            Swatch::Vertical(c, s) => {
                let xm = x + SWATCH_W / 2;
                draw_segment(area, (xm, yc - 9), (xm, yc + 9), c, s)?;
            }
            Swatch::Dot(c) => {
                area.draw(&Circle::new((x + SWATCH_W / 2, yc), 5, c.filled()))?;
            }
        }
        area.draw(&Text::new(
            label,
            (x + SWATCH_W + 6, yc),
            style.pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

/// Lines of the legend laid out in `width`.
fn legend_lines(area: &Area, entries: &[(Swatch, String)], width: u32) -> Result<u32> {
    let layout = legend_layout(area, entries, width)?;
    Ok(layout.iter().map(|l| l.1 + 1).max().unwrap_or(0) as u32)
}

/// Tick labels over `[lo, hi]` with about `labels` ticks: one number of decimals for all (the
/// ticks are multiples of 1, 2 or 5 × 10^k, at least (hi − lo) / labels apart).
fn tick_formatter(lo: f64, hi: f64, labels: usize) -> impl Fn(&f64) -> String {
    let step = (hi - lo).abs() / labels.saturating_sub(1).max(1) as f64;
    let big = lo.abs().max(hi.abs());
    let scientific = !(step > 1e-5 && big < 1e6);
    let decimals = if scientific {
        0
    } else {
        (-step.log10().floor()).clamp(0.0, 6.0) as usize
    };
    move |v: &f64| {
        if scientific {
            format!("{v:.2e}")
        } else {
            // Avoid "-0.0".
            let v = if v.abs() < 0.5 * 10f64.powi(-(decimals as i32)) {
                0.0
            } else {
                *v
            };
            format!("{v:.decimals$}")
        }
    }
}

/// The y range of a panel: [0, 1] (a little margin) for metrics, else the data's with 6 %
/// padding.
fn y_range(p: &Panel) -> (f64, f64) {
    if p.unit_range {
        return (-0.02, 1.02);
    }
    let vals = p
        .series
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .map(|q| q.1)
                .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
        })
        .filter(|v| v.is_finite());
    let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    let pad = if span > 1e-9 {
        span * 0.06
    } else {
        (hi.abs() * 0.05).max(1e-3)
    };
    (lo - pad, hi + pad)
}

fn draw_panel(area: &Area, p: &Panel) -> Result<()> {
    const Y_LABELS: u32 = 72;
    let (w, h) = area.dim_in_pixel();
    let mut entries: Vec<(Swatch, String)> = p
        .series
        .iter()
        .map(|s| {
            let sw = if s.band.is_empty() {
                Swatch::Line(s.color, s.stroke)
            } else {
                Swatch::Band(s.color, s.stroke)
            };
            (sw, s.label.clone())
        })
        .collect();
    entries.extend(
        p.markers
            .iter()
            .map(|m| (Swatch::Vertical(m.color, m.stroke), m.label.clone())),
    );
    let legend_w = w.saturating_sub(Y_LABELS + 10);
    let legend_h = legend_lines(area, &entries, legend_w)? * LEGEND_LINE + 12;
    let (chart_area, legend_area) = area.split_vertically(h.saturating_sub(legend_h));

    let max_epoch = p.max_epoch.max(1);
    // A half epoch of room each side while the epochs are few enough to carry dots.
    let pad = if max_epoch <= 40 { 0.5 } else { 0.0 };
    let (x0, x1) = (1.0 - pad, max_epoch as f64 + pad);
    let (y0, y1) = y_range(p);
    let caption = fit_text(&chart_area, &p.title, &text_style(18), w.saturating_sub(20))?;
    let mut chart = ChartBuilder::on(&chart_area)
        .caption(caption, text_style(18))
        .margin_top(4)
        .margin_right(18)
        .x_label_area_size(48)
        .y_label_area_size(Y_LABELS)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let unit = p.unit_range;
    let x_fmt = |x: &f64| {
        if (x - x.round()).abs() < 1e-6 && *x >= 0.5 {
            format!("{}", x.round() as i64)
        } else {
            String::new()
        }
    };
    let y_labels = if unit { 11 } else { 8 };
    let y_fmt = tick_formatter(y0, y1, y_labels);
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(p.y_desc.as_str())
        .x_labels(max_epoch.clamp(2, 12))
        .y_labels(y_labels)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(text_style(14))
        .axis_desc_style(text_style(16))
        .bold_line_style(RGBColor(215, 215, 215))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()?;
    for s in &p.series {
        if s.band.len() >= 2 {
            let mut poly: Vec<(f64, f64)> = s.band.iter().map(|b| (b.0, b.2)).collect();
            poly.extend(s.band.iter().rev().map(|b| (b.0, b.1)));
            let poly: Vec<(f64, f64)> = poly
                .into_iter()
                .map(|(x, y)| (x, y.clamp(y0, y1)))
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(
                poly,
                s.color.mix(0.18).filled(),
            )))?;
        } else if let [(x, lo, hi)] = s.band[..] {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, lo.clamp(y0, y1)), (x, hi.clamp(y0, y1))],
                s.color.mix(0.4).stroke_width(6),
            )))?;
        }
    }
    for m in &p.markers {
        let style = stroke_style(m.color, m.stroke);
        let mut epochs = m.epochs.clone();
        epochs.sort_unstable();
        epochs.dedup();
        for e in epochs {
            let pts = vec![(e as f64, y0), (e as f64, y1)];
            match m.stroke {
                Stroke::Solid(_) => {
                    chart.draw_series(std::iter::once(PathElement::new(pts, style)))?;
                }
                Stroke::Dashed(_) => {
                    chart.draw_series(DashedLineSeries::new(pts, 7, 5, style))?;
                }
            }
        }
    }
    for s in &p.series {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|q| q.1.is_finite())
            .collect();
        let style = stroke_style(s.color, s.stroke);
        match s.stroke {
            Stroke::Solid(_) => {
                chart.draw_series(LineSeries::new(pts.clone(), style))?;
            }
            Stroke::Dashed(_) => {
                chart.draw_series(DashedLineSeries::new(pts.clone(), 8, 5, style))?;
            }
        }
        if p.max_epoch <= 40 {
            chart.draw_series(pts.iter().map(|&q| Circle::new(q, 3, s.color.filled())))?;
        }
    }
    draw_legend(&legend_area, &entries, Y_LABELS as i32 + 4, legend_w)?;
    Ok(())
}

/// A sequential white → dark blue colour map over [0, 1].
fn blues(t: f64) -> RGBColor {
    const STOPS: [(f64, (f64, f64, f64)); 5] = [
        (0.0, (247.0, 251.0, 255.0)),
        (0.25, (198.0, 219.0, 239.0)),
        (0.5, (107.0, 174.0, 214.0)),
        (0.75, (33.0, 113.0, 181.0)),
        (1.0, (8.0, 48.0, 107.0)),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let k = STOPS.iter().rposition(|s| s.0 <= t).unwrap_or(0).min(3);
    let (t0, a) = STOPS[k];
    let (t1, b) = STOPS[k + 1];
    let u = (t - t0) / (t1 - t0);
    let mix = |x: f64, y: f64| (x + (y - x) * u).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// One heatmap cell: its shade in [0, 1] (None: an empty row) and its text.
struct Cell {
    shade: Option<f64>,
    text: String,
}

fn draw_confusion(root: &Area, title: &str, names: &[String], counts: &[Vec<u64>]) -> Result<()> {
    let (top, body) = root.split_vertically(TITLE_HEIGHT);
    draw_title(&top, title)?;
    let max = counts.iter().flatten().copied().max().unwrap_or(0);
    let raw: Vec<Vec<Cell>> = counts
        .iter()
        .map(|row| {
            row.iter()
                .map(|&c| Cell {
                    shade: Some(if max > 0 { c as f64 / max as f64 } else { 0.0 }),
                    text: c.to_string(),
                })
                .collect()
        })
        .collect();
    let norm: Vec<Vec<Cell>> = counts
        .iter()
        .map(|row| {
            let support: u64 = row.iter().sum();
            row.iter()
                .map(|&c| {
                    if support == 0 {
                        Cell {
                            shade: None,
                            text: "–".into(),
                        }
                    } else {
                        let f = c as f64 / support as f64;
                        Cell {
                            shade: Some(f),
                            text: format!("{f:.2}"),
                        }
                    }
                })
                .collect()
        })
        .collect();
    let halves = body.split_evenly((1, 2));
    let mid = (max as f64 / 2.0).round() as u64;
    draw_heatmap(
        &halves[0],
        "counts (rows: true class)",
        names,
        &raw,
        ["0".into(), mid.to_string(), max.to_string()],
    )?;
    draw_heatmap(
        &halves[1],
        "row-normalised (share of each true class)",
        names,
        &norm,
        ["0".into(), "0.5".into(), "1".into()],
    )?;
    Ok(())
}

/// A heatmap of `cells` (rows: true class, columns: predicted class) with class names on both
/// axes, the cells' texts and a colour bar labelled `scale` (bottom, middle, top).
fn draw_heatmap(
    area: &Area,
    title: &str,
    names: &[String],
    cells: &[Vec<Cell>],
    scale: [String; 3],
) -> Result<()> {
    let n = cells.len().max(1) as i32;
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let label_style = text_style(15);
    let names: Vec<String> = names
        .iter()
        .map(|s| fit_text(area, s, &label_style, 190))
        .collect::<Result<_>>()?;
    let mut lab_w = 0;
    for s in &names {
        lab_w = lab_w.max(text_width(area, s, &label_style)? as i32);
    }
    let mut scale_w = 0;
    for s in &scale {
        scale_w = scale_w.max(text_width(area, s, &label_style)? as i32);
    }
    // Left to right: margin, axis title (rotated), labels, grid, colour bar and its labels.
    let fixed_w = 12 + 24 + 8 + lab_w + 8 + 18 + 20 + 6 + scale_w + 16;
    // Top to bottom: panel title, grid, column labels, axis title.
    let fixed_h = 36 + 8 + 8 + 6 + 22 + 10;
    let avail_w = (w - fixed_w).max(n * 8);
    let mut col_h = 20;
    let mut cell = (avail_w / n).min((h - fixed_h - col_h) / n).min(130);
    let rotate = lab_w + 8 > cell;
    if rotate {
        col_h = lab_w;
        cell = (avail_w / n).min((h - fixed_h - col_h) / n).min(130);
    }
    let cell = cell.max(8);
    let grid = cell * n;
    let used_w = fixed_w + grid;
    let left = ((w - used_w) / 2).max(0);
    let gx = left + 12 + 24 + 8 + lab_w + 8;
    let gy = 36 + 8;

    area.draw(&Text::new(
        title.to_string(),
        (gx + grid / 2, 18),
        text_style(17).pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    let cell_font = (cell / 4).clamp(11, 20) as u32;
    for (i, row) in cells.iter().enumerate() {
        for (j, c) in row.iter().enumerate() {
            let (x, y) = (gx + j as i32 * cell, gy + i as i32 * cell);
            let fill = c.shade.map_or(RGBColor(235, 235, 235), blues);
            area.draw(&Rectangle::new(
                [(x, y), (x + cell - 1, y + cell - 1)],
                fill.filled(),
            ))?;
            let ink = if c.shade.is_some_and(|t| t > 0.55) {
                WHITE
            } else {
                BLACK
            };
            area.draw(&Text::new(
                c.text.clone(),
                (x + cell / 2, y + cell / 2),
                text_style(cell_font)
                    .color(&ink)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            ))?;
        }
    }
    for (i, name) in names.iter().enumerate() {
        let c = i as i32 * cell + cell / 2;
        area.draw(&Text::new(
            name.clone(),
            (gx - 8, gy + c),
            label_style.pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
        let style = if rotate {
            label_style
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Right, VPos::Center))
        } else {
            label_style.pos(Pos::new(HPos::Center, VPos::Top))
        };
        area.draw(&Text::new(name.clone(), (gx + c, gy + grid + 8), style))?;
    }
    area.draw(&Text::new(
        "predicted class",
        (gx + grid / 2, gy + grid + 8 + col_h + 6),
        text_style(16).pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    area.draw(&Text::new(
        "true class",
        (left + 12 + 12, gy + grid / 2),
        text_style(16)
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    // The colour bar: top = 1, bottom = 0.
    let bx = gx + grid + 18;
    for py in 0..grid {
        let t = 1.0 - py as f64 / (grid - 1).max(1) as f64;
        area.draw(&Rectangle::new(
            [(bx, gy + py), (bx + 20, gy + py + 1)],
            blues(t).filled(),
        ))?;
    }
    area.draw(&Rectangle::new(
        [(bx, gy), (bx + 20, gy + grid)],
        RGBColor(120, 120, 120).stroke_width(1),
    ))?;
    for (k, label) in scale.iter().enumerate() {
        let y = gy + grid - k as i32 * grid / 2;
        area.draw(&PathElement::new(
            vec![(bx + 20, y), (bx + 25, y)],
            RGBColor(120, 120, 120).stroke_width(1),
        ))?;
        area.draw(&Text::new(
            label.clone(),
            (bx + 28, y),
            label_style.pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Embeddings

/// One scatter sub-plot of [`embedding_png`]: its title and one categorical label per
/// embedding row (a class, a sex, an age group, …).
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingPanel {
    pub title: String,
    pub labels: Vec<String>,
}

/// Categories of `labels` by decreasing count (then name), at most `max` (the rest merged
/// into `other`): (name, count, colour).
fn categories(labels: &[String], max: usize) -> Vec<(String, usize, RGBColor)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for l in labels {
        *counts.entry(l.as_str()).or_default() += 1;
    }
    let mut v: Vec<(&str, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut out: Vec<(String, usize, RGBColor)> = Vec::new();
    let keep = if v.len() > max { max - 1 } else { v.len() };
    for (i, (name, c)) in v.iter().take(keep).enumerate() {
        out.push((name.to_string(), *c, PALETTE[i % PALETTE.len()]));
    }
    if v.len() > keep {
        let rest = v[keep..].iter().map(|x| x.1).sum();
        out.push((
            format!("other ({} labels)", v.len() - keep),
            rest,
            RGBColor(190, 190, 190),
        ));
    }
    out
}

const EMB_PANEL_W: u32 = 800;
const EMB_PANEL_H: u32 = 600;
const EMB_LEGEND_W: u32 = 230;
/// Categories with a colour of their own (the rarer ones share `other`).
const EMB_MAX_CATEGORIES: usize = PALETTE.len();

/// Pixel size of an embedding plot with `panels` sub-plots (two per row).
pub fn embedding_size(panels: usize) -> (u32, u32) {
    let cols = panels.clamp(1, 2) as u32;
    let rows = panels.max(1).div_ceil(2) as u32;
    (cols * EMB_PANEL_W, TITLE_HEIGHT + rows * EMB_PANEL_H)
}

/// Writes a PNG of the 2-D PCA of `emb` (`dim` values per row): one scatter sub-plot per panel,
/// each row's point coloured by the panel's label for it, a legend with each label's count, the
/// axes `PC1 (x% var)` and `PC2 (y% var)`. Every panel needs one label per row.
pub fn embedding_png(
    path: &Path,
    emb: &[f32],
    dim: usize,
    panels: &[EmbeddingPanel],
) -> Result<()> {
    ensure!(
        !panels.is_empty(),
        "{}: an embedding plot needs at least one panel",
        path.display()
    );
    let pca = pca2(emb, dim).with_context(|| format!("embedding plot {}", path.display()))?;
    let n = pca.scores.len();
    for p in panels {
        ensure!(
            p.labels.len() == n,
            "{}: panel `{}` has {} labels for {n} embeddings",
            path.display(),
            p.title,
            p.labels.len()
        );
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let title = format!(
        "PCA of {n} embeddings (dim {dim}): PC1 {:.1}% + PC2 {:.1}% of the variance",
        100.0 * pca.variance_ratio[0],
        100.0 * pca.variance_ratio[1]
    );
    render_png(path, embedding_size(panels.len()), |root| {
        let (top, body) = root.split_vertically(TITLE_HEIGHT);
        draw_title(&top, &title)?;
        let rows = panels.len().div_ceil(2);
        let cols = panels.len().min(2);
        for (p, cell) in panels.iter().zip(body.split_evenly((rows, cols))) {
            draw_scatter(&cell.margin(6, 10, 10, 10), p, &pca)?;
        }
        Ok(())
    })
}

fn draw_scatter(area: &Area, p: &EmbeddingPanel, pca: &Pca2) -> Result<()> {
    let (w, _) = area.dim_in_pixel();
    let (chart_area, legend_area) = area.split_horizontally(w.saturating_sub(EMB_LEGEND_W));
    let cats = categories(&p.labels, EMB_MAX_CATEGORIES);
    let colour_of: BTreeMap<&str, RGBColor> = cats
        .iter()
        .map(|(name, _, c)| (name.as_str(), *c))
        .collect();
    let other = RGBColor(190, 190, 190);
    let range = |k: usize| {
        let (lo, hi) = pca
            .scores
            .iter()
            .map(|s| s[k])
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        let span = hi - lo;
        let pad = if span > 1e-12 { span * 0.05 } else { 1.0 };
        (lo - pad, hi + pad)
    };
    let (x0, x1) = range(0);
    let (y0, y1) = range(1);
    let caption = fit_text(
        &chart_area,
        &p.title,
        &text_style(18),
        chart_area.dim_in_pixel().0.saturating_sub(20),
    )?;
    let mut chart = ChartBuilder::on(&chart_area)
        .caption(caption, text_style(18))
        .margin_top(4)
        .margin_right(12)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let x_fmt = tick_formatter(x0, x1, 8);
    let y_fmt = tick_formatter(y0, y1, 8);
    chart
        .configure_mesh()
        .x_desc(format!("PC1 ({:.1}% var)", 100.0 * pca.variance_ratio[0]))
        .y_desc(format!("PC2 ({:.1}% var)", 100.0 * pca.variance_ratio[1]))
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(text_style(14))
        .axis_desc_style(text_style(16))
        .bold_line_style(RGBColor(215, 215, 215))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()?;
    let n = pca.scores.len();
    let radius = if n <= 500 {
        4
    } else if n <= 5000 {
        3
    } else {
        2
    };
    chart.draw_series(pca.scores.iter().zip(&p.labels).map(|(s, l)| {
        let c = colour_of.get(l.as_str()).copied().unwrap_or(other);
        Circle::new((s[0], s[1]), radius, c.mix(0.7).filled())
    }))?;
    let entries: Vec<(Swatch, String)> = cats
        .iter()
        .map(|(name, count, c)| (Swatch::Dot(*c), format!("{name} ({count})")))
        .collect();
    let style = text_style(LEGEND_FONT);
    let max_text = EMB_LEGEND_W.saturating_sub(SWATCH_W as u32 + 20);
    for (k, (sw, label)) in entries.iter().enumerate() {
        let label = fit_text(&legend_area, label, &style, max_text)?;
        // One entry per line, from the top of the plot.
        draw_legend(
            &legend_area.margin(40 + k as u32 * LEGEND_LINE, 0, 8, 0),
            &[(*sw, label)],
            0,
            EMB_LEGEND_W,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"stage":"ce","epoch":1,"lr":0.001,"train_loss":1.5,"loss_terms":{},"train":null,"val":null,"eval":{"se":0.25,"sp":0.75,"score":0.5,"hs":0.375},"seconds":1.0,"samples_per_s":10.0}"#;

    #[test]
    fn metrics_jsonl_is_read_by_stage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let pre = r#"{"stage":"scl","epoch":1,"lr":0.001,"train_loss":4.0,"loss_terms":{"supcon[a]":3.0,"supcon[b]":5.0},"train":null,"val":null,"eval":null,"seconds":1.0,"samples_per_s":10.0}"#;
        let second = LINE
            .replace("\"epoch\":1", "\"epoch\":2")
            .replace("1.5", "1.25");
        std::fs::write(&path, format!("{pre}\n{LINE}\n\n{second}\n")).unwrap();
        let stages = read_metrics(&path).unwrap();
        assert_eq!(stages.len(), 2);
        assert_eq!(stages[0].name, "scl");
        assert!(!stages[0].evaluates());
        assert_eq!(stages[0].term_names(), ["supcon[a]", "supcon[b]"]);
        assert_eq!(stages[0].epochs[0].terms["supcon[b]"], 5.0);
        assert_eq!(stages[1].name, "ce");
        assert!(stages[1].evaluates() && !stages[1].has_val());
        assert_eq!(
            stages[1]
                .epochs
                .iter()
                .map(|e| (e.epoch, e.loss))
                .collect::<Vec<_>>(),
            [(1, 1.5), (2, 1.25)]
        );
        assert_eq!(
            stages[1].epochs[0].eval,
            Some(Scores {
                se: 0.25,
                sp: 0.75,
                score: 0.5
            })
        );
        assert_eq!(stage_title(&stages, 0), "scl pretraining");
    }

    #[test]
    fn a_malformed_metrics_line_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        std::fs::write(
            &path,
            format!("{LINE}\n{LINE}\n{{\"stage\": \"ce\", \"epo\n"),
        )
        .unwrap();
        let err = format!("{:#}", read_metrics(&path).unwrap_err());
        assert!(
            err.contains(&path.display().to_string()) && err.contains("line 3"),
            "{err}"
        );
        // A line of valid JSON that is no epoch record is refused the same way.
        std::fs::write(&path, format!("{LINE}\n{{\"stage\": \"ce\"}}\n")).unwrap();
        let err = format!("{:#}", read_metrics(&path).unwrap_err());
        assert!(err.contains("line 2") && err.contains("epoch"), "{err}");
        // Empty and missing files name the file.
        std::fs::write(&path, "\n").unwrap();
        let err = format!("{:#}", read_metrics(&path).unwrap_err());
        assert!(err.contains("no epoch records"), "{err}");
        let missing = dir.path().join("nope.jsonl");
        let err = format!("{:#}", read_metrics(&missing).unwrap_err());
        assert!(err.contains("nope.jsonl"), "{err}");
    }

    #[test]
    fn run_plots_of_a_bad_run_dir_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = format!("{:#}", write_run_plots(dir.path()).unwrap_err());
        assert!(err.contains("summary.json"), "{err}");
        std::fs::write(dir.path().join("summary.json"), "{\"method\": \"ce\"}").unwrap();
        let err = format!("{:#}", write_run_plots(dir.path()).unwrap_err());
        assert!(
            err.contains("summary.json") && err.contains("best_by_eval"),
            "{err}"
        );
    }

    #[test]
    fn tick_labels_share_one_number_of_decimals() {
        let unit = tick_formatter(-0.02, 1.02, 11);
        assert_eq!([0.5, 1.0, -1e-12].map(|v| unit(&v)), ["0.5", "1.0", "0.0"]);
        let loss = tick_formatter(0.3, 2.1, 8);
        assert_eq!([0.5, 2.0].map(|v| loss(&v)), ["0.5", "2.0"]);
        let small = tick_formatter(0.011, 0.014, 8);
        assert_eq!(small(&0.0125), "0.0125");
        let big = tick_formatter(0.0, 2e6, 8);
        assert_eq!(big(&1e6), "1.00e6");
        let epochs = tick_formatter(0.0, 400.0, 8);
        assert_eq!(epochs(&350.0), "350");
    }

    #[test]
    fn blues_spans_white_to_dark_blue() {
        assert_eq!(blues(0.0), RGBColor(247, 251, 255));
        assert_eq!(blues(1.0), RGBColor(8, 48, 107));
        assert_eq!(blues(0.5), RGBColor(107, 174, 214));
        assert_eq!(blues(f64::NAN), blues(0.0));
        let mid = blues(0.6);
        assert!(mid.2 < 214 && mid.2 > 181, "{mid:?}");
    }

    #[test]
    fn categories_merge_the_rare_labels() {
        let labels: Vec<String> = ["a", "b", "b", "c", "c", "c", "d"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let c = categories(&labels, 3);
        let names: Vec<(&str, usize)> = c.iter().map(|x| (x.0.as_str(), x.1)).collect();
        assert_eq!(names, [("c", 3), ("b", 2), ("other (2 labels)", 2)]);
        assert_eq!(categories(&labels, 12).len(), 4);
        // At most one category per palette colour: none shares another's colour.
        let many: Vec<String> = (0..30).map(|i| format!("g{}", i % 15)).collect();
        let c = categories(&many, EMB_MAX_CATEGORIES);
        assert_eq!(c.len(), EMB_MAX_CATEGORIES);
        let colours: std::collections::BTreeSet<(u8, u8, u8)> =
            c.iter().map(|x| (x.2 .0, x.2 .1, x.2 .2)).collect();
        assert_eq!(colours.len(), c.len());
    }
}
