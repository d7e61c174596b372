"""Shared, session-scoped scaffolds of the hand-built Flask, FastAPI and Django fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.generation import scaffold

from .fixtures import make_graph, make_plan
from .support import FRAMEWORKS


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
