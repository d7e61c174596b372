"""Helpers shared by the generation tests (paths, tool lookup, wheel cache)."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
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


@contextlib.contextmanager
def local_gateway(out: Path, prefix: Path, ports: dict[str, int] | None = None):
    """Run OUT's ``gateway/nginx.local.conf`` with real nginx on free loopback ports.

    ``ports`` maps "gateway", "monolith" and service names to the ports to use (free ones are
    picked for any left out); yields ``(gateway URL, ports)`` and stops nginx by its pid."""
    from migrator.extraction.localrun import free_port

    nginx = need("nginx")
    planned = json.loads((out / "gateway/local.json").read_text())
    chosen = dict(ports or {})
    old = {"gateway": planned["gateway"], "monolith": planned["monolith"],
           **planned["services"]}
    conf = (out / "gateway/nginx.local.conf").read_text()
    for name, port in old.items():
        chosen.setdefault(name, free_port())
        conf = conf.replace(f"127.0.0.1:{port};", f"127.0.0.1:{chosen[name]};")
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    (prefix / "nginx.conf").write_text(conf)
    subprocess.run([nginx, "-c", str(prefix / "nginx.conf"), "-p", str(prefix)], check=True,
                   timeout=30)
    try:
        yield f"http://127.0.0.1:{chosen['gateway']}", chosen
    finally:
        pid = int((prefix / "nginx.pid").read_text())
        os.kill(pid, signal.SIGQUIT)
        for _ in range(100):  # bounded: nginx drains and exits within a second
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
