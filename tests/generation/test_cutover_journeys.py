"""Slow: one service cut over for real. The catalog service that `migrator run --extract` writes
runs on 127.0.0.1 on its own PostgreSQL database, the monolith serves everything else, and the
generated nginx gateway moves catalog's routes through ``off``, ``shadow``, ``canary`` 10%,
``live`` and back to ``off``; the sample's own HTTP journeys pass at every state but shadow.

The migration steps are a user's: ``migrator data copy`` moves catalog's rows out of the
monolith's database (read from its streaming replica), then the monolith's ``categories`` and
``products`` become postgres_fdw foreign tables over the service's database (docs/deploy.md),
so there is one copy of catalog's rows whichever process writes them. The monolith runs as its
generated image runs it (gunicorn on the WSGI target of ``monolith/Dockerfile``, settings under
the names of ``compose.yaml``). catalog calls inventory's functions over HTTP; until inventory
moves, its extracted code answers them on the monolith's database, unrouted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
import yaml
from click.testing import CliRunner
from psycopg import sql

from migrator.cli import main
from migrator.extraction.localrun import (
    Process,
    fill_wheelhouse,
    free_port,
    install_services,
    requirement_lines,
    start_service,
    wait_http,
)
from migrator.generation import build_project
from migrator.plan import load_plan

from .pgpair import primary_and_replica
from .support import ROOT, local_gateway

pytestmark = pytest.mark.slow
SERVICE = "catalog"
CALLED = "inventory"  # the service whose functions catalog calls over HTTP
WHEELHOUSE = ROOT / ".migrator-cache" / "e2e-wheels"
SECRET = "journeys-session-key"
#: settings every process of the shop gets; an in-process catalog cache per process would
#: serve stale pages once two processes answer catalog's routes
SHOP_ENV = {
    "SHOP_PASSWORD_ITERATIONS": "1000",
    "SHOP_SECRET_KEY": SECRET,
    "SHOP_CATALOG_CACHE_SECONDS": "0",
}


def _monolith_process(out: Path, port: int, database: str, work: Path) -> Process:
    """Start the monolith as its generated image would (CMD target, compose's settings)."""
    cmd = (out / "monolith/Dockerfile").read_text()
    target = re.search(r"--access-logfile - '([^']+)'", cmd).group(1)
    settings = yaml.safe_load((out / "compose.yaml").read_text())["services"]["monolith"]
    env = {
        **os.environ,
        **SHOP_ENV,
        "PYTHONPATH": str(ROOT),
        "SHOP_INSTANCE_DIR": str(work / "instance"),
        "SHOP_MAIL_DIR": str(work / "mail"),
    }
    for key, value in settings["environment"].items():
        if "@postgres:5432/" in str(value):
            env[key] = database
        elif "SECRET_KEY" in str(value):
            env[key] = SECRET
    log = work / "monolith.log"
    with open(log, "wb") as fh:
        popen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "8",
                target,
            ],
            cwd=ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    proc = Process("monolith", port, popen, log)
    wait_http(proc.url + "/healthz", 60, proc)
    return proc


