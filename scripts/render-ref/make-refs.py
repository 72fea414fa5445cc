"""Makes the reference images of crates/render's filter and preset tests, into
crates/render/tests/data/ (committed; the tests only read them):

  photo.png                 the test photo: scikit-image's `astronaut` (NASA, public
                            domain), top 512x384, Lanczos-reduced to 320x240
  pillow/<name>.png         Pillow's equivalent of one darkroom filter
  chromium/<name>.png       headless Chromium rendering the same photo with a CSS filter
                            chain, and CSSgram's presets (filter on the container,
                            ::before/::after colour layers with mix-blend-mode)

Needs Pillow, numpy, scikit-image (pip) and Debian's chromium (scripts/install-chromium.sh).
Run from the repository root:  python3 scripts/render-ref/make-refs.py
"""
import json, os, pathlib, subprocess, sys, tempfile, base64, io

import numpy as np
from PIL import Image, ImageFilter

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "crates/render/tests/data"
W, H = 320, 240

# Single CSS filter functions, named by the darkroom chain that should match them.
CSS_FILTERS = {
    "grayscale": "grayscale(1)",
    "grayscale-0.5": "grayscale(0.5)",
    "sepia": "sepia(1)",
    "sepia-0.4": "sepia(0.4)",
    "brightness-1.3": "brightness(1.3)",
    "brightness-0.6": "brightness(0.6)",
    "contrast-1.5": "contrast(1.5)",
    "contrast-0.5": "contrast(0.5)",
    "saturate-2": "saturate(2)",
    "saturate-0.3": "saturate(0.3)",
    "hue-90": "hue-rotate(90deg)",
    "hue--150": "hue-rotate(-150deg)",
    "invert": "invert(1)",
    "blur-2": "blur(2px)",
    "chain": "grayscale(1) contrast(1.2) brightness(1.1)",
}

# CSSgram 0.1.12 (and instagram.css's juno), REFERENCES.md §2.3: filter chain and the
# ::before / ::after layers (background, mix-blend-mode, opacity).
PRESETS = {
    "clarendon": ("contrast(1.2) saturate(1.35)", [("rgba(127,187,227,.2)", "overlay", 1)], []),
    "gingham": ("brightness(1.05) hue-rotate(-10deg)", [], [("lavender", "soft-light", 1)]),
    "moon": ("grayscale(1) contrast(1.1) brightness(1.1)", [("#a0a0a0", "soft-light", 1)], [("#383838", "lighten", 1)]),
    "lark": ("contrast(.9)", [("#22253f", "color-dodge", 1)], [("rgba(242,242,242,.8)", "darken", 1)]),
    "juno": ("sepia(.35) contrast(1.15) brightness(1.15) saturate(1.8)", [("rgba(127,187,227,.2)", "overlay", 1)], []),
    "valencia": ("contrast(1.08) brightness(1.08) sepia(.08)", [], [("#3a0339", "exclusion", .5)]),
    "nashville": ("sepia(.2) contrast(1.2) brightness(1.05) saturate(1.2)", [("rgba(247,176,153,.56)", "darken", 1)], [("rgba(0,70,150,.4)", "lighten", 1)]),
    "1977": ("contrast(1.1) brightness(1.1) saturate(1.3)", [], [("rgba(243,106,188,.3)", "screen", 1)]),
    "inkwell": ("sepia(.3) contrast(1.1) brightness(1.1) grayscale(1)", [], []),
    "reyes": ("sepia(.22) brightness(1.1) contrast(.85) saturate(.75)", [], [("#efcdad", "soft-light", .5)]),
}


def photo():
    from skimage import data
    img = Image.fromarray(data.astronaut()).crop((0, 0, 512, 384)).resize((W, H), Image.LANCZOS)
    img.save(OUT / "photo.png", optimize=True)
    return img


def pillow_refs(img):
    d = OUT / "pillow"
    d.mkdir(parents=True, exist_ok=True)
    refs = {
        "blur-2": img.filter(ImageFilter.GaussianBlur(2)),
        "blur-6": img.filter(ImageFilter.GaussianBlur(6)),
        "sharpen-1.5": img.filter(ImageFilter.UnsharpMask(radius=1.5, percent=100, threshold=0)),
        "gamma-2.2": img.point(lambda v: round(255 * (v / 255) ** (1 / 2.2))),
        "gamma-0.5": img.point(lambda v: round(255 * (v / 255) ** (1 / 0.5))),
        "pixelate-8": img.resize((W // 8, H // 8), Image.BOX).resize((W, H), Image.NEAREST),
        "invert": Image.eval(img, lambda v: 255 - v),
        "grayscale": img.convert("L").convert("RGB"),
    }
    for name, ref in refs.items():
        ref.save(d / f"{name}.png", optimize=True)


def layer(style, z):
    bg, mode, opacity = style
    return (f'<div style="position:absolute;top:0;left:0;width:100%;height:100%;z-index:{z};'
            f'background:{bg};mix-blend-mode:{mode};opacity:{opacity}"></div>')


def chromium(html, out):
    with tempfile.TemporaryDirectory() as tmp:
        page = pathlib.Path(tmp) / "page.html"
        page.write_text(html)
        subprocess.run([
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={tmp}/profile",
            "--hide-scrollbars", "--force-device-scale-factor=1", "--force-color-profile=srgb",
            f"--window-size={W},{H}", f"--screenshot={out}", page.as_uri(),
        ], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    got = Image.open(out)
    if got.size != (W, H):
        sys.exit(f"{out}: chromium made {got.size}, not {(W, H)}")
    got.convert("RGB").save(out, optimize=True)


def page(filter_css, before=(), after=()):
    src = "data:image/png;base64," + base64.b64encode((OUT / "photo.png").read_bytes()).decode()
    layers = "".join(layer(s, 2) for s in before) + "".join(layer(s, 3) for s in after)
    return (f'<!doctype html><html><body style="margin:0;background:#fff">'
            f'<figure style="margin:0;position:relative;width:{W}px;height:{H}px;filter:{filter_css}">'
            f'<img src="{src}" style="display:block;width:{W}px;height:{H}px">{layers}</figure></body></html>')


def chromium_refs():
    d = OUT / "chromium"
    d.mkdir(parents=True, exist_ok=True)
    for name, css in CSS_FILTERS.items():
        chromium(page(css), d / f"filter-{name}.png")
    for name, (css, before, after) in PRESETS.items():
        chromium(page(css, before, after), d / f"preset-{name}.png")
    chromium(page("none"), d / "identity.png")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    img = photo()
    pillow_refs(img)
    chromium_refs()
    print("references written to", OUT)
