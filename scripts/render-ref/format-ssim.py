"""SSIM of each render in target/render-formats/ (made by
`cargo run --release -p darkroom-render --example formats`) to the JPEG q95 render,
decoded by Pillow (AVIF too). Needs Pillow >= 11.3 and scikit-image (pip)."""
import pathlib, sys
import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

d = pathlib.Path(__file__).resolve().parents[2] / "target/render-formats"
ref = np.asarray(Image.open(d / "jpeg-q95.jpeg").convert("RGB"))
print("| file | bytes | SSIM to JPEG q95 |\n|---|---|---|")
for f in sorted(d.iterdir()):
    img = np.asarray(Image.open(f).convert("RGB"))
    s = structural_similarity(ref, img, channel_axis=2)
    print(f"| {f.name} | {f.stat().st_size} | {s:.4f} |")
