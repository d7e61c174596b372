"""JSON API of inventory: /api/inventory/..."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from sample_monolith.inventory import services
from sample_monolith.utils import (
    ApiError,
    json_body,
    parse_datetime,
    parse_int,
    require_fields,
    staff_required,
)

bp = Blueprint("inventory_api", __name__)


@bp.route("/warehouses")
def warehouses() -> Any:
    return jsonify({"warehouses": services.warehouses()})


@bp.route("/availability")
def availability() -> Any:
    skus = [s.strip().upper() for s in request.args.get("skus", "").split(",") if s.strip()]
    if not skus:
        raise ApiError(422, "missing_fields", "give ?skus=SKU1,SKU2", fields=["skus"])
    return jsonify({"availability": services.availability(skus)})


@bp.route("/stock/<sku>")
def stock(sku: str) -> Any:
    return jsonify(services.stock_for_sku(sku))


@bp.route("/stock/<sku>/adjust", methods=["POST"])
@staff_required
def adjust(sku: str) -> Any:
    data = json_body()
    require_fields(data, "warehouse", "delta")
    delta = parse_int(data["delta"], 0, minimum=-100_000, maximum=100_000, name="delta")
    if delta == 0:
        raise ApiError(422, "bad_delta", "delta must not be zero")
    return jsonify(services.adjust_stock(sku, str(data["warehouse"]), delta,
                                         str(data.get("reason", ""))))


@bp.route("/reservations/sweep", methods=["POST"])
@staff_required
def sweep() -> Any:
    data = json_body()
    as_of = parse_datetime(data.get("as_of"))
    return jsonify({"expired": services.sweep_expired(as_of)})
