"""Small helpers shared by the human-readable formatters."""

from __future__ import annotations

from typing import Any

from migrator.reporting.model import Report

#: rows shown per section in text and markdown (JSON, SARIF and JUnit are complete)
LIMIT = 25

#: metrics shown first, in this order, with their metrics.md names
METRIC_ORDER = [
    ("modularity", "Q (modularity)"),
    ("icp", "ICP"),
    ("sm", "SM"),
    ("ifn", "IFN"),
    ("ned", "NED"),
    ("bcp", "BCP"),
]
HIDDEN = {"definitions", "sizes", "data_coupling"}


def fmt_number(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def metric_rows(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows: the metrics.md figures first, then data coupling and counts."""
    rows = [(label, fmt_number(metrics[key])) for key, label in METRIC_ORDER if key in metrics]
    dc = metrics.get("data_coupling")
    if isinstance(dc, dict):
        rows.append(
            (
                "data coupling",
                f"{dc.get('shared_writes', 0)} tables written by more "
                f"than one service, {dc.get('cross_reads', 0)} read across a boundary",
            )
        )
    known = {k for k, _ in METRIC_ORDER} | HIDDEN
    for key in sorted(metrics):
        value = metrics[key]
        if key not in known and isinstance(value, (int, float, str)):
            rows.append((key.replace("_", " "), fmt_number(value)))
    return rows


def scope(report: Report) -> str:
    if report.level == "service":
        return "services of the plan (+ shared kernel)"
    return f"packages at level {report.level.split(':', 1)[1]} of the package tree"


def summary(report: Report) -> str:
    active = report.active()
    errors = sum(1 for v in active if v.level == "error")
    warnings = sum(1 for v in active if v.level == "warning")
    crossing = len(report.cross_edges)
    blocked = sum(1 for e in report.cross_edges if not e.allowed)
    ignored = sum(1 for v in report.violations if v.ignored)
    parts = [f"{errors} error(s)", f"{warnings} warning(s)"]
    if ignored:
        parts.append(f"{ignored} ignored")
    parts += [f"{len(report.components)} components", f"{crossing} crossing edges"]
    if report.level == "service":
        parts.append(f"{blocked} outside interfaces/kernel")
    parts += [f"{len(report.cycles)} import cycles", f"{len(report.shared_tables)} shared tables"]
    return ", ".join(parts)


def baseline_lines(report: Report) -> list[str]:
    d = report.baseline
    if d is None:
        return []
    lines = [
        f"new: {len(d.new_edges)} edges, {len(d.new_cycles)} cycles, "
        f"{len(d.instability_increase)} instability increases"
        + (f" -> FAIL ({', '.join(d.failing)})" if d.failing else " -> ok"),
        f"improved: {len(d.removed_edges)} edges removed, {len(d.removed_cycles)} cycles broken, "
        f"{len(d.instability_decrease)} instability decreases",
    ]
    for s, t, k in d.removed_edges[:LIMIT]:
        lines.append(f"  - removed edge {s} -> {t} [{k}]")
    for c in d.removed_cycles[:LIMIT]:
        lines.append(f"  - broken cycle {' -> '.join([*c, c[0]])}")
    for e in d.instability_decrease[:LIMIT]:
        lines.append(f"  - instability of {e['component']}: {e['before']} -> {e['after']}")
    return lines


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A plain-text table with aligned columns."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for r in rows:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return out


def component_rows(report: Report) -> list[list[str]]:
    return [
        [
            c.name,
            c.kind,
            str(c.modules),
            str(c.ca),
            str(c.ce),
            f"{c.instability:.2f}",
            str(c.edges_out),
            str(c.edges_in),
            ", ".join(c.tables),
        ]
        for c in report.components
    ]


COMPONENT_HEADERS = [
    "component",
    "kind",
    "modules",
    "Ca",
    "Ce",
    "I",
    "refs out",
    "refs in",
    "tables",
]
MODULE_HEADERS = ["module", "component", "Ca", "Ce", "I", "crossing out", "crossing in"]


def module_rows(report: Report, limit: int = LIMIT) -> list[list[str]]:
    return [
        [
            m.module,
            m.component,
            str(m.ca),
            str(m.ce),
            f"{m.instability:.2f}",
            str(m.crossing_out),
            str(m.crossing_in),
        ]
        for m in report.modules[:limit]
    ]
