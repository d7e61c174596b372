"""A real open-source Flask app that nobody on the team wrote: Flaskr, the Flask project's own
tutorial app (an app factory in ``flaskr/__init__.py``, ``auth`` and ``blog`` blueprints, a
``db`` module on sqlite3), shipped in Flask's sdist. It is fetched from the package registry
as the benchmarks fetch their codebases (``registry_apps.fetch``, cached in benchmarks/.cache),
analysed, split into two services along its blueprints, extracted, and every generated service
must import, build its app and answer its probes with the Flask this machine has (Flaskr's
only requirement)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from registry_apps import fetch

pytestmark = pytest.mark.slow

#: Flaskr's own split: the log-in blueprint with the app factory and the database helpers,
#: and the blog, which calls both (``login_required``, ``get_db``)
PLAN = {
    "version": 1,
    "services": {
        "auth": {"modules": ["flaskr", "flaskr.auth", "flaskr.db"]},
        "blog": {"modules": ["flaskr.blog"]},
    },
}


def test_flaskr_extracts_and_every_service_boots(tmp_path: Path) -> None:
    from migrator.analysis import analyze
    from migrator.extraction import extract
    from migrator.plan import plan_from_dict
    from migrator.proposal import propose

    app = fetch("flask==3.1.2", "flask-3.1.2", "--no-binary", ":all:") / "examples/tutorial"
    graph = analyze(app, use_cache=False)
    assert {r.handler for r in graph.routes} >= {"flaskr.auth:login", "flaskr.blog:index"}
    proposed = propose(graph)  # the proposer covers every module of a real app
    assert {m for s in proposed.services.values() for m in s.modules} >= {
        "flaskr.auth",
        "flaskr.blog",
        "flaskr.db",
    }
    plan = plan_from_dict(PLAN)
    ex = extract(plan, graph, app, tmp_path / "out")
    print(
        f"flaskr: {ex.converted} of {len(ex.calls)} cross-service calls converted, "
        f"{len(ex.couplings)} data couplings listed"
    )
    assert ex.calls  # blog -> auth calls were found
    assert (tmp_path / "out" / "EXTRACTION.md").exists()
    probe = (
        "from interservice.app import create_app\napp = create_app()\n"
        "c = app.test_client()\n"
        "print(c.get('/healthz').status_code, c.get('/readyz').status_code)\n"
    )
    for name in sorted(plan.services):
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / name}.db",
            "PYTHONPATH": os.pathsep.join(
                [
                    str(tmp_path / "out" / "services" / name / "src"),
                    str(tmp_path / "out" / "shared_kernel" / "src"),
                ]
            ),
        }
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, (name, result.stderr[-2000:])
        assert result.stdout.strip().splitlines()[-1] == "200 200", (name, result.stdout)
