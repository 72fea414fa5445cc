"""Per-request cost of a phone-sized photo (issue 15): where a 2 MP thumbnail's time
goes, what Spin's pooling allocator changes, and throughput against thumbor.

One run, on one machine, prints four markdown tables (docs/performance.md has this
machine's):

1. Breakdown of one 2 MP baseline JPEG -> 128 px JPEG q80 request, in µs (medians of
   REPS): natively (tools/bench-thumb `stages`: imaging::thumbnail_staged) and in wasm
   (POST /api/thumbnail to darkroom-host on one kept-alive connection; the host's
   `darkroom-host-instantiate-us` header, the component's `Server-Timing` stages, the
   rest of the client's round trip), with Pillow's whole call for scale.
2. Pooling off vs on (`--pooling`, Spin's default is on): instantiation, the thumbnail
   round trip, and requests/s of GET /healthz and of the thumbnail at 4 connections.
3. Thumbnail throughput, darkroom vs thumbor 7.8 (`--processes 2`, file loader, no
   storage), 1.5-3 MP and 12 MP JPEGs, 4 and 16 clients: requests/s,
   p50, p99 (tools/bench-thumb `load`, the same client for both).
4. The upload pipeline: darkroom's POST /api/images (store + thumbnail + vector + the
   auto preset, every body distinct; with and without the preset, on SQLite and on Redis)
   vs thumbor's upload (POST /image into its file storage) followed by
   GET /unsafe/fit-in/128x128/<id> (made, kept in its file result storage), one pair
   per request.

Throughput and uploads open a connection per request on both sides: thumbor's two
processes share kept-alive connections only as they are accepted, so four of them can
all land on one process (measured: 36.7 against 71.3 thumbor req/s at 12 MP in two runs).

Usage: python request_cost.py HOST_BIN BENCH_BIN SPIN_TOML WORKDIR
Environment: BENCH_REPS (default 31), BENCH_LOAD_SECS (10), BENCH_SKIP (comma list of:
             breakdown, pooling, throughput, upload), BENCH_JSON (write results),
             BENCH_REDIS_URL (a Redis for the upload row on Redis; request_cost.sh starts one).
"""

import http.client
import os
import statistics
import subprocess
import sys
import time
import urllib.request

os.environ.setdefault("BENCH_REPS", "31")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from thumbnail import (INSIDE, Host, check_thumb, log, photo, pillow_thumbnail,  # noqa: E402
                       stop_thumbor, thumbor_server, time_pillow, wait_http)
from thumbnail import load as thumbnail_load  # noqa: E402

REPS = int(os.environ["BENCH_REPS"])
LOAD_SECS = float(os.environ.get("BENCH_LOAD_SECS", "10"))
SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))
PHONE = [("1.5mp", 1416, 1062, "astronaut"), ("2mp", 1632, 1224, "coffee"), ("3mp", 2000, 1500, "chelsea")]
CAMERA = [("12mp", 4000, 3000, "coffee"), ("12mp", 4000, 3000, "chelsea")]
STAGES = ["settings", "read", "header", "decode", "resize", "encode", "placeholder"]
THUMB = "/api/thumbnail?size=128"


def photo_set(workdir, photos, prefix="cost-"):
    """JPEG q90 files made once from scikit-image's photos (bench/thumbnail.py's recipe)."""
    d = os.path.join(workdir, "inputs")
    os.makedirs(d, exist_ok=True)
    out = []
    for i, (name, w, h, source) in enumerate(photos):
        path = os.path.join(d, f"{prefix}{name}-{source}.jpg")
        if not os.path.exists(path):
            log(f"  generating {name} {source} ({w}x{h})")
            photo(w, h, source, 1 if prefix == "breakdown-" else 20 + i).save(path + ".tmp", format="JPEG", quality=90)
            os.replace(path + ".tmp", path)
        out.append(path)
    return out


def server_timing(value):
    """{'decode': µs, ...} from `decode;dur=1.234, ...` (milliseconds)."""
    out = {}
    for part in filter(None, (p.strip() for p in (value or "").split(","))):
        name, _, dur = part.partition(";dur=")
        out[name] = float(dur) * 1e3
    return out


def pillow_once(body):
    """Pillow's whole thumbnail (bench/thumbnail.py's recipe), in µs."""
    t = time.perf_counter()
    pillow_thumbnail(body)
    return (time.perf_counter() - t) * 1e6


