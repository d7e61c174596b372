"""Terminal text: metrics first, then the worst offenders of each kind."""

from __future__ import annotations

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
    table,
)
from migrator.reporting.model import Report


def _more(total: int, shown: int) -> list[str]:
    return [f"  ... and {total - shown} more (use --format json for all)"] if total > shown else []


def render(report: Report) -> str:
    out = [f"migrator report: {report.root} ({scope(report)})", report.definitions, ""]
    rows = metric_rows(report.metrics)
    if rows:
        out.append("Metrics")
        out += ["  " + line for line in table(["metric", "value"], [list(r) for r in rows])]
        out.append("")
    out += ["Summary: " + summary(report), ""]
    if report.baseline is not None:
        out += ["Baseline"] + ["  " + line for line in baseline_lines(report)] + [""]
    active = report.active()
    if active:
        out.append(f"Violations ({len(active)})")
        out += [f"  {v}" for v in active[:LIMIT]] + _more(len(active), LIMIT) + [""]
    out.append("Components (most crossing references first)")
    out += ["  " + line for line in table(COMPONENT_HEADERS, component_rows(report))] + [""]
    out.append("Modules (most crossing references first)")
    out += ["  " + line for line in table(MODULE_HEADERS, module_rows(report))]
    out += _more(len(report.modules), LIMIT) + [""]
    if report.cross_edges:
        out.append("Edges crossing component boundaries (outside interfaces first, then by count)")
        for e in report.cross_edges[:LIMIT]:
            where = f"  at {e.evidence[0]}" if e.evidence else ""
            flag = "" if e.allowed or report.level != "service" else "  !"
            out.append(
                f"  {e.source} -> {e.target} [{e.kind} x{e.count}] "
                f"({e.source_component} -> {e.target_component}){where}{flag}"
            )
        out += _more(len(report.cross_edges), LIMIT) + [""]
    st = report.cycle_stats
    out.append(
        f"Import cycles: {len(report.cycles)} shortest cycles in {st.sccs} tangles of "
        f"{st.modules_in_cycles} modules (method: {st.method}; a feedback arc set of "
        f"{st.feedback_arc_set} edges makes imports acyclic)"
    )
    for c in report.cycles[:LIMIT]:
        out.append(f"  {' -> '.join([*c.modules, c.modules[0]])}  at {c.evidence[0]}")
    out += _more(len(report.cycles), LIMIT)
    if report.cycle_breakers:
        out.append("  edges whose removal breaks most cycles:")
        for b in report.cycle_breakers:
            where = f"  at {b.location}" if b.location else ""
            out.append(f"    {b.source} -> {b.target}  breaks {b.breaks}{where}")
    out.append("")
    if report.shared_tables:
        out.append("Tables touched by more than one component")
        for t in report.shared_tables[:LIMIT]:
            owner = f" owner {t.owner};" if t.owner else ""
            readers = "; ".join(f"{c}: {', '.join(n)}" for c, n in t.readers.items())
            writers = "; ".join(f"{c}: {', '.join(n)}" for c, n in t.writers.items())
            out.append(f"  {t.name}:{owner} writers [{writers}] readers [{readers}]")
        out += _more(len(report.shared_tables), LIMIT) + [""]
    if report.unused_ignores:
        out.append("Unused ignore comments")
        out += [f"  {loc}: unused-ignore: nothing to ignore here" for loc in report.unused_ignores]
        out.append("")
    if report.diagnostics:
        out.append(f"{report.diagnostics} analysis diagnostics (see `migrator analyze`)")
    return "\n".join(out).rstrip() + "\n"
