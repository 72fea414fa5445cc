//! Presets: named filter chains, the built-in ones with CSSgram's colour overlays.
//!
//! The built-ins reproduce una/CSSgram 0.1.12 (MIT) and instagram.css's `juno`
//! (REFERENCES §2.3) in the browser's order of operations: CSSgram sets `filter` on the
//! container, whose `::before` and `::after` layers are children, so the browser first
//! blends the image with `::before`, then with `::after`, and only then runs the filter
//! chain on the result. [`Preset::apply`] does the same.
//!
//! User presets come from the variable `filter_presets`, a JSON object
//! `{"name": "chain"}` ([`Presets::with_user_json`]); a user preset may replace a
//! built-in one of the same name.

use image::DynamicImage;
use serde::Serialize;

use crate::Error;
use crate::blend::{self, BlendMode};
use crate::filters::{Chain, Filter, Op};

/// A named chain with optional overlays, applied to the resized image.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    name: String,
    chain: Chain,
    overlays: Vec<blend::Overlay>,
    description: String,
}

impl Preset {
    /// A preset of a chain alone (what `filter_presets` defines).
    pub fn new(name: &str, chain: Chain, description: &str) -> Preset {
        Preset {
            name: name.into(),
            chain,
            overlays: Vec::new(),
            description: description.into(),
        }
    }

    /// The preset's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its filter chain (runs after the overlays).
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// Its colour layers, bottom first (`::before`, then `::after`).
    pub fn overlays(&self) -> &[blend::Overlay] {
        &self.overlays
    }

    /// What it looks like, for the catalog.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Blends the overlays onto the image, then runs the chain (the browser's order), in
    /// as few passes as the chain allows (an overlay is a colour operation too).
    pub fn apply(&self, img: &mut DynamicImage) {
        let overlays: Vec<_> = self.overlays.iter().map(blend::Overlay::colour).collect();
        self.chain.apply_after(img, &overlays);
    }
}

/// One preset in `GET /api/filters` → `presets`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PresetInfo {
    /// The name for `preset=`.
    pub name: String,
    /// Its filter chain, canonical (`contrast:1.2,saturate:1.35`).
    pub chain: String,
    /// What it looks like.
    pub description: String,
    /// The colour layers blended before the chain (empty for user presets).
    pub overlays: Vec<blend::Overlay>,
}

/// The presets a deployment offers: built-ins plus the `filter_presets` variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Presets {
    list: Vec<Preset>,
}

/// Longest preset name accepted.
pub const MAX_PRESET_NAME: usize = 64;

