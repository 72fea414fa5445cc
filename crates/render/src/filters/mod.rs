//! Filters: one file per operation (as imgproxy's `processing/`), a chain parser, and the
//! catalog `GET /api/filters` lists.
//!
//! A chain is a comma-separated, ordered list of `name` or `name:value`
//! (`grayscale,blur:2,brightness:1.1`). The colour filters follow CSS Filter Effects 1
//! on sRGB-encoded values (`brightness:1`, `contrast:1`, `saturate:1` are identity);
//! see `matrix` for the formulas.
//!
//! | filter | module | parameter |
//! |---|---|---|
//! | `grayscale[:amount]` | `grayscale` | 0..=1, default 1 |
//! | `sepia[:amount]` | `sepia` | 0..=1, default 1 |
//! | `blur[:sigma]` | `blur` | 0.3..=50 px, default 2 |
//! | `sharpen[:sigma]` | `sharpen` | 0.3..=10 px, default 1 |
//! | `brightness[:f]` | `brightness` | 0..=4, default 1 |
//! | `contrast[:f]` | `contrast` | 0..=4, default 1 |
//! | `saturate[:f]` | `saturate` | 0..=4, default 1 |
//! | `hue[:degrees]` (alias `hue-rotate`) | `hue` | -360..=360, default 180 |
//! | `invert[:amount]` | `invert` | 0..=1, default 1 |
//! | `gamma[:g]` | `gamma` | 0.1..=10, default 2.2 |
//! | `pixelate[:size]` | `pixelate` | 2..=256 px (whole), default 8 |

use image::DynamicImage;
use serde::Serialize;

use crate::Error;
use crate::options::quote;
use matrix::Colour;
use pointwise::Pointwise;

mod blur;
mod brightness;
mod contrast;
mod gamma;
mod grayscale;
mod hue;
mod invert;
pub(crate) mod matrix;
mod pixelate;
mod pointwise;
mod saturate;
mod sepia;
mod sharpen;

/// Longest chain accepted: each filter is a pass over the image, so a chain of
/// hundreds would be a cheap way to burn a request's CPU time.
pub const MAX_CHAIN_LEN: usize = 16;

/// One filter operation of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// CSS `grayscale()`.
    Grayscale,
    /// CSS `sepia()`.
    Sepia,
    /// Gaussian blur (sigma in px).
    Blur,
    /// Unsharp mask (sigma in px).
    Sharpen,
    /// CSS `brightness()`.
    Brightness,
    /// CSS `contrast()`.
    Contrast,
    /// CSS `saturate()`.
    Saturate,
    /// CSS `hue-rotate()` (degrees).
    Hue,
    /// CSS `invert()`.
    Invert,
    /// Power curve C^(1/g).
    Gamma,
    /// Block mosaic (block size in px).
    Pixelate,
}

/// Static description of an operation: name, its one parameter, what it does.
struct Spec {
    op: Op,
    name: &'static str,
    param: &'static str,
    min: f32,
    max: f32,
    default: f32,
    integer: bool,
    description: &'static str,
}

const SPECS: [Spec; 11] = [
    Spec {
        op: Op::Grayscale,
        name: "grayscale",
        param: "amount",
        min: 0.0,
        max: 1.0,
        default: 1.0,
        integer: false,
        description: "CSS grayscale(): blend towards Rec. 709 luma",
    },
    Spec {
        op: Op::Sepia,
        name: "sepia",
        param: "amount",
        min: 0.0,
        max: 1.0,
        default: 1.0,
        integer: false,
        description: "CSS sepia(): warm brown tone",
    },
    Spec {
        op: Op::Blur,
        name: "blur",
        param: "sigma",
        min: 0.3,
        max: 50.0,
        default: 2.0,
        integer: false,
        description: "Gaussian blur with this standard deviation in output pixels",
    },
    Spec {
        op: Op::Sharpen,
        name: "sharpen",
        param: "sigma",
        min: 0.3,
        max: 10.0,
        default: 1.0,
        integer: false,
        description: "unsharp mask: adds the difference to a Gaussian blur of this sigma",
    },
    Spec {
        op: Op::Brightness,
        name: "brightness",
        param: "factor",
        min: 0.0,
        max: 4.0,
        default: 1.0,
        integer: false,
        description: "CSS brightness(): multiplies every channel (1 = unchanged)",
    },
    Spec {
        op: Op::Contrast,
        name: "contrast",
        param: "factor",
        min: 0.0,
        max: 4.0,
        default: 1.0,
        integer: false,
        description: "CSS contrast(): stretches around mid grey (1 = unchanged)",
    },
    Spec {
        op: Op::Saturate,
        name: "saturate",
        param: "factor",
        min: 0.0,
        max: 4.0,
        default: 1.0,
        integer: false,
        description: "CSS saturate(): 0 = grey, 1 = unchanged",
    },
    Spec {
        op: Op::Hue,
        name: "hue",
        param: "degrees",
        min: -360.0,
        max: 360.0,
        default: 180.0,
        integer: false,
        description: "CSS hue-rotate() by this many degrees",
    },
    Spec {
        op: Op::Invert,
        name: "invert",
        param: "amount",
        min: 0.0,
        max: 1.0,
        default: 1.0,
        integer: false,
        description: "CSS invert(): 1 = negative",
    },
    Spec {
        op: Op::Gamma,
        name: "gamma",
        param: "g",
        min: 0.1,
        max: 10.0,
        default: 2.2,
        integer: false,
        description: "power curve C^(1/g) on sRGB values (g > 1 lightens mid-tones)",
    },
    Spec {
        op: Op::Pixelate,
        name: "pixelate",
        param: "size",
        min: 2.0,
        max: 256.0,
        default: 8.0,
        integer: true,
        description: "mosaic of size x size blocks, each its mean colour",
    },
];

