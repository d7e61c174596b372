"""The built wheel carries the templates: scaffold works from a wheel install, not only editable."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_ships_templates_and_scaffolds(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(wheels)],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("migrator-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(n for n in names if n.startswith("migrator/templates/"))
    in_repo = sorted(
        "migrator/templates/" + p.relative_to(ROOT / "templates").as_posix()
        for p in (ROOT / "templates").rglob("*")
        if p.is_file()
    )
    assert shipped == in_repo
    assert "migrator/py.typed" in names  # type checkers read the annotations of an install

    # A venv that sees the runtime dependencies already installed, but takes migrator itself
    # from the wheel (the venv's site-packages comes before the editable install's path).
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120
    )
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, timeout=300
    )
    where = subprocess.run(
        [str(py), "-c", "import migrator; print(migrator.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert str(venv) in where.stdout

    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\nservices:\n  catalog:\n    modules: [sample_monolith.catalog]\n"
        "shared_kernel:\n  modules: [sample_monolith.config]\n"
    )
    out = tmp_path / "out"
    run = subprocess.run(
        [
            str(venv / "bin" / "migrator"),
            "scaffold",
            str(ROOT / "sample_monolith"),
            "--plan",
            str(plan),
            "-o",
            str(out),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "FROM python:" in (out / "services" / "catalog" / "Dockerfile").read_text()
