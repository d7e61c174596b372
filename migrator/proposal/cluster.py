"""Clustering the unit graph: Louvain, greedy modularity, and label-propagation refinement.

Constraints are built into the graph before any algorithm runs: units pinned to one service
(and units that must stay together) are contracted into one node, so no algorithm can separate
them; a community that ends up with two different pins is divided between them afterwards by
the strongest connection. Everything iterates in sorted order and Louvain gets a fixed seed, so
the result is the same under any PYTHONHASHSEED.
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx

from migrator.proposal.units import UnitGraph, is_virtual

PIN = "@pin:"
GROUP = "@group:"
SVC = "svc:"  # pin key of a service named by the user (config pin, edited plan)
DOM = "dom:"  # pin key of a domain package (the authors' layout)


class Contraction:
    """Unit -> the node that stands for it in the clustered graph."""

    def __init__(self, units: list[str], pins: dict[str, str], together: list[list[str]]) -> None:
        """``pins`` maps a unit to ``svc:<name>`` or ``dom:<domain>``."""
        parent = {u: u for u in units}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for group in together:
            members = [u for u in group if u in parent]
            for other in members[1:]:
                ra, rb = find(members[0]), find(other)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
        roots: dict[str, list[str]] = defaultdict(list)
        for u in sorted(parent):
            roots[find(u)].append(u)
        self.rep: dict[str, str] = {}
        self.pin_of: dict[str, str] = {}  # contracted node -> its pin key
        self.conflicts: list[str] = []
        self.members: dict[str, list[str]] = {}  # contracted node -> its units (sorted)
        for root, members in sorted(roots.items()):
            names = sorted({pins[m] for m in members if m in pins})
            if len(names) > 1:  # a user pin wins over a package-layout group; a together-group
                user = [n for n in names if n.startswith(SVC)]  # wins over the layout too
                names = user or names[:1]
            if names:
                node = PIN + names[0]
                if len(names) > 1:
                    self.conflicts.append(
                        f"{', '.join(members)} must stay together but are "
                        f"pinned to {', '.join(n.split(':', 1)[1] for n in names)}"
                    )
            elif len(members) > 1:
                node = GROUP + root
            else:
                node = root
            for m in members:
                self.rep[m] = node
            if node != members[0] or len(members) > 1:
                self.members.setdefault(node, []).extend(members)
            if names:
                self.pin_of[node] = names[0]

    def node(self, unit: str) -> str:
        return self.rep.get(unit, unit)


def build_graph(ug: UnitGraph, active: list[str], con: Contraction) -> nx.Graph:
    """The undirected weighted graph of active units (contracted) and virtual nodes."""
    act = set(active)
    weights: dict[tuple[str, str], float] = defaultdict(float)
    for (a, b), w in ug.weights.items():
        if a in act and b in act:
            x, y = con.node(a), con.node(b)
            if x != y:
                weights[(min(x, y), max(x, y))] += w
    for (u, v), w in ug.virtual.items():
        if u in act:
            x = con.node(u)
            weights[(min(x, v), max(x, v))] += w
    g = nx.Graph()
    g.add_nodes_from(sorted({con.node(u) for u in active}))
    for (x, y), w in sorted(weights.items()):
        g.add_edge(x, y, weight=w)
    # a virtual node with a single member adds nothing but noise to the community count
    for v in sorted(n for n in g.nodes if is_virtual(n) and not n.startswith((PIN, GROUP))):
        if g.degree(v) < 2:
            g.remove_node(v)
    return g


def _communities_to_labels(communities: list[set[str]]) -> dict[str, int]:
    ordered = sorted((sorted(c) for c in communities if c), key=lambda c: c[0])
    return {n: i for i, c in enumerate(ordered) for n in c}


def louvain(g: nx.Graph, resolution: float, seed: int) -> dict[str, int]:
    if g.number_of_edges() == 0:
        return {n: i for i, n in enumerate(sorted(g.nodes))}
    comms = nx.community.louvain_communities(g, weight="weight", resolution=resolution, seed=seed)
    return _communities_to_labels(comms)


def greedy(g: nx.Graph, resolution: float, low: int | None, high: int | None) -> dict[str, int]:
    if g.number_of_edges() == 0:
        return {n: i for i, n in enumerate(sorted(g.nodes))}
    n = g.number_of_nodes()
    kwargs = {}
    if low is not None:
        kwargs["cutoff"] = max(1, min(low, n))
    if high is not None:
        kwargs["best_n"] = max(kwargs.get("cutoff", 1), min(high, n))
    comms = nx.community.greedy_modularity_communities(
        g, weight="weight", resolution=resolution, **kwargs
    )
    return _communities_to_labels(comms)


def refine(g: nx.Graph, labels: dict[str, int], fixed: set[str], passes: int = 30) -> int:
    """Label propagation: move single nodes to the neighbouring cluster they are most tied to,
    as long as that strictly lowers the cross-cluster weight and leaves no cluster empty.
    Returns the number of moves."""
    sizes: dict[int, int] = defaultdict(int)
    for n in labels:
        sizes[labels[n]] += 1
    moves = 0
    for _ in range(passes):
        moved = False
        for n in sorted(g.nodes):
            if n in fixed or sizes[labels[n]] <= 1:
                continue
            tie: dict[int, float] = defaultdict(float)
            for nb, data in g[n].items():
                tie[labels[nb]] += data.get("weight", 1.0)
            current = labels[n]
            best = max(sorted(tie), key=lambda lab: tie[lab], default=current)
            if best != current and tie[best] > tie.get(current, 0.0) + 1e-9:
                sizes[current] -= 1
                sizes[best] += 1
                labels[n] = best
                moves += 1
                moved = True
        if not moved:
            break
    return moves


def separate_pins(g: nx.Graph, labels: dict[str, int], con: Contraction) -> dict[str, int]:
    """Give every pinned service its own cluster: members of a community with several pins
    go to the pin they are most strongly connected to (spreading out from the pins)."""
    labels = dict(labels)
    by_label: dict[int, list[str]] = defaultdict(list)
    for n in sorted(labels):
        by_label[labels[n]].append(n)
    next_label = max(labels.values(), default=-1) + 1
    for lab, members in sorted(by_label.items()):
        pins = [n for n in members if n in con.pin_of]
        if len(pins) < 2:
            continue
        owner = {p: i for i, p in enumerate(pins)}
        pending = set(members) - set(pins)
        while pending:
            best: tuple[float, str, int] | None = None
            for n in sorted(pending):
                tie: dict[int, float] = defaultdict(float)
                for nb, data in g[n].items():
                    if nb in owner:
                        tie[owner[nb]] += data.get("weight", 1.0)
                if tie:
                    k = max(sorted(tie), key=lambda i: tie[i])
                    if best is None or tie[k] > best[0]:
                        best = (tie[k], n, k)
            if best is None:  # not connected to any pin: the first pin takes the rest
                for n in sorted(pending):
                    owner[n] = 0
                break
            owner[best[1]] = best[2]
            pending.discard(best[1])
        for n, i in owner.items():
            labels[n] = lab if i == 0 else next_label + i - 1
        next_label += len(pins) - 1
    return labels
