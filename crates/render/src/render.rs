//! The render pipeline, one step per line, in imgproxy's order:
//! plan (from the header) → scale-on-load decode → crop → resize → cover window →
//! ICC profile to sRGB → effect → letterbox → flatten → encode.

use image::{DynamicImage, Rgb, RgbImage, Rgba, RgbaImage};

use crate::options::Effect;
use crate::plan::{Plan, plan};
use crate::{Error, Fit, Gravity, Limits, OutputFormat, Rect, RenderOptions, color, encode, smart};

/// An encoded render.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The encoded image (no metadata).
    pub bytes: Vec<u8>,
    /// Its format.
    pub format: OutputFormat,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendered")
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("format", &self.format)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// Renders the image in `bytes` as `opts` asks, encoded as `format` (the caller resolved
/// `auto` with [`RenderOptions::output_format`]).
///
/// The geometry is planned from the header before decoding; an output (or intermediate
/// resized image) over `limits.max_render_pixels`, or an AVIF over
/// `limits.avif_max_pixels`, is refused with [`Error::TooLarge`] before any pixel is
/// decoded. The decode uses shrink-on-load (JPEG DCT scaling, PNG row reduction) down to
/// what the resize needs. Filters and presets run on the resized image. Metadata is
/// stripped; EXIF orientation is applied.
pub fn render(
    bytes: &[u8],
    opts: &RenderOptions,
    format: OutputFormat,
    limits: &Limits,
) -> Result<Rendered, Error> {
    limits.validate()?;
    let mut planned: Option<Result<Plan, Error>> = None;
    let decoded = imaging::decode_planned(bytes, &limits.imaging, |header| {
        let (w, h) = header.oriented_size();
        let p = plan(opts, w, h).and_then(|p| check_budget(&p, format, limits).map(|()| p));
        let decode_box = p
            .as_ref()
            .ok()
            .map(|p| shrink_on_load_box(p, header.format));
        planned = Some(p);
        // Stop the decode with a placeholder error; ours is reported below.
        decode_box
            .ok_or_else(|| imaging::Error::InvalidParameter("render refused by its plan".into()))
    });
    let plan = match planned {
        Some(Err(e)) => return Err(e),
        Some(Ok(p)) => p,
        None => {
            return Err(decoded
                .err()
                .map_or_else(|| Error::Internal("no plan".into()), Error::from));
        }
    };
    let (_, img) = decoded?;
    let profile = color::source_profile(bytes);
    render_planned(img, opts, &plan, format, limits, profile.as_ref())
}

/// The box handed to the decoder's shrink-on-load. imaging keeps a 2× margin over the
/// box it gets (the thumbnail's choice: the resampler then does most of the reduction).
/// For a JPEG, renders follow sharp's default (`fastShrinkOnLoad`) instead: the largest
/// DCT scale that still covers the resized size, so a 12 MP photo rendered at 1024 px is
/// decoded at 1/2 (2000×1500) rather than in full, which more than halves the time; the
/// DCT scaling is itself an area filter, so the resize that follows stays alias-free.
fn shrink_on_load_box(plan: &Plan, format: imaging::Format) -> (u32, u32) {
    let (w, h) = plan.decode_box();
    match format {
        imaging::Format::Jpeg => (w.div_ceil(2), h.div_ceil(2)),
        _ => (w, h),
    }
}

/// The same pipeline for an image already decoded (and upright), e.g. `POST /api/filter`
/// after its own decode. `img` must be the full oriented source, already in sRGB (no ICC
/// conversion happens here).
pub fn render_image(
    img: DynamicImage,
    opts: &RenderOptions,
    format: OutputFormat,
    limits: &Limits,
) -> Result<Rendered, Error> {
    limits.validate()?;
    let plan = plan(opts, img.width(), img.height())?;
    check_budget(&plan, format, limits)?;
    render_planned(img, opts, &plan, format, limits, None)
}

/// Refuses a plan over the output budgets (413), before decoding.
pub fn check_budget(plan: &Plan, format: OutputFormat, limits: &Limits) -> Result<(), Error> {
    if plan.peak_pixels() > limits.max_render_pixels {
        return Err(Error::TooLarge(format!(
            "the render would be {}x{} (resized {}x{}), more than max_render_pixels = {}",
            plan.width, plan.height, plan.resized.0, plan.resized.1, limits.max_render_pixels
        )));
    }
    let side = plan.width.max(plan.height);
    if side > format.max_side() {
        return Err(Error::range(
            "w",
            format!(
                "{} is at most {} px a side; this render would be {}x{}",
                format.name(),
                format.max_side(),
                plan.width,
                plan.height
            ),
        ));
    }
    if format == OutputFormat::Avif && plan.out_pixels() > limits.avif_max_pixels {
        return Err(Error::TooLarge(format!(
            "an AVIF render of {}x{} is more than avif_max_pixels = {}; ask for a smaller size or format=webp",
            plan.width, plan.height, limits.avif_max_pixels
        )));
    }
    Ok(())
}

