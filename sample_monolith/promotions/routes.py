"""JSON API of promotions: /api/promotions/..."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from sample_monolith.promotions import services
from sample_monolith.utils import (
    current_identity,
    json_body,
    parse_int,
    require_fields,
    staff_required,
)

bp = Blueprint("promotions_api", __name__)


@bp.route("/validate", methods=["POST"])
def validate() -> Any:
    data = json_body()
    require_fields(data, "code")
    identity = current_identity()
    result = services.evaluate(
        str(data["code"]),
        parse_int(data.get("subtotal_cents"), 0, minimum=0, name="subtotal_cents"),
        parse_int(data.get("shipping_cents"), 0, minimum=0, name="shipping_cents"),
        identity.customer_id if identity else None,
        identity.email if identity else str(data.get("email") or ""))
    return jsonify(result)


@bp.route("/coupons")
@staff_required
def coupons() -> Any:
    return jsonify({"coupons": services.list_coupons()})


@bp.route("/coupons", methods=["POST"])
@staff_required
def create_coupon() -> Any:
    data = json_body()
    require_fields(data, "code", "kind")
    return jsonify(services.create_coupon(data).to_dict()), 201


@bp.route("/coupons/<code>/deactivate", methods=["POST"])
@staff_required
def deactivate(code: str) -> Any:
    return jsonify(services.deactivate(code))
