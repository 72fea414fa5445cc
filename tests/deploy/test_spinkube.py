"""deploy/spinkube/ validates before it reaches a cluster.

- The SpinApp against the `openAPIV3Schema` of spin-operator v0.6.1's CRD
  (`../shared/spinkube/core.spinkube.dev_spinapps.yaml` beside the repository; skipped,
  saying so, when it is not there), with `jsonschema`. Unknown fields are errors, as
  with `kubectl apply --validate=strict`: every object schema that lists its properties
  and does not preserve unknown fields gets `additionalProperties: false`.
- Deployment, Service, PersistentVolumeClaim, Secret and HorizontalPodAutoscaler
  against Kubernetes' own schemas in strict mode, with `kubernetes-validate` (the
  schemas of the Kubernetes release it ships, see KUBERNETES_VERSION).
- The wiring: the Secrets, keys, Service, port and Spin variables the manifests name
  exist, and the runtime config is the Redis one the test host runs with.

Run: `./test.sh` (makes the venv), or
`python3 -m pytest -rs tests/deploy` with pytest, jsonschema, pyyaml and
kubernetes-validate installed.
"""

import copy
import pathlib
import tomllib

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "spinkube"
CRD = ROOT.parent / "shared" / "spinkube" / "core.spinkube.dev_spinapps.yaml"
KUBERNETES_VERSION = "1.33.0"


def documents():
    """Every object in deploy/spinkube/*.yaml, with the file it came from."""
    out = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((path.name, doc))
    return out


def objects(kind):
    return [doc for _, doc in documents() if doc["kind"] == kind]


def one(kind, name):
    found = [d for d in objects(kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name!r}, found {len(found)}"
    return found[0]


def strict(schema):
    """The schema with unknown fields refused wherever Kubernetes would refuse them."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


@pytest.fixture(scope="module")
def spinapp_validator():
    if not CRD.exists():
        pytest.skip(f"SKIPPED: the SpinApp CRD is not at {CRD} (it is in CI)")
    crd = yaml.safe_load(CRD.read_text())
    assert crd["spec"]["names"]["kind"] == "SpinApp"
    (version,) = [v for v in crd["spec"]["versions"] if v["served"]]
    schema = strict(version["schema"]["openAPIV3Schema"])
    api_version = f'{crd["spec"]["group"]}/{version["name"]}'
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)

    def validate(doc):
        assert doc["apiVersion"] == api_version, doc["apiVersion"]
        assert doc["metadata"].get("name"), "metadata.name"
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        return ["/".join(map(str, e.path)) + ": " + e.message for e in errors]

    return validate


def test_the_spinapp_validates_against_the_crd(spinapp_validator):
    apps = objects("SpinApp")
    assert [a["metadata"]["name"] for a in apps] == ["darkroom"]
    for app in apps:
        assert spinapp_validator(app) == []


def test_the_autoscaled_spinapp_validates_and_the_hpa_targets_its_deployment(spinapp_validator):
    app = copy.deepcopy(one("SpinApp", "darkroom"))
    # The patch hpa.yaml's comment gives: the operator refuses replicas with autoscaling.
    app["spec"]["enableAutoscaling"] = True
    del app["spec"]["replicas"]
    assert spinapp_validator(app) == []
    hpa = one("HorizontalPodAutoscaler", "darkroom")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == ("apps/v1", "Deployment", "darkroom")
    assert hpa["spec"]["minReplicas"] >= 2
    assert "cpu" in app["spec"]["resources"]["requests"], "CPU utilisation needs a CPU request"


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: s.update(replica=2),  # a typo
        lambda s: s.update(replicas="two"),
        lambda s: s["runtimeConfig"].update(loadFromSecrets="x"),
        lambda s: s["variables"][0].update(valueFrom={"secretKeyRef": {"name": "darkroom-secrets"}}),  # no key
        lambda s: s["resources"]["limits"].update(memory="lots"),
        lambda s: s.pop("executor"),
    ],
)
def test_a_damaged_spinapp_is_refused(spinapp_validator, damage):
    app = copy.deepcopy(one("SpinApp", "darkroom"))
    damage(app["spec"])
    assert spinapp_validator(app) != []


@pytest.mark.parametrize(
    "file,kind,name",
    [(f, d["kind"], d["metadata"]["name"]) for f, d in documents() if d["kind"] != "SpinApp"],
)
def test_standard_objects_validate_against_kubernetes_schemas(file, kind, name):
    doc = next(d for f, d in documents() if f == file and d["kind"] == kind and d["metadata"]["name"] == name)
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_a_damaged_deployment_is_refused():
    deployment = copy.deepcopy(one("Deployment", "valkey"))
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "6379"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment = copy.deepcopy(one("Deployment", "valkey"))
    deployment["spec"]["replica"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def spin_variables():
    return tomllib.loads((ROOT / "spin.toml").read_text())["variables"]


def test_variables_exist_in_spin_toml_and_secrets_come_from_the_secret():
    declared = spin_variables()
    app = one("SpinApp", "darkroom")
    bound = {v["name"]: v for v in app["spec"]["variables"]}
    for name in bound:
        assert name in declared, f"{name} is not a [variables] entry of spin.toml"
    secrets = {name for name, v in declared.items() if v.get("secret")}
    assert secrets == {"api_token", "url_signing_keys"}
    for name in secrets:
        ref = bound[name]["valueFrom"]["secretKeyRef"]
        secret = one("Secret", ref["name"])
        assert ref["key"] in secret["stringData"], f"{ref['name']} has no key {ref['key']}"
        assert "value" not in bound[name], f"{name} must not be a literal"


def test_the_runtime_config_secret_points_every_replica_at_the_valkey_service():
    app = one("SpinApp", "darkroom")
    secret = one("Secret", app["spec"]["runtimeConfig"]["loadFromSecret"])
    # spin-operator reads exactly one key.
    assert list(secret["stringData"]) == ["runtime-config.toml"]
    config = tomllib.loads(secret["stringData"]["runtime-config.toml"])
    store = config["key_value_store"]["default"]
    assert store["type"] == "redis"
    url = store["url"]
    assert url.startswith("redis://"), url
    host, port = url.removeprefix("redis://").split("/")[0].split(":")
    service = one("Service", host)
    assert int(port) in [p["port"] for p in service["spec"]["ports"]]
    deployment = one("Deployment", "valkey")
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    # The file the README's `kubectl create secret --from-file` uses says the same.
    assert tomllib.loads((MANIFESTS / "runtime-config.toml").read_text()) == config
    # Same shape as the runtime config the test host's Redis run uses.
    example = tomllib.loads((ROOT / "runtime-config" / "redis.toml").read_text())
    assert example["key_value_store"]["default"].keys() == store.keys()


def test_jobs_shards_go_to_the_apps_service():
    app = one("SpinApp", "darkroom")
    bound = {v["name"]: v.get("value") for v in app["spec"]["variables"]}
    # The operator's Service for a SpinApp carries the SpinApp's name.
    assert bound["jobs_base_url"] == "http://" + app["metadata"]["name"]
