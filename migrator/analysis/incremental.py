"""Patch the previous run's graph after some files changed, instead of building it again.

Building the graph of a big project from its facts costs more than parsing the one file a
developer touched, so a run with a few changed files loads the previous graph and its *ledger*
and redoes only what the change can reach:

* ``keys``: each module's facts-cache key, to tell which modules changed;
* ``interfaces``: each module's ``resolve.interface`` hash (its top-level names, module-level
  imports, star imports, ``__all__``): the only part of a module another module's name
  resolution reads;
* ``consulted``: for each module, the modules whose facts its resolution read and the module
  names whose existence it asked about, recorded by the resolver while it ran;
* ``plugin_base``: for every edge the framework plug-ins added to or created, what the edge held
  before them (None: nothing).

The resolver records as "consulted" both the modules whose facts it read and every module name
whose existence it asked about. The modules to resolve again are the changed and added ones plus
every module that consulted a changed module whose interface changed, or a name that a file
added or removed makes appear or vanish (the module, or a package holding it). The patch peels
the plug-ins' layer off (``plugin_base`` restores the resolver's edges exactly), drops the
edges the affected (and removed) modules drew, updates their nodes, resolves them again, runs
the plug-ins over the whole graph as a full build does, and puts every touched adjacency back in
sorted order. A change that leaves every changed module's facts as they were but for its line
count and vocabulary (a comment, a literal, a body with the same names on the same lines)
skips all of that: only those modules' nodes are updated (``_only_lines``). The result is the
graph a full build gives, byte for byte
(tests/analysis/test_incremental.py checks it against full builds over many edits). A previous
run with other options or another analyser version has no ledger for this run: the caller then
builds from scratch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeGuard

from migrator.analysis.cacheformat import name_uses, sort_in_place
from migrator.analysis.facts import ModuleFacts
from migrator.analysis.resolve import (
    Edges,
    ProjectResolver,
    apply_plugins,
    clear_nx_cache,
    interface,
    module_nodes,
    package_prefixes,
    resolve_modules,
)
from migrator.graph import DependencyGraph

LEDGER_VERSION = 1


def make_ledger(
    keys: dict[str, str], facts: dict[str, ModuleFacts], patch_info: dict[str, Any]
) -> dict[str, Any]:
    """The ledger of a graph just built from ``facts`` (``build_graph_for_patching``)."""
    return {
        "version": LEDGER_VERSION,
        "keys": dict(keys),
        "interfaces": {m: interface(mf) for m, mf in facts.items()},
        "consulted": patch_info["consulted"],
        "plugin_base": patch_info["plugin_base"],
    }


def valid_ledger(ledger: object) -> TypeGuard[dict[str, Any]]:
    return (
        isinstance(ledger, dict)
        and ledger.get("version") == LEDGER_VERSION
        and all(
            isinstance(ledger.get(k), dict)
            for k in ("keys", "interfaces", "consulted", "plugin_base")
        )
    )


#: what other modules' edges, the plug-ins and the graph can read of a module's facts, beside
#: its line count (its module node's last line and size), its vocabulary (an attribute of its
#: node) and the hash of its bytes (the key)
_RESOLVED_FIELDS = tuple(
    f.name for f in fields(ModuleFacts) if f.name not in ("lines", "sha", "words")
)


def _only_lines(
    changed: list[str],
    old_keys: dict[str, str],
    facts: dict[str, ModuleFacts],
    previous: Callable[[str], ModuleFacts | None],
) -> bool:
    """Whether every changed module existed before with facts that differ from its new ones
    in the line count and vocabulary alone. Nothing in the resolver or the plug-ins reads
    either (tests/analysis/test_incremental.py holds every plug-in to it), so their output
    stays."""
    for module in changed:
        before = previous(old_keys[module]) if module in old_keys else None
        if before is None:
            return False
        now = facts[module]
        name_uses(before)
        name_uses(now)
        if any(getattr(before, f) != getattr(now, f) for f in _RESOLVED_FIELDS):
            return False
    return True


def _renumber(
    graph: DependencyGraph,
    ledger: dict[str, Any],
    facts: dict[str, ModuleFacts],
    keys: dict[str, str],
    changed: list[str],
) -> tuple[dict[str, Any], int, set[str]]:
    """``patch`` when only line counts and words changed: the changed modules' nodes are
    updated, every edge, route, table and the rest of the ledger stay."""
    nodes = graph.g._node
    for module in changed:
        (_, attrs), *_ = module_nodes(module, facts[module])
        nodes[module].clear()
        nodes[module].update(attrs)
    clear_nx_cache(graph.g)
    return {**ledger, "keys": dict(keys)}, 0, set(changed)


def patch(
    graph: DependencyGraph,
    ledger: dict[str, Any],
    facts: dict[str, ModuleFacts],
    keys: dict[str, str],
    run_plugins: bool,
    previous: Callable[[str], ModuleFacts | None] | None = None,
) -> tuple[dict[str, Any], int, set[str]] | None:
    """Turn ``graph`` (the previous run's, described by ``ledger``) into the graph of
    ``facts`` in place. Returns the new ledger, the number of modules resolved again and the
    nodes whose attributes or out-edges it may have changed (``cacheformat.encode_delta``),
    or None when the change cannot be patched (``graph`` is then unusable: build from
    scratch). ``previous`` gives the facts of a facts-cache key when it has them: a changed
    module whose facts are those of its previous key but for its line count (a comment, a
    literal, a body using the same names on the same lines) changes nothing but its node."""
    old_keys = ledger["keys"]
    removed = set(old_keys) - set(keys)
    changed = sorted(m for m, key in keys.items() if old_keys.get(m) != key)  # added too
    if not removed and previous is not None and _only_lines(changed, old_keys, facts, previous):
        return _renumber(graph, ledger, facts, keys, changed)
    interfaces = {m: h for m, h in ledger["interfaces"].items() if m not in removed}
    new_interfaces = {m: interface(facts[m]) for m in changed}
    # what other modules' resolution may have read differently: the interfaces that changed,
    # and the names whose existence changed (files and the packages that hold them)
    moved = {m for m in changed if new_interfaces[m] != interfaces.get(m)} | removed
    if removed or any(m not in old_keys for m in changed):
        moved |= package_prefixes(keys) ^ package_prefixes(old_keys)
    interfaces.update(new_interfaces)
    affected = set(changed)
    if moved:
        affected.update(
            m
            for m, seen in ledger["consulted"].items()
            if m not in removed and not moved.isdisjoint(seen)
        )

    g = graph.g
    succ, pred, nodes = g._adj, g._pred, g._node
    sources: set[str] = set()  # adjacency to sort again afterwards
    targets: set[str] = set()
    dirty: set[str] = set()  # nodes whose attributes or out-edges may differ afterwards

    def set_edge(s: str, t: str, kind: str, data: dict[str, Any] | None) -> None:
        keydict = succ[s].get(t)
        if data is None:
            if keydict is not None and kind in keydict:
                del keydict[kind]
                if not keydict:
                    del succ[s][t]
                    del pred[t][s]
            return
        if keydict is None:
            keydict = succ[s][t] = {}
            pred[t][s] = keydict
            sources.add(s)
            targets.add(t)
        elif kind not in keydict:
            sources.add(s)  # the edge keys of this pair need sorting again
        keydict[kind] = data

    # 1. peel off the plug-ins' layer: back to the resolver's edges of the previous run
    # (what the layer's edges held is kept, to tell afterwards which of them changed)
    layer = {
        (s, t, kind): succ.get(s, {}).get(t, {}).get(kind) for s, t, kind in ledger["plugin_base"]
    }
    for (s, t, kind), before in ledger["plugin_base"].items():
        if s not in succ or t not in succ:
            return None
        set_edge(s, t, kind, before)

    # 2. drop the edges the affected modules drew, and bring their nodes up to date
    by_module: dict[str, list[str]] = {}
    for node in nodes:
        by_module.setdefault(node.partition(":")[0], []).append(node)
    for module in affected | removed:
        dirty.update(by_module.get(module, ()))
        for node in by_module.get(module, ()):
            for t in succ[node]:
                del pred[t][node]
                targets.add(t)
            succ[node].clear()
    reordered = False
    for module in removed:
        for node in by_module.get(module, ()):
            if pred[node]:
                return None  # an unaffected module still points at it: rebuild
            g.remove_node(node)
            reordered = True
        graph.externals.pop(module, None)
    for module in affected:
        new = module_nodes(module, facts[module])
        ids = {n for n, _ in new}
        for node in by_module.get(module, ()):
            if node not in ids:
                if pred[node]:
                    return None  # an unaffected module still points at it: rebuild
                g.remove_node(node)
                reordered = True
        for node, attrs in new:
            dirty.add(node)
            if node in nodes:
                nodes[node].clear()
                nodes[node].update(attrs)
            else:
                g.add_node(node, **attrs)
                reordered = True

    # 3. resolve the affected modules again, with everything else as it was
    resolver = ProjectResolver(facts)
    edges = Edges()
    externals: dict[str, Any] = {}
    consulted = {m: seen for m, seen in ledger["consulted"].items() if m not in removed}
    consulted.update(resolve_modules(sorted(affected), facts, resolver, edges, externals))
    for module in affected:
        graph.externals.pop(module, None)
    graph.externals.update(externals)
    for s, t, _kind in edges.data:
        sources.add(s)
        targets.add(t)
        dirty.add(s)
    edges.into(graph)

    # 4. the plug-ins, over the whole graph, as in a full build
    graph.routes, graph.entry_points, graph.tables = [], [], {}
    graph.diagnostics = [d for m in sorted(facts) for d in facts[m].diagnostics]
    plugin_base = {}
    if run_plugins:
        plugin_base = apply_plugins(facts, resolver, graph)
        for s, t, _kind in plugin_base:
            sources.add(s)
            targets.add(t)
    resolver.release()
    for key in layer.keys() | plugin_base.keys():  # the layer's edges that differ now
        was = layer[key] if key in layer else plugin_base[key]
        now = succ.get(key[0], {}).get(key[1], {}).get(key[2])
        if was != now or (was is not None and now is not None and list(was) != list(now)):
            dirty.add(key[0])

    # 5. sorted order again, where anything moved
    if reordered:
        for table in (nodes, succ, pred):
            sort_in_place(table)
    for s in sources:
        if s in succ:
            inner = succ[s]
            sort_in_place(inner)
            for keydict in inner.values():
                sort_in_place(keydict)
    for t in targets:
        if t in pred:
            sort_in_place(pred[t])
    clear_nx_cache(g)
    graph.externals = dict(sorted(graph.externals.items()))
    new_ledger = {
        "version": LEDGER_VERSION,
        "keys": dict(keys),
        "interfaces": interfaces,
        "consulted": consulted,
        "plugin_base": plugin_base,
    }
    return new_ledger, len(affected), dirty