impl Presets {
    /// The built-in CSSgram presets: clarendon, gingham, moon, lark, juno, valencia,
    /// nashville, 1977, inkwell, reyes.
    pub fn builtin() -> Self {
        use BlendMode::*;
        use Op::*;
        let f = |op, v| Filter { op, value: v };
        let o = |rgb: [u8; 3], alpha: f32, blend| blend::Overlay {
            color: rgb,
            alpha,
            blend,
        };
        let p = |name: &str,
                 filters: Vec<Filter>,
                 overlays: Vec<blend::Overlay>,
                 description: &str| Preset {
            name: name.into(),
            chain: Chain::from_filters(filters),
            overlays,
            description: description.into(),
        };
        let list = vec![
            p(
                "clarendon",
                vec![f(Contrast, 1.2), f(Saturate, 1.35)],
                vec![o([127, 187, 227], 0.2, Overlay)],
                "Instagram Clarendon: brighter highlights, cool shadows, more saturation",
            ),
            p(
                "gingham",
                vec![f(Brightness, 1.05), f(Hue, -10.0)],
                vec![o([230, 230, 250], 1.0, SoftLight)],
                "Instagram Gingham: washed-out, vintage, slightly warm",
            ),
            p(
                "moon",
                vec![f(Grayscale, 1.0), f(Contrast, 1.1), f(Brightness, 1.1)],
                vec![
                    o([0xa0, 0xa0, 0xa0], 1.0, SoftLight),
                    o([0x38, 0x38, 0x38], 1.0, Lighten),
                ],
                "Instagram Moon: black and white with lifted shadows",
            ),
            p(
                "lark",
                vec![f(Contrast, 0.9)],
                vec![
                    o([0x22, 0x25, 0x3f], 1.0, ColorDodge),
                    o([242, 242, 242], 0.8, Darken),
                ],
                "Instagram Lark: bright and desaturated, blues and greens kept",
            ),
            p(
                "juno",
                vec![
                    f(Sepia, 0.35),
                    f(Contrast, 1.15),
                    f(Brightness, 1.15),
                    f(Saturate, 1.8),
                ],
                vec![o([127, 187, 227], 0.2, Overlay)],
                "Instagram Juno: warm, vivid, strong contrast",
            ),
            p(
                "valencia",
                vec![f(Contrast, 1.08), f(Brightness, 1.08), f(Sepia, 0.08)],
                vec![o([0x3a, 0x03, 0x39], 0.5, Exclusion)],
                "Instagram Valencia: faded and warm",
            ),
            p(
                "nashville",
                vec![
                    f(Sepia, 0.2),
                    f(Contrast, 1.2),
                    f(Brightness, 1.05),
                    f(Saturate, 1.2),
                ],
                vec![
                    o([247, 176, 153], 0.56, Darken),
                    o([0, 70, 150], 0.4, Lighten),
                ],
                "Instagram Nashville: pink-tinted, retro, lifted blacks",
            ),
            p(
                "1977",
                vec![f(Contrast, 1.1), f(Brightness, 1.1), f(Saturate, 1.3)],
                vec![o([243, 106, 188], 0.3, Screen)],
                "Instagram 1977: rosy, faded 1970s print",
            ),
            p(
                "inkwell",
                vec![
                    f(Sepia, 0.3),
                    f(Contrast, 1.1),
                    f(Brightness, 1.1),
                    f(Grayscale, 1.0),
                ],
                vec![],
                "Instagram Inkwell: high-contrast black and white",
            ),
            p(
                "reyes",
                vec![
                    f(Sepia, 0.22),
                    f(Brightness, 1.1),
                    f(Contrast, 0.85),
                    f(Saturate, 0.75),
                ],
                vec![o([0xef, 0xcd, 0xad], 0.5, SoftLight)],
                "Instagram Reyes: dusty, faded, warm vintage",
            ),
        ];
        Presets { list }
    }

    /// Adds the user presets of the variable `filter_presets` (`{"name": "chain"}`); a
    /// name already present is replaced. Errors (`param` = `filter_presets`) for invalid
    /// JSON, a bad name (1..=64 of `a-z 0-9 _ -`) or a chain that does not parse. An empty
    /// or blank string adds nothing.
    ///
    /// ```
    /// let p = render::Presets::builtin().with_user_json(r#"{"noir": "grayscale,contrast:1.4"}"#)?;
    /// assert_eq!(p.get("noir").unwrap().chain().canonical(), "grayscale:1,contrast:1.4");
    /// # Ok::<(), render::Error>(())
    /// ```
    pub fn with_user_json(mut self, json: &str) -> Result<Self, Error> {
        const PARAM: &str = "filter_presets";
        if json.trim().is_empty() {
            return Ok(self);
        }
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
            .map_err(|e| Error::bad(PARAM, format!("not a JSON object of name to chain: {e}")))?;
        for (name, chain) in map {
            let valid = !name.is_empty()
                && name.len() <= MAX_PRESET_NAME
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !valid {
                return Err(Error::bad(
                    PARAM,
                    format!(
                        "preset name {} is not 1..={MAX_PRESET_NAME} of a-z 0-9 _ -",
                        crate::options::quote(&name)
                    ),
                ));
            }
            let chain = chain.as_str().ok_or_else(|| {
                Error::bad(PARAM, format!("preset {name}: the chain must be a string"))
            })?;
            let chain = Chain::parse(chain)
                .map_err(|e| Error::bad(PARAM, format!("preset {name}: {e}")))?;
            let preset = Preset::new(&name, chain, "user preset (filter_presets)");
            match self.list.iter_mut().find(|p| p.name == name) {
                Some(slot) => *slot = preset,
                None => self.list.push(preset),
            }
        }
        Ok(self)
    }

    /// The preset called `name`.
    pub fn get(&self, name: &str) -> Option<&Preset> {
        self.list.iter().find(|p| p.name == name)
    }

    /// Every preset, built-ins first, for `GET /api/filters`.
    pub fn catalog(&self) -> Vec<PresetInfo> {
        self.list
            .iter()
            .map(|p| PresetInfo {
                name: p.name.clone(),
                chain: p.chain.canonical(),
                description: p.description.clone(),
                overlays: p.overlays.clone(),
            })
            .collect()
    }

    /// The presets, in catalog order.
    pub fn iter(&self) -> impl Iterator<Item = &Preset> {
        self.list.iter()
    }
}
