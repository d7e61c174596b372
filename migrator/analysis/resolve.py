"""Join the facts of all files into the dependency graph.

``ProjectResolver`` answers "what does this name, used in that module, refer to?" by following
imports, aliases, ``from pkg import x`` (submodule or symbol), star imports and re-exports
through ``__init__`` to the module that defines the symbol. ``build_graph`` uses it to turn
imports, name uses, base classes and dynamic imports into counted, evidenced edges; framework
plug-ins get the same resolver.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import networkx as nx

from migrator.analysis import externals, frameworks
from migrator.analysis.cacheformat import name_uses
from migrator.analysis.facts import ImportFact, ModuleFacts, SymbolFact
from migrator.graph import MAX_EVIDENCE, DependencyGraph, ExternalImport, node_attrs

# a resolved value: ("mod", "pkg.sub") | ("sym", "pkg.mod:Name") | ("ext", "flask.Blueprint")
Value = tuple[str, str]


class ProjectResolver:
    """Name resolution over all modules (implements ``frameworks.base.Resolver``)."""

    def __init__(self, facts: dict[str, ModuleFacts]) -> None:
        self.facts = facts
        self.modules = set(facts)
        # packages, including namespace packages without a file
        self.prefixes = package_prefixes(facts)
        self.tops = {name.split(".", 1)[0] for name in facts}
        self.symbols: dict[str, dict[str, SymbolFact]] = {}
        self.bindings: dict[str, dict[str, ImportFact]] = {}
        self.lazy: dict[tuple[str, str], dict[str, ImportFact]] = defaultdict(dict)
        self.stars: dict[str, list[str]] = {}
        self.spans: dict[str, tuple[list[int], list[tuple[int, int, str]]]] = {}
        for name, mf in facts.items():
            self.symbols[name] = {s.name: s for s in mf.symbols}
            self.bindings[name], self.stars[name] = module_bindings(mf)
            for imp in mf.imports:
                if imp.lazy and not imp.star and imp.owner is not None:
                    self.lazy[(name, imp.owner)].setdefault(bound_name(imp), imp)
            spans = sorted((s.line, s.end_line, s.name) for s in mf.symbols)
            self.spans[name] = ([s[0] for s in spans], spans)
        self._export_memo: dict[tuple[str, str], tuple[Value | None, frozenset[str]]] = {}
        #: while set, every module whose facts a lookup reads is added (``consulted``)
        self.trace: set[str] | None = None

    # -- modules --------------------------------------------------------------------------------
    # Every question about which modules exist is traced too (the name asked), so that a file
    # added or removed re-resolves exactly the modules whose answers it can change.
    def is_internal(self, module: str) -> bool:
        top = module.split(".", 1)[0]
        if self.trace is not None:
            self.trace.add(top)
        return top in self.tops

    def is_module(self, module: str) -> bool:
        if self.trace is not None:
            self.trace.add(module)
        return module in self.modules or module in self.prefixes

    def has_file(self, module: str) -> bool:
        """Whether ``module`` is one of the analysed files (not only a package prefix)."""
        if self.trace is not None:
            self.trace.add(module)
        return module in self.modules

    def existing_module(self, module: str) -> str | None:
        """``module`` itself if it has a file, else its nearest ancestor that has one."""
        while module:
            if self.has_file(module):
                return module
            module = module.rpartition(".")[0]
        return None

    def _module_value(self, module: str) -> Value | None:
        if not self.is_internal(module):
            return ("ext", module)
        if self.is_module(module):
            return ("mod", module)
        found = self.existing_module(module)
        return ("mod", found) if found else None

    # -- names ----------------------------------------------------------------------------------
    def _from_import(self, imp: ImportFact, seen: frozenset[tuple[str, str]]) -> Value | None:
        if imp.name is None:
            if imp.alias:
                return self._module_value(imp.module)
            return self._module_value(imp.module.split(".", 1)[0])
        return self.export(imp.module, imp.name, seen)

    def export(
        self, module: str, name: str, seen: frozenset[tuple[str, str]] = frozenset()
    ) -> Value | None:
        """What ``module.name`` is: a symbol defined there, a re-export, a submodule, an
        external name, or None.

        Only top-level answers are memoised, and a chain being followed never reads the memo:
        an answer inside a chain can depend on the chain (cycles are cut), so reading the memo
        there would make answers depend on which names were asked first, and an incremental
        run, which asks fewer, could then differ from a full one."""
        key = (module, name)
        if seen:
            if key in seen:
                return None
            return self._export(module, name, seen | {key})
        hit = self._export_memo.get(key)
        if hit is None:
            outer, self.trace = self.trace, set()
            try:
                value = self._export(module, name, frozenset((key,)))
                hit = self._export_memo[key] = (value, frozenset(self.trace))
            finally:
                self.trace = outer
        if self.trace is not None:
            self.trace |= hit[1]
        return hit[0]

    def _export(self, module: str, name: str, seen: frozenset[tuple[str, str]]) -> Value | None:
        if not self.is_internal(module):
            return ("ext", f"{module}.{name}")
        if self.trace is not None:
            self.trace.add(module)
        if name in self.symbols.get(module, {}):
            return ("sym", f"{module}:{name}")
        imp = self.bindings.get(module, {}).get(name)
        if imp is not None:
            value = self._from_import(imp, seen)
            if value is not None:
                return value
        sub = f"{module}.{name}"
        if self.is_module(sub):
            return ("mod", sub)
        for star in self.stars.get(module, ()):
            if self.trace is not None:
                self.trace.add(star)
            exported = self.facts[star].exports if star in self.facts else None
            if exported is not None and name not in exported:
                continue
            if name.startswith("_") and exported is None:
                continue
            value = self.export(star, name, seen)
            if value is not None and value != ("mod", f"{star}.{name}"):
                return value
        return None

    def lookup(self, module: str, name: str, owner: str | None = None) -> Value | None:
        """What the bare ``name`` means in ``module`` (inside top-level symbol ``owner``)."""
        if owner is not None:
            imp = self.lazy.get((module, owner), {}).get(name)
            if imp is not None:
                return self._from_import(imp, frozenset())
        if module not in self.facts:
            return None
        if name in self.symbols[module]:
            return ("sym", f"{module}:{name}")
        imp = self.bindings[module].get(name)
        if imp is not None:
            return self._from_import(imp, frozenset())
        for star in self.stars[module]:
            if self.trace is not None:
                self.trace.add(star)
            exported = self.facts[star].exports if star in self.facts else None
            if exported is not None and name not in exported:
                continue
            if name.startswith("_") and exported is None:
                continue
            value = self.export(star, name)
            if value is not None:
                return value
        return None

    def binding(self, module: str, name: str, owner: str | None = None) -> ImportFact | None:
        """The import that binds ``name`` in ``module`` (for the edge flags), if any."""
        if owner is not None:
            imp = self.lazy.get((module, owner), {}).get(name)
            if imp is not None:
                return imp
        if name in self.symbols.get(module, {}):
            return None
        return self.bindings.get(module, {}).get(name)

    def value(self, module: str, dotted: str, owner: str | None = None) -> Value | None:
        parts = dotted.split(".")
        value = self.lookup(module, parts[0], owner)
        for part in parts[1:]:
            if value is None:
                return None
            kind, target = value
            if kind == "mod":
                nxt = self.export(target, part)
                if nxt is None:
                    return value  # an attribute we cannot see (set at run time): the module
                value = nxt
            elif kind == "sym":
                return value  # an attribute of a class or object: the symbol itself
            else:
                value = ("ext", f"{target}.{part}")
        return value

    def release(self) -> None:
        """Drop every table and the facts. A plug-in's closure that refers to itself (a
        recursive helper) is a reference cycle holding the resolver; while the garbage collector
        is paused it would keep every module's facts alive until the next collection, which
        then spends more time freeing them than the whole plug-in step took."""
        self.facts = {}
        self.modules, self.prefixes, self.tops = set(), set(), set()
        self.symbols, self.bindings, self.stars, self.spans = {}, {}, {}, {}
        self.lazy = defaultdict(dict)
        self._export_memo = {}

    # -- the plug-in protocol -------------------------------------------------------------------
    def resolve(self, module: str, dotted: str, owner: str | None = None) -> str | None:
        value = self.value(module, dotted, owner)
        if value is None or value[0] == "ext":
            return None
        if value[0] == "mod" and not self.has_file(value[1]):
            return self.existing_module(value[1])
        return value[1]

    def external(self, module: str, dotted: str, owner: str | None = None) -> str | None:
        value = self.value(module, dotted, owner)
        return value[1] if value is not None and value[0] == "ext" else None

    def owner_of_line(self, module: str, line: int) -> str:
        starts, spans = self.spans.get(module, ([], []))
        i = bisect.bisect_right(starts, line) - 1
        for j in range(i, max(i - 8, -1), -1):  # spans rarely nest; a few steps back suffice
            start, end, name = spans[j]
            if start <= line <= end:
                return f"{module}:{name}"
        return module

    def import_target(self, imp: ImportFact) -> str | None:
        """The internal module node an import statement depends on, None when external."""
        if not imp.module or not self.is_internal(imp.module):
            return None
        if imp.name is not None and not imp.star:
            sub = f"{imp.module}.{imp.name}"
            if self.has_file(sub):
                return sub
        return self.existing_module(imp.module)

    def string_target(self, value: str) -> str | None:
        """The node a dotted string names exactly (``pkg.mod``, ``pkg.mod.Name``,
        ``pkg.mod:Name``), None when it names nothing internal."""
        if ":" in value:
            module, _, name = value.partition(":")
            if self.trace is not None:
                self.trace.add(module)
            return f"{module}:{name}" if name in self.symbols.get(module, {}) else None
        if self.has_file(value):
            return value
        module, _, name = value.rpartition(".")
        if self.trace is not None:
            self.trace.add(module)
        if name in self.symbols.get(module, {}):
            return f"{module}:{name}"
        return None


def package_prefixes(modules: Iterable[str]) -> set[str]:
    """Every package prefix of the module names (``a`` and ``a.b`` for ``a.b.c``)."""
    out: set[str] = set()
    for name in modules:
        parts = name.split(".")
        for i in range(1, len(parts)):
            out.add(".".join(parts[:i]))
    return out


def interface(mf: ModuleFacts) -> str:
    """A hash of what other modules' name resolution can read of ``mf``: its top-level names,
    module-level import bindings, star imports and ``__all__``. Edits that keep it (a function
    body, a comment, lines moving) change no other module's edges."""
    binds, stars = module_bindings(mf)
    bound = sorted((local, (imp.module, imp.name, imp.alias)) for local, imp in binds.items())
    data = (sorted({s.name for s in mf.symbols}), bound, stars, mf.exports)
    return hashlib.sha256(repr(data).encode()).hexdigest()[:16]


