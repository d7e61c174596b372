"""Compute a ``Report`` from a dependency graph and, optionally, a plan.

One pass over the graph's edges gathers everything (module and component coupling, crossing
edges with evidence); cycles, tables, violations, the baseline comparison and ignore comments
follow. Every list is sorted so that output is identical under any PYTHONHASHSEED.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from typing import Any

from migrator.graph import DependencyGraph, module_of
from migrator.plan import SHARED, Plan
from migrator.reporting import baseline as baseline_mod
from migrator.reporting import ignores
from migrator.reporting.components import (
    UNASSIGNED,
    Partition,
    by_package,
    by_plan,
    interface_allows,
)
from migrator.reporting.cycles import find_cycles, parse_evidence
from migrator.reporting.model import (
    ComponentStats,
    CrossEdge,
    Location,
    ModuleStats,
    Report,
    SharedTable,
)
from migrator.reporting.rules import add_violations


def weight(count: int) -> float:
    """w = 1 + ln(c), as in metrics.md."""
    return 1.0 + math.log(count) if count > 0 else 0.0


class Locator:
    """Turns evidence (``file:line`` relative to the analysed root) into display locations:
    relative to the working directory when the file lies below it (what CI annotations and
    terminals want), otherwise as recorded."""

    def __init__(self, root: str, cwd: str | None = None) -> None:
        self.root = os.path.abspath(root)
        self.prefix = os.path.abspath(cwd or os.getcwd()).rstrip(os.sep) + os.sep
        self._shown: dict[str, str] = {}
        self._locations: dict[str, Location] = {}
        self.files: dict[str, str] = {}  # display path -> absolute path

    def path(self, file: str) -> str:
        shown = self._shown.get(file)
        if shown is None:
            absolute = os.path.normpath(os.path.join(self.root, file))
            if absolute.startswith(self.prefix):
                shown = absolute[len(self.prefix) :]
            else:
                shown = file
            shown = shown.replace(os.sep, "/")
            self._shown[file] = shown
            self.files[shown] = absolute
        return shown

    def __call__(self, evidence: str) -> Location:
        loc = self._locations.get(evidence)
        if loc is None:
            raw = parse_evidence(evidence)
            loc = self._locations[evidence] = Location(self.path(raw.file), raw.line)
        return loc


def _instability(ca: int, ce: int) -> float:
    return round(ce / (ca + ce), 4) if ca + ce else 0.0


def _metrics(graph: DependencyGraph, part: Partition, plan: Plan | None) -> dict[str, Any]:
    """metrics.md figures over modules as units (plus the symbols a plan carves out of them),
    each in its component; unassigned modules are left out. Table owners come from the plan's
    ``tables`` when it lists any."""
    from migrator.proposal.metrics import compute_metrics

    assignment = {m: part.of[m] for m in graph.modules() if part.of[m] != UNASSIGNED}
    if plan is not None:
        for name, svc in plan.services.items():
            for sym in svc.symbols:
                assignment[sym] = name
        for sym in plan.shared_kernel.symbols:
            assignment[sym] = SHARED
    owners = None
    if part.table_owner:
        owners = {t: part.table_owner.get(t) for t in sorted(graph.tables)}
    return compute_metrics(graph, dict(sorted(assignment.items())), owners=owners)


def build_report(
    graph: DependencyGraph,
    plan: Plan | None = None,
    *,
    level: int | None = None,
    baseline: dict[str, Any] | None = None,
    fail_on: tuple[str, ...] = baseline_mod.FAIL_ON,
    baseline_source: str = "baseline",
    cwd: str | None = None,
    metrics: bool = True,
) -> Report:
    part = by_plan(graph, plan) if plan is not None else by_package(graph, level)
    where = Locator(graph.root, cwd)
    of = part.of
    mod_out: dict[str, set[str]] = defaultdict(set)
    mod_in: dict[str, set[str]] = defaultdict(set)
    comp_out: dict[str, set[str]] = defaultdict(set)  # component -> outside modules it uses
    comp_in: dict[str, set[str]] = defaultdict(set)  # component -> outside modules using it
    comp_count_out: dict[str, int] = defaultdict(int)
    comp_count_in: dict[str, int] = defaultdict(int)
    cross_mod_out: dict[str, int] = defaultdict(int)
    cross_mod_in: dict[str, int] = defaultdict(int)
    pair_count: dict[tuple[str, str], int] = defaultdict(int)
    mod_pairs: dict[tuple[str, str], list[float]] = {}
    comp_pairs: dict[tuple[str, str], list[Any]] = {}
    cross: list[CrossEdge] = []
    imports: dict[tuple[str, str], set[str]] = {}
    mod = {n: module_of(n) for n in of}
    # units as in metrics.md: modules, or the symbols a plan carves out of a split module
    unit = {n: (m if of.get(m, of[n]) == of[n] else n) for n, m in mod.items()}
    for s, t, data in graph.edges():
        cs, ct = of.get(s), of.get(t)
        if cs is None or ct is None:
            continue
        count = data.get("count", 1)
        pair_count[(s, t)] += count
        ms, mt = mod[s], mod[t]
        if data["kind"] == "import" and ms != mt and not data.get("type_only"):
            imports.setdefault((ms, mt), set()).update(data.get("evidence", ()))
        if ms != mt:
            mod_out[ms].add(mt)
            mod_in[mt].add(ms)
        if cs == ct:
            continue
        comp_out[cs].add(unit[t])
        comp_in[ct].add(unit[s])
        comp_count_out[cs] += count
        comp_count_in[ct] += count
        cross_mod_out[ms] += count
        cross_mod_in[mt] += count
        # services may use the kernel, and each other through interfaces; the kernel may use
        # no service at all (it becomes a library that every service installs)
        allowed = ct == SHARED and cs != SHARED
        if not allowed and cs != SHARED and part.kinds.get(ct) == "service":
            allowed = interface_allows(part.interfaces.get(ct, []), t)
        cross.append(
            CrossEdge(
                source=s,
                target=t,
                kind=data["kind"],
                count=count,
                source_component=cs,
                target_component=ct,
                evidence=[where(e) for e in data.get("evidence", [])],
                allowed=allowed and part.level == "service",
            )
        )
    for (s, t), count in pair_count.items():
        ms, mt = mod[s], mod[t]
        if ms != mt:
            entry = mod_pairs.setdefault((ms, mt), [0, 0.0])
            entry[0] += count
            entry[1] += weight(count)
        cs, ct = of[s], of[t]
        if cs != ct:
            entry = comp_pairs.setdefault((cs, ct), [0, 0.0, True])
            entry[0] += count
            entry[1] += weight(count)
    blocked_modules = set()
    for e in cross:
        if not e.allowed:
            comp_pairs[(e.source_component, e.target_component)][2] = False
            blocked_modules.add((mod[e.source], mod[e.target]))

    modules = graph.modules()
    comp_modules: dict[str, int] = defaultdict(int)
    comp_nodes: dict[str, int] = defaultdict(int)
    for node, comp in of.items():
        comp_nodes[comp] += 1
        if node in graph.g.nodes and graph.g.nodes[node].get("kind") == "module":
            comp_modules[comp] += 1

    # tables
    comp_tables: dict[str, set[str]] = defaultdict(set)
    shared_tables: list[SharedTable] = []
    for name, table in graph.tables.items():
        readers: dict[str, list[str]] = defaultdict(list)
        writers: dict[str, list[str]] = defaultdict(list)
        for node in table.readers:
            readers[of.get(node) or of.get(module_of(node)) or UNASSIGNED].append(node)
        for node in table.writers:
            writers[of.get(node) or of.get(module_of(node)) or UNASSIGNED].append(node)
        comps = sorted(set(readers) | set(writers))
        for c in comps:
            comp_tables[c].add(name)
        if len(comps) > 1:
            loc = Location(where.path(table.file), table.line) if table.file else None
            shared_tables.append(
                SharedTable(
                    name=name,
                    components=comps,
                    owner=part.table_owner.get(name),
                    readers={c: sorted(v) for c, v in sorted(readers.items())},
                    writers={c: sorted(v) for c, v in sorted(writers.items())},
                    location=loc,
                )
            )
    shared_tables.sort(key=lambda t: (-len(t.components), t.name))

    components = []
    for name in sorted(set(part.kinds) | set(of.values())):
        ca, ce = len(comp_in[name]), len(comp_out[name])
        deps = sorted({ct for (cs, ct) in comp_pairs if cs == name})
        components.append(
            ComponentStats(
                name=name,
                kind=part.kinds.get(name, "package"),
                modules=comp_modules[name],
                nodes=comp_nodes[name],
                ca=ca,
                ce=ce,
                instability=_instability(ca, ce),
                edges_out=comp_count_out[name],
                edges_in=comp_count_in[name],
                depends_on=deps,
                tables=sorted(comp_tables[name]),
            )
        )
    components.sort(key=lambda c: (-(c.edges_out + c.edges_in), c.name))
    module_stats = []
    for m in modules:
        ca, ce = len(mod_in[m]), len(mod_out[m])
        module_stats.append(
            ModuleStats(
                module=m,
                component=of[m],
                ca=ca,
                ce=ce,
                instability=_instability(ca, ce),
                crossing_out=cross_mod_out[m],
                crossing_in=cross_mod_in[m],
            )
        )
    module_stats.sort(key=lambda m: (-(m.crossing_out + m.crossing_in), -(m.ca + m.ce), m.module))
    cross.sort(key=lambda e: (e.allowed, -e.count, e.source, e.target, e.kind))

    cycles, breakers, cycle_stats, sccs = find_cycles(graph, where, imports)

    report = Report(
        root=graph.root,
        level=part.level,
        metrics=_metrics(graph, part, plan) if metrics else {},
        components=components,
        modules=module_stats,
        cross_edges=cross,
        component_edges=[
            {
                "source": a,
                "target": b,
                "count": v[0],
                "weight": round(v[1], 4),
                "allowed": bool(v[2]) and part.level == "service",
            }
            for (a, b), v in sorted(comp_pairs.items())
        ],
        module_edges=[
            {
                "source": a,
                "target": b,
                "count": v[0],
                "weight": round(v[1], 4),
                "crossing": of[a] != of[b],
                "allowed": of[a] != of[b]
                and (a, b) not in blocked_modules
                and part.level == "service",
            }
            for (a, b), v in sorted(mod_pairs.items())
        ],
        module_component={m: of[m] for m in modules},
        cycles=cycles,
        cycle_breakers=breakers,
        cycle_stats=cycle_stats,
        cycle_groups=sccs,
        shared_tables=shared_tables,
        rules=[],
        violations=[],
        diagnostics=len(graph.diagnostics),
    )
    if baseline is not None:
        report.baseline = baseline_mod.compare(report, baseline, fail_on, baseline_source)
    add_violations(report, part, graph, where, fail_on if baseline is not None else ())
    # every module's file is scanned for ignore comments, so unused ones are found too
    for m in modules:
        file = graph.g.nodes[m].get("file")
        if file:
            where.path(file)
    report.unused_ignores = ignores.apply(report.violations, where.files, root=where.root)
    return report
