"""Top-10 similar search: the wasm `vectorize` component under the test host vs numpy.

Seeds a fresh test-host state directory per size straight through SQLite (the host's
`.spin/sqlite_key_value.db`, table `spin_key_value(store, key, value)`, as Spin's default
key-value store), then starts `darkroom-host` on it and times
`GET /api/images/{id}/similar?k=10` over HTTP. The seeded keys are what a real store
holds after uploads and a compaction: per image an original manifest (+ one chunk), a
thumbnail manifest (+ chunk), the loose vector (manifest + f32 LE chunk), the record and
the listing entry (8 keys); plus the vectors packed in `vseg/` segments of
16,384 rows, in exactly the layout `crates/store/src/segments/format.rs` describes:
int8 sketch records (`sketch.rs`), as compaction writes them, and, as the baseline
measured in the same run, f32 rows (the layout before sketches; the host then runs with
compaction off so they stay f32). numpy then runs the same search (`X @ q`,
`argpartition`) on the same matrix, and the results must agree.

Usage: python search.py HOST_BINARY SPIN_TOML WORKDIR [N ...]
"""

import hashlib
import json
import os
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import time
import urllib.request

import numpy as np

DIMS = 0  # vectors::DIMS, asked from the component at start-up (see probe_dims)
VERSION = 1  # vectors::FEATURE_VERSION, read from crates/vectors/src/extract.rs
REPS = int(os.environ.get("BENCH_REPS", "15"))
CHUNK = 1_000_000
SEGMENT_ROWS = 16_384
K = 10


def manifest(data: bytes, content_type: str) -> bytes:
    return json.dumps({
        "size": len(data),
        "chunks": (len(data) + CHUNK - 1) // CHUNK,
        "chunk_size": CHUNK,
        "content_type": content_type,
        "sha256": hashlib.sha256(data).hexdigest(),
    }).encode()


