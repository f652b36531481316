//! The clinical evaluation's figures of one run (its `best` checkpoint):
//!
//! ```text
//! <run>/plots/subgroups.png     Score with its 95% patient-bootstrap interval per group, one
//!                               panel per subgroup column; small groups hollow and grey; the
//!                               overall Score and its interval as a band
//! <run>/plots/reliability.png   accuracy per confidence bin against the diagonal, with ECE; a
//!                               second panel after temperature scaling when there is one
//! ```

use super::*;
use crate::eval::calibration::Bin;
use crate::eval::clinical::{Evaluation, Subgroup};

/// Score per subgroup.
pub const SUBGROUPS_PNG: &str = "subgroups.png";
/// Reliability diagram.
pub const RELIABILITY_PNG: &str = "reliability.png";

const BLUE: RGBColor = RGBColor(31, 119, 180);
const GREY: RGBColor = RGBColor(150, 150, 150);
const ORANGE: RGBColor = RGBColor(230, 120, 20);

/// Draws `subgroups.png` and `reliability.png` of the run's first evaluation (none: no file);
/// returns their paths.
pub fn write_clinical_plots(run_dir: &Path) -> Result<Vec<PathBuf>> {
    let s = rundir::read_run_summary(run_dir)?;
    let Some(e) = s.evaluation.first() else {
        return Ok(Vec::new());
    };
    let out = plots_dir(run_dir)?;
    let title = figure_title(
        &s.method,
        s.config_name.as_deref(),
        &format!("seed {}", s.seed),
        Some(&s.dataset),
    );
    let mut files = Vec::new();
    let columns: Vec<&str> =
        e.subgroups
            .iter()
            .map(|g| g.column.as_str())
            .fold(Vec::new(), |mut v, c| {
                if !v.contains(&c) {
                    v.push(c);
                }
                v
            });
    if !columns.is_empty() {
        let path = out.join(SUBGROUPS_PNG);
        let w = (columns.len() as u32 * 420).max(900);
        render_png(&path, (w, 620), |root| {
            draw_subgroups(root, &title, e, &columns)
        })?;
        files.push(path);
    }
    let path = out.join(RELIABILITY_PNG);
    let panels = 1 + e.calibration.scaled_bins.is_some() as u32;
    render_png(&path, (560 * panels + 40, 620), |root| {
        draw_reliability(root, &title, e)
    })?;
    files.push(path);
    Ok(files)
}

fn draw_subgroups(root: &Area, title: &str, e: &Evaluation, columns: &[&str]) -> Result<()> {
    let (top, body) = root.split_vertically(TITLE_HEIGHT);
    let o = &e.overall.metrics.score;
    draw_title(
        &top,
        &format!(
            "{title}: {} Score by subgroup, 95% patient-bootstrap CI (overall {:.3} [{:.3}, {:.3}])",
            e.split, o.value, o.lo, o.hi
        ),
    )?;
    let (body, foot) = body.split_vertically(body.dim_in_pixel().1 - 30);
    foot.draw(&Text::new(
        format!(
            "hollow grey: fewer than {} cycles or {} patients; dashed line and band: overall Score and its CI; numbers: cycles/patients",
            e.options.min_cycles, e.options.min_patients
        ),
        (20, 8),
        text_style(14),
    ))?;
    for (column, cell) in columns.iter().zip(body.split_evenly((1, columns.len()))) {
        let groups: Vec<&Subgroup> = e.subgroups.iter().filter(|g| g.column == *column).collect();
        draw_subgroup_panel(&cell.margin(4, 8, 10, 14), column, &groups, o)?;
    }
    Ok(())
}

