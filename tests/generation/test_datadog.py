"""``--with datadog``: unified service tagging (labels and DD_* variables per overlay), the
node Agent for traces, DogStatsD and OTLP, log correlation; the manifests pass the same
strict Kubernetes validation, kustomize, hadolint and checkov as the rest."""

from __future__ import annotations

import importlib.util
import json
import logging

import pytest
import yaml

from migrator.generation import scaffold
from migrator.generation.cutover import earlier_options

from .fixtures import make_graph, make_plan
from .test_checkov import checkov, failed_checks
from .test_tools import documents, hadolint_findings, kustomize, validate

TAG = "tags.datadoghq.com/"


@pytest.fixture(scope="module")
def dd_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("datadog")
    scaffold(make_plan("flask"), make_graph("flask"), out, with_=("datadog",))
    return out


def test_manifests_validate_strictly_and_dockerfiles_lint_clean(dd_out):
    docs = documents(dd_out, crds=False)
    for doc, where in docs:
        validate(doc, where)
    deployments = [d for d, _ in docs if d["kind"] == "Deployment"]
    assert len(deployments) == 4  # three services and the monolith
    for dockerfile in sorted((dd_out / "services").glob("*/Dockerfile")):
        assert hadolint_findings(dockerfile) == [], dockerfile


@pytest.mark.parametrize(("overlay", "version"), [("dev", "dev"), ("prod", "0.1.0")])
def test_each_overlay_tags_env_service_and_version(dd_out, overlay, version):
    deployments = [
        d for d in kustomize(dd_out / "deploy/k8s/overlays" / overlay) if d["kind"] == "Deployment"
    ]
    assert {"cart", "catalog", "orders"} < {d["metadata"]["name"] for d in deployments}
    for dep in deployments:
        name = dep["metadata"]["name"]
        tags = {f"{TAG}env": overlay, f"{TAG}service": name, f"{TAG}version": version}
        template = dep["spec"]["template"]["metadata"]
        assert tags.items() <= dep["metadata"]["labels"].items()
        assert tags.items() <= template["labels"].items()
        image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image.endswith(f":{version}")  # the version tag is the image's
        env = dep["spec"]["template"]["spec"]["containers"][0]["env"]
        names = [e["name"] for e in env]
        for key in ("env", "service", "version"):
            ref = next(e for e in env if e["name"] == f"DD_{key.upper()}")
            assert ref["valueFrom"]["fieldRef"]["fieldPath"] == f"metadata.labels['{TAG}{key}']"
        # $(DD_AGENT_HOST) only expands in variables defined after it
        host = names.index("DD_AGENT_HOST")
        for e in env:
            if "$(DD_AGENT_HOST)" in e.get("value", ""):
                assert names.index(e["name"]) > host, e
        checks = json.loads(template["annotations"][f"ad.datadoghq.com/{name}.checks"])
        assert checks["openmetrics"]["instances"][0]["openmetrics_endpoint"].endswith(
            ":8000/metrics"
        )


def test_agent_values_match_the_pods_settings(dd_out):
    values = yaml.safe_load((dd_out / "deploy/datadog/agent-values.yaml").read_text())["datadog"]
    dep = yaml.safe_load((dd_out / "deploy/k8s/base/catalog/deployment.yaml").read_text())
    env = {
        e["name"]: e.get("value") for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    otlp = values["otlp"]["receiver"]["protocols"]["http"]
    assert otlp["enabled"] and env["OTEL_EXPORTER_OTLP_ENDPOINT"].endswith(
        ":" + otlp["endpoint"].rsplit(":", 1)[1]
    )
    assert values["apm"]["portEnabled"] and env["DD_TRACE_AGENT_URL"].endswith(":8126")
    assert values["dogstatsd"]["useHostPort"] and env["DD_DOGSTATSD_URL"].endswith(":8125")
    assert values["logs"]["enabled"] and env["DD_LOGS_INJECTION"] == "true"
    assert earlier_options(dd_out) == (("datadog",), False)  # `migrator cutover` keeps it


def test_logs_carry_datadog_correlation_ids(dd_out, monkeypatch):
    """With DD_SERVICE set, a log line written inside a span names the span in Datadog's
    form (the low 64 bits of the trace id, in decimal)."""
    monkeypatch.setenv("DD_SERVICE", "catalog")
    monkeypatch.setenv("DD_ENV", "dev")
    module = dd_out / "services/catalog/catalog_service/observability.py"
    spec = importlib.util.spec_from_file_location("dd_observability", module)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    tracer = mod.configure_tracing("catalog")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    with tracer.start_as_current_span("work") as span:
        line = json.loads(mod.JsonFormatter().format(record))
        ctx = span.get_span_context()
    assert line["dd.trace_id"] == str(ctx.trace_id & (2**64 - 1))
    assert line["dd.span_id"] == str(ctx.span_id) and line["dd.service"] == "catalog"
    assert line["trace_id"] == format(ctx.trace_id, "032x") and line["dd.env"] == "dev"


@pytest.mark.slow
def test_checkov_finds_only_the_explained_checks(dd_out):
    tool = checkov()
    failed = failed_checks(tool, dd_out / "deploy/k8s/base")
    migration = (dd_out / "MIGRATION.md").read_text()
    assert sorted(c for c in failed if f"| {c} |" not in migration) == []
