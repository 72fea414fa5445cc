"""Contract fuzzing: schemathesis against the test host (target/release/darkroom-host on
spin.toml, a free loopback port, a fresh store), with docs/openapi.json.

The store is seeded first (three photos, a stored variant, a CSV and an NDJSON dataset,
a finished `aggregate` and `dedupe` job) and schemathesis draws path ids from those
(schemathesis.toml's dictionaries, written per run), so GETs reach real resources as
well as unknown ones. Checks: no 5xx, every status and content type documented, every
JSON body valid against its schema, documented headers valid, undocumented methods
405. It runs twice: on an open host, and on one with `api_token` and `url_signing_keys`
set (every write without the token 401, every unsigned read of stored bytes 403).
Bounded by examples per operation and by time (the auth run gets a third of it):
DARKROOM_CONTRACT_EXAMPLES (default 25), DARKROOM_CONTRACT_SECONDS (default 180: the
fuzzing phase repeats until the budget is spent, so this is about the run's length);
DARKROOM_CONTRACT_SEED sets the seed (default a fixed one, so CI repeats its cases;
`random` draws a new one, printed so a failure can be repeated).

Needs target/release/darkroom-host (`cargo test --release` builds it, as ./test.sh does)
and the components' wasm (`source scripts/lib.sh; build_components`).
"""