def wasm_requests(host, path, reps, pillow=False):
    """Per-request dicts (µs): instantiate, the Server-Timing stages, total; with
    `pillow`, each request is paired with one Pillow call on the same bytes right before
    it, so both see the same moment of a noisy machine (`pillow` in the dict)."""
    body = open(path, "rb").read()
    conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=120)
    rows = []
    for i in range(reps + 3):  # three warm-ups
        pil = pillow_once(body) if pillow else None
        t = time.perf_counter()
        conn.request("POST", THUMB, body=body, headers={"Content-Type": "image/jpeg"})
        r = conn.getresponse()
        out = r.read()
        total = (time.perf_counter() - t) * 1e6
        if r.status != 200:
            raise SystemExit(f"POST {THUMB}: HTTP {r.status} {out[:200]!r}")
        if i < 3:
            check_thumb(out, "darkroom", path)
            continue
        row = server_timing(r.getheader("server-timing"))
        row["instantiate"] = float(r.getheader("darkroom-host-instantiate-us", "nan"))
        row["total"] = total
        if pil is not None:
            row["pillow"] = pil
        rows.append(row)
    conn.close()
    time.sleep(0.05)  # the host logs a request when its instance has finished
    inside = [float(m.group(2)) * 1e3 for line in host.log_lines() if (m := INSIDE.search(line))]
    for row, us in zip(rows, inside[-len(rows):] if len(inside) >= len(rows) else []):
        row["host"] = us
    return rows


def floor_us(host, reps):
    """The round trip of GET /healthz: instantiation plus HTTP, no image work."""
    conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=30)
    times = []
    for i in range(reps + 3):
        t = time.perf_counter()
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        r.read()
        if i >= 3:
            times.append((time.perf_counter() - t) * 1e6)
    conn.close()
    return statistics.median(times)


def med(rows, key):
    vals = [r[key] for r in rows if key in r]
    return statistics.median(vals) if vals else float("nan")


def native_stages(bench_bin, path):
    out = subprocess.run([bench_bin, "stages", str(REPS), path], check=True,
                         capture_output=True, text=True).stdout.split()
    return {k: float(v) for k, v in (kv.split("=") for kv in out[1:])}


def load(bench_bin, url, conc, files, *flags, keep_alive=True):
    """bench/thumbnail.py's `load` for this bench's LOAD_SECS, kept-alive by default."""
    alive = ["--keep-alive"] if keep_alive else []
    return thumbnail_load(bench_bin, url, conc, files, *alive, *flags, secs=LOAD_SECS)


def breakdown(host_bin, bench_bin, spin_toml, workdir, path):
    native = native_stages(bench_bin, path)
    time_pillow(path)  # checks Pillow's thumbnail once
    host = Host(host_bin, spin_toml, workdir, "cost", flags=("--pooling", "on"))
    try:
        rows = wasm_requests(host, path, REPS, pillow=True)
        floor = floor_us(host, REPS)
    finally:
        host.stop()
    wasm = {k: med(rows, k) for k in ["instantiate", *STAGES, "total"]}
    # What no stage covers, per request, then the median: the host's own time around the
    # guest (its log line: from the request's headers to the instance's end, so also the
    # store and WASI context, the response body's way out, the instance's teardown), and
    # the rest of the client's round trip (sending the body over loopback, the client).
    guest = [r["instantiate"] + sum(r.get(s, 0) for s in STAGES) for r in rows]
    wasm["host"] = statistics.median(r["host"] - g for r, g in zip(rows, guest))
    wasm["client"] = statistics.median(r["total"] - r["host"] for r in rows)
    pillow_us = med(rows, "pillow")
    paired = statistics.median(r["total"] / r["pillow"] for r in rows)
    names = {
        "instantiate": "instantiate the component (pooled)",
        "settings": "read Spin variables, parse the query",
        "read": "read the request body (1 buffer)",
        "header": "JPEG header, plan the decode",
        "decode": "decode (DCT-scaled)",
        "resize": "resize to 128 px",
        "encode": "JPEG encode q80",
        "placeholder": "BlurHash + dominant colour",
        "host": "host around the guest: HTTP, store set-up, response, teardown",
        "client": "client and loopback: the round trip less the host's time",
    }
    print(f"\n### Where one 2 MP thumbnail request goes: medians of {REPS} (µs)\n")
    print(f"Input: {os.path.basename(path)} ({os.path.getsize(path) / 1e6:.2f} MB), 128 px JPEG q80.\n")
    print("| stage | native | wasm | wasm / native |")
    print("|---|---:|---:|---:|")
    for k, label in names.items():
        n, w = native.get(k), wasm[k]
        if n is None and w != w:  # neither side has this stage
            continue
        ratio = f"{w / n:.2f}x" if n else ""
        print(f"| {label} | {'' if n is None else f'{n:.0f}'} | {w:.0f} | {ratio} |")
    print(f"| **total** (native: the call; wasm: the client's round trip) | {native['total']:.0f} | {wasm['total']:.0f} | {wasm['total'] / native['total']:.2f}x |")
    print(f"\nPillow's whole call (open, thumbnail, save; one before each wasm request): {pillow_us:.0f} µs. "
          f"darkroom wasm / Pillow, the median of the {REPS} pairs: **{paired:.2f}x** (of the medians "
          f"{wasm['total'] / pillow_us:.2f}x); native / Pillow {native['total'] / pillow_us:.2f}x. "
          f"Floor (GET /healthz round trip on the same connection): {floor:.0f} µs.")
    return {"native": native, "wasm": wasm, "pillow_us": pillow_us, "paired_ratio": paired, "floor_us": floor}


