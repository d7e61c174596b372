"""Typed contracts between stages: the plan's ``meta`` block (``PlanMeta``, checked on load) and
the work item a parser process receives (``WorkItem``)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from migrator.analysis.facts import WorkItem
from migrator.analysis.isolate import failed_facts, identity
from migrator.analysis.parse import analyse_source
from migrator.cli import main
from migrator.plan import META_VERSION, PlanError, dump_plan, load_plan, meta_problems

PLAN = {"version": 1, "services": {"shop": {"modules": ["shop"]}}}


def _plan_file(tmp_path: Path, meta: object) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump({**PLAN, "meta": meta}))
    return path


@pytest.mark.parametrize(
    ("meta", "problem"),
    [
        ({"framework": 3}, "meta.framework: must be a string, got 3"),
        ({"framwork": "flask"}, "meta.framwork: unknown key"),
        ({"seed": True}, "meta.seed: must be an integer, got True"),
        (
            {"split_modules": ["a", 1]},
            "meta.split_modules: must be a list of strings, got ['a', 1]",
        ),
        ({"weights": {"import": "x"}}, "meta.weights: must be a mapping, got {'import': 'x'}"),
        ({"version": 2}, "meta.version: expected 1, got 2 (a plan from another migrator version)"),
        (["framework"], "meta: must be a mapping"),
    ],
)
def test_a_malformed_meta_is_refused_on_load_naming_the_file(tmp_path, meta, problem):
    path = _plan_file(tmp_path, meta)
    with pytest.raises(PlanError) as err:
        load_plan(path)
    assert str(err.value) == f"{path}: {problem}"


def test_a_malformed_meta_stops_scaffold_with_one_line(tmp_path):
    (tmp_path / "shop.py").write_text("X = 1\n")
    path = _plan_file(tmp_path, {"framework": ["flask"]})
    result = CliRunner().invoke(
        main, ["scaffold", str(tmp_path), "--plan", str(path), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert result.output == (f"Error: {path}: meta.framework: must be a string, got ['flask']\n")
    assert not (tmp_path / "out").exists()


def test_meta_without_version_is_read_as_the_current_one(tmp_path):
    plan = load_plan(_plan_file(tmp_path, {"framework": "flask", "resolution": 1}))
    assert plan.meta == {"framework": "flask", "resolution": 1}
    assert meta_problems({"version": META_VERSION}) == []


def test_what_propose_records_is_a_valid_meta_and_survives_a_round_trip(tmp_path):
    from migrator import analyze, propose

    root = Path(__file__).resolve().parent.parent / "sample_monolith"
    plan = propose(analyze(root), source="sample_monolith")
    assert plan.meta["version"] == META_VERSION
    assert meta_problems(plan.meta) == []  # every key propose writes is declared and typed
    path = tmp_path / "plan.yaml"
    path.write_text(dump_plan(plan))
    assert load_plan(path).meta == plan.meta


def test_a_work_item_is_read_by_name_and_matched_without_its_bytes():
    item = WorkItem("pkg/m.py", "pkg.m", False, "ab" * 32, b"import os\nX = (\n", True)
    assert pickle.loads(pickle.dumps(item)) == item  # it crosses process boundaries
    assert identity(item) == ("pkg/m.py", "pkg.m", False, "ab" * 32, True)
    assert identity(item._replace(data=b"other")) == identity(item)
    facts = failed_facts(item, "internal-error", "boom")
    assert (facts.file, facts.module, facts.sha, facts.lines) == ("pkg/m.py", "pkg.m", "ab" * 32, 2)
    parsed = analyse_source(item)
    assert [d.code for d in parsed.diagnostics] == ["syntax-error"]
    assert parsed.diagnostics[0].file == "pkg/m.py"
