"""`migrator run`: the README's main job, end to end on sample_monolith."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from migrator.cli import main
from migrator.plan import load_plan

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_monolith"


def _run(out: Path, *extra: str):
    return CliRunner().invoke(
        main, ["run", str(SAMPLE), "-o", str(out), "--no-cache", *extra], catch_exceptions=False
    )


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = _run(out)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_run_writes_every_stage(first_run):
    out, output = first_run
    graph = json.loads((out / "graph.json").read_text())
    assert graph["schema"] == "migrator.graph"
    assert any(n["id"] == "sample_monolith.models" for n in graph["nodes"])
    plan = load_plan(out / "plan.yaml")
    assert len(plan.services) >= 5
    for name in plan.services:
        assert (out / "services" / name / "Dockerfile").is_file()
        assert (out / "deploy" / "k8s" / "base" / name).is_dir()
    assert (out / "compose.yaml").is_file() and (out / "MIGRATION.md").is_file()
    sarif = json.loads((out / "report" / "report.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert "<svg" in (out / "report" / "report.html").read_text()
    for step in ("analyze", "propose", "scaffold", "report"):
        assert step in output


def test_second_run_rewrites_nothing(first_run, tmp_path):
    out, _ = first_run
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    result = _run(out)
    assert result.exit_code == 0, result.output
    assert "0 files written" in result.output
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    assert after == before


def test_edited_plan_decisions_are_kept(tmp_path):
    out = tmp_path / "out"
    assert _run(out).exit_code == 0
    data = yaml.safe_load((out / "plan.yaml").read_text())
    services = data["services"]
    donor = next(n for n, s in sorted(services.items()) if s["modules"])
    moved = services[donor]["modules"].pop(0)
    target = next(n for n in sorted(services) if n != donor)
    services[target]["modules"].append(moved)
    (out / "plan.yaml").write_text(yaml.safe_dump(data, sort_keys=False))

    result = _run(out)
    assert result.exit_code == 0, result.output
    assert "decisions of the existing plan kept" in result.output
    assert moved in load_plan(out / "plan.yaml").services[target].modules


def test_missing_path_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["run", str(tmp_path / "nope"), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "nope" in result.output
