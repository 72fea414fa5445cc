"""docs/openapi.json against its source, the OpenAPI 3.1 specification and the Spin
manifests: the document lists exactly the routes spin.toml (and spin.no-chaining.toml)
serve, each error answer is RFC 9457 problem+json, and the JSON is the YAML's output."""

import json
import pathlib
import re
import subprocess
import sys
import tomllib

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "openapi.json"
MANIFESTS = ["spin.toml", "spin.no-chaining.toml"]

# Spin's trailing wildcard `/prefix/...` matches any path under the prefix; the document
# lists the concrete paths each one serves. A wildcard route missing here fails the
# parity test, so a new one is mapped on purpose, never guessed.
WILDCARDS = {
    "/images/...": {"/images/{id}", "/images/{id}/thumbnail"},
    "/api/datasets/...": {"/api/datasets/{id}", "/api/datasets/chunks/{upload}"},
    "/datasets/...": {"/datasets/{id}"},
    "/api/jobs/...": {
        "/api/jobs/{id}",
        "/api/jobs/{id}/run",
        "/api/jobs/{id}/cancel",
        "/api/jobs/{id}/result",
        "/api/jobs/{id}/units/{unit}",
    },
    "/assets/...": {"/assets/{file}"},
    "/api/uploads/...": {"/api/uploads/{uid}"},
}

# The web component's routes (issue 14: the UI and this document).
WEB_COMPONENT = "web"
WEB_PATHS = {"/", "/assets/{file}", "/api/openapi.json"}

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def document() -> dict:
    return json.loads(DOCUMENT.read_text(encoding="utf-8"))


def manifest(name: str) -> dict:
    return tomllib.loads((ROOT / name).read_text(encoding="utf-8"))


def openapi_paths(route: str) -> set[str]:
    """The OpenAPI paths a Spin route serves: `:name` is `{name}`, wildcards per WILDCARDS."""
    if route.endswith("/..."):
        if route not in WILDCARDS:
            pytest.fail(f"wildcard route {route!r} is not mapped to concrete paths in WILDCARDS")
        return WILDCARDS[route]
    return {re.sub(r":([A-Za-z_][A-Za-z0-9_]*)", r"{\1}", route)}


def served_paths(name: str) -> dict[str, str]:
    """Each OpenAPI path the manifest serves, with its component."""
    paths = {}
    for trigger in manifest(name)["trigger"]["http"]:
        for path in openapi_paths(trigger["route"]):
            paths[path] = trigger["component"]
    return paths


def has_web(name: str) -> bool:
    return WEB_COMPONENT in manifest(name).get("component", {})


def test_json_is_the_yaml_output():
    build = ROOT / "tests" / "contract" / "build_openapi.py"
    done = subprocess.run([sys.executable, build, "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_valid_openapi_3_1():
    spec, base_uri = read_from_filename(str(DOCUMENT))
    assert spec["openapi"].startswith("3.1.")
    validate(spec, base_uri=base_uri)


@pytest.mark.parametrize("name", MANIFESTS)
def test_every_route_is_documented(name):
    served = served_paths(name)
    missing = sorted(set(served) - set(document()["paths"]))
    assert not missing, f"{name} serves paths the document lacks: {missing}"


@pytest.mark.parametrize("name", MANIFESTS)
def test_every_documented_path_is_served(name):
    documented = set(document()["paths"])
    allowed = set(served_paths(name))
    extra = sorted(documented - allowed)
    assert not extra, f"the document lists paths {name} does not serve: {extra}"


@pytest.mark.parametrize("name", MANIFESTS)
def test_web_routes(name):
    assert has_web(name), f"{name} has no `{WEB_COMPONENT}` component"
    served = served_paths(name)
    for path in WEB_PATHS:
        assert served.get(path) == WEB_COMPONENT, f"{path} in {name}"


def test_parity_catches_a_missing_and_an_extra_route(tmp_path, monkeypatch):
    """The parity checks fail both ways on a manifest that differs by one route."""
    text = (ROOT / "spin.toml").read_text(encoding="utf-8")
    changed = text.replace('route = "/healthz"', 'route = "/api/health"')
    assert changed != text
    (tmp_path / "spin.toml").write_text(changed, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    served = served_paths("spin.toml")
    assert "/api/health" in set(served) - set(document()["paths"])
    assert "/healthz" not in served
    with pytest.raises(pytest.fail.Exception):
        openapi_paths("/api/new/...")


def operations():
    for path, item in document()["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def deref(doc: dict, node: dict) -> dict:
    """`node` with its `$ref` (a local JSON pointer) followed."""
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def test_errors_are_problem_json():
    doc = document()
    for path, method, op in operations():
        for status, response in op["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            content = deref(doc, response).get("content", {})
            assert list(content) == ["application/problem+json"], f"{method} {path} {status}"
            schema = content["application/problem+json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, f"{method} {path} {status}"


def test_operations_are_named_and_writes_may_need_the_token():
    doc = document()
    ids = [op["operationId"] for _, _, op in operations()]
    assert len(ids) == len(set(ids)), "operationIds are unique"
    for path, method, op in operations():
        if method in {"get", "head", "options"} or op.get("security") == []:
            continue
        # Writes fall under the document's optional bearer token and say so in 401/403.
        assert {"401", "403"} <= set(op["responses"]), f"{method} {path}"
    assert doc["security"] == [{}, {"apiToken": []}]


def test_every_status_the_api_maps_is_documented_somewhere():
    """Each problem status ApiError can answer (crates/api/src/error.rs) appears in the
    document, but 429 and 500, which no route produces on purpose, and 405, which answers
    methods a path does not list (components.responses.MethodNotAllowed)."""
    source = (ROOT / "crates" / "api" / "src" / "error.rs").read_text(encoding="utf-8")
    statuses = set(re.findall(r"ApiError::\w+(?:\(_\)| \{ \.\. \}) => (\d{3}),", source))
    assert {"400", "404", "413", "416", "503"} <= statuses, statuses
    documented = {status for _, _, op in operations() for status in op["responses"]}
    missing = statuses - {"405", "429", "500"} - documented
    assert not missing, missing
    assert "MethodNotAllowed" in document()["components"]["responses"]
