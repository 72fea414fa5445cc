//! Render options: the query string of `/images/{id}/render` parsed once, and one
//! canonical string for it (the cache key input).
//!
//! Parameters (API-v2 "Render URLs"): `w`, `h`, `fit`, `gravity`, `crop`, `filter`,
//! `preset`, `format`, `q`, `dpr`, `bg`, `enlarge`, and `lossless` (sharp's option of
//! that name: WebP without loss). The signature parameters `expires`, `sig` and `kid`
//! are ignored here (the caller verifies them over the raw query).
//! Anything else, a repeated parameter, or a bad value is an [`Error`] naming it.

use std::fmt::Write as _;

use crate::filters::Chain;
use crate::presets::{Preset, Presets};
use crate::{Error, FormatChoice, OutputFormat, format::accepts};

/// Largest `w` or `h` accepted (before `dpr`); sharp's own limit is 16383 px per side for
/// most formats, and `max_render_pixels` caps the area anyway.
pub const MAX_SIDE: u32 = 16_384;

/// How the image fills a `w` x `h` box: sharp's `resize({fit})`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fit {
    /// Scale to cover the box, then crop the overflow at `gravity` (the default).
    #[default]
    Cover,
    /// Scale to fit inside the box, then letterbox to the box with `bg`.
    Contain,
    /// Stretch to the box, ignoring the aspect ratio.
    Fill,
    /// Scale to fit inside the box, no letterbox (the output may be smaller on one side).
    Inside,
    /// Scale to cover the box, no crop (the output may be larger on one side).
    Outside,
}

impl Fit {
    const ALL: [(Fit, &'static str); 5] = [
        (Fit::Cover, "cover"),
        (Fit::Contain, "contain"),
        (Fit::Fill, "fill"),
        (Fit::Inside, "inside"),
        (Fit::Outside, "outside"),
    ];

    /// The `fit=` name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("cover", |(_, n)| n)
    }

    fn from_name(s: &str) -> Option<Fit> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(f, _)| *f)
    }
}

/// Where a `cover` crop keeps the image: a compass point, or `smart` (content-aware).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Gravity {
    /// Keep the centre (the default).
    #[default]
    Center,
    /// Keep the top edge.
    North,
    /// Keep the top-right corner.
    NorthEast,
    /// Keep the right edge.
    East,
    /// Keep the bottom-right corner.
    SouthEast,
    /// Keep the bottom edge.
    South,
    /// Keep the bottom-left corner.
    SouthWest,
    /// Keep the left edge.
    West,
    /// Keep the top-left corner.
    NorthWest,
    /// Keep the most detailed window (see the `smart` module): a small subject on a plain
    /// background stays in frame.
    Smart,
}

impl Gravity {
    const ALL: [(Gravity, &'static str); 10] = [
        (Gravity::Center, "center"),
        (Gravity::North, "north"),
        (Gravity::NorthEast, "northeast"),
        (Gravity::East, "east"),
        (Gravity::SouthEast, "southeast"),
        (Gravity::South, "south"),
        (Gravity::SouthWest, "southwest"),
        (Gravity::West, "west"),
        (Gravity::NorthWest, "northwest"),
        (Gravity::Smart, "smart"),
    ];

    /// The `gravity=` name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(g, _)| *g == self)
            .map_or("center", |(_, n)| n)
    }

    fn from_name(s: &str) -> Option<Gravity> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(g, _)| *g)
    }

    /// Where a `win` window goes in a `len` span along x (`horizontal`) or y: 0, the
    /// middle (rounded down, as libvips does) or the far end. Smart counts as centre
    /// here; the render replaces it with the content-aware choice.
    pub(crate) fn offset(self, len: u32, win: u32, horizontal: bool) -> u32 {
        use Gravity::*;
        let spare = len.saturating_sub(win);
        let (start, end) = if horizontal {
            (
                matches!(self, West | NorthWest | SouthWest),
                matches!(self, East | NorthEast | SouthEast),
            )
        } else {
            (
                matches!(self, North | NorthWest | NorthEast),
                matches!(self, South | SouthWest | SouthEast),
            )
        };
        if start {
            0
        } else if end {
            spare
        } else {
            spare / 2
        }
    }
}

/// A rectangle in pixels: `crop=x,y,w,h` of the oriented original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width (> 0).
    pub w: u32,
    /// Height (> 0).
    pub h: u32,
}

/// The effect of a render: a filter chain, or a preset (resolved from [`Presets`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// `filter=CHAIN`.
    Chain(Chain),
    /// `preset=NAME`, resolved (its chain and overlays).
    Preset(Preset),
}

