"""Name and import resolution: every construct of the issue, on one small project."""

from __future__ import annotations

import pytest

from .helpers import edge, import_edges, run

SHOP = {
    "shop/__init__.py": """
        from .models import Product
        from . import utils
    """,
    "shop/models.py": """
        class Base:
            pass


        class Product(Base):
            name = "x"

            def price(self):
                return helper()


        def helper():
            return CONST


        CONST = 1
    """,
    "shop/utils.py": """
        def fmt():
            return ""
    """,
    "shop/lazy.py": """
        def thing(*args):
            return args
    """,
    "shop/sub/__init__.py": "",
    "shop/sub/other.py": """
        import shop.models


        def g():
            return shop.models.helper()
    """,
    "shop/sub/deep/__init__.py": "",
    "shop/sub/deep/mod.py": """
        from ...models import Product as P
        from .. import other


        def f():
            return P(), other.g()
    """,
    "shop/views.py": """
        from typing import TYPE_CHECKING

        from shop import Product
        from shop import utils

        if TYPE_CHECKING:
            from shop.sub.other import g

        try:
            import simplejson as json
        except ImportError:
            import json


        def view(x: "g") -> None:
            from shop.lazy import thing
            return thing(Product, utils.fmt(), json.dumps(x))


        def shadow(Product):
            return Product


        import importlib

        plugin = importlib.import_module("shop.plugins.alpha")
        mod = __import__("shop.utils")
        relative = importlib.import_module(".lazy", package=__package__)
        TARGET = "shop.models.Product"
    """,
    "shop/plugins/__init__.py": "",
    "shop/plugins/alpha.py": "X = 1\n",
    "shop/star.py": """
        from shop.models import *


        def h():
            return helper(), Product
    """,
    "shop/aliased.py": """
        import shop.models as m
        from shop import models as mm


        def k():
            return m.Product, mm.helper
    """,
    "shop/climb.py": """
        from .... import nothing
    """,
}


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    from .helpers import write_tree

    root = write_tree(tmp_path_factory.mktemp("res"), SHOP)
    return run(root)


def test_nodes_have_file_line_span_and_size(graph):
    product = graph.g.nodes["shop.models:Product"]
    assert product["kind"] == "class"
    assert product["file"] == "shop/models.py"
    assert (product["line"], product["end_line"], product["size"]) == (5, 9, 5)
    assert graph.g.nodes["shop.models:helper"]["kind"] == "function"
    assert graph.g.nodes["shop.models:CONST"]["kind"] == "variable"
    assert graph.g.nodes["shop.models:CONST"]["line"] == 16
    module = graph.g.nodes["shop.models"]
    assert module["kind"] == "module" and module["size"] == 16
    assert graph.g.nodes["shop"]["package"] is True


def test_absolute_and_relative_imports_at_any_depth(graph):
    edges = import_edges(graph)
    assert ("shop", "shop.models") in edges
    assert ("shop.sub.deep.mod", "shop.models") in edges  # three dots
    assert ("shop.sub.other", "shop.models") in edges  # import a.b


def test_from_package_import_submodule_versus_symbol(graph):
    edges = import_edges(graph)
    assert ("shop.sub.deep.mod", "shop.sub.other") in edges  # `from .. import other`: submodule
    assert ("shop", "shop.utils") in edges
    assert ("shop.views", "shop") in edges  # `from shop import Product`: a symbol of shop
    assert ("shop.views", "shop.models") not in edges


def test_reexport_through_init_followed_to_defining_module(graph):
    data = edge(graph, "shop.views:view", "shop.models:Product", "reference")
    assert data is not None and data["evidence"] == ["shop/views.py:17"]


def test_attribute_chain_of_import_a_b_c(graph):
    assert edge(graph, "shop.sub.other:g", "shop.models:helper", "reference")


def test_aliases(graph):
    assert edge(graph, "shop.sub.deep.mod:f", "shop.models:Product", "reference")
    assert edge(graph, "shop.aliased:k", "shop.models:Product", "reference")
    assert edge(graph, "shop.aliased:k", "shop.models:helper", "reference")
    assert ("shop.aliased", "shop.models") in import_edges(graph)


def test_star_import(graph):
    assert ("shop.star", "shop.models") in import_edges(graph)
    assert edge(graph, "shop.star:h", "shop.models:helper", "reference")
    assert edge(graph, "shop.star:h", "shop.models:Product", "reference")


