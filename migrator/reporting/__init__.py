"""Stage 4: coupling reports, the baseline ratchet and boundary checks for CI.

``report(graph, plan=None, **options)`` returns a plain-data ``Report``; formatters in
``migrator.reporting.formats`` turn it into text, markdown, JSON, SARIF, JUnit, HTML, DOT or
mermaid. ``make_baseline(report)`` gives the committed baseline document, and ``check`` is the
same report seen as a list of violations.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from migrator.graph import DependencyGraph
from migrator.plan import Plan
from migrator.reporting.baseline import (
    FAIL_ON,
    BaselineError,
    dump_baseline,
    load_baseline,
    make_baseline,
)
from migrator.reporting.build import build_report
from migrator.reporting.model import DEFINITIONS, REPORT_VERSION, Report, Violation
from migrator.reporting.rules import RULES

__all__ = [
    "DEFINITIONS",
    "FAIL_ON",
    "REPORT_VERSION",
    "RULES",
    "BaselineError",
    "Report",
    "Violation",
    "dump_baseline",
    "load_baseline",
    "make_baseline",
    "render",
    "report",
]


def report(graph: DependencyGraph, plan: Plan | None = None, **options: Any) -> Report:
    """Coupling between the plan's services (or the package tree's components without a plan).

    Options: ``level`` (package depth without a plan; default: the first level with more than
    one package), ``baseline`` (a baseline dict or a path to a baseline file), ``fail_on``
    (subset of ``FAIL_ON``), ``metrics`` (False skips the metrics.md figures), ``cwd`` (base for
    the relative paths shown; default the working directory).
    """
    baseline = options.pop("baseline", None)
    source = "baseline"
    if isinstance(baseline, (str, Path)):
        source = str(baseline)
        baseline = load_baseline(baseline)
    fail_on = tuple(options.pop("fail_on", FAIL_ON))
    unknown = [f for f in fail_on if f not in FAIL_ON]
    if unknown:
        raise ValueError(
            f"unknown --fail-on value(s): {', '.join(unknown)} (choose from {', '.join(FAIL_ON)})"
        )
    # the cyclic garbage collector would walk the whole graph again and again while the report
    # allocates its many small objects (seconds on a Django-sized graph); nothing here makes
    # reference cycles, so it is paused until the report is built
    paused = gc.isenabled()
    gc.disable()
    try:
        return build_report(
            graph, plan, baseline=baseline, fail_on=fail_on, baseline_source=source, **options
        )
    finally:
        if paused:
            gc.enable()


def render(rep: Report, fmt: str = "text") -> str:
    """The report in one of ``migrator.reporting.formats.FORMATS``."""
    from migrator.reporting.formats import render as _render

    paused = gc.isenabled()
    gc.disable()
    try:
        return _render(rep, fmt)
    finally:
        if paused:
            gc.enable()
