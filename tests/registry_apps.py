"""Real open-source code for the slow tier, fetched from the package registry the way the
benchmarks fetch theirs (``pip download --no-deps``) and unpacked once into
``benchmarks/.cache/`` (never committed). Only an unreachable registry skips the test that
needs it, with that reason; any other failure fails it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

CACHE = Path(__file__).resolve().parents[1] / "benchmarks" / ".cache"
#: what pip prints when it cannot reach the registry at all (DNS, refused, timed out)
_UNREACHABLE = re.compile(
    r"NewConnectionError|Failed to establish a new connection|"
    r"Temporary failure in name resolution|Name or service not known|"
    r"ConnectTimeoutError|Max retries exceeded|Network is unreachable"
)


def fetch(requirement: str, folder: str, *pip_options: str) -> Path:
    """``benchmarks/.cache/<folder>``: the distribution ``requirement`` (pinned with ``==``)
    unpacked, downloaded with pip (at most a few minutes) when it is not there yet. A wheel is
    unpacked into ``folder``; an sdist must unpack to ``folder`` itself."""
    target = CACHE / folder
    if target.is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "--disable-pip-version-check",
                "--timeout",
                "30",
                "--retries",
                "2",
                "-d",
                tmp,
                *pip_options,
                requirement,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            if _UNREACHABLE.search(done.stdout + done.stderr):
                pytest.skip(
                    f"the package registry is unreachable, so {requirement} cannot be fetched"
                )
            pytest.fail(f"pip download {requirement} failed: {done.stderr[-2000:]}")
        (archive,) = [p for p in Path(tmp).iterdir() if p.is_file()]
        unpacked = Path(tmp) / "unpacked"
        if archive.suffix == ".whl":
            zipfile.ZipFile(archive).extractall(unpacked / folder)
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")
        assert (unpacked / folder).is_dir(), f"{archive.name} does not unpack to {folder}/"
        try:
            (unpacked / folder).rename(target)  # whole or not at all: a killed run leaves none
        except OSError:
            if not target.is_dir():  # not another run's copy arriving first
                raise
        shutil.rmtree(unpacked, ignore_errors=True)
    return target
