"""Import cycles between modules, their shortest paths, and the edges that break most of them.

Enumerating every simple cycle is exponential, so the work is bounded:

1. Strongly connected components (Tarjan, linear) find every module that lies on a cycle.
2. For each module in a component, one breadth-first search finds the shortest cycle through
   it. These cycles, deduplicated as canonical rotations (smallest module first), are the cycles
   the report lists and the baseline stores: at most one per module, and independent of line
   numbers and of the order of the code.
3. Cycle breakers: for a component of at most ``EXACT_MAX_NODES`` modules whose simple cycles
   number at most ``EXACT_MAX_CYCLES``, all simple cycles are enumerated; otherwise the shortest
   cycles of step 2 stand in for them. A greedy set cover then picks, again and again, the edge
   contained in most not-yet-broken cycles (ties by name), so the first breaker is the edge whose
   removal breaks most cycles. The size of a feedback arc set from the Eades-Lin-Smyth greedy
   heuristic (linear-time ordering, back edges removed) tells how many edges would make the
   import graph acyclic; exact minimum feedback arc sets are NP-hard.

Imports under ``if TYPE_CHECKING:`` (edges flagged ``type_only``) are left out: they never
run, so they cannot form an import-time cycle. Lazy imports (inside functions) are kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from itertools import islice

import networkx as nx

from migrator.graph import DependencyGraph, module_of
from migrator.reporting.model import Cycle, CycleBreaker, CycleStats, Location

EXACT_MAX_NODES = 30
EXACT_MAX_CYCLES = 5000
MAX_BREAKERS = 20


def import_edges(graph: DependencyGraph) -> dict[tuple[str, str], set[str]]:
    """(module, module) -> evidence of the import edges between them (type-only left out)."""
    out: dict[tuple[str, str], set[str]] = {}
    for s, t, data in graph.edges("import"):
        if data.get("type_only"):
            continue
        a, b = module_of(s), module_of(t)
        if a != b:
            out.setdefault((a, b), set()).update(data.get("evidence", ()))
    return out


def import_graph(
    graph: DependencyGraph, edges: dict[tuple[str, str], set[str]] | None = None
) -> nx.DiGraph:
    """Module -> module import graph with evidence, nodes and edges in sorted order."""
    if edges is None:
        edges = import_edges(graph)
    g = nx.DiGraph()
    g.add_nodes_from(sorted(graph.modules()))
    g.add_edges_from((a, b, {"evidence": sorted(ev)}) for (a, b), ev in sorted(edges.items()))
    return g


def canonical(cycle: list[str]) -> tuple[str, ...]:
    """The rotation of ``cycle`` that starts with its smallest module."""
    i = cycle.index(min(cycle))
    return tuple(cycle[i:] + cycle[:i])


def _shortest_cycle_through(g: nx.DiGraph, start: str, members: set[str]) -> list[str] | None:
    preds = {p for p in g.predecessors(start) if p in members}
    if not preds:
        return None
    parent: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        if u in preds:
            path = [u]
            while parent[path[-1]] is not None:
                path.append(parent[path[-1]])  # type: ignore[arg-type]
            return path[::-1]
        for v in g.successors(u):
            if v in members and v not in parent:
                parent[v] = u
                queue.append(v)
    return None


def _eades_fas_size(g: nx.DiGraph, members: list[str]) -> int:
    """Back edges of the Eades-Lin-Smyth ordering of one component."""
    out = {n: {v for v in g.successors(n) if v in members} for n in members}
    inc = {n: {u for u in g.predecessors(n) if u in members} for n in members}
    alive = set(members)
    left: list[str] = []
    right: list[str] = []
    while alive:
        changed = True
        while changed:
            changed = False
            for n in sorted(alive):
                if n in alive and not (out[n] & alive):
                    right.append(n)
                    alive.discard(n)
                    changed = True
                elif n in alive and not (inc[n] & alive):
                    left.append(n)
                    alive.discard(n)
                    changed = True
        if alive:
            best = max(sorted(alive), key=lambda n: len(out[n] & alive) - len(inc[n] & alive))
            left.append(best)
            alive.discard(best)
    order = left + right[::-1]
    pos = {n: i for i, n in enumerate(order)}
    return sum(1 for u in members for v in out[u] if pos[u] > pos[v])


def _greedy_cover(cycles: list[tuple[str, ...]]) -> list[tuple[tuple[str, str], int]]:
    """Pick edges contained in most unbroken cycles until every cycle is broken."""
    edge_cycles: dict[tuple[str, str], set[int]] = {}
    for i, cyc in enumerate(cycles):
        for j, a in enumerate(cyc):
            edge_cycles.setdefault((a, cyc[(j + 1) % len(cyc)]), set()).add(i)
    remaining = set(range(len(cycles)))
    picks: list[tuple[tuple[str, str], int]] = []
    while remaining:
        edge, hit = max(sorted(edge_cycles.items()), key=lambda kv: len(kv[1] & remaining))
        broken = hit & remaining
        if not broken:
            break
        picks.append((edge, len(broken)))
        remaining -= broken
    return picks


def find_cycles(
    graph: DependencyGraph,
    where: Callable[[str], Location] | None = None,
    edges: dict[tuple[str, str], set[str]] | None = None,
) -> tuple[list[Cycle], list[CycleBreaker], CycleStats, list[list[str]]]:
    """Shortest cycles, ranked breakers, statistics and the SCCs of the module import graph.

    ``where`` maps an evidence string (``file:line``) to a ``Location``; ``edges`` is
    ``import_edges(graph)`` when the caller has already collected it.
    """
    g = import_graph(graph, edges)
    to_loc = where or _plain_location
    sccs = sorted(
        (sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1),
        key=lambda c: (-len(c), c[0]),
    )
    stats = CycleStats(sccs=len(sccs), modules_in_cycles=sum(len(c) for c in sccs))
    found: dict[tuple[str, ...], None] = {}
    picks: list[tuple[tuple[str, str], int]] = []
    for members in sccs:
        member_set = set(members)
        shortest: dict[tuple[str, ...], None] = {}
        for start in members:
            cyc = _shortest_cycle_through(g, start, member_set)
            if cyc:
                shortest.setdefault(canonical(cyc), None)
        found.update(shortest)
        counted: list[tuple[str, ...]] | None = None
        if len(members) <= EXACT_MAX_NODES:
            sub = g.subgraph(members)
            every = list(islice(nx.simple_cycles(sub), EXACT_MAX_CYCLES + 1))
            if len(every) <= EXACT_MAX_CYCLES:
                counted = sorted({canonical(list(c)) for c in every})
        if counted is None:
            stats.method = "greedy-feedback-arc"
            counted = sorted(shortest)
        stats.counted_cycles += len(counted)
        stats.feedback_arc_set += _eades_fas_size(g, members)
        picks.extend(_greedy_cover(counted))
    cycles = []
    for ring in sorted(found, key=lambda c: (len(c), c)):
        evidence = []
        for j, a in enumerate(ring):
            ev = g.edges[a, ring[(j + 1) % len(ring)]]["evidence"]
            evidence.append(to_loc(ev[0]) if ev else Location(a, 0))
        cycles.append(Cycle(modules=list(ring), evidence=evidence))
    picks.sort(key=lambda p: (-p[1], p[0]))
    breakers = []
    for (a, b), n in picks[:MAX_BREAKERS]:
        ev = g.edges[a, b]["evidence"]
        breakers.append(CycleBreaker(a, b, n, to_loc(ev[0]) if ev else None))
    return cycles, breakers, stats, sccs


def _plain_location(evidence: str) -> Location:
    return parse_evidence(evidence)


def parse_evidence(evidence: str) -> Location:
    """``path/to/file.py:12`` (optionally ``:col``) -> Location."""
    head, _, tail = evidence.rpartition(":")
    if not tail.isdigit() or not head:
        return Location(evidence, 0)
    first, _, mid = head.rpartition(":")
    if mid.isdigit() and first:
        return Location(first, int(mid))
    return Location(head, int(tail))
