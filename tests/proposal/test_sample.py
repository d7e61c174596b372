"""Acceptance on sample_monolith: the default proposal against its authors' intended
decomposition (sample_monolith/decomposition.yaml)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.graph import module_of
from migrator.plan import SHARED
from migrator.proposal import propose
from migrator.proposal.compare import compare, load_partition
from migrator.proposal.config import build_options
from migrator.proposal.kernel import INFRA_ROUTE
from migrator.proposal.units import build_units

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_monolith"
INTENDED = SAMPLE / "decomposition.yaml"


@pytest.fixture(scope="module")
def graph():
    from migrator.analysis import analyze

    return analyze(str(SAMPLE))


@pytest.fixture(scope="module")
def plan(graph):
    return propose(graph, source=str(SAMPLE))


def test_default_proposal_matches_the_intended_decomposition(plan) -> None:
    result = compare(plan.assignment(), load_partition(INTENDED))
    assert result["nodes"] >= 120
    assert result["mojofm"] >= 90, result["moves"]


def test_every_table_has_exactly_one_owner(plan, graph) -> None:
    owners: dict[str, list[str]] = {}
    for name, svc in plan.services.items():
        for t in svc.tables:
            owners.setdefault(t, []).append(name)
    assert sorted(owners) == sorted(graph.tables)
    assert all(len(v) == 1 for v in owners.values())


def test_kernel_holds_no_business_logic(plan, graph) -> None:
    kernel = {n for n, s in plan.assignment().items() if s == SHARED}
    ug = build_units(graph, build_options())

    def in_kernel(node: str) -> bool:
        return plan.service_of(node) == SHARED

    # no business route, no task, no model, no table written (bulk seed loaders aside)
    for r in graph.routes:
        assert not in_kernel(r.handler) or INFRA_ROUTE.match(r.path), r
    for e in graph.entry_points:
        assert e.kind != "task" or not in_kernel(e.handler), e
    for t in graph.tables.values():
        assert not (t.model and in_kernel(t.model)), t.name
        for w in t.writers:
            unit = ug.unit_of.get(w) or module_of(w)
            assert not in_kernel(w) or unit in ug.bulk, (t.name, w)
    # kept small: by lines of code (a unit's size; a carved-out module counts its own lines)
    size = {u: ug.size.get(u, 0) for u in plan.assignment()}
    assert sum(size[u] for u in kernel) <= 0.2 * sum(size.values())


def test_services_are_named_after_the_domains(plan) -> None:
    assert {"catalog", "cart", "checkout", "orders", "payments", "accounts"} <= set(plan.services)


def test_explain_a_carved_out_model(plan, graph) -> None:
    from migrator.proposal.explain import explain, format_explanation

    data = explain(plan, "sample_monolith.models:Product", graph)
    assert data["service"] == "catalog"
    assert data["edges_to_service"] and data["runner_up"]
    text = format_explanation(data)
    assert "table products: " in text and "owner catalog" in text


@pytest.mark.slow
def test_cli_plan_is_byte_identical_under_any_hash_seed(tmp_path: Path) -> None:
    outputs = []
    for seed in ("0", "31337"):
        out = tmp_path / f"{seed}.yaml"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "-m", "migrator", "propose", str(SAMPLE), "-o", str(out), "-q"],
            check=True,
            env=env,
            cwd=ROOT,
            timeout=600,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
