"""Shared, module-scoped scaffolds of the hand-built Flask, FastAPI and Django fixtures."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fixtures import make_graph, make_plan  # noqa: E402

from migrator.generation import scaffold  # noqa: E402

FRAMEWORKS = ("flask", "fastapi", "django")
ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT.parent / "shared" / "schemas"


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> dict[str, Path]:
    """framework -> OUT of a scaffold with both extras enabled."""
    out = {}
    for fw in FRAMEWORKS:
        target = tmp_path_factory.mktemp(f"gen-{fw}")
        scaffold(make_plan(fw), make_graph(fw), target,
                 with_=("prometheus-operator", "cloudnative-pg"))
        out[fw] = target
    return out


def need(tool: str) -> str:
    path = shutil.which(tool) or (shutil.which(tool, path="/usr/sbin") if tool == "nginx" else None)
    if path is None:
        pytest.fail(f"{tool} is not installed: run scripts/bootstrap.sh --test")
    return path
