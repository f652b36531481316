//! One curves panel: its axes, tick labels, bands, lines, markers and legend.

use super::*;

/// Tick labels over `[lo, hi]` with about `labels` ticks: one number of decimals for all (the
/// ticks are multiples of 1, 2 or 5 × 10^k, at least (hi − lo) / labels apart).
pub fn tick_formatter(lo: f64, hi: f64, labels: usize) -> impl Fn(&f64) -> String {
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
pub(super) fn y_range(p: &Panel) -> (f64, f64) {
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

pub(super) fn draw_panel(area: &Area, p: &Panel) -> Result<()> {
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
    draw_mesh(
        &mut chart,
        ("epoch", &p.y_desc),
        (max_epoch.clamp(2, 12), y_labels),
        (&x_fmt, &y_fmt),
    )?;
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
