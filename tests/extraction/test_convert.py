"""Static decisions: which values can cross a network, and which calls may be retried."""

from __future__ import annotations

import libcst as cst
import pytest

from migrator.extraction.convert import Classifier, suggest_dto
from migrator.extraction.source import SourceTree

from .conftest import SHOP_ROOT


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(SourceTree(SHOP_ROOT, ["shopfix"]))


@pytest.mark.parametrize(
    "annotation, ok",
    [
        ("int", True),
        ("list[dict[str, Any]]", True),
        ("Optional[float]", True),
        ("str | None", True),
        ("tuple[int, ...]", True),
        ("Decimal", True),
        ("PriceQuote", True),
        ("list[PriceQuote]", True),
        ("Product", False),
        ("list[Product]", False),
        ("Session", False),
        ("Callable[[int], int]", False),
        ("'Product'", False),
        ("UnknownThing", False),
    ],
)
def test_annotations(classifier: Classifier, annotation: str, ok: bool) -> None:
    verdict = classifier.annotation(annotation, "shopfix.catalog.services")
    assert verdict.ok is ok, verdict.reason
    if "Product" in annotation:
        assert verdict.model == "shopfix.models:Product"


def test_signatures_of_the_catalog_interface(classifier: Classifier) -> None:
    info = classifier.tree.info("shopfix.catalog.services")
    sig = classifier.signature(info.functions["describe"], "shopfix.catalog.services")
    assert not sig["product"].ok and sig["return"].ok
    sig = classifier.signature(info.functions["list_products"], "shopfix.catalog.services")
    assert all(v.ok for v in sig.values())


def test_unannotated_results_are_judged_from_return_statements(classifier: Classifier) -> None:
    tree = SourceTree(SHOP_ROOT, ["shopfix"])
    module = cst.parse_module(
        "def plain(x):\n    total = {'x': x}\n    return total\n\n"
        "def orm(i):\n    return Session.get(Product, i)\n\n"
        "def unknown(i):\n    return make(i)\n"
    )
    from migrator.extraction.source import FunctionInfo

    def info(node: cst.FunctionDef) -> FunctionInfo:
        return FunctionInfo(node.name.value, 1, [], None, False, node, "")

    funcs = {n.name.value: info(n) for n in module.body if isinstance(n, cst.FunctionDef)}
    c = Classifier(tree)
    assert c.returns(funcs["plain"], "shopfix.orders.services").ok
    orm = c.returns(funcs["orm"], "shopfix.orders.services")
    assert "get() gives Product rows (ORM query)" in orm.reason  # the model the query reads
    assert orm.model == "shopfix.models:Product" and not orm.ok
    assert not c.returns(funcs["unknown"], "shopfix.orders.services").ok


@pytest.mark.parametrize(
    "expr, model",
    [
        ("Product.query.filter_by(sku=s).first()", "shopfix.models:Product"),
        ("db.session.query(Product).filter(x).all()", "shopfix.models:Product"),
        ("database.get(OrderLine, 3)", "shopfix.models:OrderLine"),
        ("cache.get('Product')", None),
        ("rows.first()", None),
    ],
)
def test_query_results_name_the_model_they_read(
    classifier: Classifier, expr: str, model: str | None
) -> None:
    verdict = classifier.expression(cst.parse_expression(expr), "shopfix.orders.services")
    assert verdict.model == model and not verdict.ok


@pytest.mark.parametrize(
    "expr, ok",
    [
        ("line.product_id", True),
        ("42", True),
        ("[a, b]", True),
        ("product", False),
        ("order_line", False),
        ("line.product", False),
        ("Session", False),
        ("Product(sku='x')", False),
        ("session.get(Product, 1)", False),
        ("len(items)", True),
        ("session.get('cart_token')", True),
    ],
)
def test_call_site_arguments(classifier: Classifier, expr: str, ok: bool) -> None:
    verdict = classifier.expression(
        cst.parse_expression(expr), "shopfix.orders.services", strict=False
    )
    assert verdict.ok is ok, verdict.reason


def test_idempotency_from_body_and_name(classifier: Classifier) -> None:
    info = classifier.tree.info("shopfix.inventory.services")
    assert classifier.idempotent(info.functions["available"], set(), "x:available")
    assert not classifier.idempotent(info.functions["reserve"], set(), "x:reserve")
    assert not classifier.idempotent(info.functions["available"], {"x:available"}, "x:available")


def test_suggested_shape_lists_the_model_columns(classifier: Classifier) -> None:
    dto = suggest_dto(classifier.tree, "shopfix.models:OrderLine")
    assert dto.splitlines() == [
        "@dataclass(frozen=True)",
        "class OrderLineData:",
        "    id: int",
        "    order_id: int",
        "    product_id: int",
        "    quantity: int",
        "    unit_price: Decimal",
    ]


def _classifier(root, models: str) -> Classifier:  # noqa: ANN001
    """A classifier of the package ``pkg`` whose ``models`` module is ``models``."""
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "models.py").write_text(models)
    return Classifier(SourceTree(root, ["pkg"]))


def test_a_method_every_class_defines_as_returning_data_gives_data(tmp_path) -> None:  # noqa: ANN001
    """``obj.serialize()`` on an object of unknown class: plain data when every method of
    that name in the monolith returns plain data; a builtin type's method name never is."""
    c = _classifier(
        tmp_path,
        "class Mixin:\n    def serialize(self, relations=False):\n"
        "        data = {k: str(v) for k, v in vars(self).items()}\n        return data\n\n"
        "    def rows(self):\n        return [1]\n\n    def copy(self):\n        return {}\n\n\n"
        "class Other:\n    def rows(self):\n        return self\n\n"
        "    def serialize_safe(self) -> dict:\n        return self.serialize()\n\n"
        "    async def fetch_data(self):\n        return {}\n",
    )
    judge = lambda e: c.expression(cst.parse_expression(e), "pkg.models")  # noqa: E731
    assert judge("person.serialize(relations=True)").ok
    assert judge("current_user.serialize_safe()").ok
    rows = judge("x.rows()")  # one definition returns the object itself
    assert not rows.ok and rows.reason.startswith(".rows() returns"), rows.reason
    assert not judge("x.copy()").ok  # dict.copy, list.copy ...
    assert not judge("x.fetch_data()").ok  # a coroutine
    assert judge("x.undefined()").reason == "cannot tell what x.undefined() returns"


def test_a_method_that_calls_itself_again_is_judged_by_its_other_returns(tmp_path) -> None:  # noqa: ANN001
    c = _classifier(
        tmp_path,
        "class Base:\n    def serialize(self):\n        return {'id': 1}\n\n\n"
        "class Child(Base):\n    def serialize(self):\n        data = super().serialize()\n"
        "        return data if self else self.serialize()\n\n\n"
        "class Odd:\n    def dump(self):\n        return self.dump() if self else self\n",
    )
    assert c.expression(cst.parse_expression("x.serialize()"), "pkg.models").ok
    assert not c.expression(cst.parse_expression("x.dump()"), "pkg.models").ok
    # inside a literal, as before, a call is not judged strictly
    assert c.expression(cst.parse_expression("[x.dump()]"), "pkg.models").ok
