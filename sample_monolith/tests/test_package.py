"""The package runs from the command line, and none of it depends on migrator."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_DIR.parent


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(SHOP_INSTANCE_DIR=str(tmp), SHOP_PASSWORD_ITERATIONS="1000",
               SHOP_DATABASE_URL=f"sqlite:///{tmp / 'shop.sqlite3'}",
               PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return env


def test_help_describes_the_options(tmp_path):
    result = subprocess.run([sys.executable, "-m", "sample_monolith", "--help"],
                            capture_output=True, text=True, timeout=60, env=_env(tmp_path))
    assert result.returncode == 0, result.stderr
    for option in ("--host", "--port", "--db", "--init-only"):
        assert option in result.stdout
    assert "127.0.0.1" in result.stdout
    assert not (tmp_path / "shop.sqlite3").exists()  # --help touches nothing


def test_worker_runs_one_pass_on_a_fresh_database(tmp_path):
    db = tmp_path / "worker.sqlite3"
    init = subprocess.run([sys.executable, "-m", "sample_monolith", "--db", str(db),
                           "--init-only"], capture_output=True, text=True, timeout=60,
                          env=_env(tmp_path))
    assert init.returncode == 0, init.stderr
    assert db.exists() and "database ready" in init.stdout
    worker = subprocess.run([sys.executable, "-m", "sample_monolith.notifications.worker",
                             "--once", "--db", str(db)], capture_output=True, text=True,
                            timeout=60, env=_env(tmp_path))
    assert worker.returncode == 0, worker.stderr
    counts = dict(pair.split("=") for pair in worker.stdout.split())
    assert counts == {"failed": "0", "pending": "0", "reservations_expired": "0",
                      "retrying": "0", "sent": "0"}


def test_nothing_imports_migrator():
    offenders = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path}:{node.lineno}" for name in names
                          if name.split(".")[0] == "migrator"]
    assert offenders == []


def test_assets_the_pages_reference_exist():
    templates = PACKAGE_DIR / "templates"
    static = PACKAGE_DIR / "static"
    text = " ".join(p.read_text(encoding="utf-8") for p in templates.rglob("*.html"))
    for asset in ("css/shop.css", "js/shop.js", "img/logo.svg", "img/peach.svg"):
        assert asset in text
        assert (static / asset).is_file()
    seed = (PACKAGE_DIR / "seed.py").read_text(encoding="utf-8")
    images = {name for name in seed.replace("'", '"').split('"') if name.endswith(".svg")}
    assert images and all((static / "img" / name).is_file() for name in images)
