"""The CI examples and pre-commit hooks: valid YAML, only real options, and the GitHub
workflow's migrator commands actually run and produce the files later steps publish."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import yaml

from migrator.cli import COMMANDS, LazyGroup, main

from .conftest import PLAN, write_tree
from .helpers import run, save_plan

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / "docs/ci/github-actions.yml"
GITLAB = REPO / "docs/ci/gitlab-ci.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"


def migrator_commands(script: str) -> list[list[str]]:
    """Every `migrator ...` command line in a shell script (continuations joined)."""
    out = []
    for line in script.replace("\\\n", " ").splitlines():
        line = line.strip()
        for part in line.split("||")[0].split("&&"):
            words = shlex.split(part.strip()) if part.strip() else []
            if words and words[0] == "migrator":
                out.append(words[1:])
    return out


def validate(args: list[str]) -> click.Command:
    """The subcommand exists and every option and choice given is one it accepts."""
    assert args[0] in COMMANDS, args
    cmd = LazyGroup().get_command(click.Context(main), args[0])
    params = {opt: p for p in cmd.params for opt in (*p.opts, *p.secondary_opts)}
    words = args[1:]
    for i, word in enumerate(words):
        if word.startswith("-") and word != "-":
            assert word in params, f"{args[0]}: unknown option {word}"
            p = params[word]
            if isinstance(p.type, click.Choice):
                assert words[i + 1] in p.type.choices, (word, words[i + 1])
            if word == "--fail-on":
                from migrator.reporting.cli import FAIL_CHOICES

                assert set(words[i + 1].split(",")) <= set(FAIL_CHOICES)
    return cmd


def github_steps() -> list[dict]:
    return yaml.safe_load(GITHUB.read_text())["jobs"]["coupling"]["steps"]


def test_github_workflow_is_wired_consistently():
    doc = yaml.safe_load(GITHUB.read_text())
    assert doc["permissions"]["security-events"] == "write"
    steps = github_steps()
    commands = [c for s in steps if "run" in s for c in migrator_commands(s["run"])]
    assert [c[0] for c in commands] == ["analyze", "report", "report", "report", "check"]
    for c in commands:
        validate(c)
    upload = next(
        s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif")
    )
    sarif_out = next(c[c.index("-o") + 1] for c in commands if "sarif" in c)
    assert upload["with"]["sarif_file"] == sarif_out
    comment = next(s for s in steps if "gh pr comment" in s.get("run", ""))
    md_out = next(c[c.index("-o") + 1] for c in commands if "markdown" in c)
    assert f"--body-file {md_out}" in comment["run"]


def test_gitlab_job_is_wired_consistently():
    job = yaml.safe_load(GITLAB.read_text())["migrator"]
    commands = [c for line in job["script"] for c in migrator_commands(line)]
    assert {c[0] for c in commands} == {"analyze", "report", "check"}
    for c in commands:
        validate(c)
    junit_out = next(c[c.index("-o") + 1] for c in commands if "junit" in c)
    assert job["artifacts"]["reports"]["junit"] == junit_out
    for c in commands:
        if "-o" in c and c[0] == "report":
            assert c[c.index("-o") + 1] in [
                job["artifacts"]["reports"]["junit"],
                *job["artifacts"]["paths"],
            ]


def test_pre_commit_hooks():
    hooks = yaml.safe_load(HOOKS.read_text())
    assert [h["id"] for h in hooks] == ["migrator-check", "migrator-ratchet"]
    for h in hooks:
        assert {"id", "name", "entry", "language"} <= set(h)
        assert h["pass_filenames"] is False
        words = shlex.split(h["entry"]) + h.get("args", [])
        assert words[0] == "migrator"
        validate(words[1:])


def test_github_workflow_commands_run(tmp_path):
    """Run the workflow's migrator commands, in order, in a project with a plan and baseline."""
    assert "analyze" in COMMANDS
    root = write_tree(tmp_path / "repo")
    save_plan(PLAN, root / "plan.yaml")
    assert run("baseline", ".", "--plan", "plan.yaml", "--no-cache", cwd=root).exit_code == 0
    codes = []
    for step in github_steps():
        for c in migrator_commands(step.get("run", "")):
            res = run(*c, cwd=root)
            codes.append((c[0], res.exit_code))
    # analysis ok; ratchet passes (nothing changed since the baseline); check finds the four
    # interface violations of the fixture
    assert codes == [("analyze", 0), ("report", 0), ("report", 0), ("report", 0), ("check", 1)]
    for name in ("graph.json", "migrator-report.md", "migrator.sarif", "migrator-report.html"):
        assert (root / name).stat().st_size > 0, name
