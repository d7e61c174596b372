"""The dependency graph: the plain data that flows from `analyze` to every later stage.

A `DependencyGraph` wraps a `networkx.MultiDiGraph` whose nodes are modules (``pkg.mod``) and
their top-level symbols (``pkg.mod:Name``) and whose edges are keyed by kind, so that one pair
of nodes can be joined by an ``import`` edge and a ``reference`` edge at once. Beside the graph
it carries what frameworks add (routes, entry points, tables), third-party imports per module and
the diagnostics of files that could not be analysed.

Everything is inserted in sorted order so that networkx algorithms, which iterate in insertion
order, give the same answer under any PYTHONHASHSEED. The JSON form (``to_dict``) is versioned
and documented in docs/graph.md; ``from_dict`` reads it back for the stages that run from a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from migrator.util.lazy import lazy_import

if TYPE_CHECKING:
    import networkx as nx
else:  # loaded on first use: parser processes, forked early, never need it
    nx = lazy_import("networkx")

GRAPH_SCHEMA = "migrator.graph"
GRAPH_VERSION = 1

NODE_KINDS = ("module", "class", "function", "variable")
EDGE_KINDS = (
    "import",
    "reference",
    "inherit",
    "orm",
    "table",
    "route",
    "dynamic",
    "async",
    "signal",
)

#: at most this many file:line evidence entries are kept per edge (the count stays exact)
MAX_EVIDENCE = 20


@dataclass(frozen=True, order=True)
class Diagnostic:
    """A problem with one input file; the analysis goes on without that file (or that line)."""

    file: str
    line: int
    code: str  # e.g. "syntax-error", "decode-error", "too-large", "unreadable", "symlink-loop"
    message: str
    severity: str = "warning"  # "warning" | "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.code}: {self.message}"


@dataclass(frozen=True, order=True)
class Route:
    """An HTTP route bound to its handler (``module:function`` or ``module:Class``)."""

    method: str
    path: str
    handler: str
    framework: str
    file: str
    line: int


@dataclass(frozen=True, order=True)
class EntryPoint:
    """Where business use starts: a route, a background task, a CLI command, a signal handler."""

    kind: str  # "route" | "task" | "cli" | "signal"
    name: str
    handler: str
    file: str
    line: int


@dataclass(order=True)
class Table:
    """A database table, the model class that maps it, and which nodes read and write it."""

    name: str
    model: str | None = None  # "module:Class" or None for a Core `Table(...)`
    file: str = ""
    line: int = 0
    readers: list[str] = field(default_factory=list)
    writers: list[str] = field(default_factory=list)
    foreign_keys: list[str] = field(default_factory=list)  # names of referenced tables


@dataclass(frozen=True, order=True)
class ExternalImport:
    """A third-party or standard-library import of one module."""

    module: str  # top-level import name, e.g. "flask"
    distribution: str | None  # e.g. "Flask"; None for the standard library or unknown
    stdlib: bool = False


class DependencyGraph:
    """Modules, symbols and typed, counted, evidenced edges between them."""

    def __init__(self, root: str = ".") -> None:
        self.root = root
        self.g: nx.MultiDiGraph = nx.MultiDiGraph()
        self.routes: list[Route] = []
        self.entry_points: list[EntryPoint] = []
        self.tables: dict[str, Table] = {}
        self.externals: dict[str, list[ExternalImport]] = {}
        self.diagnostics: list[Diagnostic] = []

    # -- building ---------------------------------------------------------------------------
    def add_node(
        self,
        node_id: str,
        kind: str,
        file: str = "",
        line: int = 0,
        end_line: int = 0,
        **attrs: Any,
    ) -> None:
        self.g.add_node(node_id, **node_attrs(kind, file, line, end_line, **attrs))

    def add_edge(
        self,
        source: str,
        target: str,
        kind: str,
        evidence: Iterable[str] = (),
        count: int | None = None,
        **flags: bool,
    ) -> None:
        """Add (or merge into) the ``kind`` edge source -> target.

        ``count`` defaults to the number of evidence entries (at least 1). Boolean ``flags`` such
        as ``lazy`` or ``type_only`` stay true only while every merged occurrence has them.
        """
        if kind not in EDGE_KINDS:
            raise ValueError(f"unknown edge kind {kind!r}")
        if source == target:
            return
        evidence = list(evidence)
        n = count if count is not None else max(1, len(evidence))
        if self.g.has_edge(source, target, key=kind):
            data = self.g.edges[source, target, kind]
            data["count"] += n
            data["evidence"] = sorted(set(data["evidence"]) | set(evidence))[:MAX_EVIDENCE]
            for flag, value in flags.items():
                data[flag] = data.get(flag, False) and value
        else:
            self.g.add_edge(
                source,
                target,
                key=kind,
                kind=kind,
                count=n,
                evidence=sorted(set(evidence))[:MAX_EVIDENCE],
                **flags,
            )

    def finalize(self) -> DependencyGraph:
        """Rebuild the graph with nodes and edges in sorted order (see module docstring)."""
        if not self._in_sorted_order():
            g = nx.MultiDiGraph()
            for node in sorted(self.g.nodes):
                g.add_node(node, **self.g.nodes[node])
            for s, t, k in sorted(self.g.edges(keys=True)):
                g.add_edge(s, t, key=k, **self.g.edges[s, t, k])
            self.g = g
        return self.sort_records()

    def sort_records(self) -> DependencyGraph:
        """Sort and deduplicate routes, entry points, tables, externals and diagnostics (the
        part of ``finalize`` for a graph whose nodes and edges are known to be in order)."""
        self.routes = sorted(set(self.routes))
        self.entry_points = sorted(set(self.entry_points))
        for table in self.tables.values():
            table.readers = sorted(set(table.readers))
            table.writers = sorted(set(table.writers))
            table.foreign_keys = sorted(set(table.foreign_keys))
        self.tables = dict(sorted(self.tables.items()))
        self.externals = {m: sorted(set(v)) for m, v in sorted(self.externals.items())}
        self.diagnostics = sorted(set(self.diagnostics))
        return self

    def _in_sorted_order(self) -> bool:
        """Whether a rebuild would change nothing (nodes, out- and in-adjacency all sorted):
        checking is much cheaper than rebuilding a big graph."""
        nodes = list(self.g.nodes)
        if nodes != sorted(nodes):
            return False
        edges = list(self.g.edges(keys=True))
        if edges != sorted(edges):
            return False
        return all(list(p) == sorted(p) for p in self.g.pred.values())

    # -- reading ----------------------------------------------------------------------------
    def modules(self) -> list[str]:
        return [n for n, d in self.g.nodes(data=True) if d["kind"] == "module"]

    def symbols(self, module: str | None = None) -> list[str]:
        return [
            n
            for n, d in self.g.nodes(data=True)
            if d["kind"] != "module" and (module is None or module_of(n) == module)
        ]

    def edges(self, kind: str | None = None) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for s, t, data in self.g.edges(data=True):
            if kind is None or data["kind"] == kind:
                yield s, t, data

    def module_graph(self, kinds: Iterable[str] | None = None) -> nx.DiGraph:
        """Edges lifted to module level (symbol endpoints replaced by their module), counts summed."""
        wanted = set(kinds) if kinds is not None else None
        mg = nx.DiGraph()
        mg.add_nodes_from(sorted(self.modules()))
        for s, t, data in self.edges():
            if wanted is not None and data["kind"] not in wanted:
                continue
            a, b = module_of(s), module_of(t)
            if a == b:
                continue
            if mg.has_edge(a, b):
                mg.edges[a, b]["count"] += data["count"]
            else:
                mg.add_edge(a, b, count=data["count"])
        return mg

    # -- serialising ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        nodes = [{"id": n, **self.g.nodes[n]} for n in self.g.nodes]
        edges = [{"source": s, "target": t, **d} for s, t, d in self.g.edges(data=True)]
        return {
            "schema": GRAPH_SCHEMA,
            "version": GRAPH_VERSION,
            "root": self.root,
            "nodes": nodes,
            "edges": edges,
            "routes": [asdict(r) for r in self.routes],
            "entry_points": [asdict(e) for e in self.entry_points],
            "tables": [asdict(t) for t in self.tables.values()],
            "externals": {m: [asdict(e) for e in v] for m, v in self.externals.items()},
            "diagnostics": [asdict(d) for d in self.diagnostics],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DependencyGraph:
        if data.get("schema") != GRAPH_SCHEMA or data.get("version") != GRAPH_VERSION:
            raise ValueError(
                f"not a {GRAPH_SCHEMA} version {GRAPH_VERSION} document "
                f"(schema={data.get('schema')!r}, version={data.get('version')!r})"
            )
        dg = cls(root=data.get("root", "."))
        for node in data["nodes"]:
            attrs = dict(node)
            dg.g.add_node(attrs.pop("id"), **attrs)
        for edge in data["edges"]:
            attrs = dict(edge)
            s, t = attrs.pop("source"), attrs.pop("target")
            dg.g.add_edge(s, t, key=attrs["kind"], **attrs)
        dg.routes = [Route(**r) for r in data.get("routes", [])]
        dg.entry_points = [EntryPoint(**e) for e in data.get("entry_points", [])]
        dg.tables = {t["name"]: Table(**t) for t in data.get("tables", [])}
        dg.externals = {
            m: [ExternalImport(**e) for e in v] for m, v in data.get("externals", {}).items()
        }
        dg.diagnostics = [Diagnostic(**d) for d in data.get("diagnostics", [])]
        return dg.finalize()


def node_attrs(
    kind: str, file: str = "", line: int = 0, end_line: int = 0, **attrs: Any
) -> dict[str, Any]:
    """A node's attributes, in the order the JSON form lists them (``size`` defaults to the
    line span)."""
    if kind not in NODE_KINDS:
        raise ValueError(f"unknown node kind {kind!r}")
    size = max(0, end_line - line + 1) if end_line else 0
    return {
        "kind": kind,
        "file": file,
        "line": line,
        "end_line": end_line,
        "size": attrs.pop("size", size),
        **attrs,
    }


def module_of(node_id: str) -> str:
    """``pkg.mod:Name`` -> ``pkg.mod``; a module id is returned unchanged."""
    return node_id.split(":", 1)[0]
