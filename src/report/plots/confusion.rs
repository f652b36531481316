//! The confusion heatmap: counts and row-normalised, side by side.

use super::*;

/// A sequential white → dark blue colour map over [0, 1].
pub fn blues(t: f64) -> RGBColor {
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
pub(super) struct Cell {
    pub(super) shade: Option<f64>,
    pub(super) text: String,
}

pub(super) fn draw_confusion(
    root: &Area,
    title: &str,
    names: &[String],
    counts: &[Vec<u64>],
) -> Result<()> {
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
pub(super) fn draw_heatmap(
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
