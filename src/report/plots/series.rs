//! What a curves panel shows: its series (mean ± std bands over seeds), markers and colours.

use super::*;
use crate::eval::stats::{MeanStd, StdKind};

/// How a line is stroked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Stroke {
    Solid(u32),
    Dashed(u32),
}

/// One line of a panel, with an optional band (a mean ± std).
#[derive(Debug, Clone)]
pub(super) struct Series {
    pub(super) label: String,
    pub(super) color: RGBColor,
    pub(super) stroke: Stroke,
    /// (epoch, value).
    pub(super) points: Vec<(f64, f64)>,
    /// (epoch, low, high).
    pub(super) band: Vec<(f64, f64, f64)>,
}

/// Vertical lines at selected epochs.
#[derive(Debug, Clone)]
pub(super) struct Marker {
    pub(super) label: String,
    pub(super) color: RGBColor,
    pub(super) stroke: Stroke,
    pub(super) epochs: Vec<usize>,
}

/// One chart: a stage's loss, or its metrics in [0, 1].
#[derive(Debug, Clone)]
pub(super) struct Panel {
    pub(super) title: String,
    pub(super) y_desc: String,
    /// Metrics: the y axis is [0, 1]; else it fits the data.
    pub(super) unit_range: bool,
    pub(super) series: Vec<Series>,
    pub(super) markers: Vec<Marker>,
    pub(super) max_epoch: usize,
}

impl Panel {
    /// The training-loss panel of the stage titled `stage`.
    fn loss(stage: &str, series: Vec<Series>, max_epoch: usize) -> Panel {
        Panel {
            title: format!("{stage}: training loss"),
            y_desc: "loss".into(),
            unit_range: false,
            series,
            markers: Vec::new(),
            max_epoch,
        }
    }

    /// A metrics panel (y in [0, 1]).
    fn metrics(
        title: String,
        series: Vec<Series>,
        markers: Vec<Marker>,
        max_epoch: usize,
    ) -> Panel {
        Panel {
            title,
            y_desc: "metric (0–1)".into(),
            unit_range: true,
            series,
            markers,
            max_epoch,
        }
    }
}

/// A per-epoch value of a stage.
type EpochValue<'a> = &'a dyn Fn(&EpochPoint) -> Option<f64>;

/// A metrics panel's series: Se, Sp and Score on `split`, and the val Score when `has_val`,
/// each drawn by `curve(label, colour, stroke, value)`.
fn metric_series(
    split: &str,
    has_val: bool,
    curve: &dyn Fn(String, RGBColor, Stroke, EpochValue) -> Series,
) -> Vec<Series> {
    let mut series = vec![
        curve(format!("{split} Se"), C_SE, Stroke::Solid(2), &|e| {
            e.eval.map(|m| m.se)
        }),
        curve(format!("{split} Sp"), C_SP, Stroke::Solid(2), &|e| {
            e.eval.map(|m| m.sp)
        }),
        curve(format!("{split} Score"), C_SCORE, Stroke::Solid(3), &|e| {
            e.eval.map(|m| m.score)
        }),
    ];
    if has_val {
        series.push(curve("val Score".into(), C_VAL, Stroke::Dashed(2), &|e| {
            e.val.map(|m| m.score)
        }));
    }
    series
}

/// A categorical palette (the "tab10" colours).
pub(super) const PALETTE: [RGBColor; 10] = [
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
pub(super) const C_LOSS: RGBColor = RGBColor(31, 119, 180);
pub(super) const C_SE: RGBColor = PALETTE[0];
pub(super) const C_SP: RGBColor = PALETTE[1];
pub(super) const C_SCORE: RGBColor = PALETTE[2];
pub(super) const C_VAL: RGBColor = PALETTE[4];
pub(super) const C_BEST_EVAL: RGBColor = PALETTE[3];
pub(super) const C_BEST_VAL: RGBColor = PALETTE[5];

/// A stage's title: its name, and `pretraining` for a stage that is not evaluated but followed
/// by one that is.
pub fn stage_title(stages: &[Stage], i: usize) -> String {
    let s = &stages[i];
    if !s.evaluates() && stages[i + 1..].iter().any(Stage::evaluates) {
        format!("{} pretraining", s.name)
    } else if s.name == "linear_eval" {
        "linear evaluation".into()
    } else {
        s.name.clone()
    }
}

/// A line without a band.
pub(super) fn line(
    label: String,
    color: RGBColor,
    stroke: Stroke,
    points: Vec<(f64, f64)>,
) -> Series {
    banded(label, color, stroke, (points, Vec::new()))
}

/// The panels of a single run: per stage its loss, and its metrics when it is evaluated; the
/// summary's selections are marked on the last evaluated stage.
pub(super) fn run_rows(stages: &[Stage], info: &RunSummary) -> Vec<Vec<Panel>> {
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
        let mut row = vec![Panel::loss(&title, loss, s.max_epoch())];
        if s.evaluates() {
            let series = metric_series(split, s.has_val(), &|label, color, stroke, f| {
                line(label, color, stroke, xy(f))
            });
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
            let title = format!("{title}: metrics on {split}");
            row.push(Panel::metrics(title, series, markers, s.max_epoch()));
        }
        rows.push(row);
    }
    rows
}

/// A mean curve: (epoch, mean) points and the (epoch, mean − std, mean + std) band.
pub(super) type MeanCurve = (Vec<(f64, f64)>, Vec<(f64, f64, f64)>);

/// Mean ± std over `seeds` of a per-epoch value.
pub(super) fn mean_curve(seeds: &[&Stage], f: &dyn Fn(&EpochPoint) -> Option<f64>) -> MeanCurve {
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
        let MeanStd {
            mean: m, std: s, ..
        } = MeanStd::of(&v, StdKind::Population).expect("an epoch has a value");
        points.push((epoch as f64, m));
        band.push((epoch as f64, m - s, m + s));
    }
    (points, band)
}

pub(super) fn banded(
    label: String,
    color: RGBColor,
    stroke: Stroke,
    (points, band): MeanCurve,
) -> Series {
    Series {
        label,
        color,
        stroke,
        points,
        band,
    }
}

pub(super) fn epochs_list(v: &[usize]) -> String {
    v.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The panels of several seeds: the first seed's stages, each value as mean ± std over the
/// seeds that have the stage; every seed's selected epochs marked.
pub(super) fn multi_rows(seeds: &[(&RunSummary, &[Stage])]) -> Vec<Vec<Panel>> {
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
        let loss = banded(
            format!("train loss (mean ± std, {} seeds)", same.len()),
            C_LOSS,
            Stroke::Solid(2),
            mean_curve(&same, &|e| Some(e.loss)),
        );
        let mut row = vec![Panel::loss(&title, vec![loss], max_epoch)];
        if s0.evaluates() {
            let has_val = same.iter().any(|s| s.has_val());
            let series = metric_series(split, has_val, &|label, color, stroke, f| {
                banded(label, color, stroke, mean_curve(&same, f))
            });
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
            let title = format!("{title}: metrics on {split} (mean ± std over {n} seeds)");
            row.push(Panel::metrics(title, series, markers, max_epoch));
        }
        rows.push(row);
    }
    rows
}