impl Effect {
    /// The canonical form: `filter=CHAIN` or `preset=NAME(CHAIN)`. A preset carries its
    /// chain so that a changed user preset (variable `filter_presets`) changes the key.
    pub fn canonical(&self) -> String {
        match self {
            Effect::Chain(c) => format!("filter={}", c.canonical()),
            Effect::Preset(p) => format!("preset={}({})", p.name(), p.chain().canonical()),
        }
    }
}

/// Everything a render URL asks for, parsed and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    /// Box width in CSS pixels (multiplied by `dpr`), 1..=[`MAX_SIDE`].
    pub w: Option<u32>,
    /// Box height in CSS pixels (multiplied by `dpr`), 1..=[`MAX_SIDE`].
    pub h: Option<u32>,
    /// How the image fills the box.
    pub fit: Fit,
    /// Where a `cover` crop keeps the image.
    pub gravity: Gravity,
    /// A crop of the oriented original, applied before anything else.
    pub crop: Option<Rect>,
    /// Filter chain or preset, applied to the resized image.
    pub effect: Option<Effect>,
    /// The requested format (`auto` negotiates with `Accept`).
    pub format: FormatChoice,
    /// Quality 1..=100 for lossy formats; `None` is the format's default.
    pub quality: Option<u8>,
    /// `lossless=1`: WebP output is lossless (`image-webp`) instead of lossy (libwebp at
    /// `q`), as sharp's `webp({lossless: true})`. Only with `format=webp` or `auto`
    /// (PNG is lossless anyway; JPEG and AVIF have no such mode here).
    pub lossless: bool,
    /// Device pixel ratio 1..=4: multiplies `w` and `h`.
    pub dpr: f32,
    /// Letterbox (and alpha-flattening for JPEG) colour.
    pub bg: [u8; 3],
    /// `enlarge=1` lets the output be larger than the (cropped) original.
    pub enlarge: bool,
    /// Progressive JPEG (not a query parameter: a deployment setting the caller may set;
    /// it is part of [`RenderOptions::canonical`] when on).
    pub progressive: bool,
}

impl Default for RenderOptions {
    /// No resize, no effect, `format=auto`, `dpr=1`, white background, no enlarging.
    fn default() -> Self {
        RenderOptions {
            w: None,
            h: None,
            fit: Fit::Cover,
            gravity: Gravity::Center,
            crop: None,
            effect: None,
            format: FormatChoice::Auto,
            quality: None,
            lossless: false,
            dpr: 1.0,
            bg: [255, 255, 255],
            enlarge: false,
            progressive: false,
        }
    }
}

/// Parameters that belong to URL signing, not to the render: skipped by the parser.
const SIGNATURE_PARAMS: [&str; 3] = ["expires", "sig", "kid"];

