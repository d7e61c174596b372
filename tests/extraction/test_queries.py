"""SQLAlchemy expression queries on another service's model (``Model.col == x``, ``in_``,
``ilike``, ``order_by``, ``limit``): the caller's read model sends the conditions, the owner's
generated read endpoint applies them to its own query; joins across services stay listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.extraction import build_extraction, runtime

from .test_any_app import _products
from .test_conversions import _app, _kinds, _plan, _run_in_service


def _wired(monkeypatch, *rows: tuple[int, str, int]):  # noqa: ANN001, ANN202
    """A read model of a real SQLAlchemy ``Product`` whose calls go through ``dispatch``."""
    Product, factory = _products(*rows)
    reader = runtime.reader(Product, factory)

    def call(service, endpoint, func, args, kwargs, **_):  # noqa: ANN001, ANN003, ANN202
        assert (service, endpoint) == ("catalog", "_read.Product")
        body, status = runtime.dispatch(reader, {"args": args, "kwargs": kwargs})
        assert status == 200, body
        return body["result"]

    monkeypatch.setattr(runtime, "call", call)
    return runtime.ReadModel("catalog", "Product", columns=("id", "sku", "price")), reader


def test_column_conditions_ordering_and_limits_are_applied_by_the_owner(monkeypatch) -> None:  # noqa: ANN001
    P, _ = _wired(monkeypatch, (1, "tea", 3), (2, "cake", 5), (3, "tart", 8), (4, "bun", None))
    skus = lambda q: [r.sku for r in q]  # noqa: E731
    assert skus(P.query.filter(P.price > 3).order_by(P.price.desc())) == ["tart", "cake"]
    assert skus(P.query.filter(P.sku.in_(["tea", "bun"])).order_by(P.id)) == ["tea", "bun"]
    assert skus(P.query.filter(P.sku.ilike("T%")).order_by(P.sku.asc())) == ["tart", "tea"]
    assert skus(P.query.filter(P.price.is_(None))) == ["bun"]
    assert skus(P.query.filter(P.price != 5, P.price <= 8).filter_by(sku="tea")) == ["tea"]
    assert skus(P.query.order_by(P.id.desc()).offset(1).limit(2)) == ["tart", "cake"]
    assert P.query.filter(P.sku.like("t%")).count() == 2
    assert P.query.filter(P.id == 2).first().sku == "cake"
    assert P.query.filter(P.sku.not_in(["tea"]), P.price >= 5).count() == 2


def test_what_cannot_be_sent_fails_clearly(monkeypatch) -> None:  # noqa: ANN001
    P, reader = _wired(monkeypatch, (1, "tea", 3))
    other = runtime.ReadModel("orders", "Order", columns=("product_id",))
    with pytest.raises(runtime.NotExtractedError, match="join in memory"):
        P.query.filter(P.id == other.product_id)
    with pytest.raises(runtime.NotExtractedError, match="only conditions on its own columns"):
        P.query.filter(other.product_id == 1)
    with pytest.raises(runtime.NotExtractedError, match="only reads of Product"):
        P.secret  # noqa: B018 - not a column: no ReadColumn
    # the owner applies only its model's columns and the known operators
    with pytest.raises(ValueError, match="cannot read Product by password"):
        reader({}, "all", where=[["password", "==", "x"]])
    with pytest.raises(ValueError, match="cannot read Product by sku"):
        reader({}, "all", where=[["sku", "__class__", "x"]])
    with pytest.raises(ValueError, match="cannot order Product"):
        reader({}, "all", order=[["sku", "drop"]])
