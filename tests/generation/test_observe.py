"""What watches a cutover: the PrometheusRules and Grafana dashboards of ``--with
prometheus-operator`` only query metrics and labels that a running generated service exports,
and every series carries the service and the cutover state the manifests hand it."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sqlite3
import time
import urllib.error
import urllib.request

import pytest
import yaml

from migrator.extraction.localrun import free_port

from .support import OtlpReceiver
from .test_services_run import get, start_service, stop

METRIC = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{")
BY = re.compile(r"\bby \(([^)]*)\)")
MATCHER = re.compile(r"[{,]\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def exported(text: str) -> tuple[set[str], set[str], set[str]]:
    """Series names (from the ``# TYPE`` lines), label names and ``service`` values of a
    /metrics answer."""
    names: set[str] = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        names |= (
            {f"{name}_bucket", f"{name}_count", f"{name}_sum"} if kind == "histogram" else {name}
        )
    labels = set(re.findall(r"[{,]([a-zA-Z_][a-zA-Z0-9_]*)=\"", text))
    services = set(re.findall(r'service="([^"]*)"', text))
    return names, labels, services


def queries(out) -> list[tuple[str, str]]:
    """(where, PromQL) of every alert expression and dashboard panel query under OUT."""
    found = []
    for path in sorted((out / "deploy/k8s/base").rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if doc.get("kind") == "PrometheusRule":
            found += [
                (f"{path.name}: {r['alert']}", r["expr"])
                for g in doc["spec"]["groups"]
                for r in g["rules"]
            ]
        elif doc.get("kind") == "ConfigMap" and doc["metadata"]["labels"].get("grafana_dashboard"):
            for board in map(json.loads, doc["data"].values()):
                found += [
                    (f"{path.name}: {p['title']}", t["expr"])
                    for p in board["panels"]
                    for t in p["targets"]
                ]
    return found


@pytest.fixture(scope="module")
def catalog_metrics(generated, tmp_path_factory) -> str:
    """/metrics of the Flask catalog service run under gunicorn with CUTOVER_STATE=canary,
    after a probe, a stub (501) and a missing route."""
    folder = generated["flask"] / "services/catalog"
    db = tmp_path_factory.mktemp("observe") / "catalog.sqlite3"
    sqlite3.connect(db).close()
    port = free_port()
    proc = start_service(
        folder,
        port,
        DATABASE_URL=f"sqlite:///{db}",
        DATABASE_READ_URL=f"sqlite:///{db}",
        CUTOVER_STATE="canary",
    )
    try:
        base = f"http://127.0.0.1:{port}"
        stubs = (folder / "tests/test_service.py").read_text()
        example = stubs.split("STUBS = [\n    ('", 1)[1].split("'", 1)[0]
        assert get(f"{base}{example}")[0] == 501
        get(f"{base}/healthz")
        return get(f"{base}/metrics")[2].decode()
    finally:
        assert stop(proc) == 0


def test_series_carry_service_and_cutover_state(catalog_metrics):
    assert re.search(
        r'^http_requests_total\{cutover="canary",method="GET",route="/healthz",'
        r'service="catalog",status="200"\} [1-9]\d*\.0$',
        catalog_metrics,
        re.M,
    )
    # the stub's 501 counts as an error; the probe's error series exists at 0
    errors = dict(
        re.findall(
            r'^http_request_errors_total\{[^}]*route="([^"]+)"[^}]*\} (\S+)$', catalog_metrics, re.M
        )
    )
    assert errors.pop("/healthz") == "0.0" and set(errors.values()) == {"1.0"}, errors


def test_manifests_hand_the_plan_cutover_to_each_service(generated):
    config = yaml.safe_load(
        (generated["flask"] / "deploy/k8s/base/catalog/configmap.yaml").read_text()
    )
    assert config["data"]["CUTOVER_STATE"] == "live"  # the fixture cuts every service over
    compose = yaml.safe_load((generated["flask"] / "compose.yaml").read_text())
    assert compose["services"]["catalog"]["environment"]["CUTOVER_STATE"] == "live"


def internal_call_metrics(folder) -> str:
    """The generated observability module's exposition after one internal call (a stub
    service makes none: its call series have no samples, hence no labels, when served)."""
    module = (
        folder
        / next(p.name for p in folder.iterdir() if p.name.endswith("_service"))
        / "observability.py"
    )
    spec = importlib.util.spec_from_file_location("generated_observability", module)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    metrics = mod.Metrics("catalog", "canary")
    metrics.observe_call("cart", "cart_total", 0, 0.2)
    return metrics.render()


def test_every_query_names_exported_metrics_and_labels(generated, catalog_metrics):
    calls = internal_call_metrics(generated["flask"] / "services/catalog")
    assert re.search(
        r'^internal_call_errors_total\{cutover="canary",endpoint="cart_total",'
        r'service="catalog",target="cart"\} 1\.0$',
        calls,
        re.M,
    )
    names, labels, services = exported(catalog_metrics)
    labels |= exported(calls)[1]
    assert {
        "http_requests_total",
        "internal_calls_total",
        "internal_call_duration_seconds_bucket",
    } <= names
    found = queries(generated["flask"])
    kinds = {where.split(":")[0] for where, _ in found}
    assert {"prometheusrule.yaml", "dashboard.yaml", "dashboard-overview.yaml"} <= kinds
    for where, expr in found:
        used = set(METRIC.findall(expr))
        assert used and used <= names, (where, used - names)
        for group in BY.findall(expr):
            assert {g.strip() for g in group.split(",")} <= labels, (where, group)
        assert set(MATCHER.findall(expr)) <= labels, (where, expr)
        for svc in re.findall(r'service="([^"]*)"', expr):
            assert svc in {p.name for p in (generated["flask"] / "services").iterdir()}
    catalog = [e for w, e in found if w.startswith("prometheusrule") and 'service="catalog"' in e]
    assert catalog and services == {"catalog"}


def test_rules_burn_two_windows_on_both_objectives(generated):
    doc = yaml.safe_load(
        (generated["flask"] / "deploy/k8s/base/catalog/prometheusrule.yaml").read_text()
    )
    rules = [r for g in doc["spec"]["groups"] for r in g["rules"]]
    for kind, metric in (
        ("Errors", "http_request_errors_total"),
        ("Latency", "http_request_duration_seconds_bucket"),
    ):
        mine = [r for r in rules if r["alert"] == f"Catalog{kind}BudgetBurn"]
        assert {r["labels"]["long_window"] for r in mine} == {"1h", "6h", "3d"}
        for rule in mine:
            long_part, short_part = rule["expr"].split("\nand\n")
            windows = [re.findall(r"\[(\w+)\]", part) for part in (long_part, short_part)]
            assert (
                metric in long_part
                and len(set(windows[0])) == 1
                and len(set(windows[1])) == 1
                and windows[0][0] != windows[1][0]
            ), rule["expr"]
            assert "`migrator cutover catalog off`" in rule["annotations"]["description"]


def test_dashboards_are_grafana_json(generated):
    base = generated["flask"] / "deploy/k8s/base"
    paths = sorted(base.glob("*/dashboard.yaml")) + [base / "dashboard-overview.yaml"]
    assert len(paths) == 4
    uids = set()
    for path in paths:
        doc = yaml.safe_load(path.read_text())
        assert doc["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((name, text),) = doc["data"].items()
        board = json.loads(text)
        assert name.endswith(".json") and isinstance(board["schemaVersion"], int)
        assert board["uid"] not in uids and len(board["uid"]) <= 40
        uids.add(board["uid"])
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)) >= 4
        for panel in board["panels"]:
            assert panel["type"] == "timeseries" and panel["targets"], panel
            assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
    overview = json.loads(next(iter(yaml.safe_load(paths[-1].read_text())["data"].values())))
    assert any(
        "by (service, cutover)" in t["expr"] for p in overview["panels"] for t in p["targets"]
    )
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    assert "dashboard-overview.yaml" in kustomization["resources"]


def test_rule_schema_catches_a_bad_duration(generated):
    """The CRD check is real: a rule whose ``for`` is not a Prometheus duration fails it."""
    import jsonschema

    from .test_tools import validate

    path = generated["flask"] / "deploy/k8s/base/catalog/prometheusrule.yaml"
    doc = yaml.safe_load(path.read_text())
    validate(doc, str(path))
    doc["spec"]["groups"][0]["rules"][0]["for"] = "two minutes"
    with pytest.raises(jsonschema.ValidationError):
        validate(doc, str(path))


def test_internal_calls_reach_the_observers():
    """What ``Metrics.watch_internal_calls`` hooks into: every call, answered or not, is
    reported with its target, endpoint and status (0: nobody answered)."""
    from migrator.extraction import runtime

    heard: list[tuple] = []
    runtime.CALL_OBSERVERS.append(lambda *a: heard.append(a))
    port = free_port()  # nothing listens there
    try:
        with pytest.raises(runtime.ServiceUnavailable):
            os.environ["CART_URL"] = f"http://127.0.0.1:{port}"
            runtime.call("cart", "cart_total", len, [], {}, idempotent=False)
    finally:
        runtime.CALL_OBSERVERS.clear()
        os.environ.pop("CART_URL", None)
    assert [(t, e, s) for t, e, s, _ in heard] == [("cart", "cart_total", 0)]


def test_migration_guide_names_the_real_dashboard_alerts_and_rollback(generated):
    out = generated["flask"]
    guide = (out / "MIGRATION.md").read_text()
    section = guide.split("## Watching a cutover", 1)[1].split("\n## ", 1)[0]
    board = json.loads(
        next(
            iter(
                yaml.safe_load((out / "deploy/k8s/base/dashboard-overview.yaml").read_text())[
                    "data"
                ].values()
            )
        )
    )
    assert f"`{board['title']}`" in section
    alerts = {
        r["alert"].replace("Catalog", "<Service>")
        for g in yaml.safe_load((out / "deploy/k8s/base/catalog/prometheusrule.yaml").read_text())[
            "spec"
        ]["groups"]
        for r in g["rules"]
    }
    assert alerts == {"<Service>ErrorsBudgetBurn", "<Service>LatencyBudgetBurn"}
    assert all(f"`{a}`" in section for a in alerts)
    assert "`migrator cutover <service> off -o OUT`" in section


def test_extracted_service_counts_its_internal_calls(shopfix_extract_out, tmp_path):
    """``scaffold --extract``: orders serves its extracted code behind the generated package;
    a request that makes it call catalog over HTTP shows in its internal-call series, and a
    call to a service that is down counts as an error with status 0."""
    out = shopfix_extract_out
    kernel = str(out / "shared_kernel" / "src")
    env_path = os.pathsep.join([kernel, os.environ.get("PYTHONPATH", "")])
    ports = {"catalog": free_port(), "orders": free_port(), "inventory": free_port()}
    urls = {f"{n.upper()}_URL": f"http://127.0.0.1:{p}" for n, p in ports.items()}
    procs = {}
    try:
        for name in ("catalog", "orders"):  # inventory stays down
            db = f"sqlite:///{tmp_path / name}.sqlite3"
            procs[name] = start_service(
                out / "services" / name,
                ports[name],
                PYTHONPATH=env_path,
                DATABASE_URL=db,
                DATABASE_READ_URL=db,
                INTERSERVICE_RETRIES="1",
                CUTOVER_STATE="canary",
                **urls,
            )
        base = f"http://127.0.0.1:{ports['orders']}"
        assert get(f"{base}/quote/PECAN/3")[0] == 200  # orders -> catalog
        status = get(f"{base}/quote/PECAN/3")[0]
        order = urllib.request.Request(
            f"{base}/orders",
            method="POST",
            data=b'{"product_id": 1, "quantity": 1}',
            headers={"Content-Type": "application/json"},
        )
        # inventory is down: reserving fails after the call to catalog, so the saga is
        # taken for the relay and the customer is answered 202 (docs/extract.md)
        with urllib.request.urlopen(order, timeout=30) as answer:
            assert answer.status == 202
        metrics = get(f"{base}/metrics")[2].decode()
    finally:
        for proc in procs.values():
            stop(proc)
    assert status == 200
    calls = re.findall(
        r'^internal_calls_total\{cutover="canary",endpoint="([^"]+)",'
        r'service="orders",status="(\d+)",target="(\w+)"\} (\S+)$',
        metrics,
        re.M,
    )
    assert {(t, s) for _, s, t, _ in calls} == {("catalog", "200"), ("inventory", "0")}, metrics
    assert sum(float(n) for _, s, t, n in calls if t == "catalog") >= 3
    assert re.search(
        r'^internal_call_errors_total\{cutover="canary",endpoint="[^"]+",'
        r'service="orders",target="inventory"\} 1\.0$',
        metrics,
        re.M,
    ), metrics


def test_one_trace_and_one_request_id_across_extracted_services(shopfix_extract_out, tmp_path):
    """orders -> catalog over HTTP: one trace with a SERVER span in each service and a CLIENT
    span for each call (the failed call to a down inventory too, marked as an error), and the
    caller's X-Request-ID in both services' JSON logs."""
    from opentelemetry.proto.trace.v1 import trace_pb2  # the test extra installs it

    out = shopfix_extract_out
    receiver = OtlpReceiver()
    kernel = str(out / "shared_kernel" / "src")
    ports = {"catalog": free_port(), "orders": free_port(), "inventory": free_port()}
    env = {f"{n.upper()}_URL": f"http://127.0.0.1:{p}" for n, p in ports.items()}
    env.update(
        PYTHONPATH=os.pathsep.join([kernel, os.environ.get("PYTHONPATH", "")]),
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="100",
        INTERSERVICE_RETRIES="1",
    )
    procs = {}
    try:
        for name in ("catalog", "orders"):  # inventory stays down
            db = f"sqlite:///{tmp_path / name}.sqlite3"
            procs[name] = start_service(
                out / "services" / name, ports[name], DATABASE_URL=db, DATABASE_READ_URL=db, **env
            )
        base = f"http://127.0.0.1:{ports['orders']}"
        quote = urllib.request.Request(f"{base}/quote/PECAN/3", headers={"X-Request-ID": "rq-1"})
        with urllib.request.urlopen(quote, timeout=30) as answer:
            assert answer.headers["X-Request-ID"] == "rq-1"
        order = urllib.request.Request(
            f"{base}/orders",
            method="POST",
            data=b'{"product_id": 1, "quantity": 1}',
            headers={"Content-Type": "application/json", "X-Request-ID": "rq-2"},
        )
        with urllib.request.urlopen(order, timeout=30) as answer:  # inventory is down: 202
            assert answer.status == 202

        def server_span(request_id: str):
            return next(
                (
                    s
                    for svc, s in receiver.received()
                    if svc == "orders"
                    and any(
                        a.key == "request.id" and a.value.string_value == request_id
                        for a in s.attributes
                    )
                ),
                None,
            )

        end = time.monotonic() + 30
        while time.monotonic() < end and not (server_span("rq-1") and server_span("rq-2")):
            time.sleep(0.2)
    finally:
        logs = {name: stop_and_read(proc) for name, proc in procs.items()}
        receiver.close()
    for request_id, callees in (("rq-1", {"catalog"}), ("rq-2", {"catalog", "inventory"})):
        root = server_span(request_id)
        assert root is not None, f"no span of orders for {request_id}"
        trace = [(svc, s) for svc, s in receiver.received() if s.trace_id == root.trace_id]
        kinds = {(svc, s.kind) for svc, s in trace}
        assert ("catalog", trace_pb2.Span.SPAN_KIND_SERVER) in kinds, kinds
        calls = {
            s.name.split(" ", 1)[1].split(".")[0]: s
            for svc, s in trace
            if s.kind == trace_pb2.Span.SPAN_KIND_CLIENT
        }
        assert set(calls) == callees, calls.keys()
        if "inventory" in calls:
            assert calls["inventory"].status.code == trace_pb2.Status.STATUS_CODE_ERROR
            assert calls["catalog"].status.code != trace_pb2.Status.STATUS_CODE_ERROR
        # the hop: catalog's SERVER span is the child of orders' CLIENT span for the call
        (served,) = [s for svc, s in trace if svc == "catalog"]
        assert served.parent_span_id == calls["catalog"].span_id
        trace_hex = root.trace_id.hex()
        for name in ("orders", "catalog"):
            mine = [e for e in logs[name] if e.get("request_id") == request_id]
            assert mine and {e.get("trace_id") for e in mine} == {trace_hex}, (name, logs[name])


def stop_and_read(proc) -> list[dict]:
    """Stop a service started by ``start_service`` and parse its JSON log lines."""
    stop(proc)
    lines = proc.stdout.read().decode().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_each_database_has_a_pod_monitor_on_its_exporter(generated):
    """CloudNativePG's Services carry only PostgreSQL: each service's cluster is scraped on its
    pods' ``metrics`` port, by a PodMonitor the CRD accepts (and that a bad interval fails)."""
    import jsonschema

    from .test_tools import validate

    base = generated["flask"] / "deploy/k8s/base"
    clusters = sorted(base.glob("*/database.yaml"))
    assert clusters
    for path in clusters:
        cluster = yaml.safe_load(path.read_text())
        monitor_path = path.with_name("database-podmonitor.yaml")
        monitor = yaml.safe_load(monitor_path.read_text())
        assert monitor["kind"] == "PodMonitor"
        assert monitor["metadata"]["namespace"] == cluster["metadata"]["namespace"]
        assert monitor["spec"]["selector"]["matchLabels"] == {
            "cnpg.io/cluster": cluster["metadata"]["name"]
        }
        assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["metrics"]
        assert (
            monitor_path.name
            in yaml.safe_load(path.with_name("kustomization.yaml").read_text())["resources"]
        )
        validate(monitor, str(monitor_path))
    monitor["spec"]["podMetricsEndpoints"][0]["interval"] = "thirty seconds"
    with pytest.raises(jsonschema.ValidationError):
        validate(monitor, str(monitor_path))
