"""migrator's own stages keep their order: `migrator check` on migrator/ against .ci/layers.yaml.

The plan declares core <- analysis <- proposal <- generation, reporting <- extraction <- cli; a
stage using a later one (an import, a lazy import or a reference) is an error or a warning of
`check`, and this test accepts neither: `check --strict` exits 1 on either.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import networkx as nx
from click.testing import CliRunner

from migrator.cli import main
from migrator.plan import load_plan

REPO = Path(__file__).resolve().parent.parent
LAYERS = REPO / ".ci" / "layers.yaml"


def _check(package: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(
        main, ["check", str(package), "--plan", str(LAYERS), "--no-cache", "--strict", "-f", "json"]
    )
    return result.exit_code, json.loads(result.output)


def test_migrator_keeps_its_own_layers():
    code, data = _check(REPO / "migrator")
    assert code == 0, [v["message"] for v in data["violations"] if not v["ignored"]]
    # every module of the package is in a declared layer: a new one cannot slip past
    modules = {
        ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for p in (REPO / "migrator").rglob("*.py")
    }
    assert set(data["module_component"]) == modules
    assert set(data["module_component"].values()) == set(load_plan(LAYERS).services)


def test_the_layers_are_ordered():
    plan = load_plan(LAYERS)
    uses = nx.DiGraph([(s.name, d) for s in plan.services.values() for d in s.depends_on])
    assert nx.is_directed_acyclic_graph(uses)
    assert plan.services["core"].depends_on == []
    assert set(plan.services["cli"].depends_on) == set(plan.services) - {"cli"}
    # generation and reporting are side by side, neither uses the other
    assert "reporting" not in plan.services["generation"].depends_on
    assert "generation" not in plan.services["reporting"].depends_on
    assert not plan.services["cli"].interface  # nothing may use the command line layer


def test_a_stage_using_a_later_one_fails_the_check(tmp_path):
    package = tmp_path / "migrator"
    shutil.copytree(
        REPO / "migrator", package, ignore=shutil.ignore_patterns("__pycache__", "templates")
    )
    render = package / "generation" / "render.py"
    render.write_text(
        render.read_text() + "\n\ndef _late():\n"
        "    from migrator.extraction.hook import add_to_scaffold\n\n"
        "    return add_to_scaffold\n"
    )
    code, data = _check(package)
    assert code == 1  # a warning, and --strict fails on it
    found = [
        (v["rule"], v["file"].rpartition("migrator/")[2], v["message"])
        for v in data["violations"]
        if not v["ignored"]
    ]
    assert found == [
        (
            "undeclared-dependency",
            "generation/render.py",
            "service 'generation' uses service 'extraction' (migrator.generation.render "
            "-> migrator.extraction.hook) but 'extraction' is "
            "not in its depends_on",
        )
    ]
