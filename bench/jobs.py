"""Jobs benchmark (issue 11): darkroom's batch jobs (wasm under the test host, over HTTP)
vs pandas, DuckDB and a Pillow process pool doing the same work, in one run.

1. aggregate: a sales CSV (BENCH_ROWS rows, default 1,000,000) byte for byte the one
   the e2e suite generates (crates/jobs/src/testkit.rs: the same LCG, seed 2026, the same
   seven merchants with commas, quotes and non-ASCII, amounts with two decimals). Timed:
   - darkroom: POST /api/datasets (the bytes) + POST /api/jobs `aggregate` sum by merchant,
     driven to the end (`/run` while it answers 202) + GET the result;
   - pandas:   read_csv(path) + groupby("merchant")["amount"].sum()  (float64, as people
     write it; pandas sums groups with Kahan compensation);
   - DuckDB:   SELECT merchant, sum(amount) FROM read_csv(path, amount DECIMAL(18,2))
     GROUP BY merchant  (exact decimals, like darkroom; DuckDB uses every core).
   Median of BENCH_REPS (default 5), the three taking turns rep by rep. Each rep reads
   its own copy of the file (the last order id differs), so each darkroom upload is a
   first upload of its bytes; an upload of bytes already stored (answered 200, its chunks
   removed again) is timed apart and not in the total. The per-merchant totals of all
   three are checked
   against the generator's own integer-cent totals, cent for cent.
2. variant: a `variant` job ({"preset": "clarendon"}) over BENCH_PHOTOS photos (default
   1,000; 1600x1200 JPEGs) in images per second, vs multiprocessing.Pool(2) running the
   same work with Pillow (see `clarendon` below). The photos are cut into BENCH_REPS
   groups, a job per group, the two taking turns group by group (`bench_variant`). "n/a" when the server has no image tasks
   (the task catalog does not list `variant`, or the job is refused with 400/422).

Usage: python jobs.py HOST_BIN SPIN_TOML WORKDIR
Environment: BENCH_ROWS, BENCH_PHOTOS, BENCH_REPS, BENCH_SHARD_ROWS and BENCH_JOB_CONC (the
             jobs' shard_size and concurrency; default: the server's), BENCH_SKIP (comma
             list of: aggregate, variant).
"""

import http.client
import io
import json
import multiprocessing
import multiprocessing.pool
import os
import statistics
import sys
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(__file__))
from thumbnail import Host, log  # noqa: E402  (same host handling)

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
PHOTOS = int(os.environ.get("BENCH_PHOTOS", "1000"))
REPS = int(os.environ.get("BENCH_REPS", "5"))
# Empty: the server's defaults (default_shard_rows 100,000, default_concurrency 4).
SHARD_ROWS = os.environ.get("BENCH_SHARD_ROWS", "")
JOB_CONC = os.environ.get("BENCH_JOB_CONC", "")


def tuning():
    """The job's shard_size and concurrency when set in the environment."""
    return {**({"shard_size": int(SHARD_ROWS)} if SHARD_ROWS else {}),
            **({"concurrency": int(JOB_CONC)} if JOB_CONC else {})}
SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))

# crates/jobs/src/testkit.rs: MERCHANTS, Lcg, sales(), sales_csv().
MERCHANTS = ["Acme, Inc.", "Café \"Zoë\"", "北京烤鸭", "plain", "O'Brien & Sons",
             "Ünïcödé, \"quoted\", comma", "z"]
MASK = (1 << 64) - 1


def sales_csv(rows: int, seed: int):
    """The CSV bytes and the exact totals {merchant: cents}."""
    state = seed
    totals = {m: 0 for m in MERCHANTS}
    out = ["order_id,merchant,amount\n"]
    quoted = {m: ('"' + m.replace('"', '""') + '"') if any(c in m for c in ',"\n') else m for m in MERCHANTS}
    for i in range(rows):
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK
        m = MERCHANTS[(state >> 33) % len(MERCHANTS)]
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK
        cents = (state >> 33) % 2_000_000 - 100_000
        totals[m] += cents
        sign = "-" if cents < 0 else ""
        out.append(f"{i},{quoted[m]},{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}\n")
    return "".join(out).encode(), totals


class Api:
    def __init__(self, port):
        self.port = port

    def call(self, method, path, body=None, ctype="application/json"):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3600)
        headers = {"Content-Type": ctype} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, data

    def json(self, method, path, body=None, ctype="application/json", ok=(200, 201, 202)):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        status, data = self.call(method, path, body, ctype)
        if status not in ok:
            raise SystemExit(f"{method} {path} -> {status}: {data[:300]!r}")
        return status, json.loads(data)

    def run_to_end(self, status, job):
        """Drives a created job with /run until it is no longer 202."""
        runs = 0
        while status == 202:
            runs += 1
            status, job = self.json("POST", f"/api/jobs/{job['id']}/run", {})
        if job["state"] != "succeeded":
            raise SystemExit(f"job {job['id']} ended {job['state']}: {job.get('errors')}")
        return job, runs