fn draw_subgroup_panel(
    area: &Area,
    column: &str,
    groups: &[&Subgroup],
    overall: &crate::eval::bootstrap::Estimate,
) -> Result<()> {
    let n = groups.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(column, text_style(18))
        .margin_right(12)
        .x_label_area_size(70)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.5..n - 0.5, 0.0..1.02)?;
    let names: Vec<String> = groups.iter().map(|g| g.group.clone()).collect();
    let x_fmt = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < names.len() {
            names[i as usize].clone()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .y_desc("Score")
        .x_labels(groups.len().max(1) * 2 + 1)
        .y_labels(11)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&|y| format!("{y:.1}"))
        .label_style(text_style(13))
        .axis_desc_style(text_style(16))
        .disable_x_mesh()
        .bold_line_style(RGBColor(215, 215, 215))
        .light_line_style(WHITE)
        .draw()?;
    chart.draw_series(std::iter::once(Polygon::new(
        vec![
            (-0.5, overall.lo),
            (n - 0.5, overall.lo),
            (n - 0.5, overall.hi),
            (-0.5, overall.hi),
        ],
        BLUE.mix(0.12).filled(),
    )))?;
    chart.draw_series(DashedLineSeries::new(
        vec![(-0.5, overall.value), (n - 0.5, overall.value)],
        7,
        5,
        BLUE.mix(0.6).stroke_width(2),
    ))?;
    for (i, g) in groups.iter().enumerate() {
        let s = &g.metrics.metrics.score;
        let x = i as f64;
        let color = if g.small { GREY } else { ORANGE };
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x, s.lo), (x, s.hi)],
            color.stroke_width(3),
        )))?;
        for y in [s.lo, s.hi] {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x - 0.12, y), (x + 0.12, y)],
                color.stroke_width(3),
            )))?;
        }
        let style = if g.small {
            color.stroke_width(2)
        } else {
            color.filled()
        };
        chart.draw_series(std::iter::once(Circle::new((x, s.value), 6, style)))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{}/{}", g.metrics.cycles, g.metrics.patients),
            (x, 0.03),
            text_style(12).pos(Pos::new(HPos::Center, VPos::Center)),
        )))?;
    }
    Ok(())
}

fn draw_reliability(root: &Area, title: &str, e: &Evaluation) -> Result<()> {
    let (top, body) = root.split_vertically(TITLE_HEIGHT);
    draw_title(
        &top,
        &format!(
            "{title}: {} reliability ({} cycles)",
            e.split, e.overall.cycles
        ),
    )?;
    let c = &e.calibration;
    let mut panels: Vec<(String, &[Bin])> = vec![(
        format!(
            "raw: ECE {:.3} [{:.3}, {:.3}]",
            c.ece.value, c.ece.lo, c.ece.hi
        ),
        &c.bins,
    )];
    if let (Some(t), Some(b), Some(ece)) = (c.temperature, &c.scaled_bins, &c.scaled_ece) {
        panels.push((
            format!(
                "T = {t:.3}: ECE {:.3} [{:.3}, {:.3}]",
                ece.value, ece.lo, ece.hi
            ),
            b,
        ));
    }
    let n = panels.len();
    for ((caption, bins), cell) in panels.iter().zip(body.split_evenly((1, n))) {
        let mut chart = ChartBuilder::on(&cell.margin(4, 8, 10, 14))
            .caption(caption, text_style(18))
            .margin_right(14)
            .x_label_area_size(48)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc("confidence (largest class probability)")
            .y_desc("accuracy")
            .x_labels(11)
            .y_labels(11)
            .x_label_formatter(&|x| format!("{x:.1}"))
            .y_label_formatter(&|y| format!("{y:.1}"))
            .label_style(text_style(13))
            .axis_desc_style(text_style(16))
            .bold_line_style(RGBColor(215, 215, 215))
            .light_line_style(WHITE)
            .draw()?;
        chart.draw_series(DashedLineSeries::new(
            vec![(0.0, 0.0), (1.0, 1.0)],
            7,
            5,
            GREY.stroke_width(2),
        ))?;
        let total: usize = bins.iter().map(|b| b.count).sum::<usize>().max(1);
        for b in bins.iter().filter(|b| b.count > 0) {
            // Bar: the bin's accuracy; its opacity grows with the bin's share of the cycles.
            let alpha = 0.25 + 0.65 * (b.count as f64 / total as f64).sqrt();
            chart.draw_series(std::iter::once(Rectangle::new(
                [(b.lo, 0.0), (b.hi, b.accuracy)],
                BLUE.mix(alpha).filled(),
            )))?;
            chart.draw_series(std::iter::once(Circle::new(
                (b.confidence, b.accuracy),
                4,
                ORANGE.filled(),
            )))?;
        }
    }
    Ok(())
}
