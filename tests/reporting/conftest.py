"""A small hand-built shop: source files on disk and the DependencyGraph the analyser would
produce for them, so the reporting stage is tested without depending on the analyser."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from migrator.graph import DependencyGraph, Table
from migrator.plan import plan_from_dict

SOURCES = {
    "shop/__init__.py": "",
    "shop/config.py": "DEBUG = False\n",
    "shop/catalog/__init__.py": "",
    "shop/catalog/models.py": """\
        from shop import config


        class Product:
            debug = config.DEBUG
        """,
    "shop/catalog/api.py": """\
        from shop.catalog.models import Product


        def get_product(pid):
            return Product()
        """,
    "shop/inventory/__init__.py": "",
    "shop/inventory/models.py": """\
        class Stock:
            pass
        """,
    "shop/inventory/service.py": """\
        from shop.inventory.models import Stock
        from shop.checkout import service as checkout_service


        def reserve(pid):
            checkout_service.checkout
            return Stock()
        """,
    "shop/checkout/__init__.py": "",
    "shop/checkout/service.py": """\
        from shop.catalog.api import get_product
        from shop.inventory.models import Stock
        from shop.inventory import service as inventory_service


        def checkout(pid):
            get_product(pid)
            Stock()
            inventory_service.reserve(pid)
        """,
}

PLAN = {
    "version": 1,
    "services": {
        "catalog": {
            "modules": ["shop.catalog"],
            "interface": ["shop.catalog.api:get_product"],
            "tables": ["product"],
        },
        "inventory": {
            "modules": ["shop.inventory"],
            "interface": ["shop.inventory.service:reserve"],
            "tables": ["stock"],
        },
        "checkout": {"modules": ["shop.checkout"], "depends_on": ["catalog", "inventory"]},
    },
    "shared_kernel": {"modules": ["shop.config"]},
}


def write_tree(root: Path, sources: dict[str, str] = SOURCES) -> Path:
    for rel, text in sources.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def line_of(root: Path, rel: str, needle: str) -> int:
    for i, line in enumerate((root / rel).read_text().splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {rel}")


def build_graph(root: Path) -> DependencyGraph:
    """The graph of the tree at ``root`` (evidence lines looked up in the files themselves, so
    moving code around moves the evidence, as it would with the analyser)."""
    g = DependencyGraph(root=str(root))
    for rel in SOURCES:
        mod = rel[:-3].replace("/", ".").removesuffix(".__init__")
        g.add_node(mod, "module", file=rel, line=1, end_line=10)

    def sym(node: str, kind: str, rel: str, needle: str) -> None:
        g.add_node(node, kind, file=rel, line=line_of(root, rel, needle), end_line=0)

    sym("shop.config:DEBUG", "variable", "shop/config.py", "DEBUG")
    sym("shop.catalog.models:Product", "class", "shop/catalog/models.py", "class Product")
    sym("shop.catalog.api:get_product", "function", "shop/catalog/api.py", "def get_product")
    sym("shop.inventory.models:Stock", "class", "shop/inventory/models.py", "class Stock")
    sym("shop.inventory.service:reserve", "function", "shop/inventory/service.py", "def reserve")
    sym("shop.checkout.service:checkout", "function", "shop/checkout/service.py", "def checkout")

    def edge(s: str, t: str, kind: str, rel: str, needle: str) -> None:
        g.add_edge(s, t, kind, evidence=[f"{rel}:{line_of(root, rel, needle)}"])

    cm, ca = "shop/catalog/models.py", "shop/catalog/api.py"
    iv, ck = "shop/inventory/service.py", "shop/checkout/service.py"
    edge("shop.catalog.models", "shop.config", "import", cm, "from shop import config")
    edge("shop.catalog.models:Product", "shop.config:DEBUG", "reference", cm, "config.DEBUG")
    edge("shop.catalog.api", "shop.catalog.models", "import", ca, "import Product")
    edge(
        "shop.catalog.api:get_product",
        "shop.catalog.models:Product",
        "reference",
        ca,
        "return Product",
    )
    edge("shop.inventory.service", "shop.inventory.models", "import", iv, "import Stock")
    edge(
        "shop.inventory.service",
        "shop.checkout.service",
        "import",
        iv,
        "import service as checkout_service",
    )
    edge(
        "shop.inventory.service:reserve",
        "shop.checkout.service:checkout",
        "reference",
        iv,
        "checkout_service.checkout",
    )
    edge(
        "shop.inventory.service:reserve",
        "shop.inventory.models:Stock",
        "reference",
        iv,
        "return Stock",
    )
    edge("shop.checkout.service", "shop.catalog.api", "import", ck, "import get_product")
    edge("shop.checkout.service", "shop.inventory.models", "import", ck, "import Stock")
    edge(
        "shop.checkout.service",
        "shop.inventory.service",
        "import",
        ck,
        "import service as inventory_service",
    )
    edge(
        "shop.checkout.service:checkout",
        "shop.catalog.api:get_product",
        "reference",
        ck,
        "get_product(pid)",
    )
    edge(
        "shop.checkout.service:checkout", "shop.inventory.models:Stock", "reference", ck, "Stock()"
    )
    edge(
        "shop.checkout.service:checkout",
        "shop.inventory.service:reserve",
        "reference",
        ck,
        "inventory_service.reserve",
    )
    g.tables["stock"] = Table(
        name="stock",
        model="shop.inventory.models:Stock",
        file="shop/inventory/models.py",
        line=1,
        readers=["shop.checkout.service:checkout"],
        writers=["shop.inventory.service:reserve"],
    )
    g.tables["product"] = Table(
        name="product",
        model="shop.catalog.models:Product",
        file="shop/catalog/models.py",
        line=4,
        readers=["shop.catalog.api:get_product"],
    )
    return g.finalize()


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "src")


@pytest.fixture
def graph(shop: Path) -> DependencyGraph:
    return build_graph(shop)


@pytest.fixture
def plan():
    return plan_from_dict(PLAN)
