"""Render benchmark: darkroom's render URLs (wasm under the test host, over HTTP) vs sharp
and Pillow doing the same work in process, on the same 12 MP JPEG, in one run.

Every darkroom request is a cache miss (a `bg=` that the render ignores makes each URL
distinct), so the table times decode + resize + effect + encode + the store write; the
last row times a cache hit. Pillow uses `draft()` (its JPEG shrink-on-load), as sharp and
darkroom shrink on load. SSIM (scikit-image, luma) is against darkroom's JPEG q95 render
of the same geometry; bytes are the encoded output.

WebP at equal SSIM: each side's lossy WebP is scored against its own lossless resize of
the same request (darkroom's `format=png`, sharp's `.png()`), so the score is the
encoder's loss alone and not the two resamplers' difference. sharp encodes at q80; the
smallest darkroom `q` whose score reaches sharp's is found by bisection, and its bytes
and time are compared with sharp's.

Usage: python render.py HOST_BIN SPIN_TOML WORKDIR NODE_DIR
Environment: BENCH_REPS (default 9).
"""

import io
import json
import os
import statistics
import subprocess
import sys
import time
import http.client

import numpy as np
from PIL import Image, ImageFilter, ImageOps

sys.path.insert(0, os.path.dirname(__file__))
from thumbnail import Host, log, photo  # noqa: E402  (same inputs and host handling)

REPS = int(os.environ.get("BENCH_REPS", "9"))

# name: (darkroom query, sharp pipeline (JS), Pillow function name)
CASES = [
    ("1024 cover, JPEG q80", "w=1024&h=1024&format=jpeg&q=80",
     "s.resize(1024,1024,{fit:'cover'}).jpeg({quality:80})", "cover_jpeg"),
    ("1024 cover, WebP q80", "w=1024&h=1024&format=webp&q=80",
     "s.resize(1024,1024,{fit:'cover'}).webp({quality:80})", "cover_webp"),
    ("1024 cover, WebP lossless", "w=1024&h=1024&format=webp&lossless=1",
     "s.resize(1024,1024,{fit:'cover'}).webp({lossless:true})", "cover_webp_lossless"),
    ("256 cover, sepia, JPEG", "w=256&h=256&filter=sepia&format=jpeg&q=80",
     "s.resize(256,256,{fit:'cover'}).recomb([[0.393,0.769,0.189],[0.349,0.686,0.168],[0.272,0.534,0.131]]).jpeg({quality:80})",
     "sepia"),
    ("256 cover, blur σ2, JPEG", "w=256&h=256&filter=blur:2&format=jpeg&q=80",
     "s.resize(256,256,{fit:'cover'}).blur(2).jpeg({quality:80})", "blur"),
]

# AVIF: darkroom only on the fly within avif_max_pixels (1 MP by default); sharp alongside.
AVIF_CASES = [
    ("1000x1000 cover, AVIF", "w=1000&h=1000&format=avif",
     "s.resize(1000,1000,{fit:'cover'}).avif()"),
    ("512x512 cover, AVIF", "w=512&h=512&format=avif",
     "s.resize(512,512,{fit:'cover'}).avif()"),
]


def pillow_open(path, box):
    im = Image.open(path)
    im.draft("RGB", (box * 2, box * 2))
    return im.convert("RGB")


def pillow(kind, path):
    box = 256 if kind in ("sepia", "blur") else 1024
    im = ImageOps.fit(pillow_open(path, box), (box, box), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if kind == "cover_jpeg":
        im.save(out, "JPEG", quality=80)
    elif kind == "cover_webp":
        im.save(out, "WEBP", quality=80)
    elif kind == "cover_webp_lossless":
        im.save(out, "WEBP", lossless=True)
    elif kind == "sepia":
        m = (0.393, 0.769, 0.189, 0, 0.349, 0.686, 0.168, 0, 0.272, 0.534, 0.131, 0)
        im.convert("RGB", m).save(out, "JPEG", quality=80)
    elif kind == "blur":
        im.filter(ImageFilter.GaussianBlur(2)).save(out, "JPEG", quality=80)
    return out.getvalue()


def time_pillow(kind, path):
    pillow(kind, path)
    times = []
    for _ in range(REPS):
        t = time.perf_counter()
        out = pillow(kind, path)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), out