def cents(value) -> int:
    d = Decimal(str(value))
    assert d == d.quantize(Decimal("0.01")), value
    return int(d * 100)


def bench_aggregate(host, workdir):
    log(f"  generating {ROWS:,} sales rows")
    csv, want = sales_csv(ROWS, 2026)

    def copy(k):
        """The file with `k` appended to its last order id: the same rows and totals in
        bytes of their own, so each timed upload is a first upload, as a user's is (an
        upload of bytes already stored is timed apart, below)."""
        start = csv.rindex(b"\n", 0, len(csv) - 1) + 1
        comma = csv.index(b",", start)
        body = csv[:comma] + str(k).encode() + csv[comma:]
        path = os.path.join(workdir, f"sales-{ROWS}-{k}.csv")
        if not os.path.exists(path) or open(path, "rb").read() != body:
            with open(path + ".tmp", "wb") as f:
                f.write(body)
            os.replace(path + ".tmp", path)
        return path

    paths = [copy(k) for k in range(REPS + 1)]  # the first for the warm-up
    api = Api(host.port)
    params = {"group_by": ["merchant"], "values": {"amount": ["sum"]}}

    def darkroom(path):
        with open(path, "rb") as f:
            body = f.read()
        t = time.perf_counter()
        _, ds = api.json("POST", "/api/datasets", body, "text/csv")
        t_up = time.perf_counter() - t
        status, job = api.json("POST", "/api/jobs", {"task": "aggregate", "input": {"dataset": ds["id"]},
                                                      "params": params, **tuning()})
        job, runs = api.run_to_end(status, job)
        _, result = api.json("GET", job["result"])
        total = time.perf_counter() - t
        return total, t_up, runs, {g["key"]["merchant"]: cents(g["amount"]["sum"]) for g in result["groups"]}

    def duplicate_upload(path):
        with open(path, "rb") as f:
            body = f.read()
        t = time.perf_counter()
        status, _ = api.call("POST", "/api/datasets", body, "text/csv")
        assert status == 200, status  # the dataset exists already
        return time.perf_counter() - t

    def pandas(path):
        import pandas as pd
        t = time.perf_counter()
        sums = pd.read_csv(path).groupby("merchant")["amount"].sum()
        dt = time.perf_counter() - t
        return dt, {m: int(round(v * 100)) for m, v in sums.items()}

    def duckdb(path):
        import duckdb
        con = duckdb.connect()
        t = time.perf_counter()
        rows = con.execute(
            "SELECT merchant, sum(amount) FROM read_csv(?, header = true, "
            "columns = {'order_id': 'BIGINT', 'merchant': 'VARCHAR', 'amount': 'DECIMAL(18,2)'}) "
            "GROUP BY merchant", [path]).fetchall()
        dt = time.perf_counter() - t
        con.close()
        return dt, {m: cents(v) for m, v in rows}

    log("  darkroom, pandas and DuckDB, one rep of each in turn")
    darkroom(paths[0])  # warm-up: the first instantiation of each component
    pandas(paths[0])  # warm-up: the imports
    duckdb(paths[0])
    # In turn, so each rep's three see the same moment of a machine whose speed wanders
    # (pandas alone took 0.15-0.25 s across runs); the ratio reported is the median of
    # the reps' own ratios.
    runs, pd_runs, dk_runs = [], [], []
    for path in paths[1:]:
        runs.append(darkroom(path))
        pd_runs.append(pandas(path))
        dk_runs.append(duckdb(path))
    dup = statistics.median(duplicate_upload(path) for path in paths[1:])
    paired = statistics.median(r[0] / p[0] for r, p in zip(runs, pd_runs))
    dr = statistics.median(r[0] for r in runs)
    up = statistics.median(r[1] for r in runs)
    pd_t = statistics.median(r[0] for r in pd_runs)
    dk_t = statistics.median(r[0] for r in dk_runs)
    agree = all(r[3] == want for r in runs) and all(r[1] == want for r in pd_runs) and all(r[1] == want for r in dk_runs)
    return {"bytes": len(csv), "darkroom": dr, "paired": paired, "upload": up, "duplicate_upload": dup, "extra_runs": runs[-1][2],
            "pandas": pd_t, "duckdb": dk_t, "agree": agree,
            "totals": {"generator": want, "darkroom": runs[-1][3], "pandas": pd_runs[-1][1], "duckdb": dk_runs[-1][1]}}


