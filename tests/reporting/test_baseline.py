"""The baseline ratchet: stable identities, new coupling fails, improvements are listed."""

from __future__ import annotations

import json

import pytest

from migrator.plan import plan_from_dict
from migrator.reporting import make_baseline, report
from migrator.reporting.baseline import compare, dump_baseline

from .conftest import PLAN, SOURCES, build_graph, write_tree
from .helpers import module_graph, run, save_graph, save_plan

# the same program with code moved around: blank lines and comments added, imports and
# functions reordered, a docstring inserted; no dependency changes
MOVED = dict(SOURCES)
MOVED["shop/checkout/service.py"] = """\
    \"\"\"Checkout orchestration.\"\"\"
    # moved things around


    from shop.inventory import service as inventory_service
    from shop.inventory.models import Stock

    from shop.catalog.api import get_product


    def helper():
        return 1


    def checkout(pid):
        inventory_service.reserve(pid)

        Stock()
        get_product(pid)
    """
MOVED["shop/catalog/models.py"] = """\


    # a comment


    from shop import config


    class Product:
        debug = config.DEBUG
    """


def _baseline_text(root, plan=PLAN) -> str:
    rep = report(build_graph(root), plan_from_dict(plan), metrics=False)
    return dump_baseline(make_baseline(rep))


def test_moving_lines_and_reordering_code_keeps_the_baseline(tmp_path):
    before = _baseline_text(write_tree(tmp_path / "a"))
    after = _baseline_text(write_tree(tmp_path / "b", MOVED))
    assert before == after
    assert json.loads(before)["edges"]  # not trivially empty
    # the evidence did move (so the test is not vacuous)
    ga, gb = build_graph(tmp_path / "a"), build_graph(tmp_path / "b")
    key = ("shop.checkout.service:checkout", "shop.inventory.models:Stock", "reference")
    assert ga.g.edges[key]["evidence"] != gb.g.edges[key]["evidence"]


def test_baseline_file_is_sorted_small_and_line_free(tmp_path, graph):
    graph_file = save_graph(graph, tmp_path / "graph.json")
    plan_file = save_plan(PLAN, tmp_path / "plan.yaml")
    res = run(
        "baseline",
        str(graph_file),
        "--plan",
        str(plan_file),
        "-o",
        str(tmp_path / "migrator-baseline.json"),
    )
    assert res.exit_code == 0, res.output
    text = (tmp_path / "migrator-baseline.json").read_text()
    data = json.loads(text)
    assert data["schema"] == "migrator.baseline" and data["level"] == "service"
    assert data["edges"] == sorted(data["edges"])
    # uses of the shared kernel are not coupling between services
    assert not [e for e in data["edges"] if e[1].startswith("shop.config")]
    assert ["shop.checkout.service", "shop.inventory.models", "import"] in data["edges"]
    assert all(len(e) == 3 and not any(ch.isdigit() for ch in "".join(e)) for e in data["edges"])
    assert data["cycles"] == [["shop.checkout.service", "shop.inventory.service"]]
    assert data["components"]["checkout"] == {"instability": 0.75}
    assert len(text.splitlines()) < 40
    # writing again changes nothing (same bytes, file left alone)
    mtime = (tmp_path / "migrator-baseline.json").stat().st_mtime_ns
    run(
        "baseline",
        str(graph_file),
        "--plan",
        str(plan_file),
        "-o",
        str(tmp_path / "migrator-baseline.json"),
    )
    assert (tmp_path / "migrator-baseline.json").stat().st_mtime_ns == mtime


def _setup(tmp_path, graph):
    graph_file = save_graph(graph, tmp_path / "graph.json")
    plan_file = save_plan(PLAN, tmp_path / "plan.yaml")
    base = tmp_path / "base.json"
    assert (
        run("baseline", str(graph_file), "--plan", str(plan_file), "-o", str(base)).exit_code == 0
    )
    return plan_file, base


def test_unchanged_code_passes(tmp_path, graph):
    plan_file, base = _setup(tmp_path, graph)
    res = run(
        "report",
        str(tmp_path / "graph.json"),
        "--plan",
        str(plan_file),
        "--baseline",
        str(base),
        "--no-metrics",
    )
    assert res.exit_code == 0, res.output
    assert "new: 0 edges, 0 cycles, 0 instability increases -> ok" in res.output


def test_new_coupling_fails_and_is_located(tmp_path, graph, shop):
    plan_file, base = _setup(tmp_path, graph)
    # catalog starts to use inventory (through its interface, still new coupling)
    graph.add_edge(
        "shop.catalog.api:get_product",
        "shop.inventory.service:reserve",
        "reference",
        evidence=["shop/catalog/api.py:5"],
    )
    changed = save_graph(graph.finalize(), tmp_path / "changed.json")
    res = run(
        "report",
        str(changed),
        "--plan",
        str(plan_file),
        "--baseline",
        str(base),
        "--no-metrics",
        cwd=shop,
    )
    assert res.exit_code == 1
    assert "FAIL (new-edges, instability-increase)" in res.output
    assert (
        "shop/catalog/api.py:5: new-edge: new dependency shop.catalog.api:get_product -> "
        "shop.inventory.service:reserve [reference] (catalog -> inventory)"
    ) in res.output
    assert "instability-increase: instability of 'catalog' rose from 0.5 to 0.6667" in res.output
    # only the checks asked for fail
    res = run(
        "report",
        str(changed),
        "--plan",
        str(plan_file),
        "--baseline",
        str(base),
        "--fail-on",
        "new-cycles",
        "--no-metrics",
    )
    assert res.exit_code == 0, res.output


