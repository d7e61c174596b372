"""Cutover per service: the plan's state (off, shadow, canary, live), `migrator cutover` that
edits it and regenerates, and the gateway (real nginx on 127.0.0.1) and Ingresses routing by it.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import migrator
from migrator.cli import main
from migrator.extraction.localrun import free_port
from migrator.generation import build_project, scaffold
from migrator.plan import PlanError, dump_plan, plan_from_dict

from .sample_plan import sample_plan
from .support import local_gateway

SERVICE = "catalog"


def _plan_dict(**cutover) -> dict:
    return {"version": 1, "services": {"a": {"modules": ["m.a"], **cutover}, "b": {}}}


def test_plans_without_cutover_are_off_and_dump_as_before():
    plan = plan_from_dict(_plan_dict())
    assert {s.cutover for s in plan.services.values()} == {"off"}
    assert "cutover" not in dump_plan(plan)
    plan.services["a"].cutover, plan.services["a"].cutover_percent = "canary", 10
    again = plan_from_dict(yaml.safe_load(dump_plan(plan)))
    assert (again.services["a"].cutover, again.services["a"].cutover_percent) == ("canary", 10)
    assert plan_from_dict(_plan_dict(cutover="live")).services["a"].cutover == "live"


@pytest.mark.parametrize(
    "value, message",
    [
        ("on", "state must be one of off, shadow, canary, live"),
        ({"state": "canary"}, "canary needs a whole percent from 1 to 99, got None"),
        ({"state": "canary", "percent": 100}, "got 100"),
        ({"state": "canary", "percent": True}, "got True"),
        ({"state": "live", "percent": 10}, "percent applies to canary only"),
        ({"state": "live", "weight": 1}, "services.a.cutover.weight: unknown key"),
        (["live"], "must be a state or a mapping"),
    ],
)
def test_bad_cutover_names_the_key(value, message):
    with pytest.raises(PlanError) as err:
        plan_from_dict(_plan_dict(cutover=value), source="plan.yaml")
    assert "plan.yaml: services.a.cutover" in str(err.value) and message in str(err.value)


# -- a scaffold of the sample, and `migrator cutover` on it ------------------------------------
def _scaffolded(graph, work: Path) -> Path:
    out = work / "out"
    plan = sample_plan(graph)
    out.mkdir(parents=True)
    plan.meta["source"] = os.path.relpath(Path(graph.root).resolve() / "sample_monolith", out)
    (out / "plan.yaml").write_text(dump_plan(plan))
    scaffold(plan, graph, out, with_=("cloudnative-pg",))
    return out


def _tree(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "plan.yaml"
    }


def test_cutover_command_edits_the_plan_regenerates_and_rolls_back(sample_graph, tmp_path):
    out = _scaffolded(sample_graph, tmp_path / "w" / "x")
    before_plan = yaml.safe_load((out / "plan.yaml").read_text())
    before = _tree(out)
    runner = CliRunner()
    result = runner.invoke(main, ["cutover", SERVICE, "canary", "--percent", "10", "-o", str(out)])
    assert result.exit_code == 0, result.output
    after_plan = yaml.safe_load((out / "plan.yaml").read_text())
    assert after_plan["services"][SERVICE].pop("cutover") == {"state": "canary", "percent": 10}
    assert after_plan == before_plan  # every other key as it was
    canary = yaml.safe_load((out / f"deploy/k8s/base/ingress-canary-{SERVICE}.yaml").read_text())
    ann = canary["metadata"]["annotations"]
    assert ann["nginx.ingress.kubernetes.io/canary-weight"] == "10"
    assert {
        p["backend"]["service"]["name"] for p in canary["spec"]["rules"][0]["http"]["paths"]
    } == {SERVICE}
    main_ing = yaml.safe_load((out / "deploy/k8s/base/ingress.yaml").read_text())
    assert {
        p["backend"]["service"]["name"] for p in main_ing["spec"]["rules"][0]["http"]["paths"]
    } == {"monolith"}
    assert (out / f"deploy/k8s/base/{SERVICE}/database.yaml").exists()  # --with kept
    # a refused change leaves plan and output alone and says why in one line
    for args in (["canary"], ["live", "--percent", "5"]):
        bad = runner.invoke(main, ["cutover", SERVICE, *args, "-o", str(out)])
        assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1, bad.output
        assert "plan.yaml: services.catalog.cutover:" in bad.output
    unknown = runner.invoke(main, ["cutover", "nope", "live", "-o", str(out)])
    assert unknown.exit_code == 2 and "services.nope: no such service" in unknown.output
    assert yaml.safe_load((out / "plan.yaml").read_text())["services"][SERVICE]["cutover"] == {
        "state": "canary",
        "percent": 10,
    }
    # rollback is one command and gives back exactly the output of before
    result = runner.invoke(main, ["cutover", SERVICE, "off", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((out / "plan.yaml").read_text()) == before_plan
    assert _tree(out) == before


def test_default_output_sends_every_route_to_the_monolith(sample_graph, tmp_path):
    out = tmp_path / "out"
    scaffold(sample_plan(sample_graph), sample_graph, out)
    ing = yaml.safe_load((out / "deploy/k8s/base/ingress.yaml").read_text())
    assert ing["spec"]["defaultBackend"]["service"]["name"] == "monolith"
    assert ing["spec"]["rules"] == [{"host": "sample-monolith.example.com"}]  # no path
    from .test_tools import validate

    for path in sorted((out / "deploy/k8s/base").glob("ingress*.yaml")):
        validate(yaml.safe_load(path.read_text()), path.name)  # strict, as every manifest
    assert not list((out / "deploy/k8s/base").glob("ingress-canary-*"))
    docs = {
        (d["kind"], d["metadata"]["name"])
        for p in (out / "deploy/k8s/base/monolith").glob("*.yaml")
        for d in [yaml.safe_load(p.read_text())]
        if "kind" in d and d["kind"] != "Kustomization"
    }
    assert {
        ("Deployment", "monolith"),
        ("Service", "monolith"),
        ("HorizontalPodAutoscaler", "monolith"),
        ("PodDisruptionBudget", "monolith"),
    } <= docs
    assert "proxy_pass http://svc_" not in (out / "gateway/nginx.local.conf").read_text()


# -- real nginx in front of two recording upstreams ---------------------------------------------
class Recorder(http.server.ThreadingHTTPServer):
    """An upstream that answers ``<name>:<path>`` and remembers every request it got."""

    daemon_threads = True
    request_queue_size = 128  # nginx opens the mirror's connections in bursts

    def __init__(self, name: str) -> None:
        self.name, self.seen, self.lock = name, [], threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                with outer.lock:
                    outer.seen.append((self.command, self.path, dict(self.headers)))
                body = f"{outer.name}:{self.path}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _any

        super().__init__(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def _fetch(url: str, data: bytes | None = None) -> str:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
            return r.read().decode()
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"


@pytest.fixture()
def recorders():
    servers = {"monolith": Recorder("monolith"), SERVICE: Recorder(SERVICE)}
    yield servers
    for server in servers.values():
        server.shutdown()
        server.server_close()


def _with_state(graph, out: Path, state: str, percent: int = 0) -> list[str]:
    """Scaffold the sample with SERVICE in ``state``; URLs (paths) of SERVICE's routes."""
    plan = sample_plan(graph)
    plan.services[SERVICE].cutover, plan.services[SERVICE].cutover_percent = state, percent
    out.parent.mkdir(parents=True, exist_ok=True)
    scaffold(plan, graph, out)
    project = build_project(plan, graph)
    return [
        r.path + ("/x" if r.path_type == "Prefix" else "")
        for r in project.rules
        if r.service == SERVICE
    ]


