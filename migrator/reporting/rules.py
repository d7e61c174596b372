"""The rules a report checks and the violations it finds, each at a file and line.

Rule ids are stable: they appear in SARIF, JUnit, `check` output and `# migrator: ignore[...]`
comments. Each violation also carries a line-independent ``identity`` (SARIF fingerprint).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from migrator.graph import DependencyGraph, module_of
from migrator.reporting import baseline as baseline_mod
from migrator.reporting.components import Partition
from migrator.reporting.model import CrossEdge, Location, Report, Rule, Violation

if TYPE_CHECKING:
    from migrator.reporting.build import Locator

#: edge kinds that are code using code (the ones an interface governs)
CODE_KINDS = ("import", "reference", "inherit", "orm", "dynamic", "signal")

RULES = {
    "interface-violation": Rule(
        "interface-violation",
        "error",
        "Code of one service uses code of another service that is not in that service's "
        "interface (plan: services.<name>.interface).",
    ),
    "kernel-dependency": Rule(
        "kernel-dependency",
        "warning",
        "The shared kernel uses code of a service; as a library every service installs, the "
        "kernel should depend on no service.",
    ),
    "undeclared-dependency": Rule(
        "undeclared-dependency",
        "warning",
        "A service uses another service that is not in its depends_on list in the plan.",
    ),
    "import-cycle": Rule(
        "import-cycle",
        "warning",
        "Modules import each other in a cycle (shortest cycle shown; TYPE_CHECKING imports "
        "left out).",
    ),
    "shared-table": Rule(
        "shared-table",
        "warning",
        "A database table is read or written by code of more than one component.",
    ),
    "new-edge": Rule(
        "new-edge", "error", "A dependency across components that the baseline does not have."
    ),
    "new-cycle": Rule("new-cycle", "error", "An import cycle that the baseline does not have."),
    "instability-increase": Rule(
        "instability-increase",
        "error",
        "A component's instability I = Ce/(Ca+Ce) rose above its baseline value.",
    ),
}


def _first(evidence: list[Location], fallback: Location) -> Location:
    return evidence[0] if evidence else fallback


def add_violations(
    report: Report,
    part: Partition,
    graph: DependencyGraph,
    where: Locator,
    fail_on: tuple[str, ...],
) -> None:
    """Fill ``report.rules`` (the rules that ran) and ``report.violations`` (sorted)."""
    out: list[Violation] = []
    used_rules: list[str] = ["import-cycle", "shared-table"]

    def node_loc(node: str) -> Location:
        data = graph.g.nodes.get(node) or graph.g.nodes.get(module_of(node)) or {}
        return (
            Location(where.path(data["file"]), data.get("line", 0) or 1)
            if data.get("file")
            else Location(module_of(node), 0)
        )

    if part.level == "service":
        used_rules[:0] = ["interface-violation", "kernel-dependency", "undeclared-dependency"]
        undeclared: dict[tuple[str, str], CrossEdge] = {}
        for e in report.cross_edges:
            ks, kt = part.kinds.get(e.source_component), part.kinds.get(e.target_component)
            if ks == "service" and kt == "service":
                if e.target_component not in part.depends_on.get(e.source_component, []):
                    undeclared.setdefault((e.source_component, e.target_component), e)
            if e.kind not in CODE_KINDS:
                continue
            if ks == "service" and kt == "service" and not e.allowed:
                rule = "interface-violation"
                msg = (
                    f"{e.source} ({e.source_component}) uses {e.target}, which is not in the "
                    f"interface of service '{e.target_component}' [{e.kind}]"
                )
            elif ks == "shared_kernel" and kt == "service":
                rule = "kernel-dependency"
                msg = (
                    f"shared kernel code {e.source} uses {e.target} of service "
                    f"'{e.target_component}' [{e.kind}]"
                )
            else:
                continue
            locations = sorted(set(e.evidence)) or [node_loc(e.source)]
            for loc in locations:
                out.append(
                    Violation(
                        loc.file,
                        loc.line,
                        rule,
                        msg,
                        RULES[rule].level,
                        identity=f"{rule}:{e.source}->{e.target}:{e.kind}",
                    )
                )
        for (a, b), e in sorted(undeclared.items()):
            loc = _first(e.evidence, node_loc(e.source))
            out.append(
                Violation(
                    loc.file,
                    loc.line,
                    "undeclared-dependency",
                    f"service '{a}' uses service '{b}' ({e.source} -> {e.target}) "
                    f"but '{b}' is not in its depends_on",
                    RULES["undeclared-dependency"].level,
                    identity=f"undeclared-dependency:{a}->{b}",
                )
            )
    for cyc in report.cycles:
        loc = _first(cyc.evidence, Location(cyc.modules[0], 0))
        chain = " -> ".join([*cyc.modules, cyc.modules[0]])
        out.append(
            Violation(
                loc.file,
                loc.line,
                "import-cycle",
                f"import cycle: {chain}",
                RULES["import-cycle"].level,
                identity="import-cycle:" + "->".join(cyc.modules),
            )
        )
    for t in report.shared_tables:
        loc = t.location or Location(t.name, 0)
        owner = f" (owner: {t.owner})" if t.owner else ""
        out.append(
            Violation(
                loc.file,
                loc.line,
                "shared-table",
                f"table '{t.name}' is used by {', '.join(t.components)}{owner}",
                RULES["shared-table"].level,
                identity=f"shared-table:{t.name}",
            )
        )
    diff = report.baseline
    if diff is not None:
        used_rules += ["new-edge", "new-cycle", "instability-increase"]
        level = {name: ("error" if name in fail_on else "warning") for name in baseline_mod.FAIL_ON}
        edges = {(e.source, e.target, e.kind): e for e in report.cross_edges}
        for s, target, k in diff.new_edges:
            e = edges[(s, target, k)]
            loc = _first(e.evidence, node_loc(s))
            out.append(
                Violation(
                    loc.file,
                    loc.line,
                    "new-edge",
                    f"new dependency {s} -> {target} [{k}] "
                    f"({e.source_component} -> {e.target_component})",
                    level["new-edges"],
                    identity=f"new-edge:{s}->{target}:{k}",
                )
            )
        by_modules = {tuple(c.modules): c for c in report.cycles}
        for mods in diff.new_cycles:
            cyc = by_modules[tuple(mods)]
            loc = _first(cyc.evidence, Location(mods[0], 0))
            out.append(
                Violation(
                    loc.file,
                    loc.line,
                    "new-cycle",
                    "new import cycle: " + " -> ".join([*mods, mods[0]]),
                    level["new-cycles"],
                    identity="new-cycle:" + "->".join(mods),
                )
            )
        first_module: dict[str, str] = {}
        for m in report.module_component:
            first_module.setdefault(report.module_component[m], m)
        for entry in diff.instability_increase:
            comp = entry["component"]
            loc = node_loc(first_module[comp]) if comp in first_module else Location(comp, 0)
            out.append(
                Violation(
                    loc.file,
                    loc.line,
                    "instability-increase",
                    f"instability of '{comp}' rose from {entry['before']} to {entry['after']}",
                    level["instability-increase"],
                    identity=f"instability-increase:{comp}",
                )
            )
    report.rules = [RULES[r] for r in used_rules]
    report.violations = sorted(out)
