//! The pixel canvas every plot is drawn on: plotters' RGB bitmap backend with text drawn from
//! the embedded DejaVu Sans by ab_glyph, and the PNG encoding of the finished buffer.
//!
//! Text goes through [`Canvas::draw_text`] rather than plotters' own ab_glyph path, which places
//! each glyph's bitmap at the pen position without the glyph's side bearing (uneven letter
//! spacing: `crack le`) and shifts text up by a quarter of its size. Here each glyph is laid out
//! at its pen position with kerning, and anchors use the font's ascent and descent.

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use anyhow::{ensure, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use plotters::style::{register_font, FontStyle};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

/// The family name the plots ask for (registered with plotters for its text measurements).
pub const FONT: &str = "sans-serif";
const FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// The embedded font, parsed once; also registered as plotters' `sans-serif`.
pub fn font() -> Result<&'static FontRef<'static>> {
    static FONT_REF: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    let f = FONT_REF.get_or_init(|| {
        let f = FontRef::try_from_slice(FONT_BYTES).ok()?;
        register_font(FONT, FontStyle::Normal, FONT_BYTES).ok()?;
        Some(f)
    });
    f.as_ref().ok_or_else(|| {
        anyhow::anyhow!(
            "the embedded font (assets/fonts/DejaVuSans.ttf) is not a valid TrueType font"
        )
    })
}

/// A bitmap backend whose text is drawn by [`draw_text`](Canvas::draw_text) below.
pub struct Canvas<'a> {
    inner: BitMapBackend<'a>,
    font: &'static FontRef<'static>,
}

impl<'a> Canvas<'a> {
    /// A canvas over an RGB buffer of `size` pixels (3 bytes a pixel, row-major).
    pub fn new(rgb: &'a mut [u8], size: (u32, u32)) -> Result<Self> {
        ensure!(
            rgb.len() == size.0 as usize * size.1 as usize * 3,
            "a {}×{} canvas needs {} bytes, got {}",
            size.0,
            size.1,
            size.0 as usize * size.1 as usize * 3,
            rgb.len()
        );
        Ok(Canvas {
            inner: BitMapBackend::with_buffer(rgb, size),
            font: font()?,
        })
    }

    /// Width of `text` at `size` pixels, and the font's ascent and descent (descent < 0).
    fn metrics(&self, text: &str, size: f64) -> (f32, f32, f32) {
        let f = self.font.as_scaled(PxScale::from(size as f32));
        let mut x = 0.0;
        let mut prev = None;
        for c in text.chars() {
            let id = f.glyph_id(c);
            if let Some(p) = prev {
                x += f.kern(p, id);
            }
            x += f.h_advance(id);
            prev = Some(id);
        }
        (x, f.ascent(), f.descent())
    }
}

type BackendResult<T = ()> = Result<T, DrawingErrorKind<plotters_bitmap::BitMapBackendError>>;

impl DrawingBackend for Canvas<'_> {
    type ErrorType = plotters_bitmap::BitMapBackendError;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }
    fn ensure_prepared(&mut self) -> BackendResult {
        self.inner.ensure_prepared()
    }
    fn present(&mut self) -> BackendResult {
        self.inner.present()
    }
    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> BackendResult {
        self.inner.draw_pixel(point, color)
    }
    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> BackendResult {
        self.inner.draw_line(from, to, style)
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> BackendResult {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> BackendResult {
        self.inner.draw_path(path, style)
    }
    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> BackendResult {
        self.inner.draw_circle(center, radius, style, fill)
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> BackendResult {
        self.inner.fill_polygon(vert, style)
    }
    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> BackendResult {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> BackendResult<(u32, u32)> {
        let (w, ascent, descent) = self.metrics(text, style.size());
        Ok((w.ceil() as u32, (ascent - descent).ceil() as u32))
    }

    /// Lays `text` out on a baseline, anchored by the style (Top: the ascent line, Center:
    /// midway between ascent and descent, Bottom: the descent line), rotated by its transform.
    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> BackendResult {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let scale = PxScale::from(style.size() as f32);
        let (width, ascent, descent) = self.metrics(text, style.size());
        let anchor = style.anchor();
        let x0 = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let baseline = match anchor.v_pos {
            VPos::Top => ascent,
            VPos::Center => (ascent + descent) / 2.0,
            VPos::Bottom => descent,
        };
        let trans = style.transform();
        let (w, h) = self.get_size();
        let f = self.font.as_scaled(scale);
        let mut pen = x0;
        let mut prev = None;
        for c in text.chars() {
            let id = f.glyph_id(c);
            if let Some(p) = prev {
                pen += f.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(scale, point(pen, baseline));
            pen += f.h_advance(id);
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue;
            };
            let b = outline.px_bounds();
            let (bx, by) = (b.min.x as i32, b.min.y as i32);
            let mut pixels = Vec::new();
            outline.draw(|gx, gy, cover| {
                if cover > 0.0 {
                    pixels.push((bx + gx as i32, by + gy as i32, cover.min(1.0)));
                }
            });
            for (lx, ly, cover) in pixels {
                let (tx, ty) = trans.transform(lx, ly);
                let (x, y) = (pos.0 + tx, pos.1 + ty);
                if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                    self.inner.draw_pixel(
                        (x, y),
                        BackendColor {
                            alpha: color.alpha * cover as f64,
                            rgb: color.rgb,
                        },
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// PNG bytes of an RGB buffer of `w × h` pixels.
pub fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut enc = png::Encoder::new(&mut bytes, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(bytes)
}
