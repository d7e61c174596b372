"""End to end: sample_monolith split into services, each in its own venv with its own database,
behind the generated nginx gateway (or the Python fallback), driven by the monolith's own,
unchanged HTTP journey tests.

Slow (a few minutes: venvs from a cached wheelhouse, eleven gunicorn processes). Every journey
collected in external mode must pass, the back-office reports included: they are a read model
over the other services' service-layer functions (see DECOMPOSITION.md), which the extraction
turns into HTTP calls.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_monolith"
WHEELHOUSE = REPO / ".migrator-cache" / "e2e-wheels"


def choose_plan(graph):  # noqa: ANN001, ANN201
    """The proposer's default plan when it matches the authors' intent (MoJoFM >= 90), else a
    plan completed from sample_monolith/decomposition.yaml."""
    from migrator.extraction.planning import plan_from_decomposition
    from migrator.proposal import propose
    from migrator.proposal.compare import load_partition, mojofm

    plan = propose(graph)
    if mojofm(plan.assignment(), load_partition(SAMPLE / "decomposition.yaml")) >= 90:
        return plan
    return plan_from_decomposition(SAMPLE / "decomposition.yaml", graph, REPO)


@pytest.fixture(scope="module")
def split_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from migrator import scaffold
    from migrator.analysis import analyze
    from migrator.extraction.localrun import (
        fill_wheelhouse,
        free_port,
        install_services,
        requirement_lines,
        start_gateway,
        start_service,
        wait_http,
    )
    from migrator.generation import build_project

    work = tmp_path_factory.mktemp("split-shop")
    graph = analyze(SAMPLE)
    plan = choose_plan(graph)
    out = work / "out"
    scaffold(plan, graph, out, extract=True, source_root=REPO)
    services = {name: out / "services" / name for name in sorted(plan.services)}
    requirements = sorted({line for d in services.values()
                           for line in requirement_lines(d / "requirements.txt")})
    fill_wheelhouse(requirements, WHEELHOUSE)
    pythons = install_services(services, out / "shared_kernel", work / "venvs", WHEELHOUSE)
    ports = {name: free_port() for name in services}
    urls = {f"{n.upper().replace('-', '_')}_URL": f"http://127.0.0.1:{p}" for n, p in ports.items()}
    procs, gateway = [], None
    try:
        for name, port in sorted(ports.items()):
            (work / "instance" / name).mkdir(parents=True)
            env = {**urls, "DATABASE_URL": f"sqlite:///{work / name}.sqlite3",
                   "SHOP_SECRET_KEY": "split-shop-secret", "SHOP_PASSWORD_ITERATIONS": "1000",
                   "SHOP_INSTANCE_DIR": str(work / "instance" / name),
                   "SHOP_MAIL_DIR": str(work / "mail"), "INTERSERVICE_TIMEOUT": "20"}
            procs.append(start_service(name, services[name], port, env, work / "logs",
                                       python=pythons[name]))
        for proc in procs:
            wait_http(proc.url + "/healthz", 120, proc)
        project = build_project(plan, graph)
        rules = [(r.path, r.path_type, r.service) for r in project.rules]
        # nothing stays in the monolith: its catch-all goes to the storefront's service
        front = next((r.service for r in project.rules if r.path == "/"), "catalog")
        gateway = start_gateway(rules, ports, front, work)
        wait_http(gateway.url + "/healthz", 30)
        yield {"url": gateway.url, "plan": plan, "work": work, "procs": procs, "out": out,
               "gateway": gateway}
    finally:
        if gateway is not None:
            gateway.stop()
        for proc in procs:
            proc.stop()


def test_every_service_runs_from_its_own_venv_with_its_own_database(split_shop: dict) -> None:
    from migrator.extraction.localrun import wait_http

    plan = split_shop["plan"]
    for proc in split_shop["procs"]:
        wait_http(proc.url + "/readyz", 10, proc)
        assert f"/venvs/{proc.name}/" in " ".join(proc.popen.args)
        db = split_shop["work"] / f"{proc.name}.sqlite3"
        tables = {row[0] for row in sqlite3.connect(db).execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        owned = set(plan.services[proc.name].tables)
        assert owned <= tables, (proc.name, owned - tables)
        others = {t for n, s in plan.services.items() if n != proc.name for t in s.tables}
        assert not tables & others, (proc.name, tables & others)  # no silent shared tables


def _journeys(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """The sample's own tests in external mode (``SHOP_BASE_URL``), as a separate pytest run."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(SAMPLE / "tests"), "-q", "-p", "no:cacheprovider",
         "-k", "external", *extra], cwd=REPO, env={**os.environ, "SHOP_BASE_URL": url},
        capture_output=True, text=True, timeout=900)


def test_journeys_run_unchanged_against_the_gateway(split_shop: dict) -> None:
    collected = set(re.findall(r"^sample_monolith/tests/(\S+)\[external\]$",
                               _journeys(split_shop["url"], "--collect-only").stdout,
                               re.MULTILINE))
    assert len(collected) >= 20, "the sample's journeys were not collected in external mode"
    result = _journeys(split_shop["url"], "-rA")
    outcomes = {m.group(2): m.group(1) for m in re.finditer(
        r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) sample_monolith/tests/(\S+)\[external\]",
        result.stdout, re.MULTILINE)}
    passed = {name for name, outcome in outcomes.items() if outcome == "PASSED"}
    print(f"journeys through the gateway: {len(passed)} of {len(collected)} passed")
    assert result.returncode == 0, result.stdout[-4000:]
    not_passed = {name: outcomes.get(name, "not run") for name in sorted(collected - passed)}
    assert not not_passed, (not_passed, result.stdout[-4000:])
    assert passed == collected
