"""Coupling figures, components, cycles and tables computed by `report` on hand-built graphs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.plan import plan_from_dict
from migrator.reporting import report
from migrator.reporting.cycles import EXACT_MAX_NODES, canonical

from .conftest import PLAN
from .helpers import module_graph, save_graph, save_plan


def test_component_coupling_with_plan(graph, plan, shop):
    rep = report(graph, plan, metrics=False, cwd=str(shop))
    comps = {c.name: c for c in rep.components}
    checkout = comps["checkout"]
    # checkout's modules use catalog.api, inventory.models, inventory.service (Ce = 3) and are
    # used by inventory.service (Ca = 1)
    assert (checkout.ca, checkout.ce, checkout.instability) == (1, 3, 0.75)
    assert checkout.depends_on == ["catalog", "inventory"]
    assert (comps["shared_kernel"].ca, comps["shared_kernel"].ce) == (1, 0)
    assert comps["shared_kernel"].instability == 0.0
    # worst offenders first: checkout has the most crossing references
    assert rep.components[0].name == "checkout"
    assert rep.modules[0].module == "shop.checkout.service"
    mods = {m.module: m for m in rep.modules}
    assert (mods["shop.inventory.models"].ca, mods["shop.inventory.models"].ce) == (2, 0)


def test_crossing_edges_carry_evidence_and_interface_status(graph, plan, shop):
    rep = report(graph, plan, metrics=False, cwd=str(shop))
    edges = {(e.source, e.target, e.kind): e for e in rep.cross_edges}
    via_api = edges[("shop.checkout.service:checkout", "shop.catalog.api:get_product", "reference")]
    assert via_api.allowed
    assert [str(loc) for loc in via_api.evidence] == ["shop/checkout/service.py:7"]
    stock = edges[("shop.checkout.service:checkout", "shop.inventory.models:Stock", "reference")]
    assert not stock.allowed
    kernel = edges[("shop.catalog.models", "shop.config", "import")]
    assert kernel.allowed and kernel.target_component == "shared_kernel"
    pairs = {(e["source"], e["target"]): e for e in rep.module_edges}
    assert pairs[("shop.checkout.service", "shop.catalog.api")]["allowed"]
    assert not pairs[("shop.checkout.service", "shop.inventory.models")]["allowed"]
    assert pairs[("shop.catalog.models", "shop.config")]["allowed"]  # into the kernel
    assert not pairs[("shop.catalog.api", "shop.catalog.models")]["crossing"]
    # edges outside interfaces come first
    assert [e.allowed for e in rep.cross_edges] == sorted(e.allowed for e in rep.cross_edges)


def test_violations_name_rule_file_and_line(graph, plan, shop):
    rep = report(graph, plan, metrics=False, cwd=str(shop))
    got = {str(v) for v in rep.violations if v.rule == "interface-violation"}
    assert any(
        s.startswith(
            "shop/checkout/service.py:8: interface-violation: shop.checkout.service:checkout"
        )
        for s in got
    )
    assert len(got) == 4
    undeclared = [v for v in rep.violations if v.rule == "undeclared-dependency"]
    assert [v.message.split("'")[1:4:2] for v in undeclared] == [["inventory", "checkout"]]


def test_paths_are_relative_to_the_working_directory(graph, plan, shop):
    rep = report(graph, plan, metrics=False, cwd=str(shop.parent))
    assert rep.violations[0].file.startswith("src/shop/")


def test_package_level_default_and_explicit(graph):
    rep = report(graph, metrics=False)
    # one top-level package: the default descends to the first level with several packages
    assert rep.level == "package:2"
    assert {c.name for c in rep.components} == {
        "shop",
        "shop.catalog",
        "shop.checkout",
        "shop.config",
        "shop.inventory",
    }
    assert report(graph, level=1, metrics=False).level == "package:1"
    assert [c.name for c in report(graph, level=1, metrics=False).components] == ["shop"]
    # without a plan there are no interfaces, so nothing crossing is "allowed"
    assert not any(e.allowed for e in rep.cross_edges)
    assert not any(v.rule == "interface-violation" for v in rep.violations)


def test_metrics_come_from_the_shared_metrics_module(graph, plan):
    from migrator.proposal.metrics import compute_metrics

    rep = report(graph, plan)
    assert {"modularity", "icp", "sm", "ifn", "ned", "bcp", "data_coupling"} <= set(rep.metrics)
    modules = {
        m: rep.module_component[m]
        for m in graph.modules()
        if rep.module_component[m] != "(unassigned)"
    }
    expected = compute_metrics(graph, modules, owners={"product": "catalog", "stock": "inventory"})
    assert rep.metrics == expected
    assert "metrics.md" in rep.definitions


def test_shared_tables(graph, plan):
    rep = report(graph, plan, metrics=False)
    assert [(t.name, t.components, t.owner) for t in rep.shared_tables] == [
        ("stock", ["checkout", "inventory"], "inventory")
    ]
    assert rep.shared_tables[0].writers == {"inventory": ["shop.inventory.service:reserve"]}
    assert any(v.rule == "shared-table" and "stock" in v.message for v in rep.violations)


def test_cycles_shortest_paths_and_breakers():
    g = module_graph(
        [("a", "b"), ("b", "c"), ("c", "a"), ("b", "a"), ("c", "d"), ("d", "c"), ("d", "e")]
    )
    rep = report(g, level=1, metrics=False)
    assert [c.modules for c in rep.cycles] == [["a", "b"], ["c", "d"]]
    # evidence follows the cycle's edges: a->b is edge 1, b->a edge 4
    assert [str(loc) for loc in rep.cycles[0].evidence] == ["a.py:1", "b.py:4"]
    # simple cycles: a-b-a, a-b-c-a, c-d-c; a->b lies on two of them
    assert [(b.source, b.target, b.breaks) for b in rep.cycle_breakers] == [
        ("a", "b", 2),
        ("c", "d", 1),
    ]
    assert rep.cycle_stats.method == "exact"
    assert rep.cycle_stats.counted_cycles == 3
    assert rep.cycle_stats.feedback_arc_set == 2
    assert rep.cycle_groups == [["a", "b", "c", "d"]]


def test_type_only_imports_do_not_make_cycles():
    g = module_graph([("a", "b")])
    g.add_edge("b", "a", "import", evidence=["b.py:3"], type_only=True)
    assert report(g.finalize(), level=1, metrics=False).cycles == []
    g.add_edge("b", "a", "import", evidence=["b.py:9"], type_only=False)
    assert [c.modules for c in report(g.finalize(), level=1, metrics=False).cycles] == [["a", "b"]]


def test_big_tangles_use_the_bounded_heuristic():
    n = EXACT_MAX_NODES + 10
    names = [f"m{i:03d}" for i in range(n)]
    edges = [(names[i], names[(i + 1) % n]) for i in range(n)]
    edges += [(names[i], names[(i + 7) % n]) for i in range(0, n, 3)]
    edges += [(names[(i + 5) % n], names[i]) for i in range(0, n, 4)]
    rep = report(module_graph(edges), level=1, metrics=False)
    assert rep.cycle_stats.method == "greedy-feedback-arc"
    assert rep.cycle_stats.modules_in_cycles == n
    # one shortest cycle per module at most, each a real cycle of the graph in canonical form
    edge_set = set(edges)
    assert 0 < len(rep.cycles) <= n
    for c in rep.cycles:
        assert tuple(c.modules) == canonical(c.modules)
        assert all(
            (a, c.modules[(i + 1) % len(c.modules)]) in edge_set for i, a in enumerate(c.modules)
        )
    assert sum(b.breaks for b in rep.cycle_breakers) <= rep.cycle_stats.counted_cycles
    assert rep.cycle_breakers[0].breaks == max(b.breaks for b in rep.cycle_breakers)


def test_canonical_rotation():
    assert canonical(["c", "a", "b"]) == ("a", "b", "c")
    assert canonical(["b", "c", "a"]) == ("a", "b", "c")


RENDER_ALL = """
import hashlib, json, sys
from migrator.graph import DependencyGraph
from migrator.plan import load_plan
from migrator.reporting import render, report
from migrator.reporting.formats import FORMATS
graph = DependencyGraph.from_dict(json.load(open(sys.argv[1])))
rep = report(graph, load_plan(sys.argv[2]))
for fmt in FORMATS:
    print(fmt, hashlib.sha256(render(rep, fmt).encode()).hexdigest())
