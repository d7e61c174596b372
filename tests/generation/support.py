"""Helpers shared by the generation tests (paths, tool lookup, wheel cache)."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FRAMEWORKS = ("flask", "fastapi", "django")
ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT.parent / "shared" / "schemas"
#: wheels of the generated services' requirements, kept between runs (venv and podman tiers)
WHEELS = Path.home() / ".cache" / "migrator-tests" / "wheels"


def ensure_wheels(requirements: list[Path], python: str | None = None) -> Path:
    """A folder holding wheels for every requirement: offline when it already does, else
    downloaded. ``python`` ("3.11") targets another interpreter than this one (a container's)."""
    folder = WHEELS / (f"cp{python.replace('.', '')}" if python else "host")
    folder.mkdir(parents=True, exist_ok=True)
    args = [a for r in requirements for a in ("-r", str(r))]
    base = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
            "--only-binary=:all:", "-d", str(folder)]
    if python:
        machine = platform.machine()
        tag = python.replace(".", "")
        base += ["--python-version", python, "--implementation", "cp", "--abi", f"cp{tag}",
                 "--abi", "abi3", "--abi", "none", "--platform", f"manylinux2014_{machine}",
                 "--platform", f"manylinux_2_28_{machine}", "--platform", f"linux_{machine}"]
    offline = subprocess.run([*base, "--no-index", "--find-links", str(folder), *args],
                             capture_output=True, timeout=300)
    if offline.returncode != 0:
        subprocess.run([*base, *args], check=True, timeout=900)
    return folder


def need(tool: str) -> str:
    path = shutil.which(tool) or (shutil.which(tool, path="/usr/sbin") if tool == "nginx" else None)
    if path is None:
        pytest.fail(f"{tool} is not installed: run scripts/bootstrap.sh --test")
    return path


def hadolint_findings(dockerfile: Path) -> list[dict]:
    """hadolint's findings on ``dockerfile``, its exit code checked against them: hadolint
    exits 1 with empty output on a file it cannot read, which must never read as "clean"."""
    assert dockerfile.is_file(), f"{dockerfile} does not exist"
    proc = subprocess.run([need("hadolint"), "--no-color", "-f", "json", str(dockerfile)],
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip(), f"{dockerfile}: hadolint printed nothing: {proc.stderr}"
    findings = json.loads(proc.stdout)
    assert proc.returncode == (1 if findings else 0), (dockerfile, proc.returncode, proc.stderr)
    return findings
