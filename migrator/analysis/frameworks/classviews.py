"""Class-based views: the HTTP verbs each top-level class defines and its base classes.

A ``MethodView`` or Flask-RESTful ``Resource`` answers every verb method found along its bases,
and those bases often live in modules that import no web framework at all (a resource module
that only imports the project's own base resource). The framework plug-ins read only modules
that mention their framework, so this plug-in records, for every module that defines a verb
method (``def get(``, ``def post(``...), each top-level class with bases: ``{"bases":
[dotted names], "verbs": ["GET", ...]}``. It reads only the module's top-level statements and
adds nothing to the graph; the Flask plug-in walks it to find a view's verbs.
"""

from __future__ import annotations

from typing import Any, TypedDict

from migrator.analysis.facts import ModuleFacts
from migrator.analysis.frameworks import _util as u
from migrator.analysis.lazy import cst
from migrator.graph import DependencyGraph


def verbs(node: cst.ClassDef) -> list[str]:
    """The HTTP verbs a class defines: its ``methods = [...]`` attribute, else its ``get``,
    ``post``... methods."""
    declared: list[str] | None = None
    found = set()
    for stmt in node.body.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value in u.HTTP_METHODS:
            found.add(stmt.name.value.upper())
        for small in u.small_statements([stmt]):
            names, value = u.assign_targets(small)
            if "methods" in names:
                values = u.strings(value)
                declared = sorted({m.upper() for m in values}) if values else ["ANY"]
    return declared or sorted(found)


class ViewClass(TypedDict):
    bases: list[str]  # dotted names as written
    verbs: list[str]


class ClassViewsFacts(TypedDict):
    """What ``collect`` keeps of one module (version: ``ClassViewsPlugin.facts_version``)."""

    classes: dict[str, ViewClass]


class ClassViewsPlugin:
    """See the module docstring."""

    name = "classviews"
    facts_version = 1
    markers = tuple(f"def {m}(" for m in u.HTTP_METHODS[:5]) + ("methods =",)

    def collect(
        self, tree: cst.Module, module: str, file: str, ctx: u.WalkContext | None = None
    ) -> ClassViewsFacts | None:
        classes: dict[str, ViewClass] = {}
        for stmt in tree.body:
            if type(stmt) is not cst.ClassDef:
                continue
            bases = [
                b
                for b in (u.dotted(a.value) for a in stmt.bases if not a.keyword)
                if b and b != "object"
            ]
            if bases:
                classes[stmt.name.value] = {"bases": bases, "verbs": verbs(stmt)}
        return {"classes": dict(sorted(classes.items()))} if classes else None

    def resolve(self, facts: dict[str, ModuleFacts], resolver: Any, graph: DependencyGraph) -> None:
        """Nothing to add: the facts are read by the plug-ins that register views."""


def class_verbs(handler: str, facts: dict[str, ModuleFacts], resolver: Any) -> list[str] | None:
    """Every HTTP verb defined along the bases of class ``handler`` (``pkg.mod:Cls``) that
    this plug-in saw, None when none is known."""
    found: set[str] = set()
    seen = set()
    todo = [handler]
    while todo:
        node = todo.pop()
        if node in seen or ":" not in node:
            continue
        seen.add(node)
        module, _, cls = node.partition(":")
        data: ClassViewsFacts | None = (
            facts[module].framework.get(ClassViewsPlugin.name) if module in facts else None
        )
        info = data["classes"].get(cls) if data else None
        if info is None:
            continue
        found.update(info["verbs"])
        todo.extend(
            filter(None, (u.resolve_name(resolver, facts, module, b) for b in info["bases"]))
        )
    return sorted(found) or None
