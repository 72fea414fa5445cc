"""Thumbnail benchmark: darkroom (native core, wasm under the test host) vs Pillow and sharp.

The task: fit in 128x128, JPEG quality 80. Inputs (made here with Pillow, cached under
WORKDIR/inputs): baseline and progressive JPEGs at 2, 12, 24 and 50 MP and a 12 MP PNG,
all from scikit-image's `astronaut` photo upscaled with Lanczos plus mild grain (so the
entropy coder has photo-like work to do). One run times every way on the same files:

- native:  tools/bench-thumb `core` (imaging::thumbnail, median of REPS);
- wasm:    POST /api/thumbnail?size=128 to darkroom-host over HTTP (median of REPS),
           the host's own per-request time from its stderr log ("inside"), and the
           `darkroom-host-peak-memory` header (peak guest linear memory);
- Pillow:  Image.open + thumbnail((128,128)) + save(JPEG, quality=80), in process;
- sharp:   sharp(buf).resize(128,128,{fit:'inside'}).jpeg({quality:80}).toBuffer().

Then throughput with concurrent loopback clients (tools/bench-thumb `load`): darkroom's
POST /api/thumbnail and thumbor's /unsafe/fit-in/128x128/<file> on the same 2 MP photos,
and darkroom's full upload pipeline (POST /api/images, every body distinct).

Usage: python thumbnail.py HOST_BIN BENCH_BIN SPIN_TOML WORKDIR NODE_DIR
Environment: BENCH_REPS (default 9), BENCH_LOAD_SECS (15), BENCH_CONC (8),
             BENCH_SKIP (comma list of: thumbor, load, 50), BENCH_JSON (write results).
"""

import io
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import http.client
import urllib.request

import numpy as np
from PIL import Image

REPS = int(os.environ.get("BENCH_REPS", "9"))
LOAD_SECS = float(os.environ.get("BENCH_LOAD_SECS", "15"))
CONC = int(os.environ.get("BENCH_CONC", "8"))
SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))
UPLOAD_CAP = 200 * 1024 * 1024  # the bench host takes bodies this large (the 12 MP PNG)

