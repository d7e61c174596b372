"""Compare two decompositions: MoJoFM (Wen and Tzerpos) and the adjusted Rand index.

A decomposition here is a plain ``node -> group`` dict. Both measures are computed over the
nodes present in both decompositions; the shared kernel is one more group. A node is matched by
its own entry, else its module's entry (a plan keeps ``models.py`` whole where the other lists
``models:Product``), else the nearest package entry that stands for its subtree: a package none
of whose submodules the decomposition lists (``pkg.catalog`` for ``pkg.catalog.views``). A
decomposition that lists submodules means its package entries as their ``__init__`` only.

mno(A, B), the minimum number of Move and Join operations turning A into B, uses Wen and
Tzerpos's exact algorithm ("An optimal algorithm for MoJo distance", IWPC 2003): tag every object
of A with its cluster in B; each A cluster may keep one of its most frequent tags; a maximum
bipartite matching between A clusters and B groups over those "max tag" edges gives g, the number
of groups that survive; then mno = sum_i (|A_i| - maxtag_i) + (l - g) with l the number of
A clusters. The MoJoFM denominator, max over all A' of mno(A', B) = n - g_B, sorts B's group
sizes ascending and counts g_B as in their MoJoFM paper (ICSM 2004).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from math import comb
from pathlib import Path
from typing import Any

from migrator.plan import SHARED, PlanError, plan_from_dict, read_document

Partition = dict[str, str]


# -- reading decompositions ---------------------------------------------------------------------
def partition_from_data(data: Any, source: str = "<decomposition>") -> Partition:
    """A plan (``version`` + ``services``) or a decomposition mapping -> node -> group."""
    if not isinstance(data, dict):
        raise PlanError(source, ["top level must be a mapping"])
    if data.get("kind") == "decomposition":
        return _decomposition(data, source)
    plan = plan_from_dict(data, source=source)
    return plan.assignment()


def _decomposition(data: dict[str, Any], source: str) -> Partition:
    problems: list[str] = []
    if data.get("version") != 1:
        problems.append(f"version: expected 1, got {data.get('version')!r}")
    for key in sorted(set(data) - {"version", "kind", "services", "shared_kernel"}):
        problems.append(f"{key}: unknown top-level key")
    services = data.get("services")
    if not isinstance(services, dict) or not services:
        problems.append(
            "services: must be a non-empty mapping of service name to a list of "
            "modules or module:Symbol"
        )
        services = {}
    out: Partition = {}

    def add(group: str, nodes: Any, where: str) -> None:
        if nodes is None:
            return
        if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
            problems.append(f"{where}: must be a list of module or module:Symbol names")
            return
        for node in nodes:
            if node in out and out[node] != group:
                problems.append(f"{where}: {node!r} is also in {out[node]!r}")
            out[node] = group

    for name in services:
        if not isinstance(name, str) or name == SHARED:
            problems.append(f"services.{name}: invalid service name")
            continue
        add(name, services[name], f"services.{name}")
    add(SHARED, data.get("shared_kernel"), "shared_kernel")
    if problems:
        raise PlanError(source, problems)
    return out


def load_partition(path: str | Path) -> Partition:
    """Read a plan or decomposition file (YAML or JSON)."""
    return partition_from_data(read_document(path), source=str(path))


def covering_nodes(part: Mapping[str, str]) -> set[str]:
    """Entries that stand for their whole subtree: packages none of whose submodules is listed
    (a decomposition that lists ``pkg.sub`` means ``pkg`` as its ``__init__`` only)."""
    listed = {n.split(":", 1)[0] for n in part}
    parents = {m.rsplit(".", i)[0] for m in listed for i in range(1, m.count(".") + 1)}
    return {n for n in part if ":" not in n and n not in parents}


def resolve_node(
    node: str, part: Mapping[str, str], covering: set[str] | None = None
) -> str | None:
    """The group of ``node``: itself, else its module, else the nearest covering package."""
    if node in part:
        return part[node]
    module = node.split(":", 1)[0]
    if module in part:
        return part[module]
    if covering is None:
        covering = covering_nodes(part)
    parts = module.split(".")
    for i in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in covering:
            return part[prefix]
    return None


def common_nodes(a: Mapping[str, str], b: Mapping[str, str]) -> tuple[Partition, Partition]:
    """Restrict both decompositions to the nodes that both place (see ``resolve_node``)."""
    ra: Partition = {}
    rb: Partition = {}
    ca, cb = covering_nodes(a), covering_nodes(b)
    for node in sorted(set(a) | set(b)):
        ga, gb = resolve_node(node, a, ca), resolve_node(node, b, cb)
        if ga is not None and gb is not None:
            ra[node], rb[node] = ga, gb
    return ra, rb


# -- MoJo ---------------------------------------------------------------------------------------
@dataclass
class MoJoResult:
    mno: int
    max_mno: int
    mojofm: float
    #: (A clusters joined, in sorted order, B group they become)
    joins: list[tuple[list[str], str]] = field(default_factory=list)
    #: (node, A cluster, B group it must move to)
    moves: list[tuple[str, str, str]] = field(default_factory=list)


def _max_matching(edges: Mapping[str, list[str]]) -> dict[str, str]:
    """Maximum bipartite matching (augmenting paths, deterministic order): left -> right."""
    match_right: dict[str, str] = {}

    def augment(left: str, seen: set[str]) -> bool:
        for right in edges[left]:
            if right in seen:
                continue
            seen.add(right)
            if right not in match_right or augment(match_right[right], seen):
                match_right[right] = left
                return True
        return False

    for left in sorted(edges):
        augment(left, set())
    return {left: right for right, left in sorted(match_right.items())}


def mojo(a: Mapping[str, str], b: Mapping[str, str]) -> MoJoResult:
    """mno(A, B), the MoJoFM of A against B, and the operations (A and B over the same nodes)."""
    if set(a) != set(b):
        raise ValueError("mojo() needs both partitions over the same nodes (see common_nodes)")
    tags: dict[str, Counter[str]] = defaultdict(Counter)
    for node in sorted(a):
        tags[a[node]][b[node]] += 1
    clusters = sorted(tags)
    maxtag = {c: max(tags[c].values()) for c in clusters}
    edges = {c: sorted(g for g, k in tags[c].items() if k == maxtag[c]) for c in clusters}
    matched = _max_matching(edges)
    group = {c: matched.get(c, edges[c][0]) for c in clusters}
    survivors = len(set(group.values()))
    moves_n = sum(sum(tags[c].values()) - maxtag[c] for c in clusters)
    mno = moves_n + len(clusters) - survivors
    mx = max_mno(b)
    if mx == 0:
        fm = 100.0 if mno == 0 else 0.0
    else:
        fm = (1 - mno / mx) * 100
    by_group: dict[str, list[str]] = defaultdict(list)
    for c in clusters:
        by_group[group[c]].append(c)
    joins = [(cs, g) for g, cs in sorted(by_group.items()) if len(cs) > 1]
    moves = [(node, a[node], b[node]) for node in sorted(a) if b[node] != group[a[node]]]
    return MoJoResult(mno=mno, max_mno=mx, mojofm=round(fm, 2), joins=joins, moves=moves)


def max_mno(b: Mapping[str, str]) -> int:
    """max over all partitions A' of mno(A', B) = n - g_B (Wen and Tzerpos 2004)."""
    sizes = sorted(Counter(b.values()).values())
    g = 0
    for size in sizes:
        if g < size:
            g += 1
    return len(b) - g


def mojofm(a: Mapping[str, str], b: Mapping[str, str]) -> float:
    """MoJoFM(A, B) in percent over the nodes both place; 100 means identical."""
    ra, rb = common_nodes(a, b)
    return mojo(ra, rb).mojofm


# -- ARI ----------------------------------------------------------------------------------------
def adjusted_rand_index(a: Mapping[str, str], b: Mapping[str, str]) -> float:
    """Hubert and Arabie's adjusted Rand index over node pairs (same nodes in both)."""
    if set(a) != set(b):
        raise ValueError("adjusted_rand_index() needs both partitions over the same nodes")
    n = len(a)
    if n < 2:
        return 1.0
    cells = Counter((a[x], b[x]) for x in a)
    rows = Counter(a.values())
    cols = Counter(b.values())
    index = sum(comb(k, 2) for k in cells.values())
    sum_rows = sum(comb(k, 2) for k in rows.values())
    sum_cols = sum(comb(k, 2) for k in cols.values())
    expected = sum_rows * sum_cols / comb(n, 2)
    maximum = (sum_rows + sum_cols) / 2
    if maximum == expected:  # both trivial (one group or all singletons)
        return 1.0
    return (index - expected) / (maximum - expected)