def test_lazy_import_inside_function(graph):
    data = edge(graph, "shop.views", "shop.lazy", "import")
    assert data["lazy"] is True and data["type_only"] is False
    ref = edge(graph, "shop.views:view", "shop.lazy:thing", "reference")
    assert ref["lazy"] is True


def test_type_checking_import_is_type_only(graph):
    data = edge(graph, "shop.views", "shop.sub.other", "import")
    assert data["type_only"] is True and data["lazy"] is False
    # the string annotation "g" resolves through the TYPE_CHECKING import
    ref = edge(graph, "shop.views:view", "shop.sub.other:g", "reference")
    assert ref["type_only"] is True


def test_try_except_fallback_imports_are_external_and_kept_out(graph):
    ext = {e.module: e for e in graph.externals["shop.views"]}
    assert ext["json"].stdlib is True and ext["json"].distribution is None
    assert ext["simplejson"].stdlib is False
    assert ext["simplejson"].distribution  # unknown distributions keep the import name
    assert ext["typing"].stdlib is True
    assert not any(t in ("json", "simplejson") for _, t in import_edges(graph))


def test_dynamic_imports(graph):
    assert edge(graph, "shop.views:plugin", "shop.plugins.alpha", "dynamic")
    assert edge(graph, "shop.views:mod", "shop.utils", "dynamic")
    assert edge(graph, "shop.views:relative", "shop.lazy", "dynamic")
    assert edge(graph, "shop.views:TARGET", "shop.models:Product", "dynamic")


def test_inheritance_and_intra_module_references(graph):
    assert edge(graph, "shop.models:Product", "shop.models:Base", "inherit")
    assert edge(graph, "shop.models:Product", "shop.models:Base", "reference")
    assert edge(graph, "shop.models:Product", "shop.models:helper", "reference")
    assert edge(graph, "shop.models:helper", "shop.models:CONST", "reference")


def test_parameters_shadow_module_names(graph):
    assert edge(graph, "shop.views:shadow", "shop.models:Product", "reference") is None


def test_relative_import_above_top_level_is_a_diagnostic(graph):
    diags = [d for d in graph.diagnostics if d.file == "shop/climb.py"]
    assert [(d.line, d.code) for d in diags] == [(1, "relative-import")]


def test_counts_and_evidence_accumulate(tree):
    root = tree(
        {
            "app/__init__.py": "",
            "app/a.py": "def f():\n    pass\n",
            "app/b.py": "from app.a import f\n\n\ndef g():\n    f()\n    f()\n    return f\n",
        }
    )
    graph = run(root)
    data = edge(graph, "app.b:g", "app.a:f", "reference")
    assert data["count"] == 3
    assert data["evidence"] == ["app/b.py:5", "app/b.py:6", "app/b.py:7"]


def test_resolver_protocol_for_plugins(tmp_path_factory):
    from migrator.analysis.discover import discover
    from migrator.analysis.parse import WorkItem, analyse_source
    from migrator.analysis.resolve import build_graph

    from .helpers import write_tree

    root = write_tree(tmp_path_factory.mktemp("proto"), SHOP)
    facts = {}
    for f in discover(root).files:
        mf = analyse_source(WorkItem(f.rel, f.module, f.is_package, "", f.path.read_bytes(), False))
        facts[mf.module] = mf
    _, resolver = build_graph(facts, run_plugins=False)
    assert resolver.resolve("shop.views", "Product") == "shop.models:Product"
    assert resolver.resolve("shop.views", "Product.name") == "shop.models:Product"
    assert resolver.resolve("shop.views", "utils.fmt") == "shop.utils:fmt"
    assert resolver.resolve("shop.sub.other", "shop.models") == "shop.models"
    assert resolver.resolve("shop.views", "json.dumps") is None
    assert resolver.external("shop.views", "json.dumps") == "simplejson.dumps"
    assert resolver.external("shop.views", "TYPE_CHECKING") == "typing.TYPE_CHECKING"
    assert resolver.external("shop.views", "Product") is None
    assert resolver.resolve("shop.views", "thing", owner="view") == "shop.lazy:thing"
    assert resolver.resolve("shop.views", "thing") is None  # lazy: only inside view()
    assert resolver.owner_of_line("shop.models", 8) == "shop.models:Product"
    assert resolver.owner_of_line("shop.models", 2) == "shop.models:Base"
    assert resolver.owner_of_line("shop.models", 4) == "shop.models"
