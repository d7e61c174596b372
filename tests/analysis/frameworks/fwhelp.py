"""Helpers for the framework plug-in tests (a uniquely named module, imported by the tests).

``FakeResolver`` is a small, independent stand-in for the core's name resolution (imports,
aliases, one level of re-export per hop), so that each plug-in's ``resolve`` half can be tested
on the facts of a fixture app without the rest of the analyser. The end-to-end tests run the
real ``migrator.analysis.analyze`` on the same fixture apps.
"""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path
from typing import Any

import libcst as cst

from migrator.analysis.facts import ModuleFacts
from migrator.graph import DependencyGraph

APPS = Path(__file__).parent / "apps"


def parse(src: str) -> cst.Module:
    return cst.parse_module(textwrap.dedent(src).lstrip("\n"))


def module_name(rel: Path) -> tuple[str, bool]:
    parts = list(rel.with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def app_facts(name: str) -> dict[str, ModuleFacts]:
    """Facts of every file of fixture app ``name``, through the core's per-file pass."""
    from migrator.analysis.parse import WorkItem, analyse_source

    root = APPS / name
    facts = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        module, is_package = module_name(rel)
        data = path.read_bytes()
        item = WorkItem(
            rel.as_posix(), module, is_package, hashlib.sha256(data).hexdigest(), data, True
        )
        facts[module] = analyse_source(item)
    return facts


class FakeResolver:
    """Resolves names through ``from x import y``/``import x`` facts; enough for the apps."""

    def __init__(self, facts: dict[str, ModuleFacts]) -> None:
        self.facts = facts

    def _bindings(self, module: str) -> dict[str, tuple[str, str | None]]:
        out: dict[str, tuple[str, str | None]] = {}
        for imp in self.facts[module].imports:
            if imp.star:
                continue
            if imp.name is None:
                if imp.alias:
                    out[imp.alias] = (imp.module, None)
                else:
                    first = imp.module.split(".")[0]
                    out[first] = (first, None)
            else:
                full = f"{imp.module}.{imp.name}"
                local = imp.alias or imp.name
                out[local] = (full, None) if full in self.facts else (imp.module, imp.name)
        return out

    def _symbol(self, module: str, name: str, depth: int = 0) -> str | None:
        if module not in self.facts or depth > 10:
            return None
        if any(s.name == name for s in self.facts[module].symbols):
            return f"{module}:{name}"
        bound = self._bindings(module).get(name)
        if bound is None:
            return None
        target, sym = bound
        return (
            target
            if sym is None and target in self.facts
            else (self._symbol(target, sym, depth + 1) if sym else None)
        )

    def resolve(self, module: str, dotted: str) -> str | None:
        first, *rest = dotted.split(".")
        bound = self._bindings(module).get(first)
        if bound is None:
            if any(s.name == first for s in self.facts[module].symbols):
                return f"{module}:{first}"
            return None
        target, sym = bound
        if sym is not None:
            return self._symbol(target, sym)
        current = target
        if current not in self.facts:
            return None
        for part in rest:
            if f"{current}.{part}" in self.facts:
                current = f"{current}.{part}"
            else:
                return self._symbol(current, part)
        return current

    def external(self, module: str, dotted: str) -> str | None:
        first, *rest = dotted.split(".")
        bound = self._bindings(module).get(first)
        if bound is None:
            return None
        target, sym = bound
        if target.split(".")[0] in {m.split(".")[0] for m in self.facts}:
            return None
        return ".".join([target] + ([sym] if sym else []) + rest)

    def owner_of_line(self, module: str, line: int) -> str:
        for s in self.facts[module].symbols:
            if s.line <= line <= s.end_line:
                return f"{module}:{s.name}"
        return module


def fake_graph(name: str, plugin_names: tuple[str, ...] | None = None) -> DependencyGraph:
    """Graph of fixture app ``name`` with only module/symbol nodes plus the plug-ins' output."""
    from migrator.analysis import frameworks

    facts = app_facts(name)
    graph = DependencyGraph(str(APPS / name))
    for module, mf in sorted(facts.items()):
        graph.add_node(module, "module", file=mf.file, line=1, end_line=mf.lines)
        for s in mf.symbols:
            graph.add_node(
                f"{module}:{s.name}", s.kind, file=mf.file, line=s.line, end_line=s.end_line
            )
    resolver = FakeResolver(facts)
    for plugin in frameworks.plugins():
        if plugin_names is None or plugin.name in plugin_names:
            plugin.resolve(facts, resolver, graph)
    return graph.finalize()


def routes(graph: DependencyGraph) -> set[tuple[str, str, str]]:
    return {(r.method, r.path, r.handler) for r in graph.routes}


def edges(graph: DependencyGraph, kind: str) -> set[tuple[str, str]]:
    return {(s, t) for s, t, _ in graph.edges(kind)}


_FAKE: dict[str, DependencyGraph] = {}


def app_graph(request: Any, name: str) -> DependencyGraph:
    """For a fixture parametrised over ("fake-resolver", "analyze"): the graph of app ``name``
    from the plug-ins alone with ``FakeResolver``, or from the real analyser."""
    if request.param == "analyze":
        return request.getfixturevalue("analyzed")(name)
    if name not in _FAKE:
        _FAKE[name] = fake_graph(name)
    return _FAKE[name]


def mini_graph(sources: dict[str, str]) -> DependencyGraph:
    """Graph of an in-memory project (``{"pkg/mod.py": source}``) through ``FakeResolver``."""
    from migrator.analysis import frameworks
    from migrator.analysis.parse import WorkItem, analyse_source

    facts = {}
    for rel, src in sorted(sources.items()):
        module, is_package = module_name(Path(rel))
        data = textwrap.dedent(src).lstrip("\n").encode()
        facts[module] = analyse_source(WorkItem(rel, module, is_package, "sha", data, True))
    graph = DependencyGraph(".")
    for module, mf in sorted(facts.items()):
        graph.add_node(module, "module", file=mf.file, line=1, end_line=mf.lines)
        for s in mf.symbols:
            graph.add_node(
                f"{module}:{s.name}", s.kind, file=mf.file, line=s.line, end_line=s.end_line
            )
    resolver = FakeResolver(facts)
    for plugin in frameworks.plugins():
        plugin.resolve(facts, resolver, graph)
    for mf in facts.values():  # collect errors are caught by the registry and kept here
        graph.diagnostics.extend(mf.diagnostics)
    return graph.finalize()
