"""Shared, session-scoped scaffolds of the hand-built Flask, FastAPI and Django fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

import migrator
from migrator.generation import scaffold

from .fixtures import make_graph, make_plan
from .sample_plan import sample_plan
from .support import FRAMEWORKS, ROOT

SAMPLE = ROOT / "sample_monolith"
SHOPFIX = ROOT / "tests" / "extraction" / "fixtures"


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> dict[str, Path]:
    """framework -> OUT of a scaffold with both extras enabled and every service ``live``."""
    out = {}
    for fw in FRAMEWORKS:
        target = tmp_path_factory.mktemp(f"gen-{fw}")
        plan = make_plan(fw)
        for svc in plan.services.values():  # every service cut over: routes reach them
            svc.cutover = "live"
        scaffold(plan, make_graph(fw), target, with_=("prometheus-operator", "cloudnative-pg"))
        out[fw] = target
    return out


@pytest.fixture(scope="session")
def sample_graph():
    """sample_monolith analysed (the graph only; each test scaffolds what it needs)."""
    from migrator.analysis import analyze

    return analyze(SAMPLE)


@pytest.fixture(scope="session")
def sample_out(tmp_path_factory) -> Path:
    """sample_monolith analysed for real and scaffolded with the hand-written plan."""
    from migrator.analysis import analyze

    graph = analyze(SAMPLE)
    out = tmp_path_factory.mktemp("sample-out")
    scaffold(sample_plan(graph), graph, out, with_=("prometheus-operator", "cloudnative-pg"))
    return out


@pytest.fixture(scope="session")
def shopfix_extract_out(tmp_path_factory) -> Path:
    """The extraction tests' small Flask shop, scaffolded with ``extract=True`` (a few seconds)."""
    from migrator.analysis import analyze
    from migrator.plan import load_plan

    out = tmp_path_factory.mktemp("shopfix-extract")
    migrator.scaffold(
        load_plan(SHOPFIX / "shopfix_plan.yaml"),
        analyze(SHOPFIX / "shopfix_app", use_cache=False),
        out,
        extract=True,
    )
    return out


@pytest.fixture(scope="session")
def sample_extract_out(tmp_path_factory) -> Path:
    """sample_monolith scaffolded with ``extract=True`` and the plan the extraction tests use
    (the authors' decomposition.yaml completed from the graph); ~40 s, slow tests only."""
    from migrator.analysis import analyze
    from migrator.extraction.planning import plan_from_decomposition

    graph = analyze(SAMPLE)
    plan = plan_from_decomposition(SAMPLE / "decomposition.yaml", graph, ROOT)
    out = tmp_path_factory.mktemp("sample-extract")
    migrator.scaffold(plan, graph, out, extract=True, source_root=ROOT)
    return out
