"""The skip check: a run fails when a test skips that ``tests/allowed_skips.txt`` does not
list, since a skip in CI is a check CI does not make, so each must be known and explained
(README, "Tests"). On in CI (``CI=true``, as ``.ci/run`` runs) or with
``MIGRATOR_CHECK_SKIPS=1``; ``MIGRATOR_ALLOWED_SKIPS`` names another list. tests/conftest.py
loads it; ``-p skipcheck`` loads it into any pytest run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ALLOWED_SKIPS = Path(
    os.environ.get("MIGRATOR_ALLOWED_SKIPS") or Path(__file__).with_name("allowed_skips.txt")
)


def allowed_skips(path: Path = ALLOWED_SKIPS) -> dict[str, str]:
    """Node id -> reason, from ``path``: one ``NODE_ID  # reason`` a line, ``#`` comments."""
    allowed = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        node, sep, reason = line.partition(" # ")
        if not sep or not reason.strip():
            raise pytest.UsageError(f"{path}:{number}: write `NODE_ID  # reason`")
        allowed[node.strip()] = reason.strip()
    return allowed


class SkipCheck:
    """Fails the session when a test skips that the allowed list does not name."""

    def __init__(self, allowed: dict[str, str]) -> None:
        self.allowed = allowed
        self.unexpected: dict[str, str] = {}

    def _note(self, report: pytest.CollectReport | pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail") and report.nodeid not in self.allowed:
            reason = (
                report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            )
            self.unexpected[report.nodeid] = reason.removeprefix("Skipped: ")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._note(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._note(report)  # a whole module skipped while being collected

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.unexpected and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.unexpected:
            terminalreporter.section(f"skips not in {ALLOWED_SKIPS}", red=True)
            for node, reason in sorted(self.unexpected.items()):
                terminalreporter.line(f"{node}: {reason}")
            terminalreporter.line(f"{len(self.unexpected)} unexpected skip(s): the run fails")


def pytest_configure(config: pytest.Config) -> None:
    """Register the check when it is on (see the module's docstring)."""
    on = os.environ.get("CI", "").lower() == "true" or os.environ.get("MIGRATOR_CHECK_SKIPS") == "1"
    if on and not config.pluginmanager.has_plugin("migrator-skip-check"):
        config.pluginmanager.register(SkipCheck(allowed_skips()), "migrator-skip-check")
