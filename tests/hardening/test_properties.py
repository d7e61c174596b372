"""Property-based tests of the analyser (hypothesis + hypothesmith).

For any valid module, the graph has the module's node; for any bytes, the analyser returns
facts with diagnostics instead of raising. Example counts are modest and the runs derandomized,
so the suite stays fast and CI reproducible; shrunk failures are kept below as explicit cases.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from migrator.analysis import isolate, parse

from .conftest import run

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
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
    item = parse.WorkItem(*ITEM, data, True)
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


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
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


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
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
@pytest.mark.parametrize(
    "data",
    [
        b"# -*- coding: latin-1 -*-\n\xef\xbb\xbf",
        b"\xef\xbb\xbf\xef\xbb\xbf",
        b"x = '\\N{NO SUCH NAME}'\n",
        b"f'{'\n",
        b"\t \x0c\n",
    ],
)
def test_shrunk_regressions(data: bytes) -> None:
    facts = _worker_facts(data)
    assert facts.module == "pkg.mod"


# -- plan and baseline files: any bytes, any shape, any kind of file --------------------------

SECRET = "NOT-FOR-THE-LOG-93ab"
_KEYS = st.sampled_from(
    [
        "schema",
        "version",
        "level",
        "components",
        "edges",
        "cycles",
        "cycle_groups",
        "instability",
        "services",
        "shared_kernel",
        "modules",
        "symbols",
        "routes",
        "tables",
        "depends_on",
        "meta",
        "metrics",
        "cart",
    ]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_KEYS | st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=20,
)
_BASE = {"schema": "migrator.baseline", "version": 1, "services": {"cart": {}}}


def _document(draw_kind: str, blob: bytes, shape: object) -> bytes:
    if draw_kind == "bytes":
        return blob
    if isinstance(shape, dict):  # past the first checks, into the structure validation
        shape = {**_BASE, "level": "service", **shape}
    import json

    return json.dumps(shape).encode()


@SETTINGS
@given(
    st.sampled_from(["bytes", "json", "fifo", "dev-zero", "link-out", "directory"]),
    st.binary(max_size=2000),
    _JSON,
)
@example("json", b"", {"components": {"cart": 5}})
@example("json", b"", {"edges": [["a", "b"]], "components": {}, "cycles": []})
@example("bytes", b"[" * 5000, None)
@example("bytes", b"a: &x [*x, *x]\nb: &y [*x, *x]\n", None)
def test_any_plan_or_baseline_file_is_an_error_naming_it(
    kind: str, blob: bytes, shape: object
) -> None:
    """Whatever the file holds or is, loading it returns data or raises the one error that
    names it; a FIFO, /dev/zero or a link out of the folder is never read."""
    import os

    from migrator.plan import PlanError, load_plan
    from migrator.reporting.baseline import BaselineError, compare, load_baseline

    with tempfile.TemporaryDirectory() as tmp:
        secret = Path(tmp) / "secret"
        secret.write_text(f"version: 1\nservices: {{{SECRET}: {{}}}}\n")
        path = Path(tmp) / "input"
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "dev-zero":
            path.symlink_to("/dev/zero")
        elif kind == "link-out":
            path.symlink_to(secret)
        elif kind == "directory":
            path.mkdir()
        else:
            path.write_bytes(_document(kind, blob, shape))
        for load, error in ((load_plan, PlanError), (load_baseline, BaselineError)):
            try:
                data = load(path)
            except error as exc:
                text = str(exc)
                assert SECRET not in text
                assert all(line.startswith(str(path)) for line in text.splitlines()), text
                continue
            assert kind in ("bytes", "json")
            if load is load_baseline:  # a baseline that loads can be compared with
                try:
                    compare(_report(), data)
                except BaselineError as exc:
                    assert "level" in str(exc)


@functools.cache
def _report():  # noqa: ANN202 - a real report of a small plan, at level "service"
    from migrator.reporting import report

    from .test_io_safety import small_graph, small_plan

    return report(small_graph(), small_plan(), metrics=False)
