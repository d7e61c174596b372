"""Every output format, checked by what reads it: jsonschema for SARIF, an XML parser for
JUnit, Graphviz for DOT, structure for markdown, mermaid and JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from migrator.reporting import render, report
from migrator.reporting.formats import FORMATS

from .conftest import PLAN
from .helpers import run, save_graph, save_plan

SARIF_SCHEMA = (
    Path(__file__).resolve().parents[2].parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
)


@pytest.fixture
def rep(graph, plan, shop):
    return report(graph, plan, cwd=str(shop))


def test_sarif_validates_against_the_official_schema(rep):
    if not SARIF_SCHEMA.is_file():
        pytest.skip(
            f"SARIF 2.1.0 schema not found at {SARIF_SCHEMA} (../shared/schemas/ "
            "relative to the project root)"
        )
    import jsonschema

    schema = json.loads(SARIF_SCHEMA.read_text())
    doc = json.loads(render(rep, "sarif"))
    cls = jsonschema.validators.validator_for(schema)
    errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    # and the validator does catch a broken document (the check is not vacuous)
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    assert list(cls(schema).iter_errors(doc))


def test_sarif_results_locate_every_violation(rep):
    doc = json.loads(render(rep, "sarif"))
    assert doc["version"] == "2.1.0"
    run_ = doc["runs"][0]
    rules = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    assert rules == [
        "interface-violation",
        "kernel-dependency",
        "undeclared-dependency",
        "import-cycle",
        "shared-table",
    ]
    assert len(run_["results"]) == len(rep.violations) == 7
    for res in run_["results"]:
        loc = res["locations"][0]["physicalLocation"]
        assert not loc["artifactLocation"]["uri"].startswith("/")
        assert loc["region"]["startLine"] >= 1
        assert rules[res["ruleIndex"]] == res["ruleId"]
    first = [r for r in run_["results"] if r["ruleId"] == "interface-violation"][0]
    assert (
        first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "shop/checkout/service.py"
    )
    assert first["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert first["level"] == "error"


def test_junit_one_testcase_per_rule_with_failures(rep):
    root = ET.fromstring(render(rep, "junit"))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [r.id for r in rep.rules]
    failed = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
    assert set(failed) == {
        "interface-violation",
        "undeclared-dependency",
        "import-cycle",
        "shared-table",
    }
    assert suite.get("tests") == "5" and suite.get("failures") == "4"
    assert root.get("failures") == "4"
    assert len(failed["interface-violation"].text.splitlines()) == 4
    assert failed["interface-violation"].get("message").startswith("4 violation(s)")


def test_markdown_summary_first_details_folded(rep):
    md = render(rep, "markdown")
    first_details = md.index("<details>")
    assert md.startswith("## ❌ migrator coupling report")
    assert md.index("4 error(s)") < first_details
    assert md.index("| Q (modularity) |") < first_details
    assert md.index("metrics.md") < first_details
    assert md.count("<details>") == md.count("</details>") >= 5
    assert "`shop/checkout/service.py:8`" in md


def test_json_is_versioned_and_complete(rep):
    data = json.loads(render(rep, "json"))
    assert (data["schema"], data["version"]) == ("migrator.report", 1)
    for key in (
        "metrics",
        "components",
        "modules",
        "cross_edges",
        "cycles",
        "cycle_breakers",
        "shared_tables",
        "violations",
        "rules",
        "definitions",
        "level",
    ):
        assert key in data
    assert data["cycles"][0]["length"] == 2
    assert data["cross_edges"][0]["evidence"][0] == {"file": "shop/checkout/service.py", "line": 2}


def test_text_has_metrics_first_and_definitions(rep):
    text = render(rep, "text")
    assert text.index("metrics.md") < text.index("Metrics") < text.index("Violations")
    assert "Q (modularity)" in text and "ICP" in text
    assert "shop.checkout.service -> shop.inventory.service -> shop.checkout.service" in text


def test_dot_renders_with_graphviz(rep, tmp_path):
    dot = render(rep, "dot")
    assert dot.count("subgraph cluster_") == 5
    assert 'color="#d62728"' in dot
    if shutil.which("dot") is None:
        pytest.skip("graphviz `dot` not installed (scripts/bootstrap.sh --test installs it)")
    out = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "<svg" in out.stdout and "shop.checkout.service" in out.stdout


def test_mermaid_structure(rep):
    text = render(rep, "mermaid")
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert sum(line.strip().startswith("subgraph ") for line in lines) == 5
    assert sum(line.strip() == "end" for line in lines) == 5
    links = [line for line in lines if "-->" in line or "==>" in line]
    styles = [line for line in lines if line.strip().startswith("linkStyle")]
    assert len(links) == len(rep.module_edges)
    # red links are exactly the cross-component module edges outside interfaces/kernel
    for s in styles:
        assert "==>" in links[int(s.split()[1])]


def test_component_level_picture_for_big_trees(rep):
    from migrator.reporting.formats.layout import picture

    pic = picture(rep, max_modules=3)
    assert pic.detail == "component"
    assert {n.id for n in pic.nodes} == {c.name for c in rep.components}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_cli_writes_every_format_to_a_file(tmp_path, graph, fmt):
    graph_file = save_graph(graph, tmp_path / "graph.json")
    plan_file = save_plan(PLAN, tmp_path / "plan.yaml")
    out = tmp_path / "out" / f"report.{fmt}"
    res = run("report", str(graph_file), "--plan", str(plan_file), "-f", fmt, "-o", str(out))
    assert res.exit_code == 0, res.output
    assert out.read_text() == render(
        report(graph, __import__("migrator").load_plan(plan_file)), fmt
    )
    assert not [p for p in out.parent.iterdir() if p.name != out.name]  # no temp files left
