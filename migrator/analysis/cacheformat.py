"""Plain-data forms of what the analysis cache stores: facts, finished graphs and ledgers.

The cache used to be pickles behind an allow-list, and an allow-list of classes is still a way
to call them (``operator.attrgetter`` is a class). These forms are JSON, read back with the
C-accelerated ``json`` module into lists, dicts, strings, numbers, booleans and None, and then
*rebuilt* by code that only calls migrator's own data classes with those values: whatever the
bytes, decoding can raise an error (the file counts as corrupt) but never run anything.

Facts are rows (lists of field values in declaration order), not objects with field names: a
third of the bytes and about as fast to load as the pickles were. Plug-in facts
(``ModuleFacts.framework``) are free-form plain data, where a tuple, a set or a dict with
non-string keys must come back as it was: they carry a small tag (``{"\\u0000t": [...]}``).
"""

from __future__ import annotations

import json
from itertools import chain, starmap
from typing import Any

from migrator.analysis.facts import DynamicRef, ImportFact, ModuleFacts, NameUse, SymbolFact
from migrator.graph import DependencyGraph, Diagnostic, EntryPoint, ExternalImport, Route, Table

_TUPLE, _SET, _FROZENSET, _DICT = "\0t", "\0s", "\0f", "\0d"
_TAGS = frozenset({_TUPLE, _SET, _FROZENSET, _DICT})
_SCALARS = (str, int, float, bool, type(None))


def dumps(value: Any) -> bytes:
    """Compact JSON; NaN and infinities refused (no plain-data reader would accept them).
    Cycles are found by the recursion limit, not by the encoder's table of every container
    it entered (a sixth of its time): ValueError either way."""
    try:
        return json.dumps(
            value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False
        ).encode()
    except RecursionError:
        raise ValueError("circular or too deeply nested data") from None


def loads(data: bytes | str) -> Any:
    return json.loads(data)


