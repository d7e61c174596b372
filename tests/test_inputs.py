"""Every command reads its source, graph and plan arguments through ``migrator.inputs``: a bad
one is one line, ``Error: FILE...: why``, and exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from migrator.cli import COMMANDS, main

PLAN_OK = "version: 1\nservices:\n  shop:\n    modules: [shop]\n"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A folder without Python, a broken graph file, a broken plan and a usable plan."""
    empty = tmp_path / "no-python"
    empty.mkdir()
    (empty / "README.txt").write_text("nothing to analyse\n")
    graph = tmp_path / "graph.json"
    graph.write_text('{"nodes": [\n')
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\nservices: 3\n")
    good = tmp_path / "good.yaml"
    good.write_text(PLAN_OK)
    code = tmp_path / "code"
    (code / "shop").mkdir(parents=True)
    (code / "shop" / "__init__.py").write_text("X = 1\n")
    return {
        "empty": empty,
        "graph": graph,
        "plan": plan,
        "good": good,
        "code": code,
        "out": tmp_path / "out",
    }


# command line -> the file its error must name ({key} of ``files``)
CASES = {
    "analyze/path": (["analyze", "{empty}"], "empty"),
    "propose/path": (["propose", "{empty}"], "empty"),
    "propose/plan": (["propose", "{code}", "--plan", "{plan}"], "plan"),
    "compare/plan": (["compare", "{plan}", "{good}"], "plan"),
    "explain/plan": (["explain", "{plan}", "shop"], "plan"),
    "explain/path": (["explain", "{good}", "shop", "--path", "{empty}"], "empty"),
    "scaffold/path": (["scaffold", "{empty}", "--plan", "{good}", "-o", "{out}"], "empty"),
    "scaffold/graph": (
        ["scaffold", "{code}", "--graph", "{graph}", "--plan", "{good}", "-o", "{out}"],
        "graph",
    ),
    "scaffold/plan": (["scaffold", "{code}", "--plan", "{plan}", "-o", "{out}"], "plan"),
    "report/path": (["report", "{empty}"], "empty"),
    "report/graph": (["report", "{graph}"], "graph"),
    "report/plan": (["report", "{code}", "--plan", "{plan}"], "plan"),
    "baseline/path": (["baseline", "{empty}"], "empty"),
    "baseline/graph": (["baseline", "{graph}"], "graph"),
    "baseline/plan": (["baseline", "{code}", "--plan", "{plan}"], "plan"),
    "check/path": (["check", "{empty}", "--plan", "{good}"], "empty"),
    "check/graph": (["check", "{graph}", "--plan", "{good}"], "graph"),
    "check/plan": (["check", "{code}", "--plan", "{plan}"], "plan"),
    "run/path": (["run", "{empty}", "-o", "{out}"], "empty"),
    "cutover/plan": (["cutover", "shop", "live", "-o", "{out}", "--plan", "{plan}"], "plan"),
    "cutover/path": (
        ["cutover", "shop", "live", "-o", "{out}", "--plan", "{good}", "--source", "{empty}"],
        "empty",
    ),
    "data/plan": (
        [
            "data",
            "copy",
            "shop",
            "--plan",
            "{plan}",
            "--from",
            "postgresql://127.0.0.1:9/a",
            "--to",
            "postgresql://127.0.0.1:9/b",
        ],
        "plan",
    ),
}


def test_every_command_is_covered():
    assert {case.split("/")[0] for case in CASES} == set(COMMANDS)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_source_graph_or_plan_is_one_line_and_exit_2(case, files):
    args, named = CASES[case]
    if args[0] == "cutover":
        files["out"].mkdir()
    result = CliRunner().invoke(main, [a.format(**files) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {files[named]}"), result.output
    assert not (files["out"] / "plan.yaml").exists() or args[0] == "cutover"
