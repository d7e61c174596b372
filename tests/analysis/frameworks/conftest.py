"""Fixtures for the framework plug-in tests; helpers live in ``fwhelp.py``."""

from __future__ import annotations

from typing import Any

import pytest
from fwhelp import APPS

from migrator.analysis import analyze
from migrator.graph import DependencyGraph


@pytest.fixture(scope="session")
def analyzed() -> Any:
    """``analyzed(app)``: the real analyser's graph of fixture app ``app`` (cached per app)."""
    cache: dict[str, DependencyGraph] = {}

    def run(name: str) -> DependencyGraph:
        if name not in cache:
            cache[name] = analyze(APPS / name, jobs=1, use_cache=False)
        return cache[name]

    return run