def _journeys(url: str) -> tuple[int, int, str]:
    """The sample's own journeys in external mode: (exit code, number passed, output tail)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "sample_monolith" / "tests"),
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "external",
            "-rA",
        ],
        cwd=ROOT,
        env={**os.environ, "SHOP_BASE_URL": url},
        capture_output=True,
        text=True,
        timeout=900,
    )
    passed = len(re.findall(r"^PASSED .*\[external\]", result.stdout, re.MULTILINE))
    return result.returncode, passed, result.stdout[-3000:]


def _serve_tables_from_service(
    monolith: str, service_port: int, service_db: str, tables: list[str]
) -> None:
    """Replace the monolith's copies of ``tables`` by foreign tables over the service's
    database (postgres_fdw), ids drawn from the service's own sequences."""
    with psycopg.connect(
        f"postgresql://postgres@127.0.0.1:{service_port}/{service_db}", autocommit=True
    ) as conn:
        for table in tables:
            conn.execute(
                sql.SQL(
                    "CREATE VIEW {} AS SELECT nextval(pg_get_serial_sequence({}, 'id')) AS id"
                ).format(sql.Identifier(f"next_{table}_id"), sql.Literal(f"public.{table}"))
            )
    with psycopg.connect(monolith, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgres_fdw")
        conn.execute(
            sql.SQL(
                "CREATE SERVER service_db FOREIGN DATA WRAPPER postgres_fdw OPTIONS "
                "(host '127.0.0.1', port {}, dbname {})"
            ).format(sql.Literal(str(service_port)), sql.Literal(service_db))
        )
        conn.execute(
            "CREATE USER MAPPING FOR CURRENT_USER SERVER service_db OPTIONS (user 'postgres')"
        )
        names = sql.SQL(", ").join(sql.Identifier(t) for t in tables)
        conn.execute(sql.SQL("DROP TABLE {} CASCADE").format(names))  # and the FKs into them
        imported = [*tables, *(f"next_{t}_id" for t in tables)]
        conn.execute(
            sql.SQL(
                "IMPORT FOREIGN SCHEMA public LIMIT TO ({}) FROM SERVER service_db INTO public"
            ).format(sql.SQL(", ").join(sql.Identifier(t) for t in imported))
        )
        for table in tables:
            nxt = sql.Identifier(f"next_{table}_id")
            conn.execute(
                sql.SQL("CREATE FUNCTION {}() RETURNS bigint LANGUAGE sql AS {}").format(
                    nxt, sql.Literal(f"SELECT id FROM next_{table}_id")
                )
            )
            conn.execute(
                sql.SQL("ALTER FOREIGN TABLE {} ALTER COLUMN id SET DEFAULT {}()").format(
                    sql.Identifier(table), nxt
                )
            )


def _start_extracted(
    out: Path, work: Path, envs: dict[str, dict[str, str]], ports: dict[str, int]
) -> list[Process]:
    """The extracted services named in ``envs``, each in its venv (from the wheelhouse)."""
    dirs = {name: out / "services" / name for name in envs}
    fill_wheelhouse(
        sorted({line for d in dirs.values() for line in requirement_lines(d / "requirements.txt")}),
        WHEELHOUSE,
    )
    pythons = install_services(dirs, out / "shared_kernel", work / "venvs", WHEELHOUSE)
    procs = []
    for name in sorted(envs):
        (work / "instance" / name).mkdir(parents=True)
        env = {
            **SHOP_ENV,
            "SHOP_INSTANCE_DIR": str(work / "instance" / name),
            "SHOP_MAIL_DIR": str(work / "mail"),
            "INTERSERVICE_TIMEOUT": "20",
            **envs[name],
        }
        procs.append(
            start_service(name, dirs[name], ports[name], env, work / "logs", python=pythons[name])
        )
    for proc in procs:
        wait_http(proc.url + "/readyz", 120, proc)
    return procs


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _requests_served(url: str, method: str) -> int:
    """How many ``method`` requests the service counted on catalog's API (its /metrics)."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return int(
        sum(
            float(m.group(1))
            for m in re.finditer(
                rf'^http_requests_total{{[^}}]*method="{method}"[^}}]*route="/api/catalog[^"]*"[^}}]*}} '
                r"(\S+)$",
                text,
                re.MULTILINE,
            )
        )
    )


def _access_log(prefix: Path, at_least: int = 0) -> list[dict]:
    """The gateway's access log; nginx writes a line just after it answers, so wait (bounded)
    for the ``at_least`` lines of the requests already answered."""
    end = time.monotonic() + 10
    while True:
        hits = [json.loads(line) for line in (prefix / "access.log").read_text().splitlines()]
        if len(hits) >= at_least or time.monotonic() > end:
            return hits
        time.sleep(0.05)


def test_extracted_service_keeps_the_journeys_passing_through_every_cutover_state(tmp_path):
    from migrator.pipeline import run

    default, out = tmp_path / "default", tmp_path / "out"
    run(ROOT / "sample_monolith", default)
    run(ROOT / "sample_monolith", out, extract=True)
    # the gateway and monolith of the default output are the ones this test runs at `off`
    for folder in ("gateway", "monolith"):
        assert {p.name: p.read_bytes() for p in (default / folder).iterdir()} == {
            p.name: p.read_bytes() for p in (out / folder).iterdir()
        }, folder
    plan = load_plan(out / "plan.yaml")
    assert {s.cutover for s in plan.services.values()} == {"off"}
    tables = sorted(plan.services[SERVICE].tables)
    graph = json.loads((out / "graph.json").read_text())
    routes = sorted({(r["method"], r["path"]) for r in graph["routes"]})
    from migrator.analysis import analyze

    rules = [
        r
        for r in build_project(plan, analyze(ROOT / "sample_monolith")).rules
        if r.service == SERVICE
    ]
    assert rules and tables, f"{SERVICE} owns no route or table in the proposer's plan"

    def catalog_route(path: str) -> bool:
        """As the Ingress matches: a Prefix rule by whole path segments (/c: not /cart)."""
        path = path.split("?", 1)[0]
        return any(
            path == r.path
            or (r.path_type == "Prefix" and path.startswith(r.path.rstrip("/") + "/"))
            for r in rules
        )

    ports = {"monolith": free_port(), SERVICE: free_port(), CALLED: free_port()}
    procs: list[Process] = []
    with primary_and_replica() as pg:
        with psycopg.connect(pg.primary(), autocommit=True) as conn:
            for db in ("monolith", SERVICE):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
        monolith_db = pg.primary("monolith", "postgresql+psycopg")
        subprocess.run(
            [sys.executable, "-m", "sample_monolith", "--init-only"],
            cwd=tmp_path,
            env={
                **os.environ,
                **SHOP_ENV,
                "PYTHONPATH": str(ROOT),
                "SHOP_DATABASE_URL": monolith_db,
                "SHOP_INSTANCE_DIR": str(tmp_path),
            },
            check=True,
            capture_output=True,
            timeout=120,
        )
        pg.wait_replayed()
        copied = CliRunner().invoke(
            main,
            [
                "data",
                "copy",
                SERVICE,
                "--from",
                pg.replica("monolith"),
                "--to",
                pg.primary(SERVICE),
                "--plan",
                str(out / "plan.yaml"),
            ],
        )
        assert copied.exit_code == 0, copied.output
        assert [line.split()[-1] for line in copied.output.splitlines() if line.strip()] == [
            "ok"
        ] * len(tables), copied.output
        _serve_tables_from_service(pg.primary("monolith"), pg.primary_port, SERVICE, tables)
        try:
            procs.append(_monolith_process(out, ports["monolith"], monolith_db, tmp_path))
            urls = {f"{n.upper()}_URL": f"http://127.0.0.1:{p}" for n, p in ports.items()}
            procs += _start_extracted(
                out,
                tmp_path,
                {
                    SERVICE: {**urls, "DATABASE_URL": pg.primary(SERVICE, "postgresql+psycopg")},
                    CALLED: {**urls, "DATABASE_URL": monolith_db},
                },
                ports,
            )
            service = next(p for p in procs if p.name == SERVICE)
            gateway_ports = {"monolith": ports["monolith"], SERVICE: ports[SERVICE]}
            journeys = {}
            steps = (
                ("off", []),
                ("shadow", []),
                ("canary", ["--percent", "10"]),
                ("live", []),
                ("off", []),
            )
            for step, (state, extra) in enumerate(steps):
                result = CliRunner().invoke(
                    main, ["cutover", SERVICE, state, *extra, "-o", str(out)]
                )
                assert result.exit_code == 0, result.output
                prefix = tmp_path / f"gw{step}"
                with local_gateway(out, prefix, gateway_ports) as (gw, _):
                    if state == "shadow":
                        _shadow_is_never_seen(gw, service, prefix, catalog_route)
                        continue
                    if step in (0, 3):  # the default output's `off`, and `live`
                        owner = ports[SERVICE if state == "live" else "monolith"]
                        _every_route_answered(
                            gw,
                            prefix,
                            routes,
                            lambda path, owner=owner: (
                                owner if catalog_route(path) else ports["monolith"]
                            ),
                        )
                    code, passed, tail = _journeys(gw)
                    assert code == 0 and passed >= 20, (state, passed, tail)
                    mine = [h for h in _access_log(prefix) if catalog_route(h["path"])]
                    to_service = sum(h["upstream"].endswith(f":{ports[SERVICE]}") for h in mine)
                    journeys[f"{step}:{state}"] = (passed, to_service, len(mine))
                    if state == "canary":
                        canary = _canary_share(gw, prefix, ports[SERVICE])
                        assert abs(canary - 10) <= 4, canary
                if state == "off":
                    assert to_service == 0, journeys
                if state == "live":
                    assert mine and to_service == len(mine), journeys
            print(
                f"(journeys passed, requests to {SERVICE}, requests on its routes) per state: "
                f"{journeys}; canary 10%: {canary}% of 1,000 reads went to {SERVICE}"
            )
        finally:
            for proc in procs:
                proc.stop()


def _every_route_answered(gw: str, prefix: Path, routes: list[tuple[str, str]], served_by) -> None:
    """Every route the analysis found, its parameters filled in, reaches the process that
    ``served_by`` (path -> port) names, and is answered without a server error: no route is
    left without a live backend at this state."""
    from sample_monolith.tests.shop_client import ShopClient, UrllibTransport

    shop = ShopClient(UrllibTransport(gw), "routes")
    before = len(_access_log(prefix))  # nothing else is in flight
    asked = []
    for method, path in routes:
        concrete = re.sub(r"<[^>]+>", "x", re.sub(r"<int:[^>]+>", "1", path))
        body = None if method in ("GET", "DELETE") else {}
        asked.append((method, concrete, shop.request(method, concrete, body).status))
    hits = _access_log(prefix, before + len(asked))[before:]
    assert [(h["method"], h["path"]) for h in hits] == [a[:2] for a in asked]
    wrong = [
        (*a, h["upstream"])
        for a, h in zip(asked, hits, strict=True)
        if a[2] >= 500 or a[2] == 405 or not h["upstream"].endswith(f":{served_by(a[1])}")
    ]
    assert len(asked) >= 80 and not wrong, wrong


def _canary_share(gw: str, prefix: Path, port: int) -> float:
    """Percent of 1,000 reads of catalog's API that the gateway sent to the service."""
    before = len(_access_log(prefix))
    paths = ("/api/catalog/categories", "/api/catalog/products/PSP-PEC-001")
    codes = [_get(gw + paths[i % 2]) for i in range(1000)]
    assert set(codes) == {200}, sorted(set(codes))
    hits = _access_log(prefix, before + 1000)[before:]
    assert len(hits) == 1000
    return sum(h["upstream"].endswith(f":{port}") for h in hits) / 10


def _shadow_is_never_seen(gw: str, service: Process, prefix: Path, catalog_route) -> None:
    """In shadow the monolith answers every request; the service gets a copy of each read and
    none of the writes, and its answers never reach the client."""
    from sample_monolith.tests.journey import expect, staff_token, unique
    from sample_monolith.tests.shop_client import ShopClient, UrllibTransport

    shop = ShopClient(UrllibTransport(gw), "shadow")
    reads_before, writes_before = (_requests_served(service.url, m) for m in ("GET", "POST"))
    staff = staff_token(shop)
    for _ in range(5):
        expect(
            shop.post(
                "/api/catalog/products",
                {
                    "sku": unique("S").upper()[:20],
                    "name": "Shadow jar",
                    "price_cents": 100,
                    "category": "pantry",
                    "weight_grams": 100,
                },
                token=staff,
            ),
            201,
        )
    for i in range(40):
        expect(shop.get(("/api/catalog/categories", "/api/catalog/products")[i % 2]), 200)
    end = time.monotonic() + 15  # bounded: nginx's mirror subrequests finish on their own
    while _requests_served(service.url, "GET") < reads_before + 40 and time.monotonic() < end:
        time.sleep(0.1)
    assert _requests_served(service.url, "GET") == reads_before + 40
    assert _requests_served(service.url, "POST") == writes_before
    answered = [h for h in _access_log(prefix, 46) if catalog_route(h["path"])]
    assert len(answered) == 45
    assert not [h for h in answered if h["upstream"].endswith(f":{service.port}")], answered
