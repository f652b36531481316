//! The 2-D PCA scatter of embeddings, one panel per labelling.

use super::*;

pub use crate::train::observer::EmbeddingPanel;

/// Categories of `labels` by decreasing count (then name), at most `max` (the rest merged
/// into `other`): (name, count, colour).
pub fn categories(labels: &[String], max: usize) -> Vec<(String, usize, RGBColor)> {
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

pub(super) const EMB_PANEL_W: u32 = 800;
pub(super) const EMB_PANEL_H: u32 = 600;
pub(super) const EMB_LEGEND_W: u32 = 230;
/// Categories with a colour of their own (the rarer ones share `other`).
pub const EMB_MAX_CATEGORIES: usize = PALETTE.len();

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

pub(super) fn draw_scatter(area: &Area, p: &EmbeddingPanel, pca: &Pca2) -> Result<()> {
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
    let desc = |k: usize| format!("PC{} ({:.1}% var)", k + 1, 100.0 * pca.variance_ratio[k]);
    draw_mesh(&mut chart, (&desc(0), &desc(1)), (8, 8), (&x_fmt, &y_fmt))?;
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