def pooling(host_bin, bench_bin, spin_toml, workdir, path):
    rows = {}
    for mode in ("off", "on"):
        host = Host(host_bin, spin_toml, workdir, f"pool-{mode}", flags=("--pooling", mode))
        try:
            reqs = wasm_requests(host, path, REPS)
            rows[mode] = {
                "instantiate": med(reqs, "instantiate"),
                "total": med(reqs, "total"),
                "floor": floor_us(host, REPS),
                "healthz": load(bench_bin, f"{host.base}/healthz", 4, [], "--get-url"),
                "thumb": load(bench_bin, host.base + THUMB, 4, [path]),
            }
        finally:
            host.stop()
    off, on = rows["off"], rows["on"]
    print(f"\n### Pooling allocator (Spin's default) off vs on, 2 MP thumbnail, medians of {REPS}\n")
    print("| measure | on-demand | pooling | pooling / on-demand |")
    print("|---|---:|---:|---:|")
    for label, a, b in [
        ("instantiate (µs)", off["instantiate"], on["instantiate"]),
        ("GET /healthz round trip (µs)", off["floor"], on["floor"]),
        ("thumbnail round trip (µs)", off["total"], on["total"]),
        ("GET /healthz requests/s, 4 connections", off["healthz"]["rps"], on["healthz"]["rps"]),
        ("thumbnail requests/s, 4 connections", off["thumb"]["rps"], on["thumb"]["rps"]),
        ("thumbnail p99 ms, 4 connections", off["thumb"]["p99"], on["thumb"]["p99"]),
    ]:
        print(f"| {label} | {a:.1f} | {b:.1f} | {b / a:.2f}x |")
    return rows