fn render_planned(
    img: DynamicImage,
    opts: &RenderOptions,
    plan: &Plan,
    format: OutputFormat,
    limits: &Limits,
    profile: Option<&moxcms::ColorProfile>,
) -> Result<Rendered, Error> {
    let mut img = resized(crop_region(img, plan), plan.resized)?;
    if let Some(win) = plan.window {
        let (x, y) = if plan.gravity == Gravity::Smart {
            smart::choose(&img, win.w, win.h)
        } else {
            (win.x, win.y)
        };
        img = img.crop_imm(x, y, win.w, win.h);
    }
    let mut img = to_8bit(img);
    if let Some(profile) = profile {
        color::to_srgb(&mut img, profile);
    }
    match &opts.effect {
        Some(Effect::Chain(c)) => c.apply(&mut img),
        Some(Effect::Preset(p)) => p.apply(&mut img),
        None => {}
    }
    if let Some(at) = plan.embed.filter(|_| opts.fit == Fit::Contain) {
        img = letterbox(&img, plan.width, plan.height, at, opts.bg);
    }
    if !format.has_alpha() && img.color().has_alpha() {
        img = DynamicImage::ImageRgb8(flatten(&img, opts.bg));
    }
    let settings = encode::Settings {
        progressive: opts.progressive,
        avif_speed: limits.avif_speed,
        lossless: opts.lossless,
        webp_effort: limits.webp_effort,
    };
    let (width, height) = (img.width(), img.height());
    let bytes = encode::encode(img, format, opts.quality_for(format), settings)?;
    Ok(Rendered {
        bytes,
        format,
        width,
        height,
    })
}

/// `img` resized to `to`, taking the image so the decoded source is freed as soon as the
/// resized copy exists (a shadowed binding would live to the end of the render: at 16 MP
/// that is 48 MB more at the encoder's peak); no copy at all when the size is already `to`.
fn resized(img: DynamicImage, to: (u32, u32)) -> Result<DynamicImage, Error> {
    if (img.width(), img.height()) == to {
        return Ok(img);
    }
    Ok(imaging::resize(&img, to.0, to.1)?)
}

/// Cuts the planned region out of the decoded image, whose size may be a shrink-on-load
/// reduction of the source: the region is scaled the same way.
fn crop_region(img: DynamicImage, plan: &Plan) -> DynamicImage {
    let (sw, sh) = plan.source;
    let r = plan.region;
    if (r.x, r.y, r.w, r.h) == (0, 0, sw, sh) {
        return img;
    }
    let (dw, dh) = (img.width(), img.height());
    let map = |v: u32, d: u32, s: u32| (u64::from(v) * u64::from(d) / u64::from(s)) as u32;
    let x = map(r.x, dw, sw).min(dw - 1);
    let y = map(r.y, dh, sh).min(dh - 1);
    let w = (u64::from(r.w) * u64::from(dw)).div_ceil(u64::from(sw)) as u32;
    let h = (u64::from(r.h) * u64::from(dh)).div_ceil(u64::from(sh)) as u32;
    img.crop_imm(x, y, w.clamp(1, dw - x), h.clamp(1, dh - y))
}

/// 8-bit RGB, or RGBA when there is alpha: what filters and encoders take.
fn to_8bit(img: DynamicImage) -> DynamicImage {
    match img {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => img,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

/// Puts the image on a `width` x `height` canvas of `bg` at `at` (sharp's `contain`).
fn letterbox(img: &DynamicImage, width: u32, height: u32, at: Rect, bg: [u8; 3]) -> DynamicImage {
    match img {
        DynamicImage::ImageRgba8(src) => {
            let mut canvas = RgbaImage::from_pixel(width, height, Rgba([bg[0], bg[1], bg[2], 255]));
            image::imageops::replace(&mut canvas, src, i64::from(at.x), i64::from(at.y));
            DynamicImage::ImageRgba8(canvas)
        }
        other => {
            let mut canvas = RgbImage::from_pixel(width, height, Rgb(bg));
            image::imageops::replace(
                &mut canvas,
                &other.to_rgb8(),
                i64::from(at.x),
                i64::from(at.y),
            );
            DynamicImage::ImageRgb8(canvas)
        }
    }
}

/// Composites alpha over `bg` (for JPEG, which has no alpha).
fn flatten(img: &DynamicImage, bg: [u8; 3]) -> RgbImage {
    let rgba = img.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let a = u32::from(a);
        let over = |c: u8, k: u8| ((u32::from(c) * a + u32::from(k) * (255 - a) + 127) / 255) as u8;
        Rgb([over(r, bg[0]), over(g, bg[1]), over(b, bg[2])])
    })
}