# --- variant ---------------------------------------------------------------------------

def clarendon_open(src):
    """Open, EXIF transpose, RGB, fit inside 2048 px (darkroom's variant_size)."""
    from PIL import Image, ImageOps
    im = ImageOps.exif_transpose(Image.open(src)).convert("RGB")
    im.thumbnail((2048, 2048))
    return im


def clarendon_filter(im):
    """CSSgram's Clarendon as darkroom's built-in preset (crates/render/src/presets.rs)
    defines it: contrast 1.2 and saturate 1.35 as CSS Filter Effects mean them, then a
    (127,187,227) overlay-blend layer at 20 %."""
    from PIL import Image, ImageChops, ImageEnhance
    im = im.point([max(0, min(255, round((v - 127.5) * 1.2 + 127.5))) for v in range(256)] * 3)
    im = ImageEnhance.Color(im).enhance(1.35)
    layer = Image.new("RGB", im.size, (127, 187, 227))
    return Image.blend(im, ImageChops.overlay(im, layer), 0.2)


def clarendon(src_dst):
    """The seed's Pillow pipeline with CSSgram's Clarendon: open and fit
    (`clarendon_open`), the preset (`clarendon_filter`), JPEG quality 80 to disk."""
    src, dst = src_dst
    clarendon_filter(clarendon_open(src)).save(dst, "JPEG", quality=80)
    return os.path.getsize(dst)


def clarendon_stages(path, reps):
    """Median µs of `clarendon`'s steps on one file, named as variant_stages names them:
    decode (from the bytes in memory), preset, encode_jpeg (quality 80, to memory)."""
    data = open(path, "rb").read()

    def timed(f):
        f()
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            f()
            times.append((time.perf_counter() - t) * 1e6)
        return statistics.median(times)

    def decode():
        im = clarendon_open(io.BytesIO(data))
        im.load()
        return im

    im = decode()
    out = clarendon_filter(im)
    return {"decode": timed(decode), "preset": timed(lambda: clarendon_filter(im)),
            "encode_jpeg": timed(lambda: out.save(io.BytesIO(), "JPEG", quality=80))}


def make_photos(workdir, n):
    """n distinct 1600x1200 JPEGs: three generated photos, each copy marked with its index."""
    from PIL import ImageDraw
    from thumbnail import photo
    d = os.path.join(workdir, "job-photos")
    os.makedirs(d, exist_ok=True)
    paths = [os.path.join(d, f"p{i:05d}.jpg") for i in range(n)]
    missing = [i for i, p in enumerate(paths) if not os.path.exists(p)]
    if missing:
        log(f"  generating {len(missing)} photos")
        bases = [photo(1600, 1200, s, 40 + k) for k, s in enumerate(["astronaut", "coffee", "chelsea"])]
        for i in missing:
            im = bases[i % 3].copy()
            ImageDraw.Draw(im).text((20 + i % 50, 20), f"{i:05d}", fill=(255, 255, 255))
            im.save(paths[i] + ".tmp", "JPEG", quality=90)
            os.replace(paths[i] + ".tmp", paths[i])
    return paths


def bench_variant(host, workdir):
    """The photos are cut into BENCH_REPS groups; for each, a darkroom job over that
    group's ids and the Pillow pool over its files take turns (who goes first alternates),
    so both see the same spell of the machine: the ratio is the median of the groups' own
    ratios. Pillow's rate alone moved between 34 and 51 images/s from one run to the next."""
    api = Api(host.port)
    _, tasks = api.json("GET", "/api/tasks")
    available = any(t.get("name") == "variant" for t in tasks.get("tasks", []))
    paths = make_photos(workdir, PHOTOS)
    result = {"n": len(paths), "darkroom": None, "pillow": 0.0, "paired": None}
    reps = max(1, min(REPS, len(paths)))
    groups = [list(range(len(paths)))[k::reps] for k in range(reps)]
    out = os.path.join(workdir, "job-photos-out")
    os.makedirs(out, exist_ok=True)
    ids = []
    if available:
        log(f"  uploading {len(paths)} photos")
        with multiprocessing.pool.ThreadPool(2) as pool:
            ids = pool.map(lambda p: api.json("POST", "/api/images", open(p, "rb").read(),
                                              "image/jpeg")[1]["id"], paths)

    def darkroom(group):
        t = time.perf_counter()
        status, data = api.call("POST", "/api/jobs", json.dumps({
            "task": "variant", "input": {"images": [ids[i] for i in group]},
            "params": {"preset": "clarendon"}, **tuning()}).encode())
        if status in (400, 422):
            log(f"  variant job refused ({status}): {data[:200]!r}")
            return None
        if status not in (200, 202):
            raise SystemExit(f"POST /api/jobs (variant) -> {status}: {data[:300]!r}")
        job, _ = api.run_to_end(status, json.loads(data))
        took = time.perf_counter() - t
        if job["items"].get("succeeded") != len(group):
            raise SystemExit(f"the variant job made {job['items']} of {len(group)} images")
        return took

    ratios = []
    with multiprocessing.Pool(2) as pool:
        def pillow(group):
            work = [(paths[i], os.path.join(out, os.path.basename(paths[i]))) for i in group]
            t = time.perf_counter()
            pool.map(clarendon, work, chunksize=8)
            return time.perf_counter() - t

        for k, group in enumerate(groups):
            log(f"  group {k + 1}/{reps}: {len(group)} photos, darkroom job and Pillow Pool(2)")
            first_pillow = k % 2 == 1
            p = pillow(group) if first_pillow else None
            d = darkroom(group) if available else None
            if not first_pillow:
                p = pillow(group)
            result["pillow"] += p
            log(f"    Pillow {len(group) / p:.1f} images/s" + (f", darkroom {len(group) / d:.1f}" if d else ""))
            if d is not None:
                result["darkroom"] = (result["darkroom"] or 0.0) + d
                ratios.append(p / d)
            else:
                available = False
    if ratios and available:
        result["paired"] = statistics.median(ratios)
    else:
        result["darkroom"] = None
    return result


