"""A corpus of nasty real-world inputs, generated at test time: each gives a graph or a
diagnostic naming file and line, and the rest of the tree is still analysed."""

from __future__ import annotations

import ctypes
import faulthandler
import importlib
import os
import sys
from pathlib import Path

import pytest

import migrator.analysis

from .conftest import diags, run, run_cli, write_tree

BASE = {
    "pkg/__init__.py": "",
    "pkg/good.py": "import pkg.other\n\ndef use():\n    return pkg.other.X\n",
    "pkg/other.py": "X = 1\n",
}


def _baseline_ok(graph) -> None:
    """The well-formed part of every corpus tree is analysed whatever else is in it."""
    assert graph.g.has_edge("pkg.good", "pkg.other", key="import")
    assert graph.g.has_edge("pkg.good:use", "pkg.other:X", key="reference")


NASTY = {
    # nesting: libcst's native parser segfaulted the whole process on 2,000 brackets (found by
    # this corpus); CPython refuses more than 199, so these are syntax errors with a line
    "pkg/parens.py": "x = 1\ny = " + "(" * 2_000 + "1" + ")" * 2_000 + "\n",
    "pkg/brackets.py": "x = " + "[" * 30_000 + "]" * 30_000 + "\n",
    "pkg/dicts.py": "x = " + "{1: " * 5_000 + "1" + "}" * 5_000 + "\n",
    # deep but legal: 10,000 ``and`` terms crashed libcst with the default 8 MB stack; libcst
    # needs 60 s for 5,000 attributes (``a.b.b...``: see the time limit test), 0.1 s for 300
    "pkg/elifs.py": "def f(a):\n    if a == 0:\n        pass\n"
    + "".join(f"    elif a == {i}:\n        pass\n" for i in range(1, 4_000)),
    "pkg/booleans.py": "x = " + " and ".join(["a"] * 10_000) + "\n",
    "pkg/attrs.py": "x = a" + ".b" * 300 + "\n",
    "pkg/legal_parens.py": "x = " + "(" * 150 + "1" + ")" * 150 + "\n",
    # size and shape
    "pkg/classes.py": "".join(f"class C{i}:\n    pass\n" for i in range(10_000)),
    "pkg/longline.py": "import pkg.other\nS = '" + "a" * 1_500_000 + "'\nT = pkg.other.X\n",
    "pkg/widelist.py": "L = [" + ", ".join(f"n{i}" for i in range(20_000)) + "]\n",
    # whitespace
    "pkg/tabs.py": "def f():\n\tif 1:\n\t\treturn 1\n\ndef g():\n    return 2\n",
    "pkg/taberror.py": "if 1:\n\tx = 1\n        y = 2\n",
    "pkg/formfeed.py": "\x0cimport os\n\x0c\ndef f():\n    return os.sep\n\x0c\nclass K:\n    pass\n",
    "pkg/cr.py": "import pkg.other\rdef f():\r    return pkg.other.X\r",
    "pkg/crlf.py": "import pkg.other\r\ndef f():\r\n    return pkg.other.X\r\n",
    "pkg/mixed_eol.py": "import pkg.other\r\ndef f():\r    return 1\ndef g():\n    return 2\r\n",
    # encodings
    "pkg/bom.py": b"\xef\xbb\xbfimport pkg.other\ndef f():\n    return pkg.other.X\n",
    "pkg/latin1.py": b"# -*- coding: latin-1 -*-\nNAME = '\xe9t\xe9'\ndef caf\xe9():\n    pass\n",
    "pkg/bom_latin1.py": b"\xef\xbb\xbf# coding: latin-1\nx = 1\n",
    "pkg/bad_cookie.py": b"# coding: klingon\nx = 1\n",
    "pkg/utf16.py": "x = 1\n".encode("utf-16"),
    "pkg/undecodable.py": b"x = '\xff\xfe\xfa'\n",
    # not Python at all
    "pkg/page.py": "<!DOCTYPE html>\n<html><body><p>hi</p></body></html>\n",
    "pkg/data.py": '{"a": [1, 2, {"b": null}],\n "c": true}\n',
    "pkg/image.py": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
    "pkg/py2.py": "print 'hello'\n",
    "pkg/empty.py": "",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = write_tree(tmp_path_factory.mktemp("corpus") / "proj", {**BASE, **NASTY})
    return root, run(root, jobs=2)


def test_the_rest_of_the_tree_is_analysed(corpus) -> None:
    _, graph = corpus
    _baseline_ok(graph)
    for rel in NASTY:
        assert rel[:-3].replace("/", ".") in graph.g, rel  # every file is at least a module


@pytest.mark.parametrize("rel", ["pkg/parens.py", "pkg/brackets.py", "pkg/dicts.py"])
def test_nesting_deeper_than_python_allows_is_a_syntax_error(corpus, rel) -> None:
    _, graph = corpus
    found = [d for d in graph.diagnostics if d.file == rel]
    assert [(d.code, d.severity) for d in found] == [("syntax-error", "error")]
    assert "nested" in found[0].message
    assert found[0].line == (2 if rel == "pkg/parens.py" else 1)


def test_deep_but_legal_code_is_analysed_or_diagnosed(corpus) -> None:
    _, graph = corpus
    assert "pkg.elifs:f" in graph.g or diags(graph, "pkg/elifs.py")
    assert "pkg.legal_parens:x" in graph.g
    assert not diags(graph, "pkg/legal_parens.py")
    for rel in ("pkg/booleans.py", "pkg/attrs.py", "pkg/elifs.py"):
        assert all(code in ("parse-error", "time-limit") for _, _, code in diags(graph, rel))


def test_size_and_shape(corpus) -> None:
    _, graph = corpus
    classes = [n for n in graph.symbols("pkg.classes")]
    assert len(classes) == 10_000
    assert graph.g.nodes["pkg.classes:C9999"]["line"] == 19_999
    assert graph.g.has_edge("pkg.longline:T", "pkg.other:X", key="reference")
    assert graph.g.has_edge("pkg.longline", "pkg.other", key="import")
    assert "pkg.widelist:L" in graph.g
    for rel in ("pkg/classes.py", "pkg/longline.py", "pkg/widelist.py"):
        assert not diags(graph, rel)


def test_whitespace_and_line_endings(corpus) -> None:
    _, graph = corpus
    assert {"pkg.tabs:f", "pkg.tabs:g"} <= set(graph.g)
    tab = diags(graph, "pkg/taberror.py")  # inconsistent tabs: CPython's TabError
    assert tab == [] or tab[0][2] == "syntax-error"
    assert "pkg.formfeed:f" in graph.g and graph.g.nodes["pkg.formfeed:K"]["line"] == 6
    assert [e.module for e in graph.externals["pkg.formfeed"]] == ["os"]
    for mod in ("pkg.cr", "pkg.crlf"):
        assert graph.g.has_edge(mod, "pkg.other", key="import"), mod
        assert graph.g.has_edge(f"{mod}:f", "pkg.other:X", key="reference"), mod
        assert graph.g.nodes[f"{mod}:f"]["line"] == 2
        assert graph.g.nodes[mod]["end_line"] == 3  # a lone \r ends a line too
    assert graph.g.nodes["pkg.mixed_eol:g"]["line"] == 4
    assert graph.g.nodes["pkg.mixed_eol"]["end_line"] == 5


def test_encodings(corpus) -> None:
    _, graph = corpus
    assert graph.g.has_edge("pkg.bom", "pkg.other", key="import")
    assert graph.g.has_edge("pkg.bom:f", "pkg.other:X", key="reference")
    assert "pkg.latin1:café" in graph.g and "pkg.latin1:NAME" in graph.g
    assert not diags(graph, "pkg/latin1.py")
    for rel in ("pkg/bom_latin1.py", "pkg/bad_cookie.py", "pkg/utf16.py", "pkg/undecodable.py"):
        found = diags(graph, rel)
        assert len(found) == 1 and found[0][2] in ("decode-error", "nul-byte"), (rel, found)


def test_files_that_are_not_python(corpus) -> None:
    _, graph = corpus
    for rel, code in [
        ("pkg/page.py", "syntax-error"),
        ("pkg/data.py", None),
        ("pkg/image.py", "nul-byte"),
        ("pkg/py2.py", "syntax-error"),
    ]:
        found = diags(graph, rel)
        if code is None:  # a JSON object happens to be a valid Python expression
            continue
        assert [c for _, _, c in found] == [code], (rel, found)
        assert found[0][1] >= 1
    py2 = next(d for d in graph.diagnostics if d.file == "pkg/py2.py")
    assert "Python 2" in py2.message


def test_diagnostics_also_reach_stderr_with_exit_0(tmp_path) -> None:
    root = write_tree(
        tmp_path / "proj",
        {**BASE, "pkg/parens.py": NASTY["pkg/parens.py"], "pkg/page.py": NASTY["pkg/page.py"]},
    )
    done = run_cli("analyze", str(root), "--no-cache", "-f", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "pkg/parens.py:2: syntax-error:" in done.stderr
    assert "pkg/page.py:" in done.stderr and ": syntax-error: " in done.stderr
    strict = run_cli("analyze", str(root), "--no-cache", "--strict", cwd=tmp_path)
    assert strict.returncode == 1


# -- pathological parse time, a crashing parser -----------------------------------------------


def test_per_file_time_limit(tree) -> None:
    """A valid 6,000-term sum keeps libcst busy for minutes (holding the GIL): the worker is
    killed at the limit, the file gets a diagnostic and the others are analysed."""
    root = tree({**BASE, "pkg/sum.py": "x = " + " + ".join(["1"] * 6_000) + "\n"})
    graph = run(root, time_limit=1.5)
    assert diags(graph, "pkg/sum.py") == [("pkg/sum.py", 1, "time-limit")]
    _baseline_ok(graph)
    done = run_cli(
        "analyze",
        str(root),
        "--file-time-limit",
        "1",
        "-f",
        "json",
        "--cache-dir",
        str(root.parent / "cache"),
    )
    assert done.returncode == 0 and "pkg/sum.py:1: time-limit: " in done.stderr
    assert not list((root.parent / "cache").rglob("*.pack"))[0].read_bytes().count(b"time-limit")


def test_a_parser_crash_costs_one_file(tree, monkeypatch) -> None:
    """A worker that dies (here: SIGSEGV, as libcst does on some inputs) loses only the file it
    was parsing; a fresh worker analyses the rest of its batch."""
    module = importlib.import_module("migrator.analysis.parse")  # what the worker imports
    real = module.analyse_source

    def crashing(item):
        if b"BOOM" in item[4]:
            faulthandler.disable()  # the crash is expected: no traceback dump
            ctypes.string_at(0)  # a real, synchronous SIGSEGV in the parsing thread
        return real(item)

    monkeypatch.setattr(module, "analyse_source", crashing)
    files = {**BASE, "pkg/boom.py": "BOOM = 1\n"}
    files.update({f"pkg/m{i}.py": f"import pkg.other\nY{i} = pkg.other.X\n" for i in range(20)})
    root = tree(files)
    graph = run(root, jobs=2)
    found = [d for d in graph.diagnostics if d.file == "pkg/boom.py"]
    assert [(d.code, d.line) for d in found] == [("parser-crash", 1)]
    assert "SIGSEGV" in found[0].message
    _baseline_ok(graph)
    for i in range(20):
        assert graph.g.has_edge(f"pkg.m{i}:Y{i}", "pkg.other:X", key="reference")


# -- import structure ---------------------------------------------------------------------------


def test_circular_reexports_terminate(tree) -> None:
    root = tree(
        {
            "a/__init__.py": "from b import Thing\nfrom a.impl import Other\n",
            "a/impl.py": "from b import Thing as Other\n",
            "b/__init__.py": "from a import Thing\nfrom c import *\n",
            "c/__init__.py": "from b import *\nfrom c import Thing\n__all__ = ['Thing']\n",
            "d/__init__.py": "from d import x\nfrom . import x as y\n",
            "user.py": "from a import Thing, Other\nfrom c import Thing as T2\nimport d\n"
            "def f():\n    return Thing, Other, T2, d.y\n",
        }
    )
    graph = run(root)
    assert {"a", "b", "c", "d", "user", "user:f"} <= set(graph.g)
    assert graph.g.has_edge("user", "a", key="import")


def test_local_packages_shadowing_the_standard_library(tree) -> None:
    root = tree(
        {
            "json/__init__.py": "def loads(text):\n    return text\n",
            "logging.py": "def getLogger(name):\n    return name\n",
            "app.py": "import json\nimport logging\nimport os\n"
            "def handler(body):\n    return json.loads(logging.getLogger(body))\n",
        }
    )
    graph = run(root)
    assert graph.g.has_edge("app", "json", key="import")
    assert graph.g.has_edge("app", "logging", key="import")
    assert graph.g.has_edge("app:handler", "json:loads", key="reference")
    assert [e.module for e in graph.externals.get("app", [])] == ["os"]


# -- the file system moving under our feet ------------------------------------------------------


def _outside(tmp_path: Path) -> Path:
    out = write_tree(
        tmp_path / "elsewhere",
        {
            "secret.py": "PASSWORD = 'hunter2'\nimport paramiko\n",
            "secretpkg/__init__.py": "import boto3\n",
        },
    )
    return out


def test_symlinks_out_of_the_tree_are_not_followed(tree, tmp_path) -> None:
    outside = _outside(tmp_path)
    root = tree(dict(BASE))
    os.symlink(outside / "secret.py", root / "pkg" / "secret.py")
    os.symlink(outside / "secretpkg", root / "pkg" / "secretpkg")
    os.symlink(root / "pkg" / "other.py", root / "pkg" / "alias.py")  # inside: followed
    graph = run(root)
    assert "pkg.secret" not in graph.g and "pkg.secretpkg" not in graph.g
    assert "pkg.alias:X" in graph.g
    outside_diags = [
        (d.file, d.code, d.severity) for d in graph.diagnostics if d.code == "symlink-outside"
    ]
    assert outside_diags == [
        ("pkg/secret.py", "symlink-outside", "info"),
        ("pkg/secretpkg", "symlink-outside", "info"),
    ]
    externals = {e.module for ext in graph.externals.values() for e in ext}
    assert not externals & {"paramiko", "boto3"}
    followed = run(root, follow_symlinks=True)
    assert {"pkg.secret:PASSWORD", "pkg.secretpkg"} <= set(followed.g)
    done = run_cli(
        "analyze", str(root), "--no-cache", "--follow-symlinks", "-f", "json", cwd=tmp_path
    )
    assert done.returncode == 0 and '"pkg.secret:PASSWORD"' in done.stdout
    done = run_cli("analyze", str(root), "--no-cache", "-f", "json", cwd=tmp_path)
    assert done.returncode == 0 and "hunter2" not in done.stdout and "PASSWORD" not in done.stdout


def test_files_disappearing_between_discovery_and_read(tree, monkeypatch) -> None:
    files = {**BASE, **{f"pkg/m{i}.py": "import pkg.other\n" for i in range(5)}}
    root = tree(files)
    real = migrator.analysis.discover

    def racing(*args, **kwargs):
        found = real(*args, **kwargs)
        (root / "pkg" / "m2.py").unlink()  # deleted after the directory walk, before the read
        return found

    monkeypatch.setattr(migrator.analysis, "discover", racing)
    graph = run(root)
    assert diags(graph, "pkg/m2.py") == [("pkg/m2.py", 1, "unreadable")]
    assert graph.g.has_edge("pkg.m3", "pkg.other", key="import")
    _baseline_ok(graph)


def test_files_disappearing_during_the_walk(tree, monkeypatch) -> None:
    disc_mod = sys.modules["migrator.analysis.discover"]  # the package rebinds ``discover``

    root = tree(
        {**BASE, "pkg/gone.py": "x = 1\n", "pkg/sub/__init__.py": "", "pkg/sub/leaf.py": "y = 2\n"}
    )
    real_add = disc_mod._Walker.add_file
    real_scandir = os.scandir

    def add_file(self, path):
        if path.name == "gone.py":
            path.unlink()  # listed by scandir, gone before stat
        return real_add(self, path)

    def scandir(path=".", *a):
        if str(path).endswith("sub"):
            raise FileNotFoundError(2, "No such file or directory")
        return real_scandir(path, *a)

    monkeypatch.setattr(disc_mod._Walker, "add_file", add_file)
    monkeypatch.setattr(disc_mod.os, "scandir", scandir)
    graph = run(root)
    assert ("pkg/gone.py", 1, "unreadable") in diags(graph)
    assert any(f == "pkg/sub" and c == "unreadable" for f, _, c in diags(graph))
    _baseline_ok(graph)
