//! Legends: entries with a line, band, marker or dot swatch, wrapped to a width.

use super::*;

/// What a legend entry's sample shows.
#[derive(Debug, Clone, Copy)]
pub(super) enum Swatch {
    Line(RGBColor, Stroke),
    /// A line over a band.
    Band(RGBColor, Stroke),
    /// A short vertical line (a marker).
    Vertical(RGBColor, Stroke),
    /// A filled dot.
    Dot(RGBColor),
}

pub(super) const LEGEND_FONT: u32 = 14;
pub(super) const LEGEND_LINE: u32 = 22;
pub(super) const SWATCH_W: i32 = 28;

/// Entries laid out left to right, wrapping at `width`: each entry's (x, line).
pub(super) fn legend_layout(
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

pub(super) fn stroke_style(color: RGBColor, stroke: Stroke) -> ShapeStyle {
    let width = match stroke {
        Stroke::Solid(w) | Stroke::Dashed(w) => w,
    };
    color.stroke_width(width)
}

/// A line from `a` to `b` (pixel coordinates of `area`), solid or dashed.
pub(super) fn draw_segment(
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
pub(super) fn draw_legend(
    area: &Area,
    entries: &[(Swatch, String)],
    x0: i32,
    width: u32,
) -> Result<()> {
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
pub(super) fn legend_lines(area: &Area, entries: &[(Swatch, String)], width: u32) -> Result<u32> {
    let layout = legend_layout(area, entries, width)?;
    Ok(layout.iter().map(|l| l.1 + 1).max().unwrap_or(0) as u32)
}