def _wait_for(predicate, limit: float = 10.0) -> None:
    """Bounded wait for something that happens asynchronously (nginx's mirror subrequests)."""
    end = time.monotonic() + limit
    while not predicate() and time.monotonic() < end:
        time.sleep(0.05)


def test_gateway_routes_by_state_and_splits_a_canary(sample_graph, recorders, tmp_path):
    ports = {name: r.server_address[1] for name, r in recorders.items()}
    other = "/api/cart"  # a route of a service that stays off
    seen = {}
    for state, percent in (("off", 0), ("live", 0), ("canary", 10), ("canary", 50)):
        work = tmp_path / f"{state}{percent}"
        paths = _with_state(sample_graph, work / "out", state, percent)
        with local_gateway(work / "out", work / "gw", ports) as (gw, _):
            assert _fetch(gw + other).startswith("monolith:")
            answers = [_fetch(gw + paths[i % len(paths)]).split(":", 1)[0] for i in range(1000)]
        seen[(state, percent)] = answers.count(SERVICE) / 10  # percent to the service
        assert set(answers) <= {"monolith", SERVICE}
    print(f"share of {SERVICE}'s requests sent to it, per state: {seen}")
    assert seen[("off", 0)] == 0 and seen[("live", 0)] == 100
    assert abs(seen[("canary", 10)] - 10) <= 4, seen
    assert abs(seen[("canary", 50)] - 50) <= 6, seen


