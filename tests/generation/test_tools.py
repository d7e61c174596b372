"""The generated artefacts pass the real tools: hadolint, kubernetes-validate, jsonschema
against the published CRD schemas, kubectl kustomize and nginx -t."""

from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

from .support import FRAMEWORKS, SCHEMAS, hadolint_findings, need

K8S_VERSIONS = ("1.30.0", "1.37.0")
# kubernetes-validate re-reads and re-parses the (large) schema files on every call; caching
# the parsed files changes nothing in what is checked and makes the checks ~4x faster
if not hasattr(kubernetes_validate.utils.schema_contents, "cache_info"):
    kubernetes_validate.utils.schema_contents = functools.lru_cache(maxsize=None)(
        kubernetes_validate.utils.schema_contents
    )
CRDS = {
    (
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
    ): "monitoring.coreos.com_servicemonitors.crd.yaml",
    (
        "monitoring.coreos.com/v1",
        "PrometheusRule",
    ): "monitoring.coreos.com_prometheusrules.crd.yaml",
    ("monitoring.coreos.com/v1", "PodMonitor"): "monitoring.coreos.com_podmonitors.crd.yaml",
    ("postgresql.cnpg.io/v1", "Cluster"): "postgresql.cnpg.io_clusters.crd.yaml",
}


def crd_schema(api_version: str, kind: str) -> dict:
    """The CRD's schema; skips the calling test when it is absent, so only tests of CRD
    documents call it (see ``is_crd``), never a test that also checks ordinary kinds."""
    path = SCHEMAS / CRDS[(api_version, kind)]
    if not path.exists():
        pytest.skip(f"CRD schema {path} is absent (shared/schemas not laid out beside the repo)")
    return _crd_schema(path, api_version)


