"""Correctness against an independent implementation: grimp's import graph.

On real installed packages, the set of internal module-to-module import edges that migrator
finds equals the set grimp's ``build_graph`` finds. Deliberate differences, handled below:

* Directories without ``__init__.py`` inside a package (e.g. networkx's
  ``algorithms/minors/tests``, flask's ``sansio``) are namespace packages to Python, and migrator analyses them;
  grimp skips them. Modules that only migrator knows are therefore compared separately: each must
  live in such a directory, and edges touching them are left out of the comparison.
* Both count an import inside a function, under ``if TYPE_CHECKING:`` and in ``try``/``except``;
  neither counts ``importlib.import_module`` (migrator records those as ``dynamic`` edges, not
  ``import`` edges), so the ``import`` kind alone is compared.
* ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``, and
  ``import a.b.c`` is an edge to ``a.b.c`` only (not to ``a`` and ``a.b``): grimp's convention too.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from migrator.analysis import analyze

grimp = pytest.importorskip("grimp", reason="grimp is a test-only dependency (pip install grimp)")


def compare(package: str) -> None:
    mod = importlib.import_module(package)
    path = Path(mod.__file__).parent
    theirs = grimp.build_graph(package, cache_dir=None)
    their_modules = set(theirs.modules)
    their_edges = {
        (m, t) for m in their_modules for t in theirs.find_modules_directly_imported_by(m)
    }

    graph = analyze(
        path, use_cache=False, default_excludes=False, gitignore=False, plugins=False, jobs=2
    )
    our_modules = set(graph.modules())
    assert graph.diagnostics == [] or all(d.severity == "info" for d in graph.diagnostics)

    assert their_modules <= our_modules
    for extra in our_modules - their_modules:  # namespace directories inside the package
        rel = Path(graph.g.nodes[extra]["file"])
        assert not (graph.root and (Path(graph.root) / rel.parent / "__init__.py").exists()), extra
    our_edges = {
        (s, t) for s, t, _ in graph.edges("import") if s in their_modules and t in their_modules
    }
    assert sorted(our_edges - their_edges) == []
    assert sorted(their_edges - our_edges) == []
    assert len(our_edges) > 40


@pytest.mark.parametrize("package", ["click", "jinja2", "flask"])  # flask.sansio: namespace
def test_same_import_edges_as_grimp(package):
    compare(package)


@pytest.mark.slow
@pytest.mark.parametrize("package", ["networkx", "libcst", "sqlalchemy", "werkzeug"])
def test_same_import_edges_as_grimp_on_large_packages(package):
    compare(package)