def blob(rows, prefix: str, data: bytes, content_type: str):
    """A chunked blob: `{prefix}/{n}` chunks and `{prefix}/m`."""
    for n in range(0, max(1, (len(data) + CHUNK - 1) // CHUNK)):
        rows.append((f"{prefix}/{n}", data[n * CHUNK:(n + 1) * CHUNK]))
    rows.append((f"{prefix}/m", manifest(data, content_type)))


def round_up_f32(x: np.ndarray) -> np.ndarray:
    """float64 -> the nearest float32 not below it."""
    y = x.astype(np.float32)
    low = y.astype(np.float64) < x
    y[low] = np.nextafter(y[low], np.float32(np.inf))
    return y


def sketches(matrix: np.ndarray) -> bytes:
    """Sketch records of `matrix`'s rows: scale, residual norm and norm of the
    reconstruction (f32, the norms rounded up), then int8 codes padded to 4 bytes."""
    x = matrix.astype(np.float64)
    scale = (np.abs(matrix).max(axis=1).astype(np.float64) / 127.0).astype(np.float32)
    safe = np.where(scale > 0, scale, 1).astype(np.float64)[:, None]
    codes = np.clip(np.round(x / safe), -127, 127)
    codes[scale == 0] = 0
    approx = scale.astype(np.float64)[:, None] * codes
    residual = round_up_f32(np.sqrt(((x - approx) ** 2).sum(axis=1)))
    norm = round_up_f32(np.sqrt((approx ** 2).sum(axis=1)))
    width = (DIMS + 3) // 4 * 4
    head = np.stack([scale, residual, norm], axis=1).astype("<f4").view(np.uint8)
    body = np.zeros((len(matrix), width), dtype=np.int8)
    body[:, :DIMS] = codes.astype(np.int8)
    return np.concatenate([head, body.view(np.uint8)], axis=1).tobytes()


def segment(ids: np.ndarray, matrix: np.ndarray, layout: str) -> bytes:
    magic, rows = {
        "sketch": (b"DRV8", lambda: sketches(matrix)),
        "f32": (b"DRVS", lambda: matrix.astype("<f4").tobytes()),
    }[layout]
    header = magic + struct.pack("<III", VERSION, DIMS, len(ids))
    return header + ids.tobytes() + rows()


def record_bytes() -> int:
    return 12 + (DIMS + 3) // 4 * 4


def seed_store(db: str, ids: np.ndarray, x: np.ndarray, layout: str):
    os.makedirs(os.path.dirname(db), exist_ok=True)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("""CREATE TABLE IF NOT EXISTS spin_key_value (
        store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
        PRIMARY KEY (store, key))""")
    vec_type = f"application/vnd.darkroom.vector+f32le; v={VERSION}"
    batch = []
    created = 1_700_000_000_000_000

    def flush():
        con.executemany("INSERT OR REPLACE INTO spin_key_value VALUES ('default', ?, ?)", batch)
        batch.clear()

    for i, raw in enumerate(ids):
        hid = raw.tobytes().hex()
        base = f"img/{hid}"
        original = hid.encode()  # stand-in bytes: the search never reads originals
        blob(batch, f"{base}/original", original, "image/jpeg")
        blob(batch, f"{base}/thumbnail", b"thumb", "image/jpeg")
        blob(batch, f"{base}/vector", x[i].astype("<f4").tobytes(), vec_type)
        record = {"id": hid, "format": "jpeg", "width": 640, "height": 480, "bytes": 1,
                  "created_micros": created + i, "vector": {"dims": DIMS, "phash": "0" * 16}}
        batch.append((f"{base}/meta", json.dumps(record).encode()))
        batch.append((f"idx/{(2**64 - 1) - (created + i):020}/{hid}", b""))
        if len(batch) > 20_000:
            flush()
    for lo in range(0, len(ids), SEGMENT_ROWS):
        data = segment(ids[lo:lo + SEGMENT_ROWS], x[lo:lo + SEGMENT_ROWS], layout)
        blob(batch, f"vseg/{hashlib.sha256(data).hexdigest()}", data, "application/vnd.darkroom.vseg")
        flush()
    flush()
    con.commit()
    con.close()


def tiny_png() -> bytes:
    """A 16x16 RGB gradient PNG, made without an imaging library."""
    import zlib
    raw = b"".join(b"\0" + b"".join(bytes((x * 16, y * 16, 128)) for x in range(16)) for y in range(16))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def start_host(host_bin: str, spin_toml: str, state: str, variables=()):
    port = free_port()
    flags = [arg for v in variables for arg in ("--variable", v)]
    host = subprocess.Popen(
        [host_bin, "--listen", f"127.0.0.1:{port}", "--state-dir", state,
         "--max-instance-memory", str(128 * 1024 * 1024), *flags, spin_toml],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).read()
            return host, base
        except OSError:
            time.sleep(0.1)
    host.kill()
    raise SystemExit("the test host did not start")


def probe_dims(host_bin: str, spin_toml: str, workdir: str) -> int:
    """The component's vector length: vectorise one tiny PNG."""
    state = os.path.join(workdir, "state-probe")
    subprocess.run(["rm", "-rf", state], check=True)
    host, base = start_host(host_bin, spin_toml, state)
    try:
        req = urllib.request.Request(base + "/api/vectorize", data=tiny_png(), method="POST")
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read())["dims"]
    finally:
        host.terminate()
        host.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str):
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as r:
        body = r.read()
        headers = dict(r.headers)
    return time.perf_counter() - t, json.loads(body), headers


def server_timing(headers) -> dict:
    out = {}
    for part in headers.get("server-timing", headers.get("Server-Timing", "")).split(","):
        name, _, dur = part.strip().partition(";dur=")
        if dur:
            out[name] = float(dur)
    return out


def numpy_top(x: np.ndarray, q: np.ndarray, self_row: int):
    scores = x @ q
    scores[self_row] = -np.inf
    top = np.argpartition(-scores, K)[:K]
    return top[np.argsort(-scores[top], kind="stable")], scores