def test_new_cycle_fails_and_improvements_are_listed(tmp_path, graph):
    plan_file, base = _setup(tmp_path, graph)
    graph.add_edge(
        "shop.catalog.api", "shop.checkout.service", "import", evidence=["shop/catalog/api.py:2"]
    )
    graph.g.remove_edge(
        "shop.checkout.service:checkout", "shop.catalog.api:get_product", key="reference"
    )
    changed = save_graph(graph.finalize(), tmp_path / "changed.json")
    res = run(
        "report",
        str(changed),
        "--plan",
        str(plan_file),
        "--baseline",
        str(base),
        "--fail-on",
        "new-cycles",
        "--no-metrics",
        "-f",
        "json",
    )
    assert res.exit_code == 1
    diff = json.loads(res.output)["baseline"]
    assert diff["new_cycles"] == [["shop.catalog.api", "shop.checkout.service"]]
    assert diff["removed_edges"] == [
        ["shop.checkout.service:checkout", "shop.catalog.api:get_product", "reference"]
    ]
    assert diff["failing"] == ["new-cycles"]


def test_other_shortest_path_through_an_old_tangle_is_not_new():
    tangle = [("a", "b"), ("b", "a"), ("b", "c"), ("c", "b"), ("c", "a"), ("a", "c")]
    old = report(module_graph(tangle), level=1, metrics=False)
    new = report(module_graph([e for e in tangle if e != ("b", "a")]), level=1, metrics=False)
    assert [c.modules for c in old.cycles] != [c.modules for c in new.cycles]
    diff = compare(new, make_baseline(old), fail_on=("new-cycles",))
    assert diff.new_cycles == [] and diff.removed_cycles == [] and not diff.failed


def test_broken_cycle_is_an_improvement():
    old = report(module_graph([("p.a", "p.b"), ("p.b", "p.a")]), level=1, metrics=False)
    new = report(module_graph([("p.a", "p.b")]), level=1, metrics=False)
    diff = compare(new, make_baseline(old))
    assert diff.removed_cycles == [["p.a", "p.b"]]
    assert diff.removed_edges == [] and not diff.failed  # same component: not a crossing edge


def test_level_mismatch_and_bad_files_are_input_errors(tmp_path, graph):
    plan_file, base = _setup(tmp_path, graph)
    graph_file = str(tmp_path / "graph.json")
    res = run("report", graph_file, "--baseline", str(base))
    assert res.exit_code == 2 and "level 'service'" in res.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = run("report", graph_file, "--baseline", str(bad))
    assert res.exit_code == 2
    assert f"{bad}:1: not valid JSON" in res.output
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"schema": "something"}))
    res = run("report", graph_file, "--baseline", str(other))
    assert res.exit_code == 2 and "not a migrator baseline" in res.output
    res = run("report", graph_file, "--baseline", str(tmp_path / "missing.json"))
    assert res.exit_code == 2 and "cannot read baseline" in res.output
    res = run("report", graph_file, "--fail-on", "new-edges")
    assert res.exit_code == 2 and "need --baseline" in res.output
    res = run("report", graph_file, "--baseline", str(base), "--fail-on", "bogus")
    assert res.exit_code == 2 and "unknown value" in res.output


@pytest.mark.parametrize("version", [2, None])
def test_unsupported_baseline_version(tmp_path, graph, version):
    plan_file, base = _setup(tmp_path, graph)
    data = json.loads(base.read_text())
    data["version"] = version
    base.write_text(json.dumps(data))
    res = run(
        "report", str(tmp_path / "graph.json"), "--plan", str(plan_file), "--baseline", str(base)
    )
    assert res.exit_code == 2 and "not supported" in res.output


def test_the_analyser_keeps_the_baseline_when_code_moves(tmp_path):
    """The same, through migrator's analyser instead of the hand-built graph: the moved
    sources parse, their symbols moved, and the baseline does not change."""
    from migrator.analysis import analyze

    graphs = [
        analyze(write_tree(tmp_path / name, sources), use_cache=False, jobs=1)
        for name, sources in (("a", SOURCES), ("b", MOVED))
    ]
    lines = [g.g.nodes["shop.catalog.models:Product"]["line"] for g in graphs]
    assert lines[0] != lines[1]
    texts = [
        dump_baseline(make_baseline(report(g, plan_from_dict(PLAN), metrics=False))) for g in graphs
    ]
    assert texts[0] == texts[1]
    assert json.loads(texts[0])["edges"]