impl RenderOptions {
    /// Parses the render query string (API-v2 names: w,h,fit,gravity,crop,filter,preset,
    /// format,q,dpr,bg,enlarge, plus lossless), percent-decoded. Unknown parameters,
    /// repeated ones and bad values give an [`Error`] naming the parameter (400 malformed,
    /// 422 out of range). `expires`, `sig` and `kid` are ignored.
    ///
    /// ```
    /// let presets = render::Presets::builtin();
    /// let o = render::RenderOptions::parse("w=300&h=200&fit=contain&bg=000000&preset=juno", &presets)?;
    /// assert_eq!((o.w, o.h, o.fit), (Some(300), Some(200), render::Fit::Contain));
    /// assert_eq!(render::RenderOptions::parse("w=0", &presets).unwrap_err().param(), Some("w"));
    /// # Ok::<(), render::Error>(())
    /// ```
    pub fn parse(query: &str, presets: &Presets) -> Result<RenderOptions, Error> {
        let mut o = RenderOptions::default();
        let mut seen: Vec<String> = Vec::new();
        let mut preset_name: Option<String> = None;
        let mut chain: Option<Chain> = None;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let key = key.as_ref();
            if SIGNATURE_PARAMS.contains(&key) {
                continue;
            }
            if seen.iter().any(|k| k == key) {
                return Err(Error::bad(&short(key), "given more than once"));
            }
            seen.push(key.to_string());
            let value = value.as_ref();
            match key {
                "w" => o.w = Some(side("w", value)?),
                "h" => o.h = Some(side("h", value)?),
                "fit" => {
                    o.fit = Fit::from_name(value).ok_or_else(|| {
                        Error::bad("fit", format!("{} is not one of cover, contain, fill, inside, outside", quote(value)))
                    })?
                }
                "gravity" => {
                    o.gravity = Gravity::from_name(value).ok_or_else(|| {
                        Error::bad("gravity", format!(
                            "{} is not one of center, north, northeast, east, southeast, south, southwest, west, northwest, smart",
                            quote(value)
                        ))
                    })?
                }
                "crop" => o.crop = Some(crop(value)?),
                "filter" => chain = Some(Chain::parse(value)?),
                "preset" => preset_name = Some(value.to_string()),
                "format" => {
                    o.format = FormatChoice::from_name(value).ok_or_else(|| {
                        Error::bad("format", format!("{} is not one of jpeg, png, webp, avif, auto", quote(value)))
                    })?
                }
                "q" => o.quality = Some(int_in("q", value, 1, 100)? as u8),
                "dpr" => o.dpr = dpr(value)?,
                "bg" => o.bg = hex_colour("bg", value)?,
                "enlarge" => o.enlarge = flag("enlarge", value)?,
                "lossless" => o.lossless = flag("lossless", value)?,
                other => {
                    return Err(Error::bad(
                        &short(other),
                        "unknown parameter (expected w, h, fit, gravity, crop, filter, preset, format, q, dpr, bg, enlarge, lossless)",
                    ));
                }
            }
        }
        if o.lossless && matches!(o.format, FormatChoice::Jpeg | FormatChoice::Avif) {
            return Err(Error::bad(
                "lossless",
                format!(
                    "applies to WebP (format=webp or auto), not format={}",
                    o.format.name()
                ),
            ));
        }
        o.effect = match (chain, preset_name) {
            (Some(_), Some(_)) => {
                return Err(Error::bad(
                    "preset",
                    "give either filter or preset, not both",
                ));
            }
            (Some(c), None) => Some(Effect::Chain(c)),
            (None, Some(name)) => Some(Effect::Preset(presets.get(&name).cloned().ok_or_else(
                || Error::bad("preset", format!("no preset named {}", quote(&name))),
            )?)),
            (None, None) => None,
        };
        Ok(o)
    }

    /// The box actually asked for: `w` and `h` times `dpr`, rounded (imgproxy's rule).
    pub fn target(&self) -> (Option<u32>, Option<u32>) {
        let scale = |v: u32| ((f64::from(v) * f64::from(self.dpr)).round() as u32).max(1);
        (self.w.map(scale), self.h.map(scale))
    }

    /// One canonical string for these options: the cache-key input. Parameters in a fixed
    /// order with normalised values, `dpr` folded into `w`/`h` (so `w=300&dpr=2` and
    /// `w=600` share a key), `gravity` only where it matters (cover with a two-sided box),
    /// and never the signature parameters.
    ///
    /// ```
    /// let p = render::Presets::builtin();
    /// let a = render::RenderOptions::parse("dpr=2&w=300&filter=blur:2.0", &p)?;
    /// let b = render::RenderOptions::parse("w=600&filter=blur:2&sig=abc", &p)?;
    /// assert_eq!(a.canonical(), b.canonical());
    /// # Ok::<(), render::Error>(())
    /// ```
    pub fn canonical(&self) -> String {
        let (w, h) = self.target();
        let mut s = String::new();
        if let Some(w) = w {
            let _ = write!(s, "w={w}&");
        }
        if let Some(h) = h {
            let _ = write!(s, "h={h}&");
        }
        let _ = write!(s, "fit={}&", self.fit.name());
        if self.fit == Fit::Cover && w.is_some() && h.is_some() {
            let _ = write!(s, "gravity={}&", self.gravity.name());
        }
        if let Some(c) = self.crop {
            let _ = write!(s, "crop={},{},{},{}&", c.x, c.y, c.w, c.h);
        }
        if let Some(e) = &self.effect {
            let _ = write!(s, "{}&", e.canonical());
        }
        let _ = write!(s, "format={}&", self.format.name());
        if let Some(q) = self.quality {
            let _ = write!(s, "q={q}&");
        }
        if self.lossless {
            s += "lossless=1&";
        }
        let [r, g, b] = self.bg;
        let _ = write!(
            s,
            "bg={r:02x}{g:02x}{b:02x}&enlarge={}",
            u8::from(self.enlarge)
        );
        if self.progressive {
            s += "&progressive=1";
        }
        s
    }

    /// The concrete output format for an `Accept` header and whether the source has alpha:
    /// an explicit `format` wins; `auto` picks AVIF if `Accept` names `image/avif`, else
    /// WebP if it names `image/webp`, else PNG with alpha and JPEG without.
    pub fn output_format(&self, accept: Option<&str>, has_alpha: bool) -> OutputFormat {
        if let Some(f) = self.format.fixed() {
            return f;
        }
        let accept = accept.unwrap_or("");
        if accepts(accept, OutputFormat::Avif.mime()) {
            OutputFormat::Avif
        } else if accepts(accept, OutputFormat::Webp.mime()) {
            OutputFormat::Webp
        } else if has_alpha {
            OutputFormat::Png
        } else {
            OutputFormat::Jpeg
        }
    }

    /// [`RenderOptions::output_format`] that keeps within the AVIF budget: when `auto`
    /// would pick AVIF for an output of more than `limits.avif_max_pixels` (see
    /// [`crate::Plan::out_pixels`]), it picks WebP instead (every browser that sends
    /// `image/avif` also takes WebP). An explicit `format=avif` is left to the render,
    /// which refuses it with 413.
    pub fn output_format_within(
        &self,
        accept: Option<&str>,
        has_alpha: bool,
        out_pixels: u64,
        limits: &crate::Limits,
    ) -> OutputFormat {
        match self.output_format(accept, has_alpha) {
            OutputFormat::Avif
                if self.format == FormatChoice::Auto && out_pixels > limits.avif_max_pixels =>
            {
                OutputFormat::Webp
            }
            f => f,
        }
    }

    /// The quality to encode `format` with: `q`, else the format's default.
    pub fn quality_for(&self, format: OutputFormat) -> u8 {
        self.quality.unwrap_or_else(|| format.default_quality())
    }
}

