//! Rendering a figure: the PNG, text, the title and the grid of curves panels.

use super::*;

pub(super) type Area<'a> = DrawingArea<Canvas<'a>, Shift>;

/// Renders `draw` into an RGB buffer of `size` pixels and writes it to `path` as a PNG
/// (temporary name, then rename).
pub(super) fn render_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Area) -> Result<()>,
) -> Result<()> {
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

/// A chart with numeric axes (curves, the embedding's scatter).
pub(super) type XyChart<'a, 'b> = ChartContext<
    'a,
    Canvas<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Writes an axis' tick label.
pub(super) type TickText<'f> = &'f dyn Fn(&f64) -> String;

/// Draws the mesh of an x–y chart: the axis titles `desc`, `labels` ticks per axis written by
/// `fmt`, 14 px labels, 16 px titles and a light grey grid.
pub(super) fn draw_mesh(
    chart: &mut XyChart,
    desc: (&str, &str),
    labels: (usize, usize),
    fmt: (TickText, TickText),
) -> Result<()> {
    chart
        .configure_mesh()
        .x_desc(desc.0)
        .y_desc(desc.1)
        .x_labels(labels.0)
        .y_labels(labels.1)
        .x_label_formatter(fmt.0)
        .y_label_formatter(fmt.1)
        .label_style(text_style(14))
        .axis_desc_style(text_style(16))
        .bold_line_style(RGBColor(215, 215, 215))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()?;
    Ok(())
}

pub(super) fn text_style(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

/// Pixel width of `text` in `style`.
pub(super) fn text_width(area: &Area, text: &str, style: &TextStyle) -> Result<u32> {
    Ok(area.estimate_text_size(text, style)?.0)
}

/// `text`, shortened with `…` to at most `max` pixels.
pub(super) fn fit_text(area: &Area, text: &str, style: &TextStyle, max: u32) -> Result<String> {
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
pub(super) fn draw_title(area: &Area, title: &str) -> Result<()> {
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

pub(super) fn draw_curves(root: &Area, title: &str, rows: &[Vec<Panel>]) -> Result<()> {
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
