"""The skip check (tests/skipcheck.py) fails a run on a skip it was not told about, and only
then; and tests/allowed_skips.txt parses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from skipcheck import ALLOWED_SKIPS, allowed_skips

SUITE = """
import pytest

def test_runs():
    assert True

def test_skips():
    pytest.skip("the input is missing")

@pytest.mark.xfail(reason="known", strict=True)
def test_known_failure():
    assert False
"""


def run_suite(tmp_path: Path, allowed: str, check: str = "1") -> subprocess.CompletedProcess:
    (tmp_path / "test_suite.py").write_text(SUITE)
    (tmp_path / "allowed.txt").write_text(allowed)
    env = {
        **os.environ,
        "MIGRATOR_CHECK_SKIPS": check,
        "CI": "",
        "MIGRATOR_ALLOWED_SKIPS": str(tmp_path / "allowed.txt"),
        "PYTHONPATH": str(Path(__file__).parent),
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "skipcheck",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_unlisted_skip_fails_the_run(tmp_path: Path) -> None:
    done = run_suite(tmp_path, "# nothing may skip\n")
    assert done.returncode == 1, done.stdout
    assert "test_suite.py::test_skips: the input is missing" in done.stdout
    assert "1 unexpected skip(s)" in done.stdout
    assert "test_known_failure" not in done.stdout  # an expected failure is no skip


def test_a_listed_skip_passes_and_the_check_is_off_outside_ci(tmp_path: Path) -> None:
    done = run_suite(tmp_path, "test_suite.py::test_skips  # the input is absent here\n")
    assert done.returncode == 0, done.stdout
    assert "1 passed, 1 skipped, 1 xfailed" in done.stdout
    (tmp_path / "off").mkdir()
    done = run_suite(tmp_path / "off", "", check="0")
    assert done.returncode == 0, done.stdout


def test_the_allowed_list_names_collected_tests_with_reasons() -> None:
    allowed = allowed_skips(ALLOWED_SKIPS)
    for node, reason in allowed.items():
        assert (
            Path(node.split("::")[0]).is_file()
            or (Path(__file__).parents[1] / node.split("::")[0]).is_file()
        ), node
        assert len(reason) > 10, node


def test_a_line_without_a_reason_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("tests/x.py::test_y\n")
    with pytest.raises(pytest.UsageError, match="bad.txt:1"):
        allowed_skips(tmp_path / "bad.txt")
