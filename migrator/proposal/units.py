"""From the dependency graph to the weighted graph that is clustered.

The units of a proposal are modules, except where a module mixes domains (a shared
``models.py`` whose classes belong to several domains, a big ``views.py``): such a module is
split and each of its top-level symbols becomes a unit. Domains are business concepts
(``concepts.py``): the feature package in a package-per-feature app, the entity name repeated
across ``models/``, ``services/`` and ``routes/`` in a layered one.

Weights: ``c_ab`` sums each edge kind's count times its weight; the clustering weight of {a, b}
is (1 + ln c_ab) + (1 + ln c_ba), the same damping as the metrics, so that a hub referenced a
hundred times does not swallow everything. Two kinds of virtual node add what the code's layout
and data say: ``@pkg:<domain>`` (each module of a domain package is tied to it) and
``@table:<name>`` (the code that writes a table, its model, and more weakly its readers). Virtual
nodes never reach the plan.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from migrator.graph import DependencyGraph, module_of
from migrator.proposal.concepts import ADAPTER_WORDS, concept_domains
from migrator.proposal.config import ProposalOptions, glob_match
from migrator.proposal.naming import stems

PKG = "@pkg:"
TABLE = "@table:"
#: share of a module's voting symbols above which it is domain-cohesive (kept whole)
COHESIVE_SHARE = 0.8


def is_virtual(node: str) -> bool:
    return node.startswith("@")


@dataclass
class UnitGraph:
    """Everything the clustering and the explanations need, as plain dicts."""

    units: list[str]
    unit_of: dict[str, str]
    module_units: dict[str, list[str]]  # module -> its units (itself, or its symbols + itself)
    split: list[str]
    domain: dict[str, str]  # unit -> domain key
    package_domains: set[str]
    size: dict[str, int]
    #: directed weighted counts c_ab between units (kinds weighted), a != b
    counts: dict[tuple[str, str], float]
    #: undirected clustering weights between real units (a < b)
    weights: dict[tuple[str, str], float]
    #: undirected weights between real units and virtual nodes
    virtual: dict[tuple[str, str], float]
    #: directed raw counts per kind, for explanations
    kinds: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    tables_of: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # unit -> r/w
    #: pairs joined by at least one edge that is neither lazy nor under TYPE_CHECKING
    hard: set[tuple[str, str]] = field(default_factory=set)
    bulk: set[str] = field(default_factory=set)  # see bulk_writers
    named: set[str] = field(default_factory=set)  # symbols leaning by vocabulary
    #: symbols of adapter modules split by port -> True for a class implementing a port (it
    #: goes with the port's concept), False for a helper (the module's own concept); ``_ports``
    adapters: dict[str, bool] = field(default_factory=dict)
    shell: set[str] | None = None  # composition root, computed once by kernel.py
    #: layer packages' own modules (``app/models/__init__.py``): they span every concept
    layers: set[str] = field(default_factory=set)
    #: unit -> the words its code is written in (whole modules only; see concerns.py)
    words: dict[str, dict[str, int]] = field(default_factory=dict)

    def neighbours(self) -> dict[str, dict[str, float]]:
        adj: dict[str, dict[str, float]] = defaultdict(dict)
        for (a, b), w in self.weights.items():
            adj[a][b] = adj[a].get(b, 0.0) + w
            adj[b][a] = adj[b].get(a, 0.0) + w
        return adj


def damp(c: float) -> float:
    return 1.0 + math.log(c) if c >= 1 else c


def _symbols_by_module(graph: DependencyGraph) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for node, data in graph.g.nodes(data=True):
        if data.get("kind", "module") != "module":
            out[module_of(node)].append(node)
    return {m: sorted(v) for m, v in sorted(out.items())}


def choose_splits(
    graph: DependencyGraph,
    modules: list[str],
    keys: dict[str, str],
    package_domains: set[str],
    opts: ProposalOptions,
    ports: dict[str, str],
) -> tuple[list[str], dict[str, str]]:
    """Modules whose symbols lean to different domains (by their edges and route prefixes,
    adapters by the ports they implement, see ``_ports``), and each voting symbol's leading
    domain."""
    symbols = _symbols_by_module(graph)
    kind_w = opts.weights
    votes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    users: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for s, t, data in graph.g.edges(data=True):
        w = kind_w.get(data["kind"], 0.0) * data.get("count", 1)
        if w <= 0:
            continue
        ms, mt = module_of(s), module_of(t)
        if ms == mt:
            continue
        if s != ms and keys.get(mt) in package_domains:
            votes[s][keys[mt]] += w
        if t != mt and keys.get(ms) in package_domains:
            votes[t][keys[ms]] += w
            users[t][keys[ms]] += w
    last = {d.rsplit(".", 1)[-1]: d for d in sorted(package_domains)}
    for r in graph.routes:
        d = route_domain(r.path, last)
        if d:
            votes[r.handler][d] += 3.0
    lean = {s: max(sorted(v), key=lambda d: v[d]) for s, v in sorted(votes.items()) if v}
    lean.update(ports)
    handlers = {r.handler for r in graph.routes}
    bulk = _bulk_modules(graph, modules)
    by_stem = _domain_stems(package_domains)
    out = []
    for m in modules:
        if any(glob_match(p, m) for p in opts.keep_whole):
            continue
        # constants do not make a module mixed; a table built in an assignment
        # (``roles_users = Table(...)``) is data like a model class and does
        syms = [
            s
            for s in symbols.get(m, [])
            if graph.g.nodes[s].get("kind") != "variable"
            or any(d["kind"] == "orm" for _, _, d in graph.g.out_edges(s, data=True))
        ]
        if any(glob_match(p, m) for p in opts.split) and len(symbols.get(m, [])) >= 2:
            out.append(m)
            continue
        if _several_ports(syms, ports):
            out.append(m)  # an adapter of several ports: each class serves its port's owner
            continue
        if keys[m] in package_domains and len(syms) >= 2:
            # a module of a concept is its authors' grouping, unless most of the routes it
            # serves belong to other concepts (a ``projects/resources.py`` of schedules)
            tops = Counter(lean[s] for s in syms if s in lean and s in handlers)
            voters = sum(tops.values())
            if voters >= 2 and tops[keys[m]] < 0.5 * voters:
                out.append(m)
            elif _guards_other_concepts(syms, keys[m], users, by_stem):
                out.append(m)
            continue
        if keys[m] in package_domains:
            continue
        if m in bulk and len(symbols.get(m, [])) >= 2:
            out.append(m)  # a seed/fixture loader: its data goes with the tables it fills
            continue
        if len(syms) < 2:
            continue
        tops = Counter(lean[s] for s in syms if s in lean)
        voters = sum(tops.values())
        if len(tops) >= 2 and voters >= 2 and max(tops.values()) / voters < COHESIVE_SHARE:
            out.append(m)
    return out, lean


def named_domains(name: str, domain_stems: dict[str, frozenset[str]]) -> set[str]:
    """The domains a name spells out in full, the most specific only: ``CaseViewPermission``
    names ``case`` and not ``case_cost``; ``CaseCostView`` names ``case_cost`` only."""
    words = stems(name)
    hit = {d for d, st in domain_stems.items() if st and st <= words}
    return {d for d in hit if not any(domain_stems[d] < domain_stems[e] for e in hit)}


def _domain_stems(package_domains: set[str]) -> dict[str, frozenset[str]]:
    return {d: frozenset(stems(d.rsplit(".", 1)[-1])) for d in sorted(package_domains)}


def _guards_other_concepts(
    syms: list[str],
    own: str,
    users: dict[str, dict[str, float]],
    by_stem: dict[str, frozenset[str]],
) -> bool:
    """Most of a concept module's symbols are named after other concepts and used by them
    only (``auth/permissions.py``'s ``IncidentViewPermission``, used by incident views):
    the module collects per-concept pieces, as a layer's module would. A ``gdpr`` module's
    ``ContactSerializer``, used by gdpr code, stays gdpr's."""
    other = used = 0
    for s in syms:
        named = named_domains(s.split(":", 1)[1], by_stem)
        by = users.get(s, {})
        if len(named) != 1 or own in named or own in by:
            continue
        if not by:
            other += 1  # a piece the module composes (``CaseReporterPermission``)
        elif max(sorted(by), key=lambda d: by[d]) in named:
            other += 1
            used += 1
    return used >= 3 and other * 2 > len(syms)


def _ports(
    graph: DependencyGraph, keys: dict[str, str], package_domains: set[str]
) -> dict[str, str]:
    """Classes of adapter packages (``plugins/aws/plugin.py``) -> the concept of the one
    interface each implements (its base class in another package). A vendor module often
    implements several ports, a destination, a source and a notifier; in a hexagonal split
    each adapter goes with the service that owns its port."""
    found: dict[str, set[str]] = defaultdict(set)
    nodes = graph.g.nodes
    for s, t, kind in graph.g.edges(data="kind"):
        if kind != "inherit" or nodes[s].get("kind") != "class":
            continue
        package = _adapter_package(module_of(s))
        port = keys.get(module_of(t))
        if package and port in package_domains and not module_of(t).startswith(package + "."):
            found[s].add(port)
    return {s: next(iter(p)) for s, p in sorted(found.items()) if len(p) == 1}


def _several_ports(symbols: list[str], ports: dict[str, str]) -> bool:
    """The module's classes implement the interfaces of two or more concepts."""
    return len({ports[s] for s in symbols if s in ports}) >= 2


def _adapter_package(module: str) -> str:
    """``app.plugins.aws`` for ``app.plugins.aws.plugin``; empty outside adapter packages."""
    parts = module.split(".")
    for i, part in enumerate(parts[1:-1], start=1):
        if part in ADAPTER_WORDS:
            return ".".join(parts[: i + 2])
    return ""


def _bulk_modules(graph: DependencyGraph, modules: list[str]) -> set[str]:
    """Modules whose code writes at least 4 tables and 20% of all (see bulk_writers)."""
    return bulk_writers(
        graph,
        {m: m for m in modules}
        | {n: module_of(n) for t in graph.tables.values() for n in t.writers},
    )


def table_domains(
    graph: DependencyGraph,
    keys: dict[str, str],
    package_domains: set[str],
    lean: dict[str, str],
    bulk: set[str],
) -> dict[str, str]:
    """Table -> the domain package that owns it, by the ownership rule applied to domains:
    most (non-bulk) writers; else the domain of the tables whose foreign keys point to it;
    else where its model leans."""

    def dom(node: str) -> str | None:
        d = keys.get(module_of(node))
        return d if d in package_domains else None

    out: dict[str, str] = {}
    for name in sorted(graph.tables):
        t = graph.tables[name]
        writers = Counter(d for d in (dom(w) for w in t.writers if module_of(w) not in bulk) if d)
        if writers:
            out[name] = min(writers, key=lambda d: (-writers[d], d))
    refs: dict[str, Counter[str]] = defaultdict(Counter)
    for name in sorted(graph.tables):
        for target in graph.tables[name].foreign_keys:
            if name in out and target != name:
                refs[target][out[name]] += 1
    for name in sorted(graph.tables):
        t = graph.tables[name]
        if name in out:
            continue
        if refs.get(name):
            out[name] = min(refs[name], key=lambda d: (-refs[name][d], d))
        elif t.model and (lean.get(t.model) or dom(t.model)):
            out[name] = lean.get(t.model) or dom(t.model)  # type: ignore[assignment]
    return out


def vocabulary_leans(
    graph: DependencyGraph,
    split: list[str],
    symbols: dict[str, list[str]],
    package_domains: set[str],
    tables: dict[str, str],
    bulk: set[str],
) -> dict[str, str]:
    """Carved-out symbols that name their domain lean to it: ``cart_token_from_request`` to
    ``cart``; a loader's ``CATEGORIES`` to the domain owning the ``categories`` table.
    Only an unambiguous match (exactly one domain) counts."""
    by_stem: dict[str, set[str]] = defaultdict(set)
    for d in package_domains:
        for st in stems(d.rsplit(".", 1)[-1]):
            by_stem[st].add(d)
    table_domain: dict[str, set[str]] = defaultdict(set)
    for name, d in tables.items():
        t = graph.tables[name]
        for st in stems(name) | (stems(t.model.split(":", 1)[-1]) if t.model else set()):
            table_domain[st].add(d)
    out: dict[str, str] = {}
    for m in split:
        for s in symbols.get(m, []):
            words = stems(s.split(":", 1)[1])
            named = set().union(*(by_stem.get(x, set()) for x in words)) if words else set()
            if len(named) == 1:
                out[s] = next(iter(named))
            elif not named and m in bulk and words:
                data = set().union(*(table_domain.get(x, set()) for x in words))
                if len(data) == 1:
                    out[s] = next(iter(data))
    return out


def route_domain(path: str, domains: dict[str, str]) -> str | None:
    """The domain named by the most specific literal segment of a route path
    (``/data/projects/<id>/schedule-items`` -> the ``schedule_items`` domain), if any."""
    found = None
    for part in path.strip("/").split("/"):
        seg = part.lower().replace("-", "_")
        if not seg or seg.startswith(("<", "{", ":")):
            continue
        for name in (seg, seg.rstrip("s"), seg + "s"):
            if name in domains:
                found = domains[name]
                break
    return found


def first_segment(path: str) -> str:
    """The first literal segment of a route that can name something: not a parameter, a
    version (``v1``, ``1``) or ``api``."""
    for part in path.strip("/").split("/"):
        if part and part[0].isalpha() and part.lower() not in ("api", "v1", "v2", "v3"):
            return part.lower().replace("-", "_")
    return ""


def build_units(graph: DependencyGraph, opts: ProposalOptions) -> UnitGraph:
    """Units, their domains, and the weighted graph to cluster (see module docstring)."""
    modules = sorted(graph.modules())
    keys, package_domains, layers = concept_domains(graph, modules)
    ports = _ports(graph, keys, package_domains)
    split, lean = choose_splits(graph, modules, keys, package_domains, opts, ports)
    split_set = set(split)
    symbols = _symbols_by_module(graph)
    bulk_mods = _bulk_modules(graph, modules)
    owned = table_domains(graph, keys, package_domains, lean, bulk_mods)
    for name, d in owned.items():  # a model leans to the domain that owns its table
        model = graph.tables[name].model
        if model and module_of(model) in split_set:
            lean[model] = d
    named = vocabulary_leans(graph, split, symbols, package_domains, owned, bulk_mods)
    adapters = {
        sym: d
        for m in split
        if _several_ports(symbols.get(m, []), ports)
        for sym in symbols.get(m, [])
        if (d := ports.get(sym, keys[m])) in package_domains
    }
    lean = {**lean, **named, **adapters}
    unit_of: dict[str, str] = {}
    module_units: dict[str, list[str]] = {}
    size: dict[str, int] = {}
    domain: dict[str, str] = {}
    for m in modules:
        data = graph.g.nodes[m]
        if m in split_set:
            module_units[m] = [m, *symbols.get(m, [])]
            unit_of[m] = m
            sym_total = 0
            for s in symbols.get(m, []):
                unit_of[s] = s
                size[s] = max(1, int(graph.g.nodes[s].get("size", 1) or 1))
                sym_total += size[s]
                domain[s] = lean.get(s, keys[m])
            size[m] = max(1, int(data.get("size", 1) or 1) - sym_total)
        else:
            module_units[m] = [m]
            unit_of[m] = m
            for s in symbols.get(m, []):
                unit_of[s] = m
            size[m] = max(1, int(data.get("size", 1) or 1))
        domain[m] = keys[m]
    counts: dict[tuple[str, str], float] = defaultdict(float)
    kinds: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    hard: set[tuple[str, str]] = set()
    for s, t, data in graph.g.edges(data=True):
        a, b = unit_of.get(s), unit_of.get(t)
        if a is None or b is None or a == b:
            continue
        kind = data["kind"]
        if kind == "import" and (a in split_set or b in split_set):
            continue  # a split module's imports are carried by its symbols' references
        kinds[(a, b)][kind] += data.get("count", 1)
        if not (data.get("lazy") or data.get("type_only")):
            hard.add((a, b))
        w = opts.weights.get(kind, 0.0) * data.get("count", 1)
        if module_of(a) == module_of(b):  # two symbols carved out of one module
            w *= opts.weights.get("sibling", 1.0)
        if w > 0:
            counts[(a, b)] += w
    weights: dict[tuple[str, str], float] = defaultdict(float)
    for (a, b), c in sorted(counts.items()):
        weights[(min(a, b), max(a, b))] += damp(c)
    virtual: dict[tuple[str, str], float] = defaultdict(float)
    if opts.weights.get("package", 0) > 0:
        for m in modules:
            if keys[m] in package_domains and m not in split_set:
                virtual[(m, PKG + keys[m])] += opts.weights["package"]
            if m in split_set:
                for s in module_units[m][1:]:
                    if domain[s] in package_domains:
                        virtual[(s, PKG + domain[s])] += opts.weights["package"]
    tables_of: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"reads": [], "writes": []})
    bulk = bulk_writers(graph, unit_of)
    for name in sorted(graph.tables):
        t = graph.tables[name]
        ends: dict[str, float] = defaultdict(float)
        for node in t.writers:
            u = unit_of.get(node) or unit_of.get(module_of(node))
            if u:
                kind = "table_read" if u in bulk else "table_write"
                ends[u] += opts.weights.get(kind, 0.0)
                tables_of[u]["writes"].append(name)
        for node in t.readers:
            u = unit_of.get(node) or unit_of.get(module_of(node))
            if u:
                ends[u] += opts.weights.get("table_read", 0.0)
                tables_of[u]["reads"].append(name)
        if t.model:
            u = unit_of.get(t.model) or unit_of.get(module_of(t.model))
            if u:
                ends[u] += opts.weights.get("table_write", 0.0)
        for u, w in sorted(ends.items()):
            if w > 0:
                virtual[(u, TABLE + name)] += damp(w) if w >= 1 else w
    units = sorted(size)
    return UnitGraph(
        units=units,
        unit_of=unit_of,
        module_units=module_units,
        split=split,
        domain=domain,
        package_domains=package_domains,
        size=size,
        counts={k: counts[k] for k in sorted(counts)},
        weights={k: weights[k] for k in sorted(weights)},
        virtual={k: virtual[k] for k in sorted(virtual)},
        kinds={k: kinds[k] for k in sorted(kinds)},
        tables_of={
            u: {"reads": sorted(set(v["reads"])), "writes": sorted(set(v["writes"]))}
            for u, v in sorted(tables_of.items())
        },
        hard=hard,
        bulk=bulk,
        named=set(named),
        adapters={sym: sym in ports for sym in sorted(adapters)},
        layers={m for m in layers if m in size},
        words={
            m: graph.g.nodes[m]["words"]
            for m in modules
            if m not in split_set and graph.g.nodes[m].get("words")
        },
    )


def bulk_writers(graph: DependencyGraph, unit_of: dict[str, str]) -> set[str]:
    """Units that write at least 4 tables and at least 20% of all tables: seeders, fixture
    loaders, importers. Their writes say nothing about who owns a table, so they count like
    reads in the clustering and are ignored by the ownership rule."""
    written: dict[str, set[str]] = defaultdict(set)
    for name, t in graph.tables.items():
        for node in t.writers:
            u = unit_of.get(node) or unit_of.get(module_of(node))
            if u:
                written[u].add(name)
    limit = max(4, 0.2 * len(graph.tables))
    return {u for u, names in written.items() if len(names) >= limit}
