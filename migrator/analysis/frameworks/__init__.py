"""Registry of framework plug-ins (Flask, FastAPI, Django, SQLAlchemy, task queues, blinker
signals, GraphQL).

Each plug-in lives in its own module here and follows ``base.FrameworkPlugin``. The module
exposes its instance as ``PLUGIN`` (``plugin`` or a single class named ``*Plugin`` also work).
The registry runs ``collect`` in the worker, on the tree of every file whose source contains one
of the plug-in's ``markers``, and ``resolve`` once in the parent after all files are parsed.

``collect`` gets the ``WalkContext`` of the core pass over the same tree (``ctx``). Plug-ins
should walk the tree with ``_util.walk(tree, ctx=ctx)`` (``migrator.analysis.walk.nodes``: for
the module being analysed, the list of nodes the core pass has already walked, so no plug-in
walks it again), take line numbers from ``_util.Lines(tree, ctx)`` (the core pass has already
counted the line of every node of the tree, so no code generation or ``PositionProvider`` is
needed) and keep their facts small and picklable: they are cached with the rest of the file's
facts.

A plug-in that raises never stops the analysis: the error becomes a diagnostic of that file.
"""

from __future__ import annotations

import hashlib
import importlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from migrator.analysis.facts import ModuleFacts
from migrator.analysis.walk import WalkContext
from migrator.graph import DependencyGraph, Diagnostic

#: plug-in modules in the order they run (``resolve`` of a later one sees what earlier ones added)
PLUGIN_MODULES = (
    "classviews",
    "flask",
    "fastapi",
    "django",
    "sqlalchemy",
    "tasks",
    "signals",
    "graphql",
)


def _plugin_from_module(mod: Any) -> Any | None:
    for attr in ("PLUGIN", "plugin"):
        obj = getattr(mod, attr, None)
        if obj is not None:
            return obj() if isinstance(obj, type) else obj
    classes = [
        v
        for k, v in sorted(vars(mod).items())
        if k.endswith("Plugin")
        and k != "FrameworkPlugin"
        and isinstance(v, type)
        and getattr(v, "__module__", None) == mod.__name__
    ]
    if len(classes) == 1:
        return classes[0]()
    return None


@lru_cache(maxsize=1)
def plugins() -> tuple[Any, ...]:
    """The available plug-ins; a module that is missing (not written yet) is skipped."""
    found = []
    for name in PLUGIN_MODULES:
        try:
            mod = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        plugin = _plugin_from_module(mod)
        if plugin is not None:
            found.append(plugin)
    return tuple(found)


def signature() -> str:
    """A hash of the plug-ins' source: part of the cache key, so editing a plug-in re-parses."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    for path in sorted(here.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def collect_all(walked: WalkContext, source: str, facts: ModuleFacts) -> None:
    """Run ``collect`` of every plug-in whose marker occurs in ``source`` (in the worker) on
    the tree the core pass has ``walked``."""
    for plugin in plugins():
        if not any(marker in source for marker in plugin.markers):
            continue
        try:
            data = plugin.collect(walked.tree, facts.module, facts.file, walked)
        except Exception as exc:  # a plug-in bug must not lose the file
            facts.diagnostics.append(
                Diagnostic(
                    facts.file,
                    1,
                    "plugin-error",
                    f"{plugin.name}: {type(exc).__name__}: {exc}",
                    "error",
                )
            )
            continue
        if data is not None:
            facts.framework[plugin.name] = data


def resolve_all(facts: dict[str, ModuleFacts], resolver: Any, graph: DependencyGraph) -> None:
    """Run ``resolve`` of every plug-in once, in the parent, after the core graph is built."""
    for plugin in plugins():
        try:
            plugin.resolve(facts, resolver, graph)
        except Exception as exc:
            graph.diagnostics.append(
                Diagnostic(
                    "<plugins>",
                    0,
                    "plugin-error",
                    f"{plugin.name}: {type(exc).__name__}: {exc}",
                    "error",
                )
            )
