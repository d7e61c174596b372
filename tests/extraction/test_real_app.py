"""A real open-source Flask app that nobody on the team wrote: Miguel Grinberg's microblog
(Flask-SQLAlchemy, Flask-Login, blueprints, an app factory in ``app/__init__.py``).

Obtain it once, outside git, into benchmarks/.cache/microblog (never committed), e.g. from a
clone of the public repository: ``git archive HEAD | tar -x -C benchmarks/.cache/microblog``.
The test skips when it is absent. It proposes a plan, extracts it, installs microblog's own
pinned requirements into a venv (cached in .migrator-cache/) and checks that every generated
service imports, builds its app and answers its probes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "benchmarks" / ".cache" / "microblog"
VENV = REPO / ".migrator-cache" / "microblog-venv"


@pytest.fixture(scope="module")
def python() -> str:
    if not (APP / "app" / "__init__.py").exists():
        pytest.skip(f"{APP} is absent (see this module's docstring for how to obtain it)")
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(VENV)], check=True,
                       timeout=120)
        result = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install",
                                 "-q", "--disable-pip-version-check", "-r",
                                 str(APP / "requirements.txt")], capture_output=True, text=True,
                                timeout=900)
        if result.returncode != 0:
            pytest.skip(f"microblog's requirements do not install here: {result.stderr[-500:]}")
    return str(py)


def test_microblog_extracts_and_every_service_boots(python: str, tmp_path: Path) -> None:
    from migrator.analysis import analyze
    from migrator.extraction import extract
    from migrator.proposal import propose

    graph = analyze(APP)
    plan = propose(graph)
    assert len(plan.services) >= 2
    ex = extract(plan, graph, APP, tmp_path / "out")
    print(f"microblog: {len(plan.services)} services, {ex.converted} of {len(ex.calls)} "
          f"cross-service calls converted, {len(ex.couplings)} data couplings listed")
    assert (tmp_path / "out" / "EXTRACTION.md").exists()
    probe = ("from interservice.app import create_app\napp = create_app()\n"
             "c = app.test_client()\n"
             "print(c.get('/healthz').status_code, c.get('/readyz').status_code)\n")
    for name in sorted(plan.services):
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / name}.db",
               "PYTHONPATH": os.pathsep.join([str(tmp_path / "out" / "services" / name / "src"),
                                              str(tmp_path / "out" / "shared_kernel" / "src")])}
        result = subprocess.run([python, "-c", probe], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, (name, result.stderr[-2000:])
        assert result.stdout.strip().splitlines()[-1] == "200 200", (name, result.stdout)