impl Op {
    fn spec(self) -> &'static Spec {
        SPECS.iter().find(|s| s.op == self).unwrap_or(&SPECS[0])
    }

    /// The name used in chains.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    fn from_name(name: &str) -> Option<Op> {
        let name = if name == "hue-rotate" { "hue" } else { name };
        SPECS.iter().find(|s| s.name == name).map(|s| s.op)
    }
}

/// One step of a chain: an operation and its value (already range-checked).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Filter {
    /// The operation.
    pub op: Op,
    /// Its parameter, within the catalog's range.
    pub value: f32,
}

impl Filter {
    /// Builds a filter, checking `value` against the catalog range.
    pub fn new(op: Op, value: f32) -> Result<Filter, Error> {
        let spec = op.spec();
        if !value.is_finite() || value < spec.min || value > spec.max {
            return Err(Error::range(
                "filter",
                format!(
                    "{}: {value} is not in {}..={}",
                    spec.name, spec.min, spec.max
                ),
            ));
        }
        if spec.integer && value.fract() != 0.0 {
            return Err(Error::bad(
                "filter",
                format!("{}: {value} is not a whole number", spec.name),
            ));
        }
        Ok(Filter { op, value })
    }

    /// The filter as a colour operation, or `None` for the spatial ones.
    fn colour(&self) -> Option<Colour> {
        let v = self.value;
        Some(match self.op {
            Op::Grayscale => grayscale::colour(v),
            Op::Sepia => sepia::colour(v),
            Op::Brightness => brightness::colour(v),
            Op::Contrast => contrast::colour(v),
            Op::Saturate => saturate::colour(v),
            Op::Hue => hue::colour(v),
            Op::Invert => invert::colour(v),
            Op::Gamma => gamma::colour(v),
            Op::Blur | Op::Sharpen | Op::Pixelate => return None,
        })
    }

    /// Applies a spatial filter to an interleaved 8-bit buffer (`channels` 3 or 4).
    fn apply_spatial(&self, data: &mut [u8], width: u32, height: u32, channels: usize) {
        let v = self.value;
        match self.op {
            Op::Blur => blur::apply(data, width, height, channels, v),
            Op::Sharpen => sharpen::apply(data, width, height, channels, v),
            Op::Pixelate => pixelate::apply(data, width, height, channels, v as u32),
            _ => {}
        }
    }

    /// `name:value` with the shortest exact value.
    pub fn canonical(&self) -> String {
        format!("{}:{}", self.op.name(), self.value)
    }
}

/// A parsed filter chain, applied left to right.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chain {
    filters: Vec<Filter>,
}

