"""The framework plug-in registry: discovery, markers, and errors that never stop a run."""

from __future__ import annotations

import types

import libcst as cst

from migrator.analysis import frameworks
from migrator.analysis.collect import collect
from migrator.analysis.facts import ModuleFacts
from migrator.analysis.resolve import build_graph


class _Plugin:
    name = "fake"
    markers = ("MARK",)

    def __init__(self, fail: str = "") -> None:
        self.fail = fail
        self.collected: list[str] = []

    def collect(self, tree, module, file, ctx=None):
        if self.fail == "collect":
            raise ValueError("boom")
        assert ctx is not None and ctx.tree is tree  # the core pass's context of this tree
        self.collected.append(module)
        return {"lines": len(tree.body)}

    def resolve(self, facts, resolver, graph):
        if self.fail == "resolve":
            raise KeyError("bang")
        graph.add_edge("a", "b", "route", evidence=["a.py:1"])


def test_plugin_found_by_attribute_or_class():
    mod = types.ModuleType("m")
    mod.PLUGIN = _Plugin()
    assert frameworks._plugin_from_module(mod) is mod.PLUGIN
    mod2 = types.ModuleType("m2")

    class OnlyPlugin(_Plugin):
        pass

    OnlyPlugin.__module__ = "m2"
    mod2.OnlyPlugin = OnlyPlugin
    assert isinstance(frameworks._plugin_from_module(mod2), OnlyPlugin)
    assert frameworks._plugin_from_module(types.ModuleType("empty")) is None


def test_registry_lists_the_shipped_plugins():
    names = [p.name for p in frameworks.plugins()]
    assert names and len(names) == len(set(names))
    assert all(hasattr(p, "collect") and hasattr(p, "resolve") for p in frameworks.plugins())


def test_collect_runs_only_on_marked_files_and_errors_become_diagnostics(monkeypatch):
    good, bad = _Plugin(), _Plugin("collect")
    bad.name = "bad"
    monkeypatch.setattr(frameworks, "plugins", lambda: (good, bad))
    walked = collect(cst.parse_module("x = 1\n"), ModuleFacts("m", "m.py", False, 1, ""))
    plain = ModuleFacts("m", "m.py", False, 1, "")
    frameworks.collect_all(walked, "x = 1\n", plain)
    assert plain.framework == {} and good.collected == []
    marked = ModuleFacts("m", "m.py", False, 1, "")
    frameworks.collect_all(walked, "x = 1  # MARK\n", marked)
    assert marked.framework == {"fake": {"lines": 1}}
    assert [(d.file, d.code) for d in marked.diagnostics] == [("m.py", "plugin-error")]


def test_resolve_errors_become_diagnostics(monkeypatch):
    monkeypatch.setattr(frameworks, "plugins", lambda: (_Plugin("resolve"),))
    facts = {
        "a": ModuleFacts("a", "a.py", False, 1, ""),
        "b": ModuleFacts("b", "b.py", False, 1, ""),
    }
    graph, _ = build_graph(facts)
    assert [d.code for d in graph.diagnostics] == ["plugin-error"]
    monkeypatch.setattr(frameworks, "plugins", lambda: (_Plugin(),))
    graph, resolver = build_graph(facts)
    assert graph.g.has_edge("a", "b", key="route")
    assert resolver.owner_of_line("a", 1) == "a"