def compare(a: Mapping[str, str], b: Mapping[str, str]) -> dict[str, Any]:
    """Everything ``migrator compare`` prints, as plain data."""
    ra, rb = common_nodes(a, b)
    result = mojo(ra, rb)
    return {
        "nodes": len(ra),
        "only_in_a": sorted(n for n in a if n not in ra and resolve_node(n, b) is None),
        "only_in_b": sorted(n for n in b if n not in rb and resolve_node(n, a) is None),
        "mojofm": result.mojofm,
        "mno": result.mno,
        "max_mno": result.max_mno,
        "ari": round(adjusted_rand_index(ra, rb), 4),
        "joins": [{"clusters": cs, "into": g} for cs, g in result.joins],
        "moves": [{"node": n, "from": f, "to": t} for n, f, t in result.moves],
    }


def format_comparison(result: dict[str, Any], a_name: str, b_name: str, max_moves: int = 50) -> str:
    """Human text for ``migrator compare``."""
    lines = [
        f"compared {result['nodes']} nodes placed by both {a_name} and {b_name}",
        f"MoJoFM {result['mojofm']:.2f}  (mno {result['mno']} of at most {result['max_mno']}; "
        "100 = identical)",
        f"ARI    {result['ari']:.4f}  (1 = identical, about 0 = chance)",
    ]
    if result["joins"]:
        lines.append(f"joins ({len(result['joins'])}):")
        for j in result["joins"]:
            lines.append(f"  join {', '.join(j['clusters'])} -> {j['into']}")
    moves = result["moves"]
    if moves:
        lines.append(f"moves ({len(moves)}):")
        for m in moves[:max_moves]:
            lines.append(f"  move {m['node']}: {m['from']} -> {m['to']}")
        if len(moves) > max_moves:
            lines.append(f"  ... and {len(moves) - max_moves} more (--max-moves)")
    for key, name in (("only_in_a", a_name), ("only_in_b", b_name)):
        if result[key]:
            shown = ", ".join(result[key][:10]) + (" ..." if len(result[key]) > 10 else "")
            lines.append(f"only in {name} ({len(result[key])}): {shown}")
    return "\n".join(lines) + "\n"
