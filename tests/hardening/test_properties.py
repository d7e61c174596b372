"""Property-based tests of the analyser (hypothesis + hypothesmith).

For any valid module, the graph has the module's node; for any bytes, the analyser returns
facts with diagnostics instead of raising. Example counts are modest and the runs derandomized,
so the suite stays fast and CI reproducible; shrunk failures are kept below as explicit cases.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from migrator.analysis import isolate, parse

from .conftest import run

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])
ITEM = ("pkg/mod.py", "pkg.mod", False, "0" * 64)


def _analyse_text(source: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "proj"
        (root / "pkg").mkdir(parents=True)
        (root / "pkg" / "__init__.py").write_bytes(b"")
        (root / "pkg" / "mod.py").write_bytes(source)
        return run(root)


def _worker_facts(data: bytes):
    """What one worker computes for one file, in-process (the worker loop's own steps)."""
    item = (*ITEM, data, True)
    return isolate.too_deep(item) or parse.analyse_source(item)


def _check_module_graph(graph) -> None:
    assert "pkg.mod" in graph.g
    assert graph.g.nodes["pkg.mod"]["kind"] == "module"
    for d in graph.diagnostics:  # libcst may lag CPython's grammar: then a diagnostic, no crash
        assert d.file == "pkg/mod.py" and d.line >= 1 and d.message


@settings(SETTINGS, max_examples=30)  # generating from the grammar is the slow part
@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@given(hypothesmith.from_grammar())
@example("x = 1\n")
@example("import pkg\n")
@example("from . import mod\n")  # a module importing itself through its package
@example("class A(A): pass\n")
@example("\\\n")
def test_any_valid_module_becomes_a_node(source: str) -> None:
    """Worker facts joined by the resolver, in-process (many examples, fast)."""
    from migrator.analysis.resolve import build_graph

    package = _worker_facts(b"")
    package.module, package.file, package.is_package = "pkg", "pkg/__init__.py", True
    facts = {"pkg": package, "pkg.mod": _worker_facts(source.encode("utf-8"))}
    graph, _ = build_graph(facts, root="/nonexistent")
    _check_module_graph(graph.finalize())


@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@given(hypothesmith.from_grammar())
def test_any_valid_module_through_the_whole_analyser(source: str) -> None:
    _check_module_graph(_analyse_text(source.encode("utf-8")))


@SETTINGS
@given(st.binary(max_size=2000))
@example(b"\x00")
@example(b"\xff\xfe")
@example(b"\xef\xbb\xbf# coding: latin-1\n")  # BOM contradicting the coding cookie
@example(b"# coding: no-such-codec\nx = 1\n")
@example(b"# coding: utf-16\nx = 1\n")
@example(b"\r")
@example(b"\x0c")
@example(b"(" * 300)
@example(b"(" * 250 + b"\x00")
def test_any_bytes_give_facts_or_a_diagnostic(data: bytes) -> None:
    facts = _worker_facts(data)
    assert facts.module == "pkg.mod"
    for d in facts.diagnostics:
        assert d.file == "pkg/mod.py" and d.line >= 1 and "\n" not in d.code


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=4))
def test_any_bytes_through_the_whole_analyser(blobs: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "proj"
        (root / "pkg").mkdir(parents=True)
        (root / "pkg" / "__init__.py").write_bytes(b"")
        for i, blob in enumerate(blobs):
            (root / "pkg" / f"m{i}.py").write_bytes(blob)
        graph = run(root, jobs=2)
    for i in range(len(blobs)):
        assert f"pkg.m{i}" in graph.g
    assert all(d.line >= 0 for d in graph.diagnostics)


# regression cases found by the properties above (kept explicit so they run on every commit)
@pytest.mark.parametrize("data", [
    b"# -*- coding: latin-1 -*-\n\xef\xbb\xbf",
    b"\xef\xbb\xbf\xef\xbb\xbf",
    b"x = '\\N{NO SUCH NAME}'\n",
    b"f'{'\n",
    b"\t \x0c\n",
])
def test_shrunk_regressions(data: bytes) -> None:
    facts = _worker_facts(data)
    assert facts.module == "pkg.mod"
