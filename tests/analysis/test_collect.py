"""The one-pass collector: line numbers without PositionProvider, scopes, flags."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from migrator.analysis import walk
from migrator.analysis.collect import Collector, collect
from migrator.analysis.facts import ModuleFacts
from migrator.analysis.parse import WorkItem, analyse_source


def facts_of(source: str, module: str = "pkg.mod", is_package: bool = False) -> ModuleFacts:
    tree = cst.parse_module(textwrap.dedent(source))
    return Collector(ModuleFacts(module, "pkg/mod.py", is_package, 0, "")).run(tree)


def _corpus() -> list[Path]:
    root = Path(cst.__file__).parent
    files = sorted(root.rglob("*.py"), key=lambda p: (p.stat().st_size, p.name))
    # big files (decorators, multi-line strings, continuations) that stay quick to check
    return [p for p in files if 20_000 < p.stat().st_size < 60_000][-8:]


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.name)
def test_lines_match_libcst_positions(path):
    source = path.read_text()
    tree = cst.parse_module(source)
    positions = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(PositionProvider)
    facts = Collector(ModuleFacts("libcst.x", str(path), False, 0, "")).run(tree)
    spans = {s.name: (s.line, s.end_line) for s in facts.symbols}
    expected_imports = set()
    for stmt in tree.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            start = (
                positions[stmt.decorators[0]].start.line
                if stmt.decorators
                else positions[stmt].start.line
            )
            assert spans[stmt.name.value][0] <= start
            assert spans[stmt.name.value][1] == positions[stmt].end.line
    for node, _ in walk.nodes(tree):
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            expected_imports.add(positions[node].start.line)
    assert {i.line for i in facts.imports} <= expected_imports


def test_line_of_is_available_to_plugins():
    source = "import os\n\n\n@decorator\ndef f(\n    a,\n):\n    return '''\n\n'''\nx = \\\n  1\n"
    tree = cst.parse_module(source)
    ctx = collect(tree, ModuleFacts("m", "m.py", False, 0, ""))
    positions = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(PositionProvider)
    checked = [
        node
        for node in positions
        if isinstance(node, (cst.Name, cst.SimpleString, cst.SimpleStatementLine, cst.Integer))
    ]
    assert len(checked) == 10  # os, decorator, f, a, the string, x, 1, three statement lines
    for node in checked:
        assert ctx.line_of(node) == positions[node].start.line, node
    other = collect(cst.parse_module(source), ModuleFacts("m", "m.py", False, 0, ""))
    assert other.line_of(checked[0]) == 0  # each context knows the nodes of its own tree only


@pytest.mark.parametrize("path", _corpus()[:4], ids=lambda p: p.name)
def test_plugins_get_the_collectors_node_list_as_walk_would_make_it(path):
    """The plug-ins' ``walk.nodes`` of the analysed module is the list the collector made in
    its own pass; on any other tree it is walked. Both must be the same list."""
    tree = cst.parse_module(path.read_text())
    walked = [(id(n), id(s)) for n, s in walk.nodes(tree)]
    ctx = collect(tree, ModuleFacts("m", "m.py", False, 0, ""))
    from_collector = walk.nodes(tree, ctx=ctx)
    assert from_collector is ctx.walked and len(walked) > 1000
    assert [(id(n), id(s)) for n, s in from_collector] == walked
    functions = {id(n) for n, _ in from_collector if isinstance(n, cst.FunctionDef)}
    assert {s for _, s in walked} - {id(None)} <= functions | {
        id(n) for n, _ in from_collector if isinstance(n, cst.Lambda)
    }
    assert not any(
        isinstance(n, (cst.Comma, cst.Name, cst.SimpleWhitespace)) for n, _ in from_collector
    )


def test_symbol_spans_include_decorators_and_variables():
    facts = facts_of("""
        import functools


        @functools.lru_cache()
        def cached(x):
            return x


        TABLE = {
            "a": cached,
        }
        a, b = 1, 2
        __all__ = ["cached", "TABLE"]
    """)
    spans = {s.name: (s.kind, s.line, s.end_line) for s in facts.symbols}
    assert spans["cached"] == ("function", 5, 7)
    assert spans["TABLE"] == ("variable", 10, 12)
    assert spans["a"][0] == spans["b"][0] == "variable"
    assert "__all__" not in spans and facts.exports == ["cached", "TABLE"]
    cached = next(s for s in facts.symbols if s.name == "cached")
    assert cached.decorators == ["functools.lru_cache"]
    assert [(u.name, u.context) for u in cached.uses] == [("functools.lru_cache", "decorator")]


def test_scopes_drop_locals_but_keep_globals_and_closures():
    facts = facts_of("""
        from pkg import models, helper


        def f(models):
            helper()
            x = models.Product
            def inner():
                return helper, x
            return [y for y in models]


        def g():
            global models
            models = None
            return models.Product


        class C:
            helper = 1
            value = helper

            def m(self):
                return helper
    """)
    uses = {s.name: sorted({u.name for u in s.uses}) for s in facts.symbols}
    assert uses["f"] == ["helper"]
    assert uses["g"] == ["models.Product"]
    assert uses["C"] == ["helper"]  # from the method; the class attribute use is local


def test_import_flags():
    facts = facts_of(
        """
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from . import a
        try:
            from .b import B
        except ImportError:
            B = None
        def f():
            import pkg.c as c
            return c
    """,
        module="pkg.mod",
    )
    flags = {(i.module, i.name): (i.type_only, i.guarded, i.lazy, i.owner) for i in facts.imports}
    assert flags[("pkg", "a")] == (True, False, False, None)
    assert flags[("pkg.b", "B")] == (False, True, False, None)
    assert flags[("pkg.c", None)] == (False, False, True, "f")
    assert "B" not in {s.name for s in facts.symbols}  # the fallback binding is the import


def test_relative_imports_in_a_package_init():
    facts = facts_of(
        "from . import x\nfrom .y import z\nfrom .. import up\n", module="pkg.sub", is_package=True
    )
    assert [(i.module, i.name) for i in facts.imports] == [
        ("pkg.sub", "x"),
        ("pkg.sub.y", "z"),
        ("pkg", "up"),
    ]


def test_worker_returns_facts_never_trees():
    facts = analyse_source(WorkItem("m.py", "m", False, "sha", b"import os\n", True))
    import pickle

    data = pickle.dumps(facts)
    assert b"libcst" not in data
    assert facts.imports[0].module == "os"


def test_relative_dynamic_imports_anchor_like_importlib():
    facts = facts_of(
        """
        import importlib
        a = importlib.import_module(".x", package=__package__)
        b = importlib.import_module(".y", __name__)
        c = importlib.import_module("..z", "pkg.sub")
        d = importlib.import_module(name)
    """,
        module="pkg.sub.mod",
    )
    assert [(r.value, r.kind) for r in facts.dynamic if r.kind != "string_ref"] == [
        ("pkg.sub.x", "import_module"),
        ("pkg.sub.mod.y", "import_module"),
        ("pkg.z", "import_module"),
    ]


def test_nothing_keeps_the_walked_tree_after_the_file() -> None:
    """The walking state lives in the ``WalkContext`` the collector returns, not in module
    globals, and nothing else holds the tree once the file's facts are made: reference counting
    frees it (parser processes run the cyclic garbage collector only once per batch)."""
    import sys

    from migrator.analysis import frameworks

    source = (
        "from flask import Flask\napp = Flask(__name__)\n\n\n@app.route('/')\ndef f():\n    pass\n"
    )
    tree = cst.parse_module(source)
    before = sys.getrefcount(tree)
    facts = ModuleFacts("m", "m.py", False, 0, "")
    frameworks.collect_all(collect(tree, facts), source, facts)
    assert facts.framework  # the plug-ins ran on it
    assert sys.getrefcount(tree) == before