import json
import os
import pathlib
import random
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOST = ROOT / "target" / "release" / "darkroom-host"
DOCUMENT = ROOT / "docs" / "openapi.json"
PHOTOS = ROOT / "crates" / "imaging" / "tests" / "fixtures"
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "unsupported_method",
])
# The web component's operations, tested once spin.toml serves them.
WEB_OPERATIONS = ["webIndex", "webAsset", "openapiDocument"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
    """`(status, headers, body)` of one request; error statuses are answers, not raises."""
    request = urllib.request.Request(base + path, data=body, method=method)
    if content_type:
        request.add_header("content-type", content_type)
    # The seeding is the client that holds the token (ignored where none is set).
    request.add_header("authorization", f"Bearer {TOKEN}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def created(base: str, method: str, path: str, body: bytes, content_type: str) -> dict:
    status, _, answer = call(base, method, path, body, content_type)
    assert status in (200, 201), f"seeding {method} {path}: {status} {answer[:300]!r}"
    return json.loads(answer)


# The two deployments fuzzed: everything open (the default), and with `api_token` and
# `url_signing_keys` set, where schemathesis (which sends neither) must get the documented
# 401 on every write and 403 on every stored-bytes read. The second run is shorter.
TOKEN = "contract-" + "0123456789abcdef" * 2
# With the token set, the token is checked before the route: an undeclared write method
# without it is 401, not 405 (docs/auth.md), so that run leaves out `unsupported_method`.
DEPLOYMENTS = {
    "open": {"variables": [], "share": 1.0, "checks": CHECKS},
    "auth": {
        "variables": [f"api_token={TOKEN}", "url_signing_keys=k1:" + "ab" * 32],
        "share": 0.34,
        "checks": CHECKS.replace(",unsupported_method", ""),
    },
}


@pytest.fixture(scope="module", params=list(DEPLOYMENTS))
def host(request, tmp_path_factory):
    if not HOST.exists():
        pytest.fail(f"{HOST.relative_to(ROOT)} is missing: `cargo test --release --no-run` builds it")
    deployment = DEPLOYMENTS[request.param]
    work = tmp_path_factory.mktemp(f"contract-{request.param}")
    port = free_port()
    log = open(work / "host.log", "wb")
    variables = [arg for v in deployment["variables"] for arg in ("--variable", v)]
    process = subprocess.Popen(
        [HOST, "--listen", f"127.0.0.1:{port}", "--state-dir", work / "state", *variables, "spin.toml"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if call(base, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the host did not start: {(work / 'host.log').read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        yield base, work, request.param
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def seed(base: str) -> dict[str, list[str]]:
    """Real resources for the fuzzer to reach: their ids by kind."""
    photos = ["baseline-420.jpg", "baseline-444.jpg", "progressive-grey.jpg"]
    images = [created(base, "POST", "/api/images", (PHOTOS / p).read_bytes(), "image/jpeg")["id"] for p in photos]
    created(base, "POST", f"/api/images/{images[0]}/variants", b'{"preset": "moon"}', "application/json")
    csv = b"merchant,amount,qty\nacme,1.50,2\nbeta,2.25,1\nacme,3,4\n\"Caf\xc3\xa9, Inc.\",0.10,9\n"
    ndjson = b'{"merchant": "acme", "amount": 1.5}\n{"merchant": "beta", "amount": 2}\n'
    datasets = [
        created(base, "POST", "/api/datasets", csv, "text/csv")["id"],
        created(base, "POST", "/api/datasets", ndjson, "application/x-ndjson")["id"],
    ]
    aggregate = {
        "task": "aggregate",
        "input": {"dataset": datasets[0]},
        "params": {"group_by": ["merchant"], "values": {"amount": ["sum", "count", "mean"]}},
    }
    dedupe = {"task": "dedupe", "input": {"images": "all"}, "params": {"threshold": 0.9}}
    jobs = [created(base, "POST", "/api/jobs", json.dumps(job).encode(), "application/json")["id"] for job in (aggregate, dedupe)]
    return {
        "images": images,
        "datasets": datasets,
        "jobs": jobs,
        "variants": ["clarendon", "moon"],
        "units": ["m0", "r0"],
    }


def toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def config(seeded: dict[str, list[str]]) -> str:
    """schemathesis.toml: the seeded ids as dictionaries, drawn for path parameters half of
    the time (the rest are generated: unknown ids, bad ids). DELETEs draw none (though
    schemathesis may reuse an id it saw in a listing)."""
    lines = []
    for name, values in seeded.items():
        lines += [f"[dictionaries.{name}]", f"values = {toml_list(values)}", ""]
    bindings = [
        (r"^(GET|POST) /(api/)?images/\{id\}", {"path.id": "images", "path.name": "variants"}),
        (r"^(GET|POST) /(api/)?datasets/\{id\}", {"path.id": "datasets"}),
        (r"^(GET|POST) /api/jobs/\{id\}", {"path.id": "jobs", "path.unit": "units"}),
    ]
    for regex, parameters in bindings:
        lines += ["[[operations]]", f"include-name-regex = {json.dumps(regex)}"]
        table = ", ".join(f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}' for key, name in parameters.items())
        lines += [f"parameters = {{ {table} }}", ""]
    # Job requests name a seeded dataset or image half of the time.
    lines += [
        "[[operations]]",
        'include-operation-id = "createJob"',
        'parameters = { "body.input.dataset" = { dictionary = "datasets", probability = 0.5 } }',
        "",
        "[[operations]]",
        'include-operation-id = "vectorBatch"',
        'parameters = { "body.ids[*]" = { dictionary = "images", probability = 0.5 } }',
        "",
    ]
    # The steps' JSON form (`{"id"}`, what upload sends) names a seeded image half of the time.
    for operation in ("thumbnailStep", "vectorizeStep", "filterStep"):
        lines += [
            "[[operations]]",
            f'include-operation-id = "{operation}"',
            'parameters = { "body.id" = { dictionary = "images", probability = 0.5 } }',
            "",
        ]
    return "\n".join(lines)


def has_web() -> bool:
    manifest = tomllib.loads((ROOT / "spin.toml").read_text(encoding="utf-8"))
    return "web" in manifest.get("component", {})


def test_schemathesis_finds_no_mismatch(host):
    base, work, deployment = host
    seeded = seed(base)
    (work / "schemathesis.toml").write_text(config(seeded), encoding="utf-8")
    examples = os.environ.get("DARKROOM_CONTRACT_EXAMPLES", "25")
    total = float(os.environ.get("DARKROOM_CONTRACT_SECONDS", "180"))
    seconds = str(max(10, round(total * DEPLOYMENTS[deployment]["share"])))
    # A fixed seed by default, so CI repeats the same cases; `random` explores new ones.
    run_seed = os.environ.get("DARKROOM_CONTRACT_SEED") or "20261207"
    if run_seed == "random":
        run_seed = str(random.randrange(2**31))
    st = pathlib.Path(sys.executable).with_name("st")
    command = [
        st, "--config-file", work / "schemathesis.toml", "run", DOCUMENT,
        "--url", base,
        "--checks", DEPLOYMENTS[deployment]["checks"],
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", examples,
        "--max-time", seconds,
        "--seed", run_seed,
        "--workers", "1",  # 2 threads hit a CPython 3.11 ast.parse race in hypothesis
        "--request-timeout", "30",
        "--suppress-health-check", "all",
        "--report", "junit",
        "--report-dir", work / "report",
    ]
    if not has_web():
        for operation in WEB_OPERATIONS:
            command += ["--exclude-operation-id", operation]
    print(f"{deployment}: schemathesis seed {run_seed} (DARKROOM_CONTRACT_SEED={run_seed} repeats it)")
    # hooks.py: the tus PATCH body's media type (raw bytes).
    env = dict(os.environ, SCHEMATHESIS_HOOKS="hooks", PYTHONPATH=str(pathlib.Path(__file__).parent))
    done = subprocess.run([str(c) for c in command], cwd=work, capture_output=True, text=True, env=env)
    print(done.stdout[-20000:])
    print(done.stderr[-5000:])
    host_log = (work / "host.log").read_text(errors="replace")
    if done.returncode != 0:
        print("--- host log (tail) ---")
        print(host_log[-5000:])
    assert done.returncode == 0, f"schemathesis failed on the {deployment} host (seed {run_seed}); its report is above"
    # The run reached seeded resources and finished its phases.
    assert "Test cases:" in done.stdout