def time_sharp(node_dir, path, pipeline):
    script = f"""
const sharp = require('sharp'); sharp.concurrency(1);
const buf = require('fs').readFileSync({json.dumps(path)});
(async () => {{
  const run = () => {{ const s = sharp(buf); return {pipeline}.toBuffer(); }};
  await run();
  const t = [];
  let out;
  for (let i = 0; i < {REPS}; i++) {{ const a = process.hrtime.bigint(); out = await run(); t.push(Number(process.hrtime.bigint() - a) / 1e6); }}
  t.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({{ms: t[Math.floor(t.length / 2)], out: out.toString('base64')}}));
}})();
"""
    r = subprocess.run(["node", "-e", script], cwd=node_dir, capture_output=True, check=True, text=True)
    res = json.loads(r.stdout)
    import base64
    return res["ms"], base64.b64decode(res["out"])


def get(host, path):
    conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=600)
    t = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    dt = (time.perf_counter() - t) * 1e3
    conn.close()
    if r.status != 200:
        raise SystemExit(f"GET {path} -> {r.status}: {body[:300]!r}")
    return dt, body, r.getheader("darkroom-cache"), int(r.getheader("darkroom-host-peak-memory", "0"))


SERIAL = [0]  # makes every darkroom request a distinct URL, so every one is a cache miss


def time_darkroom(host, image_id, query):
    def once():
        SERIAL[0] += 1
        return get(host, f"/images/{image_id}/render?{query}&bg=00{SERIAL[0]:04x}")

    once()  # first instantiation
    times, peaks = [], []
    for _ in range(REPS):
        dt, body, cache, peak = once()
        assert cache == "miss", cache
        times.append(dt)
        peaks.append(peak)
    return statistics.median(times), body, max(peaks)


