"""The contract of a framework plug-in.

A plug-in works in two halves, like the analyser itself:

* ``collect`` runs in the worker on the libcst tree of every file whose source contains one of
  ``markers`` (a cheap text filter) and returns plain, picklable data; it is stored in
  ``ModuleFacts.framework[plugin.name]`` and cached with the rest of the facts. Its shape is a
  ``TypedDict`` of the plug-in's module (``TasksFacts``...; plain JSON data, as the cache
  wants), read through the same type in ``resolve``; ``facts_version`` numbers that shape.
  A cached file's facts are reused only by the same plug-in source (``frameworks.signature``
  hashes it), so a new shape needs no migration: bump ``facts_version`` to say it changed.
* ``resolve`` runs once in the parent after all files are parsed, with every module's facts and
  a ``Resolver`` that maps a name used in a module to a graph node. It adds routes, entry points,
  tables and ``route``/``orm``/``table``/``dynamic``/``async``/``signal`` edges to the graph.

A plug-in never imports the analysed code: everything it knows comes from the tree.
"""

from __future__ import annotations

from typing import Any, Protocol

from migrator.analysis.facts import ModuleFacts
from migrator.analysis.lazy import cst
from migrator.analysis.walk import WalkContext
from migrator.graph import DependencyGraph


class Resolver(Protocol):
    """Name resolution offered by the core analyser to plug-ins."""

    def resolve(self, module: str, dotted: str) -> str | None:
        """The node id (``pkg.mod`` or ``pkg.mod:Name``) that ``dotted``, as used in ``module``,
        refers to, following imports, aliases and re-exports; None when it is not internal."""

    def external(self, module: str, dotted: str) -> str | None:
        """The fully qualified external name (``flask.Blueprint``) that ``dotted`` refers to in
        ``module``, or None when it is not an external name."""

    def owner_of_line(self, module: str, line: int) -> str:
        """The top-level symbol node containing ``line`` in ``module`` (the module itself if none)."""


class FrameworkPlugin(Protocol):
    name: str
    markers: tuple[str, ...]
    facts_version: int  # the version of the shape ``collect`` returns

    def collect(
        self, tree: cst.Module, module: str, file: str, ctx: WalkContext | None = None
    ) -> Any:
        """Facts of one module; ``ctx`` is the core pass's ``WalkContext`` of ``tree`` (None
        on a bare tree: nodes and lines are then computed here)."""
        ...

    def resolve(
        self, facts: dict[str, ModuleFacts], resolver: Resolver, graph: DependencyGraph
    ) -> None: ...
