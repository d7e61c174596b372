"""Slow: the default `migrator run` output keeps the shop working behind the generated nginx
gateway, and keeps it working through every cutover state of one service and its rollback.

The monolith runs the way its generated image runs it (gunicorn on the WSGI target of
``monolith/Dockerfile``, settings under the names of ``compose.yaml``), on one SQLite database.
The service's upstream is a second such process on the same database: the monolith's code
deployed as the service, which is what a first cutover moves before its code is extracted.
What the test proves is the routing: the sample's own HTTP journeys pass at ``off``,
``canary`` 10%, ``live`` and after ``off`` again, and the access log shows where the service's
routes went in each state.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from migrator.cli import main
from migrator.extraction.localrun import free_port, wait_http
from migrator.generation import build_project
from migrator.plan import load_plan

from .support import ROOT, local_gateway

pytestmark = pytest.mark.slow
SERVICE = "catalog"


def _monolith_process(out: Path, port: int, db: Path, work: Path, name: str):
    """Start the monolith as its generated image would (CMD target, compose's settings)."""
    from migrator.extraction.localrun import Process

    cmd = (out / "monolith/Dockerfile").read_text()
    target = re.search(r"--access-logfile - '([^']+)'", cmd).group(1)
    settings = yaml.safe_load((out / "compose.yaml").read_text())["services"]["monolith"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SHOP_PASSWORD_ITERATIONS": "1000",
           "SHOP_INSTANCE_DIR": str(work / "instance"), "SHOP_MAIL_DIR": str(work / "mail"),
           # an in-process cache per replica would serve stale pages once there are two
           "SHOP_CATALOG_CACHE_SECONDS": "0"}
    for key, value in settings["environment"].items():
        if "@postgres:5432/" in str(value):
            env[key] = f"sqlite:///{db}"
        elif "SECRET_KEY" in str(value):
            env[key] = "journeys-session-key"
    log = work / f"{name}.log"
    with open(log, "wb") as fh:
        popen = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--threads", "8", target], cwd=ROOT, env=env, stdout=fh,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    proc = Process(name, port, popen, log)
    wait_http(proc.url + "/healthz", 60, proc)
    return proc


def _journeys(url: str) -> tuple[int, int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "sample_monolith" / "tests"), "-q",
         "-p", "no:cacheprovider", "-k", "external", "-rA"], cwd=ROOT,
        env={**os.environ, "SHOP_BASE_URL": url}, capture_output=True, text=True, timeout=900)
    passed = len(re.findall(r"^PASSED .*\[external\]", result.stdout, re.MULTILINE))
    return result.returncode, passed, result.stdout[-3000:]


def test_journeys_pass_at_every_cutover_state_and_after_rollback(tmp_path):
    from migrator.analysis import analyze
    from migrator.pipeline import run

    out = tmp_path / "out"
    run(ROOT / "sample_monolith", out)
    plan = load_plan(out / "plan.yaml")
    assert {s.cutover for s in plan.services.values()} == {"off"}
    project = build_project(plan, analyze(ROOT / "sample_monolith"))
    rules = [r for r in project.rules if r.service == SERVICE]
    assert rules, f"{SERVICE} owns no route in the proposer's plan"
    db = tmp_path / "shop.sqlite3"
    ports = {"monolith": free_port(), SERVICE: free_port()}
    procs = []
    try:
        procs.append(_monolith_process(out, ports["monolith"], db, tmp_path, "monolith"))
        procs.append(_monolith_process(out, ports[SERVICE], db, tmp_path, SERVICE))
        shares = {}
        for step, (state, extra) in enumerate((("off", []), ("canary", ["--percent", "10"]),
                                               ("live", []), ("off", []))):
            result = CliRunner().invoke(main, ["cutover", SERVICE, state, *extra, "-o", str(out)])
            assert result.exit_code == 0, result.output
            prefix = tmp_path / f"gw{step}"
            with local_gateway(out, prefix, ports) as (gw, _):
                code, passed, tail = _journeys(gw)
            assert code == 0 and passed >= 20, (state, passed, tail)
            hits = [json.loads(line) for line in (prefix / "access.log").read_text().splitlines()]
            mine = [h for h in hits if any(
                h["path"] == r.path or (r.path_type == "Prefix" and h["path"].startswith(r.path))
                for r in rules)]
            to_service = sum(h["upstream"].endswith(f":{ports[SERVICE]}") for h in mine)
            shares[f"{step}:{state}"] = (to_service, len(mine), passed)
            if state == "off":
                assert to_service == 0, shares
            if state == "live":
                assert mine and to_service == len(mine), shares
        print(f"(requests to the service, requests on its routes, journeys passed): {shares}")
    finally:
        for proc in procs:
            proc.stop()