# -- free-form plain data (plug-in facts) ---------------------------------------------------
def encode_plain(value: Any) -> Any:
    """``value`` as JSON data that ``decode_plain`` turns back into an equal value of the
    same types. TypeError for anything but plain builtins."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        return [encode_plain(v) for v in value]
    if kind is dict:
        if all(type(k) is str and not k.startswith("\0") for k in value):
            return {k: encode_plain(v) for k, v in value.items()}
        return {_DICT: [[encode_plain(k), encode_plain(v)] for k, v in value.items()]}
    if kind is tuple:
        return {_TUPLE: [encode_plain(v) for v in value]}
    if kind is set or kind is frozenset:
        return {_SET if kind is set else _FROZENSET: [encode_plain(v) for v in value]}
    raise TypeError(f"not plain data: {kind.__name__}")


def decode_plain(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return [decode_plain(v) for v in value]
    if kind is dict:
        if len(value) == 1:
            ((tag, inner),) = value.items()
            if tag in _TAGS:
                items = [decode_plain(v) for v in inner]
                if tag == _TUPLE:
                    return tuple(items)
                if tag == _SET:
                    return set(items)
                if tag == _FROZENSET:
                    return frozenset(items)
                return dict(items)
        return {k: decode_plain(v) for k, v in value.items()}
    return value


# -- facts ----------------------------------------------------------------------------------
def _diag_row(d: Diagnostic) -> list[Any]:
    return [d.file, d.line, d.code, d.message, d.severity]


def _uses_rows(uses: list[NameUse]) -> list[Any]:
    return [[u.name, u.line, u.context] for u in uses]


def encode_facts(mf: ModuleFacts, uses: bool = True) -> list[Any]:
    """One module's facts as a row (TypeError when its plug-in facts are not plain data);
    with ``uses=False`` its name uses are left out (``encode_uses`` holds them)."""
    return [
        mf.module,
        mf.file,
        mf.is_package,
        mf.lines,
        mf.sha,
        [
            [
                i.line,
                i.module,
                i.name,
                i.alias,
                i.star,
                i.lazy,
                i.type_only,
                i.guarded,
                i.relative_level,
                i.owner,
            ]
            for i in mf.imports
        ],
        [
            [
                s.name,
                s.kind,
                s.line,
                s.end_line,
                s.bases,
                s.decorators,
                _uses_rows(s.uses) if uses else [],
            ]
            for s in mf.symbols
        ],
        _uses_rows(mf.module_uses) if uses else [],
        [[d.value, d.line, d.kind, d.owner] for d in mf.dynamic],
        _encode_framework(mf.framework),
        [_diag_row(d) for d in mf.diagnostics],
        mf.exports,
        mf.words,
    ]


def _encode_framework(facts: dict[str, Any]) -> list[Any]:
    """Plug-in facts as ``[0, facts]`` when JSON gives them back as they are (no tuple, set
    or non-string key anywhere: the encoded form is then equal to them, as a list never equals
    a tuple), else ``[1, tagged]``: most need no walk when read back."""
    tagged = encode_plain(facts)
    return [0, facts] if tagged == facts else [1, tagged]


def _decode_framework(row: list[Any]) -> dict[str, Any]:
    exact, value = row
    facts = value if exact == 0 else decode_plain(value)
    if type(facts) is not dict:
        raise TypeError("malformed plug-in facts")
    return facts


def decode_facts(row: list[Any]) -> ModuleFacts:
    """The inverse of ``encode_facts`` (TypeError, ValueError ... on a malformed row)."""
    (
        module,
        file,
        is_package,
        lines,
        sha,
        imports,
        symbols,
        module_uses,
        dynamic,
        framework,
        diagnostics,
        exports,
        vocabulary,
    ) = row
    if (
        type(module) is not str
        or type(file) is not str
        or type(sha) is not str
        or type(vocabulary) is not dict
    ):
        raise TypeError("malformed facts")
    return ModuleFacts(
        module,
        file,
        bool(is_package),
        int(lines),
        sha,
        list(starmap(ImportFact, imports)),
        [
            SymbolFact(n, k, a, b, list(bases), list(decs), list(starmap(NameUse, uses)))
            for n, k, a, b, bases, decs, uses in symbols
        ],
        list(starmap(NameUse, module_uses)),
        list(starmap(DynamicRef, dynamic)),
        _decode_framework(framework),
        [Diagnostic(*d) for d in diagnostics],
        None if exports is None else [str(e) for e in exports],
        {str(w): int(n) for w, n in vocabulary.items()},
    )


# -- name uses, decoded on first use ---------------------------------------------------------
# A facts pack keeps every module's name uses (a third of its bytes, and of the time to decode
# it) apart, as one JSON text per module: only the resolution of a module reads them, and an
# incremental run resolves the few modules a change reaches. Facts read from a pack carry
# their module's text undecoded until ``name_uses`` is called.
_PENDING = "_pending_uses"  # in a ModuleFacts' __dict__: (JSON text as a memoryview, pack)


class DamagedUses(Exception):
    """The name uses of cached facts do not decode (a pack forged with the user's key, or a
    bug); ``pack`` is the file they came from."""

    def __init__(self, pack: str) -> None:
        super().__init__(f"{pack}: malformed name uses")
        self.pack = pack


def encode_uses(mf: ModuleFacts) -> bytes:
    """The name uses of ``mf`` as a JSON text: its own (pending ones as they were read)."""
    pending = mf.__dict__.get(_PENDING)
    if pending is not None:
        return bytes(pending[0])
    return dumps([_uses_rows(mf.module_uses), [_uses_rows(s.uses) for s in mf.symbols]])


def defer_uses(mf: ModuleFacts, text: memoryview, pack: str) -> None:
    """Attach the undecoded name uses ``text`` (from ``pack``) to ``mf``."""
    mf.__dict__[_PENDING] = (text, pack)


def name_uses(mf: ModuleFacts) -> ModuleFacts:
    """``mf`` with its name uses decoded (``DamagedUses`` when they cannot be)."""
    pending = mf.__dict__.pop(_PENDING, None)
    if pending is not None:
        try:
            module_uses, symbol_uses = loads(str(pending[0], "utf-8"))
            if type(symbol_uses) is not list:
                raise TypeError("malformed name uses")
            mf.module_uses = list(starmap(NameUse, module_uses))
            for sym, uses in zip(mf.symbols, symbol_uses, strict=True):  # one list per symbol
                sym.uses = list(starmap(NameUse, uses))
        except (TypeError, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise DamagedUses(pending[1]) from None
    return mf


# -- graphs ---------------------------------------------------------------------------------
_GRAPH_FIELDS = frozenset(
    {"root", "g", "routes", "entry_points", "tables", "externals", "diagnostics", "stats"}
)  # ``stats`` describe one run: not stored


def encode_graph(graph: DependencyGraph) -> dict[str, Any]:
    """A finished graph, with every adjacency in its exact order (incremental patching and the
    byte-identical output depend on it). The node and out-adjacency dicts are written as they
    are, JSON objects that the C decoder rebuilds (key strings shared, as a pickle shares
    them) faster than any Python loop could; the in-adjacency, whose key dicts are those of
    the out-adjacency, is each node's predecessors as indices. TypeError for anything the
    form does not hold (a name or key that is not a string, a dict that is not a plain one)."""
    g = graph.g
    node, adj = g._node, g._adj
    _check_plain(graph, node, adj)
    index = {n: i for i, n in enumerate(node)}
    return {
        "root": graph.root,
        "attrs": g.graph,
        "nodes": node,
        "succ": adj,
        "pred": [[index[s] for s in g._pred[n]] for n in node],
        **_encode_records(graph),
    }


def encode_delta(graph: DependencyGraph, base: str, dirty: set[str]) -> dict[str, Any]:
    """A finished graph as the changes from the full graph ``base``: the attributes and
    out-adjacency of the ``dirty`` nodes (every node whose attributes or out-edges may differ
    from the base's; the in-adjacency follows from them), the dirty nodes it no longer has,
    and the side tables whole. An incremental run writes this instead of the whole graph."""
    g = graph.g
    present = sorted(n for n in dirty if n in g._node)
    node = {n: g._node[n] for n in present}
    adj = {n: g._adj[n] for n in present}
    _check_plain(graph, node, adj)
    return {
        "base": base,
        "root": graph.root,
        "attrs": g.graph,
        "nodes": node,
        "succ": adj,
        "removed": sorted(n for n in dirty if n not in g._node),
        **_encode_records(graph),
    }


def _check_plain(graph: DependencyGraph, node: dict[str, Any], adj: dict[str, Any]) -> None:
    """TypeError unless ``node`` and ``adj`` (part of ``graph.g``) and the graph's attributes
    are plain dicts keyed by strings: JSON would turn a key of another type into a string.
    The distinct names and the types of every container, gathered by C loops, are a few."""
    if set(vars(graph)) - _GRAPH_FIELDS:
        raise TypeError(f"graph has attributes {sorted(set(vars(graph)) - _GRAPH_FIELDS)}")
    attrs = graph.g.graph
    keydicts = list(chain.from_iterable(map(dict.values, adj.values())))
    edges = list(chain.from_iterable(map(dict.values, keydicts)))
    names = {
        *attrs,
        *node,
        *chain.from_iterable(keydicts),
        *chain.from_iterable(node.values()),
        *chain.from_iterable(edges),
    }
    if {
        type(attrs),
        type(node),
        type(adj),
        *map(type, keydicts),
        *map(type, edges),
        *map(type, node.values()),
    } != {dict} or {*map(type, names)} - {str}:
        raise TypeError("graph holds other than plain dicts keyed by strings")


def _encode_records(graph: DependencyGraph) -> dict[str, Any]:
    return {
        "routes": [
            [r.method, r.path, r.handler, r.framework, r.file, r.line] for r in graph.routes
        ],
        "entry_points": [[e.kind, e.name, e.handler, e.file, e.line] for e in graph.entry_points],
        "tables": [
            [t.name, t.model, t.file, t.line, t.readers, t.writers, t.foreign_keys]
            for t in graph.tables.values()
        ],
        "externals": [
            [m, [[e.module, e.distribution, e.stdlib] for e in v]]
            for m, v in graph.externals.items()
        ],
        "diagnostics": [_diag_row(d) for d in graph.diagnostics],
    }


def _decode_records(graph: DependencyGraph, data: dict[str, Any]) -> None:
    graph.routes = [Route(*r) for r in data["routes"]]
    graph.entry_points = [EntryPoint(*e) for e in data["entry_points"]]
    graph.tables = {}
    for name, model, file, line, readers, writers, fks in data["tables"]:
        graph.tables[name] = Table(name, model, file, line, list(readers), list(writers), list(fks))
    graph.externals = {str(m): [ExternalImport(*e) for e in v] for m, v in data["externals"]}
    graph.diagnostics = [Diagnostic(*d) for d in data["diagnostics"]]


def _checked_adjacency(nodes: Any, succ: Any) -> list[dict[str, Any]]:
    """The key dicts of ``succ`` (TypeError unless ``nodes`` and ``succ`` are dicts over the
    same names, in the same order, of dicts of non-empty dicts of dicts)."""
    if not (type(nodes) is dict and type(succ) is dict and list(succ) == list(nodes)):
        raise TypeError("malformed graph")
    keydicts = list(chain.from_iterable(map(dict.values, succ.values())))
    if {
        *map(type, nodes.values()),
        *map(type, keydicts),
        *map(type, chain.from_iterable(map(dict.values, keydicts))),
    } - {dict} or not all(keydicts):
        raise TypeError("malformed graph")
    return keydicts


def decode_graph(data: dict[str, Any]) -> DependencyGraph:
    """The inverse of ``encode_graph``: networkx's adjacency dicts are the decoded objects,
    checked to be dicts of the right depth, the in-adjacency built over the same key dicts (as
    networkx keeps them) and checked to hold exactly the out-adjacency's pairs."""
    graph = DependencyGraph(root=str(data["root"]))
    g = graph.g
    attrs, nodes, succ, rows = data["attrs"], data["nodes"], data["succ"], data["pred"]
    if not (type(attrs) is dict and type(rows) is list and len(rows) == len(nodes)):
        raise TypeError("malformed graph")
    keydicts = _checked_adjacency(nodes, succ)
    names = list(nodes)
    # a pair listed twice collapses in its dict, a pair missing from ``succ`` is a KeyError:
    # equal totals then mean equal sets of pairs
    out = [succ[n] for n in names]
    pred = {t: {names[s]: out[s][t] for s in row} for t, row in zip(names, rows, strict=True)}
    if sum(map(len, pred.values())) != len(keydicts) or sum(map(len, rows)) != len(keydicts):
        raise ValueError("the in-adjacency does not match the out-adjacency")
    g.graph.update(attrs)
    g._node.update(nodes)
    g._adj.update(succ)
    g._pred.update(pred)
    _decode_records(graph, data)
    return graph


def apply_delta(graph: DependencyGraph, data: dict[str, Any]) -> set[str]:
    """Turn ``graph`` (the full graph named by ``data["base"]``) into the graph ``data``
    (``encode_delta``) describes, in place; returns the names it changed. Every adjacency ends
    in sorted order, as in every finished graph. TypeError, ValueError or KeyError when
    ``data`` is malformed or does not fit the graph (an edge to a node it does not have, a
    node removed that other nodes still point at)."""
    g = graph.g
    node, succ, pred = g._node, g._adj, g._pred
    attrs, nodes, adj, removed = data["attrs"], data["nodes"], data["succ"], data["removed"]
    _checked_adjacency(nodes, adj)
    if (
        type(attrs) is not dict
        or type(removed) is not list
        or {*map(type, removed)} - {str}
        or not nodes.keys().isdisjoint(removed)
    ):
        raise TypeError("malformed graph delta")
    touched: set[str] = set()  # whose predecessors need sorting again
    for name in chain(nodes, removed):  # drop the out-edges the delta replaces
        out = succ.get(name)
        if out:
            for target in out:
                del pred[target][name]
            touched.update(out)
            out.clear()
    reordered = False
    for name in removed:
        if name in node:
            if pred[name]:
                raise ValueError("a node removed by the delta still has edges into it")
            del node[name], succ[name], pred[name]
            reordered = True
    for name, values in nodes.items():
        if name not in node:
            succ[name], pred[name] = {}, {}
            reordered = True
        node[name] = values
    for source, out in adj.items():
        for target, keydict in out.items():
            pred[target][source] = keydict  # KeyError: an edge to a node the graph lacks
        succ[source].update(out)
        touched.update(out)
    if reordered:
        for table in (node, succ, pred):
            sort_in_place(table)
    for target in touched:
        if target in pred:
            sort_in_place(pred[target])
    cache = getattr(g, "__networkx_cache__", None)
    if cache:
        cache.clear()
    graph.root = str(data["root"])
    g.graph.clear()
    g.graph.update(attrs)
    _decode_records(graph, data)
    return {*nodes, *removed}


def sort_in_place(table: dict[Any, Any]) -> None:
    """Sort a dict by key without replacing it (networkx's views hold on to the objects)."""
    keys = list(table)
    if keys != sorted(keys):
        items = sorted(table.items())
        table.clear()
        table.update(items)


# -- ledgers (``incremental``) --------------------------------------------------------------
def encode_ledger(ledger: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": ledger["version"],
        "keys": ledger["keys"],
        "interfaces": ledger["interfaces"],
        "consulted": {m: list(seen) for m, seen in ledger["consulted"].items()},
        "plugin_base": [[s, t, k, data] for (s, t, k), data in ledger["plugin_base"].items()],
    }


def decode_ledger(data: dict[str, Any]) -> dict[str, Any]:
    """The ledger, its tables rebuilt and its values checked to be of the types that
    ``incremental.patch`` reads (anything else: TypeError)."""
    keys, interfaces, consulted = data["keys"], data["interfaces"], data["consulted"]
    for table in (keys, interfaces):
        if type(table) is not dict or not all(type(v) is str for v in table.values()):
            raise TypeError("malformed ledger")
    if type(consulted) is not dict:
        raise TypeError("malformed ledger")
    base: dict[tuple[str, str, str], dict[str, Any] | None] = {}
    for s, t, k, edge in data["plugin_base"]:
        if not (type(s) is str and type(t) is str and type(k) is str) or not (
            edge is None or type(edge) is dict
        ):
            raise TypeError("malformed ledger")
        base[s, t, k] = edge
    return {
        "version": data["version"],
        "keys": keys,
        "interfaces": interfaces,
        "consulted": {m: tuple(str(x) for x in seen) for m, seen in consulted.items()},
        "plugin_base": base,
    }