def webp_at_equal_ssim(host, image_id, node_dir, path, sharp_ms):
    """darkroom's WebP at the smallest q whose SSIM to its own lossless resize reaches
    sharp's q80 WebP's SSIM to sharp's own lossless resize."""
    cover = "w=1024&h=1024"
    resize = "s.resize(1024,1024,{fit:'cover'})"
    _, dr_png, _, _ = get(host, f"/images/{image_id}/render?{cover}&format=png&bg=ffff01")
    _, sh_png = time_sharp(node_dir, path, resize + ".png()")
    _, sh_webp = time_sharp(node_dir, path, resize + ".webp({quality:80})")
    target = ssim(sh_webp, sh_png)
    scored = {}

    def score(q):
        if q not in scored:
            _, out, _, _ = get(host, f"/images/{image_id}/render?{cover}&format=webp&q={q}&bg=ffff02")
            scored[q] = (ssim(out, dr_png), out)
        return scored[q][0]

    lo, hi = 1, 100
    while lo < hi:  # SSIM grows with q: the smallest q reaching the target
        mid = (lo + hi) // 2
        if score(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    q = lo
    dr_ms, dr_webp, peak = time_darkroom(host, image_id, f"{cover}&format=webp&q={q}")
    return {
        "q": q, "dr_ssim": score(q), "dr_bytes": len(dr_webp), "dr_ms": dr_ms, "peak": peak,
        "sh_ssim": target, "sh_bytes": len(sh_webp), "sh_ms": sharp_ms,
        "q80_ssim": score(80), "q80_bytes": len(scored[80][1]),
    }


def luma(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float64)


def ssim(a, b):
    from skimage.metrics import structural_similarity
    x, y = luma(a), luma(b)
    if x.shape != y.shape:
        return float("nan")
    return structural_similarity(x, y, data_range=255)


def main():
    host_bin, spin_toml, workdir, node_dir = sys.argv[1:5]
    path = os.path.join(workdir, "render-12mp.jpg")
    if not os.path.exists(path):
        log("  generating the 12 MP photo")
        photo(4000, 3000, "astronaut", 1).save(path + ".tmp", format="JPEG", quality=90)
        os.replace(path + ".tmp", path)
    host = Host(host_bin, spin_toml, workdir, "render")
    try:
        with open(path, "rb") as f:
            conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=600)
            conn.request("POST", "/api/images", body=f.read(), headers={"Content-Type": "image/jpeg"})
            r = conn.getresponse()
            image_id = json.loads(r.read())["id"]
            conn.close()
        rows = []
        for name, query, pipeline, kind in CASES:
            log(f"  {name}")
            ref_query = query.split("&format=")[0] + "&format=jpeg&q=95"
            _, ref, _, _ = get(host, f"/images/{image_id}/render?{ref_query}&bg=ffff00")
            dr_ms, dr_out, peak = time_darkroom(host, image_id, query)
            sh_ms, sh_out = time_sharp(node_dir, path, pipeline)
            pi_ms, pi_out = time_pillow(kind, path)
            rows.append((name, dr_ms, sh_ms, pi_ms, dr_out, sh_out, pi_out, ref, peak))
        log("  AVIF")
        avif = []
        for name, query, pipeline in AVIF_CASES:
            ref_query = query.split("&format=")[0] + "&format=jpeg&q=95"
            _, ref, _, _ = get(host, f"/images/{image_id}/render?{ref_query}&bg=ffff00")
            dr_ms, dr_out, peak = time_darkroom(host, image_id, query)
            sh_ms, sh_out = time_sharp(node_dir, path, pipeline)
            avif.append((name, dr_ms, sh_ms, dr_out, sh_out, ref, peak))
        log("  WebP at equal SSIM")
        eq = webp_at_equal_ssim(host, image_id, node_dir, path, rows[1][2])
        hit_ms = statistics.median(get(host, f"/images/{image_id}/render?{CASES[0][1]}&bg=000001")[0] for _ in range(REPS))  # noqa: E501
    finally:
        host.stop()

    print(f"\n12 MP JPEG (4000x3000), median of {REPS}; darkroom = wasm render component over HTTP, "
          "every request a cache miss; sharp and Pillow in process, one thread.\n")
    print("| render | darkroom ms | sharp ms | Pillow ms | darkroom / sharp | darkroom / Pillow "
          "| bytes darkroom / sharp / Pillow | SSIM darkroom / sharp / Pillow | darkroom peak MiB |")
    print("|---|---:|---:|---:|---:|---:|---|---|---:|")
    for name, dr, sh, pi, dro, sho, pio, ref, peak in rows:
        print(f"| {name} | {dr:.1f} | {sh:.1f} | {pi:.1f} | {dr / sh:.2f}x | {dr / pi:.2f}x "
              f"| {len(dro):,} / {len(sho):,} / {len(pio):,} "
              f"| {ssim(dro, ref):.4f} / {ssim(sho, ref):.4f} / {ssim(pio, ref):.4f} | {peak / 2**20:.1f} |")
    print(f"\nA cache hit of the first row: {hit_ms:.1f} ms over HTTP.")
    print("\nAVIF (darkroom: ravif/rav1e at `avif_speed` 10, its default quality, in wasm, within "
          "`avif_max_pixels` = 1 MP; sharp: libheif/aom at its defaults, quality 50, effort 4, native):\n")
    print("| render | darkroom ms | sharp ms | darkroom / sharp | bytes darkroom / sharp "
          "| SSIM to JPEG q95 darkroom / sharp | darkroom peak MiB |")
    print("|---|---:|---:|---:|---|---|---:|")
    for name, dr, sh, dro, sho, ref, peak in avif:
        print(f"| {name} | {dr:.1f} | {sh:.1f} | {dr / sh:.2f}x | {len(dro):,} / {len(sho):,} "
              f"| {ssim(dro, ref):.4f} / {ssim(sho, ref):.4f} | {peak / 2**20:.1f} |")
    print("\nWebP, 1024 cover, at equal SSIM (luma SSIM of each side's lossy WebP to its own "
          "lossless resize of the same request):\n")
    print("| encoder | q | SSIM to own lossless | bytes | ms |")
    print("|---|---:|---:|---:|---:|")
    print(f"| sharp (libvips, libwebp) | 80 | {eq['sh_ssim']:.4f} | {eq['sh_bytes']:,} | {eq['sh_ms']:.1f} |")
    print(f"| darkroom (wasm, libwebp) | 80 | {eq['q80_ssim']:.4f} | {eq['q80_bytes']:,} | {rows[1][1]:.1f} |")
    print(f"| darkroom at equal SSIM | {eq['q']} | {eq['dr_ssim']:.4f} | {eq['dr_bytes']:,} | {eq['dr_ms']:.1f} |")
    print(f"\nAt equal SSIM darkroom's WebP is {eq['dr_bytes'] / eq['sh_bytes']:.2f}x sharp's bytes "
          f"and {eq['dr_ms'] / eq['sh_ms']:.2f}x sharp's time (peak {eq['peak'] / 2**20:.1f} MiB).")


if __name__ == "__main__":
    main()
