//! Geometry, planned once from the oriented source size before any pixel is decoded:
//! the crop, the resize, then the cover window or the contain canvas. Pure arithmetic,
//! tested against sharp's own output sizes (`tests/plan_vs_sharp.rs`).
//!
//! This is sharp's `resize({width, height, fit, withoutEnlargement})` (libvips 8.x,
//! `ResolveShrink` in sharp's `common.cc`): a shrink factor per axis from the box, made
//! equal for every fit but `fill`, floored at 1 when enlarging is off, and the resized
//! size rounded half up.

use crate::{Error, Fit, Gravity, Rect, RenderOptions};

/// What a render will do to the pixels, and the output size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Oriented source size the plan was made for.
    pub source: (u32, u32),
    /// The region of the oriented source used (the `crop`, or the whole image).
    pub region: Rect,
    /// The size the region is resized to.
    pub resized: (u32, u32),
    /// For `cover`: the window of the resized image that is kept (its position is the
    /// gravity's; for `smart` the render moves it, keeping its size).
    pub window: Option<Rect>,
    /// For `contain`: where the resized image sits on the `bg` canvas.
    pub embed: Option<Rect>,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// The gravity of the cover window.
    pub gravity: Gravity,
}

impl Plan {
    /// Output pixels.
    pub fn out_pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// The largest image the pipeline holds at once (resized, window or canvas).
    pub fn peak_pixels(&self) -> u64 {
        self.out_pixels()
            .max(u64::from(self.resized.0) * u64::from(self.resized.1))
    }

    /// The upright box a shrink-on-load decode of the whole source must at least reach,
    /// so that the region, scaled the same way, is still at least the resized size.
    /// The full source size when the region is enlarged.
    pub fn decode_box(&self) -> (u32, u32) {
        let (sw, sh) = self.source;
        let need = |src: u32, region: u32, resized: u32| -> u32 {
            if resized >= region {
                return src;
            }
            // ceil(src * resized / region), at most src.
            let v = (u64::from(src) * u64::from(resized)).div_ceil(u64::from(region));
            v.clamp(1, u64::from(src)) as u32
        };
        (
            need(sw, self.region.w, self.resized.0),
            need(sh, self.region.h, self.resized.1),
        )
    }
}

/// Plans the geometry of `opts` for an oriented source of `src_w` x `src_h`.
///
/// Errors: a crop outside the image (`crop`, 422), an empty source (422).
/// Size limits are the caller's ([`crate::render`] checks `max_render_pixels`).
///
/// ```
/// let p = render::Presets::builtin();
/// let o = render::RenderOptions::parse("w=300&h=300&fit=cover", &p)?;
/// let plan = render::plan(&o, 4000, 3000)?;
/// assert_eq!((plan.width, plan.height), (300, 300));
/// assert_eq!(plan.resized, (400, 300));
/// # Ok::<(), render::Error>(())
/// ```
pub fn plan(opts: &RenderOptions, src_w: u32, src_h: u32) -> Result<Plan, Error> {
    if src_w == 0 || src_h == 0 {
        return Err(Error::range(
            "image",
            format!("the source is {src_w}x{src_h}"),
        ));
    }
    let region = match opts.crop {
        None => Rect {
            x: 0,
            y: 0,
            w: src_w,
            h: src_h,
        },
        Some(c) => {
            let fits = u64::from(c.x) + u64::from(c.w) <= u64::from(src_w)
                && u64::from(c.y) + u64::from(c.h) <= u64::from(src_h);
            if !fits || c.w == 0 || c.h == 0 {
                return Err(Error::range(
                    "crop",
                    format!(
                        "{},{},{},{} is not inside the {src_w}x{src_h} image",
                        c.x, c.y, c.w, c.h
                    ),
                ));
            }
            c
        }
    };
    let (cw, ch) = (region.w, region.h);
    let (tw, th) = opts.target();
    let (hshrink, vshrink) = resolve_shrink(cw, ch, tw, th, opts.fit, opts.enlarge);
    let resized = (scaled(cw, hshrink), scaled(ch, vshrink));
    let (rw, rh) = resized;

    let mut plan = Plan {
        source: (src_w, src_h),
        region,
        resized,
        window: None,
        embed: None,
        width: rw,
        height: rh,
        gravity: opts.gravity,
    };
    match (opts.fit, tw, th) {
        // Only a two-sided box has anything to crop.
        (Fit::Cover, Some(tw), Some(th)) if rw > tw || rh > th => {
            let (ww, wh) = (rw.min(tw), rh.min(th));
            plan.window = Some(Rect {
                x: opts.gravity.offset(rw, ww, true),
                y: opts.gravity.offset(rh, wh, false),
                w: ww,
                h: wh,
            });
            (plan.width, plan.height) = (ww, wh);
        }
        // sharp embeds into the box even without enlargement (a one-sided box: that
        // side), centred, rounded down.
        (Fit::Contain, _, _) if tw.is_some_and(|t| t != rw) || th.is_some_and(|t| t != rh) => {
            let (cw, chh) = (tw.unwrap_or(rw).max(rw), th.unwrap_or(rh).max(rh));
            plan.embed = Some(Rect {
                x: (cw - rw) / 2,
                y: (chh - rh) / 2,
                w: rw,
                h: rh,
            });
            (plan.width, plan.height) = (cw, chh);
        }
        _ => {}
    }
    Ok(plan)
}

/// sharp's `ResolveShrink`: the shrink factor per axis (> 1 reduces).
fn resolve_shrink(
    w: u32,
    h: u32,
    tw: Option<u32>,
    th: Option<u32>,
    fit: Fit,
    enlarge: bool,
) -> (f64, f64) {
    let (w, h) = (f64::from(w), f64::from(h));
    let (mut hs, mut vs) = (1.0f64, 1.0f64);
    match (tw, th) {
        (Some(tw), Some(th)) => {
            hs = w / f64::from(tw);
            vs = h / f64::from(th);
            match fit {
                Fit::Cover | Fit::Outside => {
                    let m = hs.min(vs);
                    (hs, vs) = (m, m);
                }
                Fit::Contain | Fit::Inside => {
                    let m = hs.max(vs);
                    (hs, vs) = (m, m);
                }
                Fit::Fill => {}
            }
        }
        (Some(tw), None) => {
            hs = w / f64::from(tw);
            if fit != Fit::Fill {
                vs = hs;
            }
        }
        (None, Some(th)) => {
            vs = h / f64::from(th);
            if fit != Fit::Fill {
                hs = vs;
            }
        }
        (None, None) => {}
    }
    if !enlarge {
        hs = hs.max(1.0);
        vs = vs.max(1.0);
    }
    (hs.min(w), vs.min(h))
}

/// libvips' resize output size: `size / shrink` rounded half up, at least 1. (Dividing,
/// not multiplying by `1 / shrink`, is what matches sharp on every row of the table:
/// 1200 / (1600 / 14) is 10.5 exactly, 1200 * (14 / 1600) is 10.4999....)
fn scaled(size: u32, shrink: f64) -> u32 {
    let v = (f64::from(size) / shrink + 0.5).floor();
    v.clamp(1.0, f64::from(u32::MAX)) as u32
}