"""


def test_every_format_is_byte_identical_across_hash_seeds(tmp_path, graph, shop):
    graph_file = save_graph(graph, tmp_path / "graph.json")
    plan_file = save_plan(PLAN, tmp_path / "plan.yaml")
    outs = []
    for seed in ("0", "1", "12345"):
        env = {
            **os.environ,
            "PYTHONHASHSEED": seed,
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        }
        proc = subprocess.run(
            [sys.executable, "-c", RENDER_ALL, str(graph_file), str(plan_file)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        outs.append(proc.stdout)
    assert outs[0] == outs[1] == outs[2]
    assert len(outs[0].splitlines()) == 8
    res = subprocess.run(
        [sys.executable, "-m", "migrator", "report", str(graph_file), "-f", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["schema"] == "migrator.report" and data["version"] == 1


def test_nodes_outside_the_plan_are_unassigned(graph):
    plan = plan_from_dict({"version": 1, "services": {"catalog": {"modules": ["shop.catalog"]}}})
    rep = report(graph, plan, metrics=False)
    assert rep.module_component["shop.checkout.service"] == "(unassigned)"
    assert not any(v.rule == "interface-violation" for v in rep.violations)


@pytest.mark.parametrize("bad", [["nope"], ["new-edges", "bogus"]])
def test_unknown_fail_on_is_rejected(graph, bad):
    with pytest.raises(ValueError, match="unknown --fail-on"):
        report(graph, metrics=False, baseline={}, fail_on=bad)


def test_symbols_split_from_their_module_count_as_their_own_units(graph):
    data = json.loads(json.dumps(PLAN))
    data["services"]["inventory"]["symbols"] = ["shop.catalog.models:Product"]
    rep = report(graph, plan_from_dict(data), metrics=False)
    comps = {c.name: c for c in rep.components}
    # catalog uses Product (now inventory's) and the kernel: Ce = {models:Product, config}
    assert comps["catalog"].ce == 2
    # inventory is used by checkout.service and by catalog.api (through Product)
    assert comps["inventory"].ca == 2
    # Product itself uses the kernel from inside inventory
    assert ("shop.catalog.models:Product", "shop.config:DEBUG") in {
        (e.source, e.target) for e in rep.cross_edges if e.source_component == "inventory"
    }


def test_interface_entries_symbols_modules_and_globs():
    from migrator.reporting.components import interface_allows

    entries = ["pkg.api:get_product", "pkg.public", "pkg.admin:list_*"]
    assert interface_allows(entries, "pkg.api:get_product")
    assert not interface_allows(entries, "pkg.api:_private")
    # importing a module that holds an interface symbol is fine; using its other symbols not
    assert interface_allows(entries, "pkg.api")
    assert interface_allows(entries, "pkg.public:anything")
    assert interface_allows(entries, "pkg.public")
    assert interface_allows(entries, "pkg.admin:list_orders")
    assert not interface_allows(entries, "pkg.admin:delete_order")
    assert not interface_allows(entries, "pkg.models:Product")
    assert not interface_allows([], "pkg.api")


def test_parse_evidence():
    from migrator.reporting.cycles import parse_evidence

    assert str(parse_evidence("a/b.py:12")) == "a/b.py:12"
    assert str(parse_evidence("a/b.py:12:4")) == "a/b.py:12"
    assert str(parse_evidence("C:/x/b.py:7")) == "C:/x/b.py:7"
    assert parse_evidence("weird").line == 0
