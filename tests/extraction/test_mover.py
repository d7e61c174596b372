"""The libcst mover: split modules, unused imports, pruning of what a service lacks."""

from __future__ import annotations

import libcst as cst

from migrator.extraction.mover import prune_imports, prune_unavailable, split_module

from .conftest import SHOP_ROOT

MODELS = (SHOP_ROOT / "shopfix" / "models.py").read_text()
ALL_MODELS = {"Product", "StockLevel", "Order", "OrderLine"}


def test_split_keeps_only_its_classes_with_docstring_comments_and_formatting() -> None:
    out = split_module(MODELS, {"Product"}, ALL_MODELS - {"Product"} | {"CURRENCY", "_now"})
    assert out.kept == ["Product"]
    assert out.code.startswith(
        '"""All entities of the shop, in one module (as monoliths grow)."""\n\n'
    )
    assert "class Product(Base):" in out.code and "class Order(" not in out.code
    assert "    # prices are exact decimals, never floats\n" in out.code
    # the class body is byte-identical to the original
    start = MODELS.index("class Product(Base):")
    body = MODELS[start : MODELS.index("class StockLevel")].rstrip() + "\n"
    assert body in out.code
    compile(out.code, "models.py", "exec")


def test_split_drops_imports_that_only_removed_code_used() -> None:
    out = split_module(MODELS, {"Product"}, ALL_MODELS - {"Product"} | {"CURRENCY", "_now"})
    assert "from datetime import" not in out.code  # only Order used datetime
    assert (
        "from sqlalchemy import Integer, Numeric, String\n" in out.code
    )  # ForeignKey, DateTime gone
    assert "from sqlalchemy.orm import Mapped, mapped_column\n" in out.code  # relationship gone
    assert "from decimal import Decimal" in out.code
    assert "CURRENCY" not in out.code and "_now" not in out.code


def test_split_pulls_in_unowned_helpers_and_reports_missing_owned_ones() -> None:
    out = split_module(MODELS, {"Order", "OrderLine"}, {"Product", "StockLevel"})
    assert out.pulled_in == ["CURRENCY", "_now"]
    assert "def _now() -> datetime:" in out.code and 'CURRENCY = "USD"  # every price' in out.code
    assert "from datetime import datetime, timezone" in out.code
    assert out.missing == {"Product": ["OrderLine"]}  # relationship("Product") by string


def test_split_copies_values_owned_elsewhere_but_not_functions() -> None:
    source = (
        "from flask import Blueprint\n\nbp = Blueprint('x', __name__)\n\n\n"
        "def helper():\n    return 1\n\n\n@bp.get('/a')\ndef a():\n    return helper()\n\n\n"
        "@bp.get('/b')\ndef b():\n    return 2\n"
    )
    out = split_module(source, {"a"}, {"b", "bp", "helper"})
    assert "bp = Blueprint('x', __name__)" in out.code and out.duplicated == ["bp"]
    assert "def helper" not in out.code and out.missing == {"helper": ["a"]}
    assert "def b(" not in out.code


def test_prune_imports_keeps_future_star_and_names_in_string_annotations() -> None:
    source = (
        "from __future__ import annotations\nfrom os import *\nimport json, sys\n"
        "from typing import TYPE_CHECKING, Any\nfrom a import (b,\n    c)\n\n"
        "def f(x: 'Any') -> None:\n    sys.exit(c)\n"
    )
    out = prune_imports(cst.parse_module(source)).code
    assert "from __future__ import annotations" in out and "from os import *" in out
    assert "import sys\n" in out and "json" not in out
    assert "from typing import Any\n" in out and "from a import c\n" in out


def test_prune_unavailable_removes_statements_at_any_depth_and_keeps_suites_valid() -> None:
    source = (
        "def create_app():\n    app = make()\n    app.register_blueprint(orders_bp)\n"
        "    if flag:\n        seed_orders()\n    return app\n"
    )
    module, removed = prune_unavailable(cst.parse_module(source), {"orders_bp", "seed_orders"})
    assert removed == 2
    assert "orders_bp" not in module.code and "seed_orders" not in module.code
    assert "    if flag:\n        pass\n" in module.code
    compile(module.code, "app.py", "exec")


def test_prune_unavailable_follows_values_not_names_that_are_only_written() -> None:
    source = (
        "def seed():\n"
        "    for row in ROWS:\n"
        "        sku, name, category = row\n"
        "        product = Product(sku=sku, category=categories[category])\n"
        "        db.add(product)\n"
        "        db.add(Stock(product_id=row[0]))\n"
        "    categories = {c: Category(c) for c in CATS}\n"
        "    warehouses = {code: Warehouse(code, name=name) for code, name in WH}\n"
        "    db.add_all(warehouses.values())\n"
    )
    module, removed = prune_unavailable(cst.parse_module(source), {"Product", "Category"})
    code = module.code
    assert "sku, name, category = row" in code  # writes a name, reads only row
    assert "Product(" not in code and "db.add(product)" not in code  # tainted by product
    assert "db.add(Stock(product_id=row[0]))" in code
    assert "Category(" not in code
    assert "warehouses = {code: Warehouse(code, name=name)" in code  # its own loop variables
    assert removed == 3


def test_a_split_module_exports_only_what_its_copy_defines() -> None:
    """Names another service took that only ``__all__`` named leave the export list (an
    ``import *`` of the copy would fail on them) and are reported apart from missing ones."""
    source = (
        '__all__ = ("slug", "title", "shout")\n'
        "def slug(s):\n    return s.lower()\n"
        "def title(s):\n    return slug(s).title()\n"
        "def shout(s):\n    return s.upper()\n"
    )
    result = split_module(source, {"__all__", "slug"}, {"title", "shout"})
    assert result.unexported == ["shout", "title"] and result.missing == {}
    scope: dict = {}
    exec(result.code, scope)  # noqa: S102 - the generated copy, to see what it exports
    assert scope["__all__"] == ("slug",)
    # a name a kept definition still calls is missing, not merely unexported
    kept = split_module(source, {"__all__", "title"}, {"slug", "shout"})
    assert kept.missing == {"slug": ["__all__", "title"]} and kept.unexported == ["shout"]
    assert '__all__ = ("title",)' in kept.code