def run(host_bin: str, spin_toml: str, workdir: str, n: int, layout: str, data) -> dict:
    ids, x, qrow = data
    state = os.path.join(workdir, f"state-{n}-{layout}")
    subprocess.run(["rm", "-rf", state], check=True)
    t = time.perf_counter()
    seed_store(os.path.join(state, ".spin", "sqlite_key_value.db"), ids, x, layout)
    print(f"  {layout}: seeded {n} vectors in {time.perf_counter() - t:.1f}s", file=sys.stderr)

    # f32 segments are rewritten as sketches by compaction: keep it off for the baseline.
    variables = ["vector_segment_min=1000000000"] if layout == "f32" else []
    host, base = start_host(host_bin, spin_toml, state, variables)
    try:
        qid = ids[qrow].tobytes().hex()
        url = f"{base}/api/images/{qid}/similar?k={K}"
        # The first search lists every key (no catalog yet) and leaves the catalog the
        # timed ones use; it is timed too, and checked against numpy.
        cold, body, headers = get(url)
        want, scores = numpy_top(x, x[qrow], qrow)
        got_ids = [r["id"] for r in body["results"]]
        want_ids = [ids[i].tobytes().hex() for i in want]
        got_scores = np.array([r["score"] for r in body["results"]])
        assert np.allclose(got_scores, scores[want], atol=1e-5), (got_scores, scores[want])
        assert set(got_ids) == set(want_ids) or np.allclose(np.sort(got_scores), np.sort(scores[want]), atol=1e-6), \
            "wasm and numpy disagree on the top-10"
        print(f"  top-10 agrees with numpy; first search {cold * 1e3:.1f} ms, "
              f"{headers.get('darkroom-search')}", file=sys.stderr)

        http, timing, peaks, views = [], {}, [], set()
        for _ in range(REPS):
            dt, again, headers = get(url)
            assert [r["id"] for r in again["results"]] == got_ids, "answers changed between runs"
            views.add(headers.get("darkroom-search", "").split(" ")[0])
            http.append(dt * 1e3)
            for name, ms in server_timing(headers).items():
                timing.setdefault(name, []).append(ms)
            peak = headers.get("darkroom-host-peak-memory")
            if peak:
                peaks.append(int(peak))
    finally:
        host.terminate()
        host.wait(timeout=30)
    print(f"  timed searches: {', '.join(sorted(views))}; {headers.get('darkroom-search')}",
          file=sys.stderr)
    subprocess.run(["rm", "-rf", state], check=True)

    q = x[qrow].copy()
    numpy_ms = []
    for _ in range(max(REPS, 30)):
        t = time.perf_counter()
        numpy_top(x, q, qrow)
        numpy_ms.append((time.perf_counter() - t) * 1e3)
    med = {name: statistics.median(v) for name, v in timing.items()}
    row_bytes = record_bytes() if layout == "sketch" else 4 * DIMS
    return {
        "n": n,
        "layout": layout,
        "cold": cold * 1e3,
        "http": statistics.median(http),
        "list": med.get("list", float("nan")),
        "read": med.get("read", float("nan")),
        "score": med.get("score", float("nan")),
        "rescore": med.get("rescore", 0.0),
        "numpy": statistics.median(numpy_ms),
        # What a search reads from the store: the segments (ids and rows).
        "mb": n * (32 + row_bytes) / 1e6,
        "peak_mib": max(peaks) / 2**20 if peaks else float("nan"),
    }


def main():
    global DIMS, VERSION
    host_bin, spin_toml, workdir = sys.argv[1:4]
    extract = os.path.join(os.path.dirname(spin_toml), "crates/vectors/src/extract.rs")
    for line in open(extract):
        if line.startswith("pub const FEATURE_VERSION: u32 ="):
            VERSION = int(line.split("=")[1].strip(" ;\n"))
    DIMS = probe_dims(host_bin, spin_toml, workdir)
    print(f"D = {DIMS}, feature version {VERSION}", file=sys.stderr)
    sizes = [int(s) for s in sys.argv[4:]] or [10_000, 100_000]
    rng = np.random.default_rng(int(os.environ.get("BENCH_SEED", "4")))
    layouts = os.environ.get("BENCH_LAYOUTS", "sketch f32").split()
    rows = []
    for n in sizes:
        print(f"n = {n}", file=sys.stderr)
        x = rng.standard_normal((n, DIMS), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        ids = np.frombuffer(rng.bytes(32 * n), dtype="S32").copy()
        order = np.argsort(ids)
        ids, x = ids[order], np.ascontiguousarray(x[order])
        ids = np.frombuffer(ids.tobytes(), dtype=np.uint8).reshape(n, 32)
        data = (ids, x, int(rng.integers(n)))
        for layout in layouts:
            rows.append(run(host_bin, spin_toml, workdir, n, layout, data))
    print(f"\ntop-{K} cosine search, D = {DIMS}, median of {REPS} (numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs)\n")
    print("| vectors | segment rows | first search, listing (ms) | wasm over HTTP (ms) "
          "| in guest: find / read / score / re-score (ms) | store reads "
          "| numpy X@q+argpartition (ms) | ratio HTTP/numpy | ratio score/numpy | guest peak memory |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['n']:,} | {r['layout']} | {r['cold']:.1f} | {r['http']:.1f} "
              f"| {r['list']:.1f} / {r['read']:.1f} / {r['score']:.1f} / {r['rescore']:.1f} "
              f"| {r['mb']:.1f} MB at {r['mb'] / r['read'] * 1e3:,.0f} MB/s "
              f"| {r['numpy']:.2f} | {r['http'] / r['numpy']:.1f}× "
              f"| {(r['score'] + r['rescore']) / r['numpy']:.2f}× | {r['peak_mib']:.0f} MiB |")


if __name__ == "__main__":
    main()
