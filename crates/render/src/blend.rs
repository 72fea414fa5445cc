//! Blend modes of W3C Compositing 1, for the colour overlays of presets (CSSgram's
//! `::before` / `::after` layers with `mix-blend-mode`).
//!
//! An overlay is one flat colour, so for each channel the blended result is a function of
//! the backdrop value alone: it is applied through a 256-entry table per channel.
//! Over an opaque backdrop with source alpha αs: `out = (1 − αs)·Cb + αs·B(Cb, Cs)`.

use serde::Serialize;

use crate::filters::matrix::{Colour, to_u8};

/// A separable blend mode B(Cb, Cs), values in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlendMode {
    /// Source over: B = Cs.
    Normal,
    /// Cb · Cs.
    Multiply,
    /// Cb + Cs − Cb · Cs.
    Screen,
    /// Hard-light with the layers swapped.
    Overlay,
    /// min(Cb, Cs).
    Darken,
    /// max(Cb, Cs).
    Lighten,
    /// Cb / (1 − Cs), clamped.
    ColorDodge,
    /// 1 − (1 − Cb) / Cs, clamped.
    ColorBurn,
    /// Multiply or screen, by the source.
    HardLight,
    /// The W3C soft-light (the `D(Cb)` form, not Photoshop's).
    SoftLight,
    /// |Cb − Cs|.
    Difference,
    /// Cb + Cs − 2 · Cb · Cs.
    Exclusion,
}

impl BlendMode {
    /// The CSS `mix-blend-mode` name.
    pub fn css_name(self) -> &'static str {
        use BlendMode::*;
        match self {
            Normal => "normal",
            Multiply => "multiply",
            Screen => "screen",
            Overlay => "overlay",
            Darken => "darken",
            Lighten => "lighten",
            ColorDodge => "color-dodge",
            ColorBurn => "color-burn",
            HardLight => "hard-light",
            SoftLight => "soft-light",
            Difference => "difference",
            Exclusion => "exclusion",
        }
    }

    /// B(Cb, Cs) for one channel.
    pub fn blend(self, cb: f32, cs: f32) -> f32 {
        use BlendMode::*;
        let multiply = |a: f32, b: f32| a * b;
        let screen = |a: f32, b: f32| a + b - a * b;
        let hard_light = |cb: f32, cs: f32| {
            if cs <= 0.5 {
                multiply(cb, 2.0 * cs)
            } else {
                screen(cb, 2.0 * cs - 1.0)
            }
        };
        match self {
            Normal => cs,
            Multiply => multiply(cb, cs),
            Screen => screen(cb, cs),
            Overlay => hard_light(cs, cb),
            Darken => cb.min(cs),
            Lighten => cb.max(cs),
            ColorDodge => {
                if cb == 0.0 {
                    0.0
                } else if cs >= 1.0 {
                    1.0
                } else {
                    (cb / (1.0 - cs)).min(1.0)
                }
            }
            ColorBurn => {
                if cb >= 1.0 {
                    1.0
                } else if cs <= 0.0 {
                    0.0
                } else {
                    1.0 - ((1.0 - cb) / cs).min(1.0)
                }
            }
            HardLight => hard_light(cb, cs),
            SoftLight => {
                if cs <= 0.5 {
                    cb - (1.0 - 2.0 * cs) * cb * (1.0 - cb)
                } else {
                    let d = if cb <= 0.25 {
                        ((16.0 * cb - 12.0) * cb + 4.0) * cb
                    } else {
                        cb.sqrt()
                    };
                    cb + (2.0 * cs - 1.0) * (d - cb)
                }
            }
            Difference => (cb - cs).abs(),
            Exclusion => cb + cs - 2.0 * cb * cs,
        }
    }
}

/// A flat colour layer over the whole image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Overlay {
    /// sRGB colour of the layer.
    pub color: [u8; 3],
    /// Its alpha times the layer's `opacity`, 0..=1.
    pub alpha: f32,
    /// How it blends with what is below.
    pub blend: BlendMode,
}

impl Overlay {
    /// The blend as a colour operation: for a flat layer, a table per channel.
    pub(crate) fn colour(&self) -> Colour {
        let mut luts = [[0u8; 256]; 3];
        for (lut, &cs) in luts.iter_mut().zip(&self.color) {
            let cs = f32::from(cs) / 255.0;
            for (v, out) in lut.iter_mut().enumerate() {
                let cb = v as f32 / 255.0;
                let mixed = (1.0 - self.alpha) * cb + self.alpha * self.blend.blend(cb, cs);
                *out = to_u8(mixed * 255.0);
            }
        }
        Colour::Curve(luts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_agree_with_the_spec_at_the_corners() {
        assert_eq!(BlendMode::Multiply.blend(0.5, 0.5), 0.25);
        assert_eq!(BlendMode::Screen.blend(0.5, 0.5), 0.75);
        assert_eq!(BlendMode::Overlay.blend(0.25, 1.0), 0.5);
        assert_eq!(BlendMode::SoftLight.blend(0.3, 0.5), 0.3);
        assert_eq!(BlendMode::ColorDodge.blend(0.5, 0.5), 1.0);
        assert_eq!(BlendMode::Exclusion.blend(1.0, 1.0), 0.0);
        for m in [
            BlendMode::Darken,
            BlendMode::Lighten,
            BlendMode::SoftLight,
            BlendMode::Overlay,
        ] {
            for i in 0..=10 {
                let v = m.blend(i as f32 / 10.0, 0.37);
                assert!((0.0..=1.0).contains(&v), "{m:?}");
            }
        }
    }
}