def test_shadow_copies_reads_to_the_service_and_the_client_never_sees_them(
    sample_graph, recorders, tmp_path
):
    ports = {name: r.server_address[1] for name, r in recorders.items()}
    paths = _with_state(sample_graph, tmp_path / "out", "shadow")
    shadow = recorders[SERVICE]
    with local_gateway(tmp_path / "out", tmp_path / "gw", ports) as (gw, _):
        writes = [_fetch(gw + paths[0], data=b"x=1") for _ in range(5)]
        reads = [_fetch(gw + paths[i % len(paths)]) for i in range(40)]
        _wait_for(lambda: len(shadow.seen) >= 40)
    assert all(a.startswith("monolith:") for a in writes + reads), writes + reads
    assert len(recorders["monolith"].seen) == 45
    # the copies: every read, none of the writes, marked as shadow traffic
    assert sorted((m, p) for m, p, _ in shadow.seen) == sorted(
        ("GET", paths[i % len(paths)]) for i in range(40)
    )
    assert all(h.get("X-Migrator-Shadow") == "1" for _, _, h in shadow.seen)
    # and the mirror location cannot be called from outside
    with local_gateway(tmp_path / "out", tmp_path / "gw2", ports) as (gw, _):
        assert _fetch(f"{gw}/_migrator_shadow/{SERVICE}") == "HTTP 404"


def test_canary_and_shadow_ingresses_pass_the_tools_in_every_overlay(sample_graph, tmp_path):
    from .test_tools import kustomize, validate

    plan = sample_plan(sample_graph)
    plan.services[SERVICE].cutover, plan.services[SERVICE].cutover_percent = "canary", 25
    plan.services["cart"].cutover = "shadow"
    plan.services["orders"].cutover = "live"
    out = tmp_path / "out"
    scaffold(plan, sample_graph, out)
    for overlay in ("dev", "prod"):
        docs = kustomize(out / "deploy/k8s/overlays" / overlay)
        ingresses = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Ingress"}
        for doc in ingresses.values():
            validate(doc, f"{overlay} Ingress/{doc['metadata']['name']}")
        host = {"dev": "dev.sample-monolith.example.com", "prod": "sample-monolith.example.com"}[
            overlay
        ]
        assert {d["spec"]["rules"][0]["host"] for d in ingresses.values()} == {host}
        canary = ingresses[f"sample-monolith-canary-{SERVICE}"]["metadata"]["annotations"]
        assert canary["nginx.ingress.kubernetes.io/canary-weight"] == "25"
        mirror = ingresses["sample-monolith-shadow-cart"]["metadata"]["annotations"][
            "nginx.ingress.kubernetes.io/mirror-target"
        ]
        assert mirror == (f"http://cart.sample-monolith-{overlay}.svc.cluster.local$request_uri")
        main_paths = {
            p["path"]: p["backend"]["service"]["name"]
            for p in ingresses["sample-monolith"]["spec"]["rules"][0]["http"]["paths"]
        }
        assert main_paths["/api/catalog/products"] == "monolith"  # canary: primary stays
        assert "orders" in main_paths.values() and "cart" not in main_paths.values()


def test_cutover_keeps_an_extract_mode_output_whole(tmp_path):
    """Regenerating after `scaffold --extract` keeps the moved code and the kernel."""
    from migrator.analysis import analyze
    from migrator.plan import load_plan

    from .conftest import SHOPFIX

    out = tmp_path / "out"
    plan_file = tmp_path / "plan.yaml"
    shutil.copy(SHOPFIX / "shopfix_plan.yaml", plan_file)
    migrator.scaffold(
        load_plan(plan_file), analyze(SHOPFIX / "shopfix_app", use_cache=False), out, extract=True
    )
    before = {p for p in _tree(out) if p.startswith(("services/catalog/src/", "shared_kernel/"))}
    assert before
    result = CliRunner().invoke(
        main,
        [
            "cutover",
            "catalog",
            "live",
            "-o",
            str(out),
            "--plan",
            str(plan_file),
            "--source",
            str(SHOPFIX / "shopfix_app"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert before <= set(_tree(out))
    assert "proxy_pass http://svc_catalog;" in (out / "gateway/nginx.local.conf").read_text()


def test_gateway_gives_every_request_one_id_passed_on_and_logged(sample_graph, recorders, tmp_path):
    """No X-Request-ID from the client: nginx makes one per request; a sane one is kept, an
    unsafe one replaced; the upstream gets it and the access log line carries it."""
    ports = {name: r.server_address[1] for name, r in recorders.items()}
    path = _with_state(sample_graph, tmp_path / "out", "live")[0]
    sent = [None, None, "rq-from-client.1", "bad id with spaces", "x" * 129]
    with local_gateway(tmp_path / "out", tmp_path / "gw", ports) as (gw, _):
        for request_id in sent:
            headers = {"X-Request-ID": request_id} if request_id else {}
            with urllib.request.urlopen(
                urllib.request.Request(gw + path, headers=headers), timeout=10
            ) as answer:
                assert answer.read().decode().startswith(f"{SERVICE}:")
    got = [h.get("X-Request-ID") for _, _, h in recorders[SERVICE].seen]
    assert len(got) == len(sent) and got[2] == "rq-from-client.1", got
    made = got[:2] + got[3:]
    assert all(re.fullmatch(r"[0-9a-f]{32}", g) for g in made) and len(set(made)) == 4, got
    logged = [json.loads(line) for line in (tmp_path / "gw/access.log").read_text().splitlines()]
    assert [entry["request_id"] for entry in logged] == got