/// A parameter name safe to echo in a detail (bounded, printable).
fn short(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// A value quoted for a detail, bounded in length.
pub(crate) fn quote(s: &str) -> String {
    format!("\"{}\"", short(s))
}

fn int_in(param: &str, value: &str, min: u32, max: u32) -> Result<u32, Error> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::bad(
            param,
            format!("{} is not a whole number", quote(value)),
        ));
    }
    // Digits only: an overflow is out of range, not malformed.
    match value.parse::<u32>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(Error::range(
            param,
            format!("{} is not in {min}..={max}", quote(value)),
        )),
    }
}

/// A boolean parameter: `1`/`true` or `0`/`false`.
fn flag(param: &str, value: &str) -> Result<bool, Error> {
    match value {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(Error::bad(param, format!("{} is not 0 or 1", quote(value)))),
    }
}

fn side(param: &str, value: &str) -> Result<u32, Error> {
    int_in(param, value, 1, MAX_SIDE)
}

fn dpr(value: &str) -> Result<f32, Error> {
    let v: f32 = value
        .parse()
        .ok()
        .filter(|v: &f32| v.is_finite() && !value.starts_with('+'))
        .ok_or_else(|| Error::bad("dpr", format!("{} is not a number", quote(value))))?;
    if !(1.0..=4.0).contains(&v) {
        return Err(Error::range(
            "dpr",
            format!("{} is not in 1..=4", quote(value)),
        ));
    }
    // Two decimals are plenty and keep the cache key from splitting on 1.50000001.
    Ok((v * 100.0).round() / 100.0)
}

fn crop(value: &str) -> Result<Rect, Error> {
    let parts: Vec<&str> = value.split(',').collect();
    if parts.len() != 4 {
        return Err(Error::bad(
            "crop",
            format!("{} is not x,y,w,h", quote(value)),
        ));
    }
    let mut n = [0u32; 4];
    for (slot, p) in n.iter_mut().zip(&parts) {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::bad(
                "crop",
                format!("{} is not x,y,w,h in whole pixels", quote(value)),
            ));
        }
        *slot = p
            .parse()
            .map_err(|_| Error::range("crop", format!("{} is too large", quote(value))))?;
    }
    if n[2] == 0 || n[3] == 0 {
        return Err(Error::range(
            "crop",
            format!("{}: w and h must be positive", quote(value)),
        ));
    }
    Ok(Rect {
        x: n[0],
        y: n[1],
        w: n[2],
        h: n[3],
    })
}

pub(crate) fn hex_colour(param: &str, value: &str) -> Result<[u8; 3], Error> {
    let v = value.strip_prefix('#').unwrap_or(value);
    if v.len() != 6 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::bad(
            param,
            format!("{} is not a colour rrggbb", quote(value)),
        ));
    }
    let byte = |i: usize| u8::from_str_radix(&v[i..i + 2], 16).unwrap_or(0);
    Ok([byte(0), byte(2), byte(4)])
}
