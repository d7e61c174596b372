"""Decomposition metrics, exactly as defined in docs/metrics.md.

Published tools disagree on the formulas behind the same metric names, so every number migrator
prints comes from here. Each metric is a small pure function over plain data (a weighted edge
dict and a node -> service dict) so that it can be checked by hand on a five-node graph;
``compute_metrics`` lifts a ``DependencyGraph`` and an assignment onto those plain inputs.

Conventions (fixed here and stated in docs/metrics.md):

* Units are the assignment's keys. A graph node counts as the unit of the longest assigned prefix
  among: itself, its module, the module's parent packages. Nodes matching nothing are left out.
* c_ab = sum over edge kinds of ``weights[kind] * count`` for edges lifted onto units a != b
  (default weight 1 for every kind). w_ab = 1 + ln(c_ab); for c_ab < 1 (fractional weights)
  w_ab = c_ab so that weights stay positive and continuous.
* The undirected graph of Q weighs {a, b} with w_ab + w_ba.
* The shared kernel (``"shared_kernel"``) is not a service: its nodes and their edges are left
  out of Q, ICP, SM, IFN and NED. BCP still walks through kernel nodes but never counts them.
* Business contexts: every HTTP route, plus entry points of kind ``task`` and ``cli`` (signals are
  not business use). |BC_i| = 0 contributes ln 1 = 0.
* Table owner: the service with the most writer nodes; ties go to the service holding the
  table's model class, then to the alphabetically first. No writer in any service: the service
  holding the model (the writes may be out of sight: an active-record mixin's ``create``), else
  the service owning most of the tables whose foreign keys point to it (reference data whose
  model is shared), else the one with most readers, else none.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from migrator.graph import EDGE_KINDS, DependencyGraph, module_of
from migrator.plan import SHARED

Edges = dict[tuple[str, str], float]

#: default weight of every edge kind for metrics (the clustering uses its own weights)
METRIC_WEIGHTS: dict[str, float] = {kind: 1.0 for kind in EDGE_KINDS}
CONTEXT_KINDS = ("task", "cli")
DIGITS = 4


# -- lifting the graph onto units ---------------------------------------------------------------
class UnitResolver:
    """Map any graph node to the unit (assignment key) that contains it, or None."""

    def __init__(self, assignment: Mapping[str, str]) -> None:
        self.assignment = dict(assignment)
        self._cache: dict[str, str | None] = {}

    def unit(self, node: str) -> str | None:
        if node in self._cache:
            return self._cache[node]
        found: str | None = None
        if node in self.assignment:
            found = node
        else:
            parts = module_of(node).split(".")
            for i in range(len(parts), 0, -1):
                prefix = ".".join(parts[:i])
                if prefix in self.assignment:
                    found = prefix
                    break
        self._cache[node] = found
        return found

    def group(self, node: str) -> str | None:
        unit = self.unit(node)
        return None if unit is None else self.assignment[unit]


def edge_weight(count: float) -> float:
    """w = 1 + ln(c) (Mono2Micro); c < 1 only happens with fractional kind weights."""
    return 1.0 + math.log(count) if count >= 1 else float(count)


def unit_counts(
    graph: DependencyGraph, resolver: UnitResolver, weights: Mapping[str, float] | None = None
) -> Edges:
    """c_ab between distinct units, summed over edge kinds with their weights."""
    kind_w = dict(METRIC_WEIGHTS)
    if weights:
        kind_w.update(weights)
    counts: dict[tuple[str, str], float] = defaultdict(float)
    unit = {n: resolver.unit(n) for n in graph.g.nodes}
    for s, t, data in graph.g.edges(data=True):
        w = kind_w.get(data.get("kind", ""), 0.0)
        if w <= 0:
            continue
        a, b = unit[s], unit[t]
        if a is None or b is None or a == b:
            continue
        counts[(a, b)] += w * data.get("count", 1)
    return {pair: counts[pair] for pair in sorted(counts)}


def weighted(counts: Edges) -> Edges:
    return {pair: edge_weight(c) for pair, c in counts.items() if c > 0}


def service_groups(assignment: Mapping[str, str]) -> dict[str, str]:
    """The assignment without the shared kernel (metrics leave the kernel out)."""
    return {n: s for n, s in sorted(assignment.items()) if s != SHARED}


def _inside(w: Edges, groups: Mapping[str, str]) -> Edges:
    return {(a, b): x for (a, b), x in w.items() if a in groups and b in groups}


def _members(groups: Mapping[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for node in sorted(groups):
        out[groups[node]].append(node)
    return dict(sorted(out.items()))


# -- the metrics --------------------------------------------------------------------------------
def modularity(w: Edges, groups: Mapping[str, str]) -> float:
    """Newman Q of the undirected graph (weight of {a,b} = w_ab + w_ba) under the partition."""
    g = nx.Graph()
    g.add_nodes_from(sorted(groups))
    for (a, b), x in sorted(_inside(w, groups).items()):
        if g.has_edge(a, b):
            g.edges[a, b]["weight"] += x
        else:
            g.add_edge(a, b, weight=x)
    if g.number_of_edges() == 0:
        return 0.0
    communities = [set(m) for m in _members(groups).values()]
    return float(nx.community.modularity(g, communities, weight="weight"))


def inter_call_percentage(w: Edges, groups: Mapping[str, str]) -> float:
    """Share of the weight w_ab on ordered pairs whose ends lie in different services."""
    inside = _inside(w, groups)
    total = math.fsum(inside.values())
    if total == 0:
        return 0.0
    cross = math.fsum(x for (a, b), x in inside.items() if groups[a] != groups[b])
    return cross / total


def _pairs(w: Edges, groups: Mapping[str, str]) -> set[tuple[str, str]]:
    """Unordered node pairs joined by an edge in either direction."""
    return {(min(a, b), max(a, b)) for (a, b) in _inside(w, groups)}


def structural_modularity(w: Edges, groups: Mapping[str, str]) -> float:
    """FoSCI SM: mean cohesion mu_i/N_i^2 minus mean coupling sigma_ij/(2 N_i N_j)."""
    members = _members(groups)
    k = len(members)
    if k == 0:
        return 0.0
    size = {s: len(m) for s, m in members.items()}
    mu: Counter[str] = Counter()
    sigma: Counter[tuple[str, str]] = Counter()
    for a, b in _pairs(w, groups):
        ga, gb = groups[a], groups[b]
        if ga == gb:
            mu[ga] += 1
        else:
            sigma[(min(ga, gb), max(ga, gb))] += 1
    cohesion = math.fsum(mu[s] / size[s] ** 2 for s in members) / k
    if k == 1:
        return cohesion
    coupling = math.fsum(x / (2 * size[i] * size[j]) for (i, j), x in sorted(sigma.items()))
    return cohesion - coupling / (k * (k - 1) / 2)


def interface_number(w: Edges, groups: Mapping[str, str]) -> float:
    """Distinct nodes receiving an edge from another service, divided by K."""
    k = len(set(groups.values()))
    if k == 0:
        return 0.0
    receivers = {b for (a, b) in _inside(w, groups) if groups[a] != groups[b]}
    return len(receivers) / k


def non_extreme_distribution(groups: Mapping[str, str], low: int = 5, high: int = 20) -> float:
    """1 - share of nodes that sit in services of size low..high."""
    sizes = Counter(groups.values())
    total = sum(sizes.values())
    if total == 0:
        return 0.0
    fine = sum(n for n in sizes.values() if low <= n <= high)
    return 1.0 - fine / total


def business_contexts(graph: DependencyGraph) -> list[tuple[str, str]]:
    """(context name, handler node) for every route and task/CLI entry point, sorted, unique."""
    out: set[tuple[str, str]] = set()
    for r in graph.routes:
        out.add((f"{r.method} {r.path}", r.handler))
    handlers = {h for _, h in out}
    for e in graph.entry_points:
        if e.kind in CONTEXT_KINDS or (e.kind == "route" and e.handler not in handlers):
            out.add((f"{e.kind} {e.name}", e.handler))
    return sorted(out)


def context_reach(
    graph: DependencyGraph, resolver: UnitResolver, weights: Mapping[str, float] | None = None
) -> dict[str, list[str]]:
    """Context name -> the services its handler's forward-reachable set touches.

    One pass over the condensation (strongly connected components) with service bitsets, so
    the cost is linear in the graph instead of one traversal per context.
    """
    kind_w = dict(METRIC_WEIGHTS)
    if weights:
        kind_w.update(weights)
    services = sorted({s for s in resolver.assignment.values() if s != SHARED})
    bit = {s: 1 << i for i, s in enumerate(services)}
    if all(kind_w.get(k, 0.0) > 0 for k in EDGE_KINDS):
        g = graph.g  # every edge counts: walk the graph itself
    else:
        g = nx.DiGraph()
        g.add_nodes_from(graph.g.nodes)
        for s, t, data in graph.g.edges(data=True):
            if kind_w.get(data.get("kind", ""), 0.0) > 0:
                g.add_edge(s, t)
    contexts = business_contexts(graph)
    starts = {}
    for name, handler in contexts:
        node = handler if handler in g else module_of(handler)
        if node in g:
            starts[name] = node
    if not starts:
        return {name: [] for name, _ in contexts}
    comp_masks = _reach_masks(g, resolver, bit)
    out = {}
    for name, _ in contexts:
        m = comp_masks[starts[name]] if name in starts else 0
        out[name] = [s for s in services if m & bit[s]]
    return out


def _reach_masks(g: nx.DiGraph, resolver: UnitResolver, bit: dict[str, int]) -> dict[str, int]:
    """Node -> bitset of the services reachable from it (itself included).

    Tarjan-style algorithms (networkx's included) emit a strongly connected component only after
    every component reachable from it, so one pass in emission order suffices; should that order
    ever not hold, the condensation is sorted topologically instead.
    """
    comp_of: dict[str, int] = {}
    masks: list[int] = []
    for i, members in enumerate(nx.strongly_connected_components(g)):
        m = 0
        for node in members:
            comp_of[node] = i
            svc = resolver.group(node)
            if svc is not None and svc != SHARED:
                m |= bit[svc]
        for node in members:
            for succ in g.successors(node):
                j = comp_of.get(succ)
                if j is None:  # order assumption broken: fall back
                    return _reach_masks_condensed(g, resolver, bit)
                if j != i:
                    m |= masks[j]
        masks.append(m)
    return {node: masks[i] for node, i in comp_of.items()}


def _reach_masks_condensed(
    g: nx.DiGraph, resolver: UnitResolver, bit: dict[str, int]
) -> dict[str, int]:
    cond = nx.condensation(g)
    mask: dict[int, int] = {}
    for c in reversed(list(nx.topological_sort(cond))):
        m = 0
        for node in cond.nodes[c]["members"]:
            svc = resolver.group(node)
            if svc is not None and svc != SHARED:
                m |= bit[svc]
        for succ in cond.successors(c):
            m |= mask[succ]
        mask[c] = m
    return {node: mask[c] for node, c in cond.graph["mapping"].items()}


def business_context_purity(reach: Mapping[str, Iterable[str]], services: Iterable[str]) -> float:
    """(1/K) sum_i ln |BC_i| with BC_i the contexts reaching service i (empty -> 0)."""
    svcs = sorted(set(services))
    if not svcs:
        return 0.0
    bc: Counter[str] = Counter()
    for touched in reach.values():
        for s in set(touched):
            bc[s] += 1
    return math.fsum(math.log(bc[s]) for s in svcs if bc[s] > 0) / len(svcs)


def table_owners(
    graph: DependencyGraph, resolver: UnitResolver, ignore_writers: Iterable[str] = ()
) -> dict[str, str | None]:
    """Table -> owning service, by the rule in the module docstring. Writers whose unit is in
    ``ignore_writers`` (bulk loaders such as seed scripts) do not count."""
    ignored = set(ignore_writers)
    owners: dict[str, str | None] = {}
    for name in sorted(graph.tables):
        t = graph.tables[name]

        def svc(node: str) -> str | None:
            s = resolver.group(node)
            return None if s is None or s == SHARED else s

        model_svc = svc(t.model) if t.model else None
        writers = Counter(
            s
            for s in map(svc, (w for w in t.writers if resolver.unit(w) not in ignored))
            if s is not None
        )
        if writers:
            owners[name] = min(writers, key=lambda s: (-writers[s], s != model_svc, s))
    # no writer: the model's service, else (reference data) the tables pointing to it
    referrers: dict[str, Counter[str]] = defaultdict(Counter)
    for name in sorted(graph.tables):
        for target in graph.tables[name].foreign_keys:
            owner = owners.get(name)
            if owner is not None and target != name:
                referrers[target][owner] += 1
    for name in sorted(graph.tables):
        if name in owners:
            continue
        t = graph.tables[name]
        model_svc = resolver.group(t.model) if t.model else None
        if model_svc == SHARED:
            model_svc = None
        readers = Counter(s for s in map(resolver.group, t.readers) if s not in (None, SHARED))
        refs = referrers.get(name)
        if model_svc is not None:
            owners[name] = model_svc
        elif refs:
            owners[name] = min(refs, key=lambda s: (-refs[s], s))
        elif readers:
            owners[name] = min(readers, key=lambda s: (-readers[s], s))
        else:
            owners[name] = None
    return dict(sorted(owners.items()))


def data_coupling(
    graph: DependencyGraph, resolver: UnitResolver, owners: Mapping[str, str | None]
) -> dict[str, Any]:
    """Tables written by more than one service; tables read by a service that does not own them."""
    shared_writes, cross_reads = [], []
    for name in sorted(graph.tables):
        t = graph.tables[name]
        writers = sorted({s for s in map(resolver.group, t.writers) if s not in (None, SHARED)})
        readers = sorted({s for s in map(resolver.group, t.readers) if s not in (None, SHARED)})
        owner = owners.get(name)
        if len(writers) > 1:
            shared_writes.append({"table": name, "services": writers})
        foreign = [s for s in readers if s != owner]
        if foreign:
            cross_reads.append({"table": name, "owner": owner, "readers": foreign})
    return {
        "shared_writes": len(shared_writes),
        "cross_reads": len(cross_reads),
        "shared_write_tables": shared_writes,
        "cross_read_tables": cross_reads,
    }


def compute_metrics(
    graph: DependencyGraph,
    assignment: dict[str, str],
    weights: dict[str, float] | None = None,
    *,
    owners: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """All metrics of docs/metrics.md for ``assignment`` (node id -> service or shared_kernel).

    ``weights`` maps edge kind -> multiplier of its count (default 1 for every kind).
    ``owners`` overrides the table-ownership rule (a plan's ``tables`` lists).
    """
    resolver = UnitResolver(assignment)
    groups = service_groups(assignment)
    w = weighted(unit_counts(graph, resolver, weights))
    services = sorted(set(groups.values()))
    reach = context_reach(graph, resolver, weights)
    if owners is None:
        owners = table_owners(graph, resolver)
    sizes = Counter(groups.values())
    return {
        "definitions": "migrator metrics v1 (docs/metrics.md)",
        "services": len(services),
        "nodes": len(groups),
        "kernel_nodes": sum(1 for s in assignment.values() if s == SHARED),
        "modularity": round(modularity(w, groups), DIGITS),
        "icp": round(inter_call_percentage(w, groups), DIGITS),
        "sm": round(structural_modularity(w, groups), DIGITS),
        "ifn": round(interface_number(w, groups), DIGITS),
        "ned": round(non_extreme_distribution(groups), DIGITS),
        "bcp": round(business_context_purity(reach, services), DIGITS),
        "business_contexts": len(reach),
        "data_coupling": data_coupling(graph, resolver, owners),
        "sizes": {s: sizes[s] for s in services},
    }
