"""Render a ``DependencyGraph`` as json (the versioned schema), summary text, dot or mermaid.

Every renderer iterates the finalized (sorted) graph, so output is byte-identical across runs
and PYTHONHASHSEED values.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable

from migrator.graph import EDGE_KINDS, DependencyGraph, module_of

FORMATS = ("summary", "json", "dot", "mermaid")


def render(graph: DependencyGraph, fmt: str) -> str:
    """The graph in format ``fmt`` (one of ``FORMATS``)."""
    if fmt == "json":
        return to_json(graph)
    if fmt == "summary":
        return summary(graph)
    if fmt == "dot":
        return dot(graph)
    if fmt == "mermaid":
        return mermaid(graph)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _item_encoder() -> Callable[[object], str]:
    """``json.dumps(x, ensure_ascii=False)`` for many small items: ``JSONEncoder.encode``
    builds a new C encoder on every call, which dominates when there are 20,000 items."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(ensure_ascii=False).encode
    c_encode = make(
        None, None, json.encoder.encode_basestring, None, ": ", ", ", False, False, True
    )

    def encode(value: object) -> str:
        if isinstance(value, str):
            return json.encoder.encode_basestring(value)
        return "".join(c_encode(value, 0))

    return encode


def to_json(graph: DependencyGraph) -> str:
    """The versioned JSON document, one node, edge, route... per line: readable, diffable,
    and written by the C encoder (``indent=`` would fall back to a slow pure-Python one)."""
    dump = _item_encoder()

    parts = []
    for key, value in graph.to_dict().items():
        if isinstance(value, list):
            body = ",\n".join(f"    {dump(item)}" for item in value)
            text = f"[\n{body}\n  ]" if value else "[]"
        elif isinstance(value, dict):
            body = ",\n".join(f"    {dump(k)}: {dump(v)}" for k, v in value.items())
            text = f"{{\n{body}\n  }}" if value else "{}"
        else:
            text = dump(value)
        parts.append(f"  {dump(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _module_edges(graph: DependencyGraph) -> list[tuple[str, str, dict]]:
    """Module-to-module edges of every kind, with counts per kind and flags of imports."""
    merged: dict[tuple[str, str], dict] = {}
    for s, t, data in graph.edges():
        a, b = module_of(s), module_of(t)
        if a == b:
            continue
        entry = merged.setdefault(
            (a, b),
            {"count": 0, "kinds": Counter(), "lazy": True, "type_only": True, "has_import": False},
        )
        entry["count"] += data["count"]
        entry["kinds"][data["kind"]] += data["count"]
        if data["kind"] == "import":
            entry["has_import"] = True
            entry["lazy"] = entry["lazy"] and data.get("lazy", False)
            entry["type_only"] = entry["type_only"] and data.get("type_only", False)
    return [(a, b, d) for (a, b), d in sorted(merged.items())]


def summary(graph: DependencyGraph) -> str:
    modules = graph.modules()
    kinds = Counter(d["kind"] for _, d in graph.g.nodes(data=True))
    edge_counts = Counter(d["kind"] for _, _, d in graph.edges())
    lines = [
        f"root: {graph.root}",
        f"modules: {len(modules)}  lines: {sum(graph.g.nodes[m]['size'] for m in modules)}",
        "symbols: "
        + ", ".join(
            f"{kinds[k]} {k}es" if k == "class" else f"{kinds[k]} {k}s"
            for k in ("class", "function", "variable")
        ),
        "edges: " + ", ".join(f"{edge_counts[k]} {k}" for k in EDGE_KINDS if edge_counts[k])
        if edge_counts
        else "edges: none",
    ]
    mg = graph.module_graph(["import"])
    fan_in = sorted(((mg.in_degree(m), m) for m in mg.nodes), key=lambda x: (-x[0], x[1]))[:5]
    fan_out = sorted(((mg.out_degree(m), m) for m in mg.nodes), key=lambda x: (-x[0], x[1]))[:5]
    if any(n for n, _ in fan_in):
        lines.append("most imported: " + ", ".join(f"{m} ({n})" for n, m in fan_in if n))
    if any(n for n, _ in fan_out):
        lines.append("most importing: " + ", ".join(f"{m} ({n})" for n, m in fan_out if n))
    dists: Counter[str] = Counter()
    for imports in graph.externals.values():
        for e in imports:
            if not e.stdlib:
                dists[e.distribution or e.module] += 1
    if dists:
        lines.append(
            "third-party: "
            + ", ".join(f"{d} ({n})" for d, n in sorted(dists.items(), key=lambda x: (-x[1], x[0])))
        )
    if graph.routes:
        lines.append(f"routes: {len(graph.routes)}")
        lines.extend(f"  {r.method:6} {r.path}  -> {r.handler}" for r in graph.routes)
    if graph.entry_points:
        other = [e for e in graph.entry_points if e.kind != "route"]
        if other:
            lines.append(f"entry points: {len(other)}")
            lines.extend(f"  {e.kind:6} {e.name}  -> {e.handler}" for e in other)
    if graph.tables:
        lines.append(f"tables: {len(graph.tables)}")
        for t in graph.tables.values():
            lines.append(
                f"  {t.name}  model={t.model or '-'}  readers={len(t.readers)} "
                f"writers={len(t.writers)}"
            )
    lines.append(f"diagnostics: {len(graph.diagnostics)}")
    lines.extend(f"  {d}" for d in graph.diagnostics)
    return "\n".join(lines) + "\n"


def _dot_id(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(graph: DependencyGraph) -> str:
    """Graphviz: modules grouped by top-level package, edges labelled with their count."""
    out = ["digraph migrator {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    by_top: dict[str, list[str]] = {}
    for m in graph.modules():
        by_top.setdefault(m.split(".", 1)[0], []).append(m)
    for i, (top, mods) in enumerate(sorted(by_top.items())):
        out.append(f"  subgraph cluster_{i} {{")
        out.append(f"    label={_dot_id(top)};")
        out.extend(f"    {_dot_id(m)};" for m in mods)
        out.append("  }")
    for a, b, d in _module_edges(graph):
        style = ""
        if d["has_import"] and d["type_only"]:
            style = ", style=dotted"
        elif d["has_import"] and d["lazy"]:
            style = ", style=dashed"
        elif not d["has_import"]:
            style = ", color=gray"
        out.append(f"  {_dot_id(a)} -> {_dot_id(b)} [label={d['count']}{style}];")
    out.append("}")
    return "\n".join(out) + "\n"


def mermaid(graph: DependencyGraph) -> str:
    """Mermaid flowchart of modules; ids are made safe, labels keep the dotted names."""
    ids = {m: f"m{i}" for i, m in enumerate(graph.modules())}
    out = ["graph LR"]
    for m, i in ids.items():
        label = re.sub(r'["\[\]]', "_", m)
        out.append(f'  {i}["{label}"]')
    for a, b, d in _module_edges(graph):
        if a not in ids or b not in ids:
            continue
        arrow = "-.->" if d["has_import"] and (d["lazy"] or d["type_only"]) else "-->"
        out.append(f"  {ids[a]} {arrow}|{d['count']}| {ids[b]}")
    return "\n".join(out) + "\n"