def throughput(host_bin, bench_bin, spin_toml, workdir, sets):
    results = []
    host = Host(host_bin, spin_toml, workdir, "throughput", flags=("--pooling", "on"))
    try:
        for label, files in sets:
            for conc in (4, 16):
                results.append((label, conc, "darkroom",
                                load(bench_bin, host.base + THUMB, conc, files, keep_alive=False)))
    finally:
        host.stop()
    for label, files in sets:
        p, base = thumbor_server(workdir, os.path.dirname(files[0]))
        try:
            url = f"{base}/unsafe/fit-in/128x128"
            first = os.path.basename(files[0])
            wait_http(f"{url}/{first}", p, "thumbor")
            with urllib.request.urlopen(f"{url}/{first}") as r:
                check_thumb(r.read(), "thumbor", first)
            for conc in (4, 16):
                results.append((label, conc, "thumbor",
                                load(bench_bin, url, conc, files, "--get", keep_alive=False)))
        finally:
            stop_thumbor(p)
    by = {(l, c, who): r for l, c, who, r in results}
    print(f"\n### Thumbnail throughput, darkroom (wasm, test host, pooling) vs thumbor 7.8 (2 processes), "
          f"{LOAD_SECS:.0f} s per row, a connection per request\n")
    print("| photos | connections | darkroom req/s | p50 ms | p99 ms | thumbor req/s | p50 ms | p99 ms | darkroom / thumbor |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, _ in sets:
        for conc in (4, 16):
            d, t = by[(label, conc, "darkroom")], by[(label, conc, "thumbor")]
            fails = "" if d["failed"] + t["failed"] == 0 else f" (failed: {d['failed']} / {t['failed']})"
            print(f"| {label} | {conc} | {d['rps']:.1f} | {d['p50']:.1f} | {d['p99']:.1f} | {t['rps']:.1f} | "
                  f"{t['p50']:.1f} | {t['p99']:.1f} | **{d['rps'] / t['rps']:.2f}x**{fails} |")
    return [dict(photos=l, conc=c, server=w, **r) for l, c, w, r in results]


def upload(host_bin, bench_bin, spin_toml, workdir, files):
    """darkroom as shipped (SQLite, the auto preset), without the auto preset, and both on
    Redis (BENCH_REDIS_URL: SpinKube's store) against thumbor with storage."""
    configs = [("as shipped: SQLite key-value, auto preset clarendon", (), ()),
               ("kv_inline_blobs=false (every blob in chunks), SQLite, auto preset", ("kv_inline_blobs=false",), ()),
               ("auto_presets=none, SQLite", ("auto_presets=none",), ()),
               ("auto_presets=none, kv_inline_blobs=false, SQLite", ("auto_presets=none", "kv_inline_blobs=false"), ())]
    redis = os.environ.get("BENCH_REDIS_URL")
    if redis:
        conf = os.path.join(workdir, "redis-runtime-config.toml")
        with open(conf, "w") as f:
            f.write(f'[key_value_store.default]\ntype = "redis"\nurl = "{redis}"\n')
        configs.append(("auto preset clarendon, Redis (SpinKube's store)", (),
                        ("--runtime-config-file", conf)))
        configs.append(("auto_presets=none, Redis (SpinKube's store)", ("auto_presets=none",),
                        ("--runtime-config-file", conf)))
    rows = []
    for label, variables, flags in configs:
        host = Host(host_bin, spin_toml, workdir, "upload", variables=variables,
                    flags=("--pooling", "on", *flags))
        try:
            rows.append((label, load(bench_bin, f"{host.base}/api/images", 4, files, "--distinct",
                                     keep_alive=False)))
        finally:
            host.stop()
    p, base = thumbor_server(workdir, os.path.dirname(files[0]), storage=True)
    try:
        wait_http(f"{base}/healthcheck", p, "thumbor")
        t = load(bench_bin, base, 4, files, "--thumbor-upload", keep_alive=False)
    finally:
        stop_thumbor(p)
    print(f"\n### Upload pipeline, 1.5-3 MP JPEGs, 4 clients, {LOAD_SECS:.0f} s, every body distinct\n")
    print("darkroom: `POST /api/images` (original stored, SHA-256 id, thumbnail and vector "
          "chained concurrently, the auto preset's variant; a blob under one value is one key "
          "unless kv_inline_blobs=false). thumbor 7.8: `POST /image` into its file "
          "storage, then `GET /unsafe/fit-in/128x128/<id>` kept by its file result storage, as one "
          "request.\n")
    print("| server | images/s | p50 ms | p99 ms | failed | / thumbor |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, d in rows:
        print(f"| darkroom, {label} | {d['rps']:.1f} | {d['p50']:.0f} | {d['p99']:.0f} | {d['failed']} | "
              f"**{d['rps'] / t['rps']:.2f}x** |")
    print(f"| thumbor 7.8, file storage + file result storage | {t['rps']:.1f} | {t['p50']:.0f} | "
          f"{t['p99']:.0f} | {t['failed']} | 1.00x |")
    return {"darkroom": dict(rows), "thumbor": t}


def main():
    host_bin, bench_bin, spin_toml, workdir = sys.argv[1:5]
    os.makedirs(workdir, exist_ok=True)
    # The same 2 MP photo as bench/thumbnail.sh's table and docs/performance.md's baseline.
    two_mp = photo_set(workdir, [("2mp", 1632, 1224, "astronaut")], prefix="breakdown-")[0]
    phone = photo_set(workdir, PHONE)
    camera = photo_set(workdir, CAMERA)
    results = {}
    if "breakdown" not in SKIP:
        log("breakdown")
        results["breakdown"] = breakdown(host_bin, bench_bin, spin_toml, workdir, two_mp)
    if "pooling" not in SKIP:
        log("pooling off vs on")
        results["pooling"] = pooling(host_bin, bench_bin, spin_toml, workdir, two_mp)
    if "throughput" not in SKIP:
        log("throughput vs thumbor")
        results["throughput"] = throughput(host_bin, bench_bin, spin_toml, workdir,
                                           [("1.5-3 MP", phone), ("12 MP", camera)])
    if "upload" not in SKIP:
        log("upload pipeline vs thumbor with storage")
        results["upload"] = upload(host_bin, bench_bin, spin_toml, workdir, phone)
    if os.environ.get("BENCH_JSON"):
        import json
        with open(os.environ["BENCH_JSON"], "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