@functools.cache
def _crd_schema(path: Path, api_version: str) -> dict:
    """The CRD's openAPIV3Schema (parsed once: the CloudNativePG CRD is a large YAML file)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crd = yaml.load(path.read_text(), Loader=loader)  # noqa: S506 - a safe loader
    version = api_version.split("/")[1]
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            return _python_patterns(v["schema"]["openAPIV3Schema"])
    raise AssertionError(f"{path} has no version {version}")


def _python_patterns(node):
    """Go's RE2 takes ``^(?i)...`` (PrometheusRule's partial_response_strategy); Python wants
    global flags first: the same language as ``(?i)^...``."""
    if isinstance(node, dict):
        return {
            k: (
                re.sub(r"^\^\(\?i\)", "(?i)^", v)
                if k == "pattern" and isinstance(v, str)
                else _python_patterns(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_python_patterns(v) for v in node]
    return node


_VALIDATORS: dict[int, jsonschema.protocols.Validator] = {}


def _validator(key: int, schema: dict):
    if key not in _VALIDATORS:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _VALIDATORS[key] = cls(schema)
    return _VALIDATORS[key]


def is_crd(doc: dict) -> bool:
    """A custom resource: checked against its CRD schema in a test of its own."""
    return (doc["apiVersion"], doc["kind"]) in CRDS


def validate(doc: dict, where: str) -> None:
    key = (doc["apiVersion"], doc["kind"])
    if key in CRDS:
        schema = crd_schema(*key)
        _validator(id(schema), schema).validate(doc)
        return
    for version in K8S_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError as exc:  # unknown kind: a failure here
            pytest.fail(f"{where}: no schema for {key} in Kubernetes {version}: {exc}")
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{where}: invalid for Kubernetes {version}: {exc}")


def manifests(out: Path) -> list[Path]:
    return sorted(p for p in (out / "deploy/k8s").rglob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_hadolint_finds_nothing(generated, fw):
    dockerfiles = sorted((generated[fw] / "services").glob("*/Dockerfile"))
    assert len(dockerfiles) == 3
    for dockerfile in dockerfiles:
        assert hadolint_findings(dockerfile) == [], dockerfile


def documents(out: Path, crds: bool) -> list[tuple[dict, str]]:
    """(document, file) of every manifest under OUT: the custom resources or the rest."""
    docs = [(yaml.safe_load(path.read_text()), str(path)) for path in manifests(out)]
    return [(doc, where) for doc, where in docs if is_crd(doc) == crds]


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_every_manifest_validates_strictly(generated, fw):
    docs = documents(generated[fw], crds=False)
    for doc, where in docs:
        validate(doc, where)
    assert {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ServiceAccount",
        "ConfigMap",
        "NetworkPolicy",
        "Ingress",
        "Namespace",
    } <= {doc["kind"] for doc, _ in docs}


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_every_custom_resource_matches_its_crd(generated, fw):
    """The only check that needs ../shared/schemas: it alone skips when they are absent."""
    docs = documents(generated[fw], crds=True)
    assert {doc["kind"] for doc, _ in docs} == {
        "ServiceMonitor",
        "PrometheusRule",
        "Cluster",
        "PodMonitor",
    }
    for doc, where in docs:
        validate(doc, where)


def test_strict_validation_catches_a_typo():
    """The checker itself is strict: a misspelt field fails (so passing means something)."""
    doc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80, "targetport": 8000}]},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, "1.30.0", strict=True)


def test_crd_schema_rejects_bad_cluster():
    schema = crd_schema("postgresql.cnpg.io/v1", "Cluster")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {
                "apiVersion": "postgresql.cnpg.io/v1",
                "kind": "Cluster",
                "metadata": {"name": "x"},
                "spec": {"instances": "three"},
            },
            schema,
        )


def kustomize(folder: Path) -> list[dict]:
    kubectl = need("kubectl")
    proc = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


@pytest.mark.parametrize("fw", ["flask"])
def test_kustomize_renders_base_and_overlays(generated, fw):
    k8s = generated[fw] / "deploy/k8s"
    base = kustomize(k8s / "base")
    dev = kustomize(k8s / "overlays/dev")
    prod = kustomize(k8s / "overlays/prod")

    def deployments(docs):
        return {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}

    def hpas(docs):
        return {
            d["spec"]["scaleTargetRef"]["name"]: d
            for d in docs
            if d["kind"] == "HorizontalPodAutoscaler"
        }

    assert sorted(deployments(base)) == ["cart", "catalog", "monolith", "orders"]
    # the HPAs own the replica counts: no Deployment sets one, the overlays set HPA bounds
    for docs, low, high in ((base, 2, 10), (dev, 1, 3), (prod, 3, 20)):
        assert all("replicas" not in d["spec"] for d in deployments(docs).values())
        assert sorted(hpas(docs)) == sorted(deployments(docs))
        assert {
            (h["spec"]["minReplicas"], h["spec"]["maxReplicas"]) for h in hpas(docs).values()
        } == {(low, high)}
    # one namespace per overlay, every namespaced object in it
    for docs, ns in ((dev, "shop-dev"), (prod, "shop-prod")):
        assert {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"} == {ns}
        assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {ns}
    prod_image = deployments(prod)["cart"]["spec"]["template"]["spec"]["containers"][0]["image"]
    dev_image = deployments(dev)["cart"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert (dev_image, prod_image) == ("shop/cart:dev", "shop/cart:0.1.0")
    prod_res = deployments(prod)["cart"]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert prod_res["limits"]["memory"] == "512Mi"
    for docs in (dev, prod):  # the patched objects are still valid, every one of them
        for doc in docs:
            validate(doc, f"overlay {doc['kind']}/{doc['metadata']['name']}")


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_nginx_accepts_both_gateway_configs(generated, fw, tmp_path):
    nginx = need("nginx")
    gateway = generated[fw] / "gateway"
    prefix = tmp_path / "local"
    (prefix / "tmp").mkdir(parents=True)
    local = prefix / "nginx.local.conf"
    local.write_text((gateway / "nginx.local.conf").read_text())
    proc = subprocess.run(
        [nginx, "-t", "-c", str(local), "-p", str(prefix)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    # The compose variant names hosts that only exist inside compose's network: check the
    # same text with those upstream servers pointed at loopback.
    text = (gateway / "nginx.conf").read_text()
    compose = yaml.safe_load((generated[fw] / "compose.yaml").read_text())
    for name in compose["services"]:
        text = text.replace(f"server {name}:", "server 127.0.0.1:")
    prefix2 = tmp_path / "compose"
    prefix2.mkdir()
    (prefix2 / "nginx.conf").write_text(text)
    proc = subprocess.run(
        [nginx, "-t", "-c", str(prefix2 / "nginx.conf"), "-p", str(prefix2)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr


def _strict(schema: dict) -> dict:
    """The CRD schema refusing unknown fields (a misspelt key), as the API server prunes them."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def test_postgres_clusters_per_overlay(generated):
    """One PostgreSQL instance in dev; three with WAL archiving and base backups in prod."""
    k8s = generated["flask"] / "deploy/k8s"
    schema = _strict(crd_schema("postgresql.cnpg.io/v1", "Cluster"))
    checker = jsonschema.validators.validator_for(schema)(schema)
    seen = {}
    for overlay in ("dev", "prod"):
        clusters = [d for d in kustomize(k8s / "overlays" / overlay) if d["kind"] == "Cluster"]
        assert sorted(c["metadata"]["name"] for c in clusters) == [
            "cart-db",
            "catalog-db",
            "orders-db",
        ]
        for cluster in clusters:
            checker.validate(cluster)
        seen[overlay] = clusters[0]["spec"]
    assert seen["dev"]["instances"] == 1 and "backup" not in seen["dev"]
    assert seen["prod"]["instances"] == 3
    store = seen["prod"]["backup"]["barmanObjectStore"]
    assert store["destinationPath"].startswith("s3://")
    assert store["s3Credentials"]["accessKeyId"]["name"] == "cart-db-backup"
    bad = {**clusters[0], "spec": {**clusters[0]["spec"], "bakup": {}}}
    with pytest.raises(jsonschema.ValidationError):  # the strict schema does catch a typo
        checker.validate(bad)


def test_compose_files_follow_the_compose_specification(generated, sample_out):
    path = SCHEMAS / "compose-spec.json"
    if not path.exists():
        pytest.skip(f"{path} is absent (shared/schemas not laid out beside the repo)")
    schema = json.loads(path.read_text())
    checker = jsonschema.Draft7Validator(schema)  # the specification's own draft
    for out in [*generated.values(), sample_out]:
        compose = yaml.safe_load((out / "compose.yaml").read_text())
        checker.validate(compose)
        assert compose["services"]["monolith"]["build"]["context"] == "./monolith"
    compose["services"]["monolith"]["biuld"] = compose["services"]["monolith"].pop("build")
    with pytest.raises(jsonschema.ValidationError):  # the schema does refuse a misspelt key
        checker.validate(compose)


def test_hadolint_finds_nothing_in_the_monolith_image(generated, sample_out):
    for out in [*generated.values(), sample_out]:
        assert hadolint_findings(out / "monolith/Dockerfile") == [], out