impl Chain {
    /// Parses `name[:value],...`. Errors name the parameter `filter` and say which item
    /// is wrong: an unknown name (400), a malformed or missing value (400), a value out
    /// of range (422), an empty chain or more than [`MAX_CHAIN_LEN`] items (400).
    ///
    /// ```
    /// let c = render::Chain::parse("grayscale,blur:2,brightness:1.10")?;
    /// assert_eq!(c.canonical(), "grayscale:1,blur:2,brightness:1.1");
    /// assert!(render::Chain::parse("blur:abc").is_err());
    /// # Ok::<(), render::Error>(())
    /// ```
    pub fn parse(s: &str) -> Result<Chain, Error> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Error::bad("filter", "the filter chain is empty"));
        }
        let items: Vec<&str> = s.split(',').collect();
        if items.len() > MAX_CHAIN_LEN {
            return Err(Error::bad(
                "filter",
                format!(
                    "{} filters, more than the {MAX_CHAIN_LEN} a chain may have",
                    items.len()
                ),
            ));
        }
        let filters = items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_item(item.trim(), i + 1))
            .collect::<Result<_, _>>()?;
        Ok(Chain { filters })
    }

    /// A chain of already-checked filters.
    pub fn from_filters(filters: Vec<Filter>) -> Chain {
        Chain { filters }
    }

    /// The filters, in order.
    pub fn filters(&self) -> &[Filter] {
        &self.filters
    }

    /// True when the chain does nothing.
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// `name:value,...` with every value explicit and normalised: equal chains give equal
    /// strings, whatever spelling (`grayscale`, `grayscale:1.0`) was sent.
    pub fn canonical(&self) -> String {
        self.filters
            .iter()
            .map(Filter::canonical)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Applies the chain in place, left to right. The image is widened to 8-bit RGB or
    /// RGBA first (16-bit and float images lose their extra precision here).
    pub fn apply(&self, img: &mut DynamicImage) {
        self.apply_after(img, &[]);
    }

    /// Applies the colour operations `first`, then the chain, running each run of colour
    /// operations in one pass (`pointwise`).
    pub(crate) fn apply_after(&self, img: &mut DynamicImage, first: &[Colour]) {
        if self.filters.is_empty() && first.is_empty() {
            return;
        }
        with_pixels(img, |data, w, h, ch| {
            let mut run = Pointwise::new();
            for op in first {
                run.push(*op, data, ch);
            }
            for f in &self.filters {
                match f.colour() {
                    Some(op) => run.push(op, data, ch),
                    None => {
                        run.flush(data, ch);
                        f.apply_spatial(data, w, h, ch);
                    }
                }
            }
            run.flush(data, ch);
        });
    }
}

fn parse_item(item: &str, index: usize) -> Result<Filter, Error> {
    let (name, value) = match item.split_once(':') {
        Some((n, v)) => (n.trim(), Some(v.trim())),
        None => (item, None),
    };
    if name.is_empty() {
        return Err(Error::bad("filter", format!("item {index} is empty")));
    }
    let op = Op::from_name(name).ok_or_else(|| {
        Error::bad(
            "filter",
            format!(
                "unknown filter {} (item {index}; known: {})",
                quote(name),
                SPECS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    let spec = op.spec();
    let value = match value {
        None => spec.default,
        Some(v) => {
            let ok = !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
                && v.bytes().any(|b| b.is_ascii_digit());
            match v.parse::<f32>() {
                Ok(x) if ok => x,
                _ => {
                    return Err(Error::bad(
                        "filter",
                        format!("{name}: {} is not a number (item {index})", quote(v)),
                    ));
                }
            }
        }
    };
    Filter::new(op, value)
}

/// Runs `f` on the image's pixels as 8-bit RGB or RGBA (converting other layouts once).
pub(crate) fn with_pixels(img: &mut DynamicImage, f: impl FnOnce(&mut [u8], u32, u32, usize)) {
    if !matches!(
        img,
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_)
    ) {
        *img = if img.color().has_alpha() {
            DynamicImage::ImageRgba8(img.to_rgba8())
        } else {
            DynamicImage::ImageRgb8(img.to_rgb8())
        };
    }
    let (w, h) = (img.width(), img.height());
    match img {
        DynamicImage::ImageRgb8(b) => f(b.as_mut(), w, h, 3),
        DynamicImage::ImageRgba8(b) => f(b.as_mut(), w, h, 4),
        _ => {}
    }
}

/// A filter's parameter in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamInfo {
    /// The parameter's name (`sigma`, `factor`, ...).
    pub name: &'static str,
    /// Smallest accepted value.
    pub min: f32,
    /// Largest accepted value.
    pub max: f32,
    /// The value used when the chain gives none (`grayscale` = `grayscale:1`).
    pub default: f32,
}

/// One filter of the catalog (`GET /api/filters` → `filters`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterInfo {
    /// The name used in chains.
    pub name: &'static str,
    /// Its parameters (every filter has one).
    pub params: Vec<ParamInfo>,
    /// What it does.
    pub description: &'static str,
}

/// Every filter with its parameter range and default, in the documented order.
pub fn filter_catalog() -> Vec<FilterInfo> {
    SPECS
        .iter()
        .map(|s| FilterInfo {
            name: s.name,
            params: vec![ParamInfo {
                name: s.param,
                min: s.min,
                max: s.max,
                default: s.default,
            }],
            description: s.description,
        })
        .collect()
}
