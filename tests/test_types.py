"""mypy is clean on migrator/ with the settings in pyproject.toml ([tool.mypy])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    # no incremental cache: a stale one could hide an error, and the run takes seconds
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", "/dev/null", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_mypy_is_clean_on_migrator():
    result = _mypy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_mypy_reads_libcst_annotations(tmp_path):
    """libcst comes through a lazy module; mypy must still see its real types (not Any), or a
    wrong use of a node would pass unnoticed."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from migrator.analysis.lazy import cst\n\n"
        "def f(node: cst.Name) -> int:\n    return node.value\n"
    )
    result = _mypy(str(probe))
    assert result.returncode == 1
    assert 'Incompatible return value type (got "str", expected "int")' in result.stdout
