"""A real Prometheus (Debian's package) scrapes running generated services on 127.0.0.1:
``promtool check rules`` accepts the generated rules, every dashboard query and both windows of
every alert return series, and an error burst makes the error-rate alert's expression return a
result (and Prometheus hold the alert pending)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sqlite3
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

from migrator.extraction.localrun import free_port

from .support import need
from .test_observe import queries
from .test_services_run import get, start_service, stop

pytestmark = pytest.mark.slow
#: bound on every wait for Prometheus to scrape and evaluate (it scrapes every second)
WAIT = 60.0


def query(base: str, expr: str) -> list[dict]:
    status, _, body = get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    answer = json.loads(body)
    assert status == 200 and answer["status"] == "success", (expr, body[:500])
    return answer["data"]["result"]


def wait_for(check, what: str):
    """Poll ``check`` until it returns something truthy, at most WAIT seconds."""
    end = time.monotonic() + WAIT
    while True:
        found = check()
        if found or time.monotonic() > end:
            assert found, f"no {what} within {WAIT}s"
            return found
        time.sleep(0.5)


def stub_urls(folder: Path) -> list[tuple[str, str]]:
    """(method, path) of the service's route stubs, from its generated test suite."""
    namespace: dict = {}
    text = (folder / "tests/test_service.py").read_text()
    exec(
        text[text.index("STUBS = [") : text.index("]\n", text.index("STUBS = [")) + 2],  # noqa: S102
        namespace,
    )
    return [
        (m, url)
        for url, methods, _ in namespace["STUBS"]
        for m in methods
        if m not in ("HEAD", "OPTIONS")
    ][:2]


@contextlib.contextmanager
def call_exporters(out: Path, names: list[str]):
    """The generated observability module, one Metrics per service after an internal call, on
    loopback ports: stub services make no internal calls, so their call series have no samples."""
    from prometheus_client import start_http_server

    module = next((out / "services" / names[0]).glob("*_service/observability.py"))
    spec = importlib.util.spec_from_file_location("generated_observability_prom", module)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    servers, ports = [], []
    try:
        for i, name in enumerate(names):
            metrics = mod.Metrics(name, "live")
            metrics.observe_call(names[(i + 1) % len(names)], "lookup", 200, 0.02)
            metrics.observe_call(names[(i + 1) % len(names)], "lookup", 0, 5.0)
            port = free_port()
            server, thread = start_http_server(port, addr="127.0.0.1", registry=metrics.registry)
            servers.append((server, thread))
            ports.append(port)
        yield ports
    finally:
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


@contextlib.contextmanager
def prometheus(tmp: Path, targets: dict[str, list[int]], rule_files: list[Path]):
    """Prometheus on a free loopback port scraping ``targets`` (job -> ports) every second."""
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{p}" for p in ports]}]}
            for job, ports in sorted(targets.items())
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (tmp / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            need("prometheus"),
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            assert proc.poll() is None, (tmp / "prometheus.log").read_text()[-2000:]
            try:
                return get(f"{base}/-/ready", timeout=2)[0] == 200
            except OSError:
                return False

        wait_for(ready, "ready Prometheus")
        yield base
    finally:
        try:
            assert stop(proc) == 0, (tmp / "prometheus.log").read_text()[-2000:]
        finally:
            log.close()


def test_prometheus_scrapes_services_and_evaluates_rules_and_dashboards(generated, tmp_path):
    out = generated["flask"]
    names = sorted(p.name for p in (out / "services").iterdir())
    rule_files = []
    for name in names:
        doc = yaml.safe_load((out / f"deploy/k8s/base/{name}/prometheusrule.yaml").read_text())
        rule_files.append(tmp_path / f"{name}.rules.yml")
        rule_files[-1].write_text(yaml.safe_dump(doc["spec"]))
    check = subprocess.run(
        [need("promtool"), "check", "rules", *map(str, rule_files)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0 and check.stdout.count("SUCCESS: 6 rules found") == 3, (
        check.stdout + check.stderr
    )

    procs, ports = {}, {}
    try:
        for name in names:
            db = tmp_path / f"{name}.sqlite3"
            sqlite3.connect(db).close()
            ports[name] = free_port()
            procs[name] = start_service(
                out / "services" / name,
                ports[name],
                DATABASE_URL=f"sqlite:///{db}",
                DATABASE_READ_URL=f"sqlite:///{db}",
                CUTOVER_STATE="canary",
            )
        with (
            call_exporters(out, names) as call_ports,
            prometheus(
                tmp_path, {"services": list(ports.values()), "calls": call_ports}, rule_files
            ) as base,
        ):
            _check_against_prometheus(base, out, names, ports)
    finally:
        codes = {name: stop(proc) for name, proc in procs.items()}
    assert set(codes.values()) == {0}, codes


def _check_against_prometheus(base: str, out: Path, names: list[str], ports: dict) -> None:
    # calm traffic: user requests that are no errors (404 on paths nobody serves), in two
    # rounds around a scrape (a counter's first sample is no increase)
    calm = 'http_requests_total{route="<unmatched>"}'
    for round_ in range(2):
        for name in names:
            for i in range(1 + 4 * round_):
                assert get(f"http://127.0.0.1:{ports[name]}/no-such-page-{i}")[0] == 404
        if not round_:
            wait_for(lambda: len(query(base, calm)) == len(names), "scraped calm traffic")
    wait_for(
        lambda: len(query(base, f"rate({calm}[1m]) > 0")) == len(names),
        "rate of the calm traffic for every service",
    )
    found = queries(out)
    alerts = [(w, e) for w, e in found if w.startswith("prometheusrule")]
    panels = [(w, e) for w, e in found if not w.startswith("prometheusrule")]
    assert len(alerts) == 6 * len(names) and len(panels) > 4 * len(names)
    for where, expr in panels:
        wait_for(lambda e=expr: query(base, e), f"series for {where}: {expr}")
    for where, expr in alerts:
        for side in expr.split("\nand\n"):  # each window's ratio, before the threshold
            wait_for(lambda s=side: query(base, s.rsplit(" > ", 1)[0]), f"series for {where}")
    errors = [e for w, e in alerts if "ErrorsBudgetBurn" in w]
    assert all(query(base, e) == [] for e in errors), "error alerts fire on calm traffic"

    # the burst: every stub answers 501 (once, then again after a scrape)
    stubs = {name: stub_urls(out / "services" / name) for name in names}
    for round_ in range(2):
        for name in names:
            for method, url in stubs[name]:
                for _ in range(1 + 9 * round_):
                    req = f"http://127.0.0.1:{ports[name]}{url}"
                    status = get(req)[0] if method == "GET" else _send(req, method)
                    assert status == 501, (method, req, status)
        if not round_:
            wait_for(
                lambda: (
                    len(query(base, "count by (service) (http_request_errors_total > 0)"))
                    == len(names)
                ),
                "scraped first errors",
            )
    for expr in errors:
        result = wait_for(lambda e=expr: query(base, e), f"error alert result: {expr}")
        assert {r["metric"]["cutover"] for r in result} == {"canary"}
    wait_for(
        lambda: (
            {r["metric"]["service"] for r in query(base, 'ALERTS{alertname=~".*ErrorsBudgetBurn"}')}
            == set(names)
        ),
        "pending error-rate alert of every service",
    )
    rules = json.loads(get(f"{base}/api/v1/rules")[2])["data"]["groups"]
    assert all(r["health"] == "ok" for g in rules for r in g["rules"]), rules


def _send(url: str, method: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=b"", method=method), timeout=5
        ) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