def main():
    host_bin, spin_toml, workdir = sys.argv[1:4]
    os.makedirs(workdir, exist_ok=True)
    agg = var = None
    # No auto presets: uploads must not store the clarendon variant the job is timed making.
    host = Host(host_bin, spin_toml, workdir, "jobs", ["auto_presets=none"])
    try:
        if "aggregate" not in SKIP:
            agg = bench_aggregate(host, workdir)
        if "variant" not in SKIP:
            var = bench_variant(host, workdir)
    finally:
        host.stop()

    cores = os.cpu_count()
    if agg:
        print(f"\naggregate: sum of amount by merchant over {ROWS:,} rows ({agg['bytes'] / 1e6:.1f} MB CSV), "
              f"median of {REPS}; {cores} cores. darkroom: wasm components under the test host over HTTP, "
              f"from upload to result, shards of {SHARD_ROWS or 'the default 100,000'} rows, "
              f"{JOB_CONC or 'the default 4'} at a time.\n")
        print("| system | seconds | rows/s | vs pandas |")
        print("|---|---:|---:|---:|")
        for name, t in [("darkroom (upload + job + result)", agg["darkroom"]),
                        ("  of which the dataset upload", agg["upload"]),
                        ("  (an upload of bytes already stored, not in the total)", agg["duplicate_upload"]),
                        ("pandas read_csv + groupby().sum()", agg["pandas"]),
                        ("DuckDB read_csv + GROUP BY (DECIMAL)", agg["duckdb"])]:
            print(f"| {name} | {t:.2f} | {ROWS / t:,.0f} | {t / agg['pandas']:.2f}x |")
        print(f"\ndarkroom / pandas, the median of the {REPS} reps' own ratios: **{agg['paired']:.2f}x**. "
              f"darkroom / DuckDB: {agg['darkroom'] / agg['duckdb']:.2f}x. "
              f"Totals of {len(MERCHANTS)} merchants, darkroom = pandas = DuckDB = the generator's integer cents: "
              f"{'yes, cent for cent' if agg['agree'] else 'NO'}")
        if not agg["agree"]:
            for who, totals in agg["totals"].items():
                print(f"  {who}: {totals}")
    if var:
        n = var["n"]
        pil = n / var["pillow"]
        print(f"\nvariant (preset clarendon) over {n:,} photos of 1600x1200, JPEG q80 out.\n")
        print("| system | seconds | images/s | darkroom / Pillow |")
        print("|---|---:|---:|---:|")
        if var["darkroom"] is None:
            print("| darkroom variant job | n/a (image tasks not available) | n/a | n/a |")
        else:
            dr = n / var["darkroom"]
            print(f"| darkroom variant job | {var['darkroom']:.2f} | {dr:.1f} | {dr / pil:.2f}x |")
        print(f"| Pillow, multiprocessing.Pool(2) | {var['pillow']:.2f} | {pil:.1f} | |")
        if var["paired"] is not None:
            print(f"\ndarkroom / Pillow in images per second, the median of the {REPS} groups' own "
                  f"ratios (each group: a job over its ids, the pool over its files, in turns): "
                  f"**{var['paired']:.2f}x**")
    if agg and not agg["agree"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