SIZES = {  # name: (width, height)
    "2mp": (1632, 1224),
    "12mp": (4000, 3000),
    "24mp": (6000, 4000),
    "50mp": (8160, 6120),  # 49.9 MP, under the default max_pixels of 50,000,000
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def photo(w: int, h: int, source: str, seed: int) -> Image.Image:
    from skimage import data
    base = Image.fromarray(getattr(data, source)()).convert("RGB")
    # Crop to the target aspect, then upscale (Lanczos) and add grain in row bands.
    bw, bh = base.size
    if bw / bh > w / h:
        cw = int(bh * w / h)
        base = base.crop(((bw - cw) // 2, 0, (bw - cw) // 2 + cw, bh))
    else:
        ch = int(bw * h / w)
        base = base.crop((0, (bh - ch) // 2, bw, (bh - ch) // 2 + ch))
    big = np.asarray(base.resize((w, h), Image.Resampling.LANCZOS)).copy()
    rng = np.random.default_rng(seed)
    for y in range(0, h, 512):
        band = big[y:y + 512].astype(np.int16)
        band += rng.normal(0, 4, band.shape[:2] + (1,)).astype(np.int16)  # luma grain
        band += rng.normal(0, 2, band.shape).astype(np.int16)             # chroma grain
        big[y:y + 512] = np.clip(band, 0, 255).astype(np.uint8)
    return Image.fromarray(big)


def make_inputs(workdir: str):
    """[(label, path)] for the table and the 2 MP photos for the load tests."""
    d = os.path.join(workdir, "inputs")
    os.makedirs(d, exist_ok=True)
    table = []
    for name, (w, h) in SIZES.items():
        if name == "50mp" and "50" in SKIP:
            continue
        want = [(f"{name} baseline JPEG", f"{name}-baseline.jpg", dict(quality=90)),
                (f"{name} progressive JPEG", f"{name}-progressive.jpg", dict(quality=90, progressive=True))]
        if name == "12mp":
            want.append((f"{name} PNG", f"{name}.png", dict(compress_level=6)))
        img = None
        for label, fname, opts in want:
            path = os.path.join(d, fname)
            if not os.path.exists(path):
                if img is None:
                    log(f"  generating {name} ({w}x{h})")
                    img = photo(w, h, "astronaut", 1)
                img.save(path + ".tmp", format="PNG" if fname.endswith(".png") else "JPEG", **opts)
                os.replace(path + ".tmp", path)
            table.append((label, path))
    load = []
    w, h = SIZES["2mp"]
    for i, source in enumerate(["astronaut", "coffee", "chelsea"]):
        path = os.path.join(d, f"load-{source}.jpg")
        if not os.path.exists(path):
            photo(w, h, source, 10 + i).save(path + ".tmp", format="JPEG", quality=90)
            os.replace(path + ".tmp", path)
        load.append(path)
    return table, load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc, what: str):
    for _ in range(1200):
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{what} did not start")


class Host:
    def __init__(self, host_bin, spin_toml, workdir, name, variables=(), flags=()):
        state = os.path.join(workdir, f"state-{name}")
        subprocess.run(["rm", "-rf", state], check=True)
        os.makedirs(state)
        self.port = free_port()
        self.log_path = os.path.join(workdir, f"host-{name}.log")
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [host_bin, "--listen", f"127.0.0.1:{self.port}", "--state-dir", state,
             "--max-instance-memory", str(128 * 1024 * 1024),
             "--variable", f"max_upload_bytes={UPLOAD_CAP}",
             *(a for kv in variables for a in ("--variable", kv)), *flags, spin_toml],
            stdout=subprocess.DEVNULL, stderr=self.log_file)
        self.base = f"http://127.0.0.1:{self.port}"
        wait_http(self.base + "/healthz", self.proc, "darkroom-host")

    def log_lines(self):
        with open(self.log_path) as f:
            return f.readlines()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log_file.close()


class Failed(Exception):
    def __init__(self, why, peak):
        self.why, self.peak = why, peak


INSIDE = re.compile(r"POST /api/thumbnail\S* -> (\d+) in ([\d.]+) ms")


def time_wasm(host: Host, path: str):
    body = open(path, "rb").read()
    conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=600)

    def once():
        t = time.perf_counter()
        conn.request("POST", "/api/thumbnail?size=128", body=body,
                     headers={"Content-Type": "application/octet-stream"})
        r = conn.getresponse()
        out = r.read()
        dt = (time.perf_counter() - t) * 1e3
        if r.status != 200:
            raise Failed(f"HTTP {r.status}", int(r.getheader("darkroom-host-peak-memory", "0")))
        return dt, int(r.getheader("darkroom-host-peak-memory", "0")), out

    try:
        once()  # warm-up (first instantiation of the component)
    except Failed as e:
        log(f"  wasm thumbnail of {path} failed: {e.why}")
        conn.close()
        return e.why, float("nan"), e.peak
    before = len(host.log_lines())
    times, peaks = [], []
    for _ in range(REPS):
        dt, peak, out = once()
        times.append(dt)
        peaks.append(peak)
    conn.close()
    time.sleep(0.05)
    inside = [float(m.group(2)) for line in host.log_lines()[before:]
              if (m := INSIDE.search(line))]
    check_thumb(out, "wasm", path)
    return statistics.median(times), (statistics.median(inside) if inside else float("nan")), max(peaks)


def check_thumb(jpeg: bytes, who: str, path: str):
    im = Image.open(io.BytesIO(jpeg))
    if im.format != "JPEG" or max(im.size) != 128:
        raise SystemExit(f"{who} made a {im.format} {im.size} thumbnail of {path}")


def pillow_thumbnail(body: bytes) -> bytes:
    """Pillow's thumbnail: open, `thumbnail((128, 128))` (draft mode for JPEG), JPEG q80."""
    im = Image.open(io.BytesIO(body))
    im.thumbnail((128, 128))
    out = io.BytesIO()
    im.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def time_pillow(path: str) -> float:
    body = open(path, "rb").read()
    check_thumb(pillow_thumbnail(body), "Pillow", path)
    times = []
    for _ in range(REPS):
        t = time.perf_counter()
        pillow_thumbnail(body)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


SHARP_JS = r"""
const sharp = require('sharp');
const fs = require('fs');
const reps = parseInt(process.argv[2]);
(async () => {
  for (const file of process.argv.slice(3)) {
    const buf = fs.readFileSync(file);
    const once = () => sharp(buf).resize(128, 128, { fit: 'inside' }).jpeg({ quality: 80 }).toBuffer();
    await once();
    const t = [];
    for (let i = 0; i < reps; i++) {
      const s = process.hrtime.bigint();
      await once();
      t.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    t.sort((a, b) => a - b);
    const n = t.length;
    const med = n % 2 ? t[(n - 1) / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    console.log(JSON.stringify({ file, ms: med, threads: sharp.concurrency() }));
  }
})();
"""


def time_sharp(node_dir: str, paths):
    script = os.path.join(node_dir, "bench-sharp.js")
    with open(script, "w") as f:
        f.write(SHARP_JS)
    out = subprocess.run(["node", script, str(REPS), *paths], cwd=node_dir,
                         check=True, capture_output=True, text=True).stdout
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    return {r["file"]: r["ms"] for r in rows}, (rows[0]["threads"] if rows else 0)


def time_native(bench_bin: str, paths):
    out = subprocess.run([bench_bin, "core", str(REPS), *paths], check=True,
                         capture_output=True, text=True).stdout
    return {l.split()[0]: float(l.split()[1]) for l in out.splitlines() if l.strip()}


def load(bench_bin, url, conc, files, *flags, secs=LOAD_SECS):
    """`bench-thumb load` for `secs` seconds: {ok, failed, rps, p50, p99}."""
    out = subprocess.run([bench_bin, "load", url, str(conc), str(secs), *flags, *files],
                         check=True, capture_output=True, text=True).stdout.split()
    total, ok, failed, secs, rps, p50, p99 = out
    return {"ok": int(ok), "failed": int(failed), "rps": float(rps), "p50": float(p50), "p99": float(p99)}


def thumbor_server(workdir, root, storage=False, processes=2):
    """A thumbor serving the files under `root` (file loader) on a free port, with
    `processes` processes; with `storage`, uploads (`POST /image`) into a file storage and
    results kept in a file result storage, else neither. Returns (process, base URL)."""
    exe = os.path.join(os.path.dirname(sys.executable), "thumbor")
    conf = os.path.join(workdir, f"thumbor-{'storage' if storage else 'plain'}.conf")
    lines = ["LOADER = 'thumbor.loaders.file_loader'", f"FILE_LOADER_ROOT_PATH = {root!r}",
             "ALLOW_UNSAFE_URL = True", "QUALITY = 80", "AUTO_WEBP = False", "MAX_AGE = 0"]
    if storage:
        d = tempfile.mkdtemp(prefix="thumbor-", dir=workdir)
        lines += ["UPLOAD_ENABLED = True", "STORAGE = 'thumbor.storages.file_storage'",
                  f"FILE_STORAGE_ROOT_PATH = {os.path.join(d, 'storage')!r}",
                  "RESULT_STORAGE = 'thumbor.result_storages.file_storage'",
                  f"RESULT_STORAGE_FILE_STORAGE_ROOT_PATH = {os.path.join(d, 'results')!r}",
                  "RESULT_STORAGE_STORES_UNSAFE = True"]
    else:
        lines += ["STORAGE = 'thumbor.storages.no_storage'", "RESULT_STORAGE = None"]
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    port = free_port()
    # Its own process group: with --processes it forks workers, which outlive a
    # terminated parent (`stop_thumbor` ends them all).
    p = subprocess.Popen([exe, "-p", str(port), "-i", "127.0.0.1", "-c", conf, "-l", "error",
                          "--processes", str(processes)], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(workdir, "thumbor.log"), "a"),
                         start_new_session=True)
    return p, f"http://127.0.0.1:{port}"


def stop_thumbor(p):
    """Stops a `thumbor_server` and the workers it forked."""
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    p.wait(timeout=30)


def thumbor(workdir: str, load_files, bench_bin):
    if not os.path.exists(os.path.join(os.path.dirname(sys.executable), "thumbor")):
        return None, "thumbor is not installed in the venv"
    procs = os.cpu_count() or 1
    p, base = thumbor_server(workdir, os.path.dirname(load_files[0]), processes=procs)
    try:
        first = os.path.basename(load_files[0])
        url = f"{base}/unsafe/fit-in/128x128/"
        wait_http(url + first, p, "thumbor")
        with urllib.request.urlopen(url + first) as r:
            check_thumb(r.read(), "thumbor", first)
        return load(bench_bin, url.rstrip("/"), CONC, load_files, "--get"), f"{procs} processes"
    finally:
        stop_thumbor(p)


def mib(b): return b / (1024 * 1024)


def main():
    host_bin, bench_bin, spin_toml, workdir, node_dir = sys.argv[1:6]
    os.makedirs(workdir, exist_ok=True)
    log("inputs")
    table, load_files = make_inputs(workdir)
    paths = [p for _, p in table]

    log("native core")
    native = time_native(bench_bin, paths)
    log("sharp")
    sharp, sharp_threads = time_sharp(node_dir, paths)
    log("Pillow")
    pillow = {p: time_pillow(p) for p in paths}
    log("wasm under the test host")
    host = Host(host_bin, spin_toml, workdir, "thumb")
    try:
        wasm = {p: time_wasm(host, p) for p in paths}
    finally:
        host.stop()

    rows = []
    print(f"\n### Thumbnail 128x128, JPEG q80: medians of {REPS} (ms)\n")
    print("| input | MB | native | wasm HTTP | wasm inside host | Pillow | sharp | wasm/Pillow | wasm/sharp | native/Pillow | peak guest memory |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, p in table:
        http_ms, inside_ms, peak = wasm[p]
        size = os.path.getsize(p) / 1e6
        if isinstance(http_ms, str):  # the component failed (e.g. a trap past 128 MiB)
            print(f"| {label} | {size:.1f} | {native[p]:.1f} | {http_ms} | | {pillow[p]:.1f} | {sharp[p]:.1f} | | | "
                  f"{native[p] / pillow[p]:.2f}x | failed (> 128 MiB?) |")
            rows.append(dict(input=label, mb=size, native=native[p], wasm_http=None, wasm_failed=http_ms,
                             pillow=pillow[p], sharp=sharp[p], peak=peak))
            continue
        print(f"| {label} | {size:.1f} | {native[p]:.1f} | {http_ms:.1f} | {inside_ms:.1f} | {pillow[p]:.1f} | "
              f"{sharp[p]:.1f} | {http_ms / pillow[p]:.2f}x | {http_ms / sharp[p]:.2f}x | "
              f"{native[p] / pillow[p]:.2f}x | {mib(peak):.1f} MiB |")
        rows.append(dict(input=label, mb=size, native=native[p], wasm_http=http_ms, wasm_inside=inside_ms,
                         pillow=pillow[p], sharp=sharp[p], peak=peak))
    print(f"\nsharp used {sharp_threads} libvips threads (its default); every other way is single-threaded.")

    results = {"table": rows}
    if "load" not in SKIP:
        log(f"throughput: {CONC} clients, {LOAD_SECS:.0f} s each")
        host = Host(host_bin, spin_toml, workdir, "load")
        try:
            thumb = load(bench_bin, f"{host.base}/api/thumbnail?size=128", CONC, load_files)
            upload = load(bench_bin, f"{host.base}/api/images", CONC, load_files, "--distinct")
        finally:
            host.stop()
        if "thumbor" in SKIP:
            th, how = None, "skipped (BENCH_SKIP)"
        else:
            th, how = thumbor(workdir, load_files, bench_bin)
        print(f"\n### Throughput, {CONC} concurrent loopback clients, {LOAD_SECS:.0f} s, 2 MP baseline JPEGs\n")
        print("| server | requests/s | ok | failed | p50 ms | p99 ms |")
        print("|---|---:|---:|---:|---:|---:|")
        print(f"| darkroom POST /api/thumbnail (wasm, test host) | {thumb['rps']:.1f} | {thumb['ok']} | {thumb['failed']} | {thumb['p50']:.0f} | {thumb['p99']:.0f} |")
        if th:
            print(f"| thumbor GET /unsafe/fit-in/128x128/ ({how}) | {th['rps']:.1f} | {th['ok']} | {th['failed']} | {th['p50']:.0f} | {th['p99']:.0f} |")
        else:
            print(f"| thumbor | {how} | | | | |")
        print(f"| darkroom POST /api/images (store + thumbnail + vector, distinct bodies) | {upload['rps']:.1f} | {upload['ok']} | {upload['failed']} | {upload['p50']:.0f} | {upload['p99']:.0f} |")
        if th:
            print(f"\ndarkroom thumbnail / thumbor: {thumb['rps'] / th['rps']:.2f}x")
        results.update(thumbnail_load=thumb, thumbor_load=th, upload_load=upload)
    if os.environ.get("BENCH_JSON"):
        with open(os.environ["BENCH_JSON"], "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
