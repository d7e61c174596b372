"""Project hygiene that CI must keep true: ruff is clean, README and .ci/run agree."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = shutil.which("ruff")
    cmd = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    result = subprocess.run(
        [*cmd, "check", "--no-cache", str(ROOT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_ruff_format_is_kept():
    """The code is formatted by ``ruff format`` (config in pyproject.toml)."""
    ruff = shutil.which("ruff")
    cmd = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    result = subprocess.run(
        [*cmd, "format", "--check", "--no-cache", str(ROOT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^```\n(.*?)^```", text, re.M | re.S)
    assert block, "README has no opening command block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_the_main_job_and_the_tests():
    commands = _readme_commands()
    assert len(commands) == 2, commands
    main_job, tests = commands
    assert "migrator run sample_monolith" in main_job
    assert "pytest" in tests
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.index("```") < text.index("\n## "), "the commands come before any section"


def test_ci_runs_the_readme_test_command():
    tests = _readme_commands()[1]
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "command",
    ["analyze", "propose", "compare", "explain", "scaffold", "report", "baseline", "check", "run"],
)
def test_every_command_has_help(command):
    from click.testing import CliRunner

    from migrator.cli import main

    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
