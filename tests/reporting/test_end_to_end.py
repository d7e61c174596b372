"""The reporting commands on real analyses (migrator.analysis), not hand-built graphs."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import PLAN, SOURCES, build_graph, write_tree
from .helpers import run, save_plan
from .test_baseline import MOVED

REPO = Path(__file__).resolve().parents[2]


def test_analyser_graph_matches_the_hand_built_fixture(shop):
    """The fixture the other tests use is what the analyser really produces."""
    from migrator.analysis import analyze

    real = analyze(shop, use_cache=False)
    hand = build_graph(shop)
    edges = {(s, t, d["kind"]): d["evidence"] for s, t, d in real.edges()}
    assert edges == {(s, t, d["kind"]): d["evidence"] for s, t, d in hand.edges()}


def test_check_on_a_real_tree(tmp_path):
    root = write_tree(tmp_path / "proj")
    plan = save_plan(PLAN, tmp_path / "plan.yaml")
    res = run("check", ".", "--plan", str(plan), "--cache-dir", str(tmp_path / "cache"), cwd=root)
    assert res.exit_code == 1
    assert (
        "shop/checkout/service.py:2: interface-violation: shop.checkout.service (checkout) "
        "uses shop.inventory.models, which is not in the interface of service 'inventory' "
        "[import]"
    ) in res.output.splitlines()
    assert res.output.splitlines()[-1] == "4 error(s), 1 warning(s), 0 ignored, 0 unused ignore(s)"


def test_baseline_survives_moved_code_on_real_analyses(tmp_path):
    plan = save_plan(PLAN, tmp_path / "plan.yaml")
    texts = []
    for name, sources in (("before", SOURCES), ("after", MOVED)):
        root = write_tree(tmp_path / name, sources)
        out = tmp_path / f"{name}.json"
        res = run("baseline", str(root), "--plan", str(plan), "--no-cache", "-o", str(out))
        assert res.exit_code == 0, res.output
        texts.append(out.read_text())
    assert texts[0] == texts[1]
    # and the ratchet accepts the moved code against the first baseline
    res = run(
        "report",
        str(tmp_path / "after"),
        "--plan",
        str(plan),
        "--no-cache",
        "--baseline",
        str(tmp_path / "before.json"),
        "--no-metrics",
    )
    assert res.exit_code == 0, res.output


def test_new_import_fails_the_ratchet_on_a_real_tree(tmp_path):
    plan = save_plan(PLAN, tmp_path / "plan.yaml")
    root = write_tree(tmp_path / "proj")
    base = tmp_path / "base.json"
    assert (
        run("baseline", str(root), "--plan", str(plan), "--no-cache", "-o", str(base)).exit_code
        == 0
    )
    api = root / "shop/catalog/api.py"
    api.write_text("from shop.inventory.service import reserve\n" + api.read_text())
    res = run(
        "report",
        ".",
        "--plan",
        str(plan),
        "--no-cache",
        "--baseline",
        str(base),
        "-f",
        "sarif",
        cwd=root,
    )
    assert res.exit_code == 1
    results = json.loads(res.output)["runs"][0]["results"]
    new = [r for r in results if r["ruleId"] == "new-edge"]
    assert new and new[0]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "shop/catalog/api.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 1},
    }


def test_missing_path_is_a_usage_error(tmp_path):
    res = run("report", str(tmp_path / "nope"))
    assert res.exit_code == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run("report", str(empty))
    assert res.exit_code == 2 and res.output.startswith("Error: ")
    assert len(res.output.strip().splitlines()) == 1


def test_sample_monolith_report_and_check(tmp_path):
    sample = REPO / "sample_monolith"
    res = run("report", str(sample), "--cache-dir", str(tmp_path / "cache"), "-f", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    names = {c["name"] for c in data["components"]}
    assert {"sample_monolith.catalog", "sample_monolith.checkout"} <= names
    assert data["cycles"], "the sample has at least one import cycle (issue 3)"
    assert data["shared_tables"], "the sample has cross-domain table access (issue 3)"
    decomposition = sample / "decomposition.yaml"
    if decomposition.is_file():
        res = run(
            "check",
            str(sample),
            "--plan",
            str(decomposition),
            "--cache-dir",
            str(tmp_path / "cache"),
        )
        assert res.exit_code in (0, 1)
        lines = res.output.splitlines()
        assert all(
            ": interface-violation: " in line
            or ": undeclared-dependency: " in line
            or ": kernel-dependency: " in line
            for line in lines[:-1]
        )


def test_bad_graph_files_and_options_are_input_errors(tmp_path, graph):
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": ')
    res = run("report", str(broken))
    assert res.exit_code == 2 and res.output.startswith(f"Error: {broken}:1: not valid JSON")
    other = tmp_path / "other.json"
    other.write_text('{"schema": "something-else", "version": 1}')
    res = run("report", str(other))
    assert res.exit_code == 2 and "not a migrator graph" in res.output
    plan = save_plan(PLAN, tmp_path / "plan.yaml")
    res = run("report", str(broken), "--plan", str(plan), "--level", "2")
    assert res.exit_code == 2 and "--level" in res.output
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("version: 1\nservices: [unclosed\n")
    res = run("check", str(broken), "--plan", str(bad_yaml))
    assert res.exit_code == 2 and f"{bad_yaml}: line" in res.output


def test_empty_graph_reports_nothing_wrong(tmp_path):
    from migrator.graph import DependencyGraph
    from migrator.reporting import render, report

    rep = report(DependencyGraph(root=str(tmp_path)).finalize(), metrics=False)
    assert rep.components == [] and rep.violations == []
    for fmt in ("text", "markdown", "json", "sarif", "junit", "html", "dot", "mermaid"):
        assert render(rep, fmt)