def module_bindings(mf: ModuleFacts) -> tuple[dict[str, ImportFact], list[str]]:
    """The names the module-level imports of ``mf`` bind (the first binding is the normal
    path) and the modules it star-imports, in order: what other modules' lookups read."""
    binds: dict[str, ImportFact] = {}
    stars: list[str] = []
    for imp in mf.imports:
        if imp.lazy:
            continue
        if imp.star:
            if imp.module not in stars:
                stars.append(imp.module)
            continue
        binds.setdefault(bound_name(imp), imp)
    return binds, stars


def bound_name(imp: ImportFact) -> str:
    if imp.alias:
        return imp.alias
    if imp.name is not None:
        return imp.name
    return imp.module.split(".", 1)[0]


class Edges:
    """Edges aggregated in plain dicts, inserted into the graph once, in sorted order."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str, str], list[Any]] = {}

    def add(self, source: str, target: str, kind: str, evidence: str, **flags: bool) -> None:
        if source == target:
            return
        key = (source, target, kind)
        entry = self.data.get(key)
        if entry is None:
            self.data[key] = [1, {evidence}, dict(flags)]
        else:
            entry[0] += 1
            entry[1].add(evidence)
            for flag, value in flags.items():
                entry[2][flag] = entry[2].get(flag, False) and value

    def into(self, graph: DependencyGraph) -> None:
        """Insert straight into networkx, in sorted order, with the attributes
        ``DependencyGraph.add_edge`` would give (it re-checks and re-sorts per call, which
        costs on big projects); evidence in file and line order."""
        g = graph.g
        add = g.add_edge
        plain = _plain_dicts(g)
        succ, pred = g._adj, g._pred
        for (source, target, kind), (count, evidence, flags) in sorted(self.data.items()):
            ev = (
                list(evidence)
                if len(evidence) == 1
                else sorted(evidence, key=_evidence_key)[:MAX_EVIDENCE]
            )
            if not plain or source not in succ or target not in succ:
                add(source, target, key=kind, kind=kind, count=count, evidence=ev, **flags)
                continue
            # what ``MultiDiGraph.add_edge`` does, without its per-call checks and cache clearing
            keydict = succ[source].get(target)
            if keydict is None:
                keydict = succ[source][target] = {}
                pred[target][source] = keydict
            keydict[kind] = {"kind": kind, "count": count, "evidence": ev, **flags}
        clear_nx_cache(g)


def _plain_dicts(g: nx.MultiDiGraph) -> bool:
    """Whether ``g`` stores nodes and edges in plain dicts (networkx's default), so that the
    adjacency can be filled directly; otherwise the public, slower methods are used."""
    return all(
        f is dict
        for f in (
            g.node_dict_factory,
            g.node_attr_dict_factory,
            g.adjlist_outer_dict_factory,
            g.adjlist_inner_dict_factory,
            g.edge_key_dict_factory,
            g.edge_attr_dict_factory,
        )
    )


def clear_nx_cache(g: nx.MultiDiGraph) -> None:
    """Drop networkx's cached views of ``g``: needed after writing its dicts directly, as the
    resolver and the incremental patch do for speed."""
    cache = getattr(g, "__networkx_cache__", None)
    if cache:
        cache.clear()


def sort_graph(graph: DependencyGraph) -> None:
    """Put nodes, successors, predecessors and edge keys of ``graph.g`` in sorted order: the
    graph ``DependencyGraph.finalize`` would rebuild edge by edge after the plug-ins appended
    their edges, built here from the adjacency dicts (several times faster), so that
    ``finalize`` finds it sorted and keeps it."""
    g = graph.g
    if not _plain_dicts(g) or type(g) is not nx.MultiDiGraph:
        return
    new = nx.MultiDiGraph()
    nodes, succ, pred = new._node, new._adj, new._pred
    for node in sorted(g._node):
        nodes[node] = dict(g._node[node])
        succ[node] = {}
        pred[node] = {}
    old_succ = g._adj
    for source in nodes:
        out = old_succ[source]
        mine = succ[source]
        for target in sorted(out):
            keys = out[target]
            keydict = {k: dict(keys[k]) for k in sorted(keys)}
            mine[target] = keydict
            pred[target][source] = keydict
    graph.g = new


def _evidence_key(item: str) -> tuple[str, int]:
    file, _, line = item.rpartition(":")
    return (file, int(line) if line.isdigit() else 0)


def module_nodes(name: str, mf: ModuleFacts) -> list[tuple[str, dict[str, Any]]]:
    """The graph nodes of one module: the module itself, then its top-level symbols."""
    nodes = [
        (
            name,
            node_attrs(
                "module",
                mf.file,
                1,
                max(mf.lines, 1),
                size=mf.lines,
                package=mf.is_package,
                **({"words": mf.words} if mf.words else {}),
            ),
        )
    ]
    for sym in mf.symbols:
        nodes.append((f"{name}:{sym.name}", node_attrs(sym.kind, mf.file, sym.line, sym.end_line)))
    return nodes


def resolve_modules(
    names: list[str],
    facts: dict[str, ModuleFacts],
    resolver: ProjectResolver,
    edges: Edges,
    ext_out: dict[str, list[ExternalImport]],
) -> dict[str, tuple[str, ...]]:
    """Add the edges that ``names`` draw (import, reference, inherit, dynamic) to ``edges``
    and their third-party imports to ``ext_out``. Returns, per module, the other modules whose
    facts its resolution read: only an interface change in one of those can change its edges."""
    consulted: dict[str, tuple[str, ...]] = {}
    for name in names:
        resolver.trace = set()
        try:
            _resolve_module(name, facts[name], resolver, edges, ext_out)
        finally:
            trace, resolver.trace = resolver.trace, None
        trace.discard(name)
        consulted[name] = tuple(sorted(trace))
    return consulted


def _resolve_module(
    name: str,
    mf: ModuleFacts,
    resolver: ProjectResolver,
    edges: Edges,
    ext_out: dict[str, list[ExternalImport]],
) -> None:
    ext: set[ExternalImport] = set()
    for imp in mf.imports:
        evidence = f"{mf.file}:{imp.line}"
        if not imp.module or imp.module == "__future__":  # a compiler switch, not a dependency
            continue
        if not resolver.is_internal(imp.module):
            ext.add(externals.classify(imp.module.split(".", 1)[0]))
            continue
        target = resolver.import_target(imp)
        if target is not None:
            edges.add(
                name,
                target,
                "import",
                evidence,
                lazy=imp.lazy,
                type_only=imp.type_only,
                guarded=imp.guarded,
            )
    _references(name, mf, resolver, edges)
    for ref in mf.dynamic:
        source = f"{name}:{ref.owner}" if ref.owner else name
        if ref.kind == "string_ref":
            target = resolver.string_target(ref.value)
        elif resolver.is_internal(ref.value):
            target = resolver.existing_module(ref.value)
        else:
            ext.add(externals.classify(ref.value.split(".", 1)[0]))
            target = None
        if target is not None and target.split(":", 1)[0] != name:
            edges.add(source, target, "dynamic", f"{mf.file}:{ref.line}")
    if ext:
        ext_out[name] = sorted(ext)


#: an edge of the graph: (source, target, kind)
EdgeKey = tuple[str, str, str]


def apply_plugins(
    facts: dict[str, ModuleFacts], resolver: ProjectResolver, graph: DependencyGraph
) -> dict[EdgeKey, dict[str, Any] | None]:
    """Run the framework plug-ins over ``graph``, which holds the resolver's edges only.

    Returns what every edge the plug-ins added to or created held before (None: it did not
    exist): with it an incremental run peels the plug-ins' layer off the previous graph, which
    gives back the resolver's edges exactly (``incremental``)."""
    before: dict[EdgeKey, dict[str, Any] | None] = {}
    adjacency = graph.g._adj
    add_edge = graph.add_edge

    def recording_add_edge(
        source: str,
        target: str,
        kind: str,
        evidence: Any = (),
        count: int | None = None,
        **flags: bool,
    ) -> None:
        key = (source, target, kind)
        if key not in before:
            data = adjacency.get(source, {}).get(target, {}).get(kind)
            before[key] = None if data is None else copy_edge(data)
        add_edge(source, target, kind, evidence, count, **flags)

    graph.add_edge = recording_add_edge  # type: ignore[method-assign]
    view = dict(facts)  # emptied afterwards: see ``ProjectResolver.release``
    try:
        frameworks.resolve_all(view, resolver, graph)
    finally:
        del graph.add_edge
        view.clear()
    return before


def copy_edge(data: dict[str, Any]) -> dict[str, Any]:
    """An edge's attributes, with its own evidence list."""
    out = dict(data)
    out["evidence"] = list(data["evidence"])
    return out


def build_graph(
    facts: dict[str, ModuleFacts],
    root: str = ".",
    run_plugins: bool = True,
) -> tuple[DependencyGraph, ProjectResolver]:
    """The dependency graph of all modules' facts (see the module docstring) and the resolver
    that built it."""
    graph, resolver, _ = build_graph_for_patching(facts, root, run_plugins)
    return graph, resolver


def build_graph_for_patching(
    facts: dict[str, ModuleFacts],
    root: str = ".",
    run_plugins: bool = True,
) -> tuple[DependencyGraph, ProjectResolver, dict[str, Any]]:
    """``build_graph``, plus what an incremental run needs to patch the graph later: the
    modules each module's resolution ``consulted`` and the ``plugin_base`` (``apply_plugins``)."""
    graph = DependencyGraph(root=root)
    resolver = ProjectResolver(facts)
    edges = Edges()
    nodes: list[tuple[str, dict[str, Any]]] = []
    names = sorted(facts)
    for name in names:
        nodes.extend(module_nodes(name, facts[name]))
        graph.diagnostics.extend(facts[name].diagnostics)
    # globally sorted ("a.b.c" sorts before "a.b:X"), so that ``finalize`` has nothing to redo
    graph.g.add_nodes_from(sorted(nodes, key=lambda n: n[0]))
    consulted = resolve_modules(names, facts, resolver, edges, graph.externals)
    edges.into(graph)  # before the plug-ins: they merge into (and must not recount) these
    plugin_base: dict[EdgeKey, dict[str, Any] | None] = {}
    if run_plugins:
        plugin_base = apply_plugins(facts, resolver, graph)
        sort_graph(graph)  # the plug-ins appended edges out of order
    return graph, resolver, {"consulted": consulted, "plugin_base": plugin_base}


def _references(name: str, mf: ModuleFacts, resolver: ProjectResolver, edges: Edges) -> None:
    name_uses(mf)  # facts from the cache decode their name uses now
    groups = [(None, mf.module_uses)] + [(s, s.uses) for s in mf.symbols]
    for sym, uses in groups:
        owner = sym.name if sym is not None else None
        source = f"{name}:{owner}" if owner else name
        for use in uses:
            target = resolver.resolve(name, use.name, owner)
            if target is None or target == name:
                continue
            head = use.name.split(".", 1)[0]
            imp = resolver.binding(name, head, owner)
            edges.add(
                source,
                target,
                "reference",
                f"{mf.file}:{use.line}",
                lazy=bool(imp and imp.lazy),
                type_only=bool(imp and imp.type_only),
            )
        if sym is not None and sym.kind == "class":
            for base in sym.bases:
                target = resolver.resolve(name, base, owner)
                if target is not None and target != name:
                    edges.add(source, target, "inherit", f"{mf.file}:{sym.line}")
