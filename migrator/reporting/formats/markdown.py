"""Markdown for a pull-request comment: the summary and metrics first, details folded."""

from __future__ import annotations

import html
from collections.abc import Sequence

from migrator.reporting.formats.common import (
    COMPONENT_HEADERS,
    LIMIT,
    MODULE_HEADERS,
    baseline_lines,
    component_rows,
    metric_rows,
    module_rows,
    scope,
    summary,
)
from migrator.reporting.model import Report


def _cell(text: str) -> str:
    """One table cell. Names, routes and table names come from the analysed code: pipes and
    newlines would break the table, and HTML outside code spans would render in the comment
    (an ``<img>`` from a pull request, say), so it is escaped there."""
    parts = text.replace("|", "\\|").replace("\n", " ").split("`")
    for i in range(0, len(parts), 2):
        parts[i] = html.escape(parts[i], quote=False)
    return "`".join(parts)


def _table(headers: list[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return out


def _fold(title: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{title}</summary>", "", *body, "", "</details>", ""]


def render(report: Report) -> str:
    active = report.active()
    errors = sum(1 for v in active if v.level == "error")
    failed = report.baseline is not None and report.baseline.failed
    icon = "❌" if errors or failed else "✅"
    out = [
        f"## {icon} migrator coupling report",
        "",
        f"**{summary(report)}** ({scope(report)})",
        "",
    ]
    metrics = metric_rows(report.metrics)
    if metrics:
        out += _table([r[0] for r in metrics], [[r[1] for r in metrics]]) + [""]
    out += [f"<sub>{report.definitions}</sub>", ""]
    if report.baseline is not None:
        out += [
            "**Baseline:** " + baseline_lines(report)[0],
            "",
            "**Improved:** " + baseline_lines(report)[1].split(": ", 1)[1],
            "",
        ]
        more = baseline_lines(report)[2:]
        if more:
            out += _fold("What improved", [line.strip() for line in more])
    if active:
        body = _table(
            ["location", "rule", "message"],
            [[f"`{v.file}:{v.line}`", v.rule, v.message] for v in active[:LIMIT]],
        )
        if len(active) > LIMIT:
            body.append(f"\n... and {len(active) - LIMIT} more")
        out += _fold(f"Violations ({len(active)})", body)
    out += _fold("Components", _table(COMPONENT_HEADERS, component_rows(report)))
    out += _fold("Modules (worst first)", _table(MODULE_HEADERS, module_rows(report)))
    if report.cross_edges:
        rows = [
            [
                f"`{e.source}`",
                f"`{e.target}`",
                e.kind,
                str(e.count),
                f"{e.source_component} → {e.target_component}",
                f"`{e.evidence[0]}`" if e.evidence else "",
            ]
            for e in report.cross_edges[:LIMIT]
        ]
        out += _fold(
            f"Crossing edges ({len(report.cross_edges)})",
            _table(["source", "target", "kind", "count", "components", "at"], rows),
        )
    if report.cycles:
        rows = [
            [" → ".join(f"`{m}`" for m in [*c.modules, c.modules[0]]), f"`{c.evidence[0]}`"]
            for c in report.cycles[:LIMIT]
        ]
        body = _table(["cycle", "at"], rows)
        if report.cycle_breakers:
            body += ["", "Edges whose removal breaks most cycles:", ""]
            body += [
                f"- `{b.source}` → `{b.target}` breaks {b.breaks}" for b in report.cycle_breakers
            ]
        out += _fold(f"Import cycles ({len(report.cycles)})", body)
    if report.shared_tables:
        rows = [
            [f"`{t.name}`", ", ".join(t.components), t.owner or ""]
            for t in report.shared_tables[:LIMIT]
        ]
        out += _fold(
            f"Shared tables ({len(report.shared_tables)})",
            _table(["table", "components", "owner"], rows),
        )
    if report.unused_ignores:
        out += _fold(
            f"Unused ignore comments ({len(report.unused_ignores)})",
            [f"- `{loc}`" for loc in report.unused_ignores],
        )
    return "\n".join(out).rstrip() + "\n"
