"""JSON API of orders: /api/orders/..."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from sample_monolith.orders import services
from sample_monolith.utils import (
    current_identity,
    json_body,
    login_required,
    require_fields,
    staff_required,
)

bp = Blueprint("orders_api", __name__)


@bp.route("")
@login_required
def my_orders() -> Any:
    identity = current_identity()
    return jsonify({"orders": services.list_orders(identity.customer_id)})


@bp.route("/<number>")
@login_required
def show(number: str) -> Any:
    order = services.get_order_for(number, current_identity())
    return jsonify(services.order_dict(order))


@bp.route("/<number>/cancel", methods=["POST"])
@login_required
def cancel(number: str) -> Any:
    data = json_body()
    return jsonify(services.cancel_order(number, current_identity(),
                                         str(data.get("reason") or "")))


@bp.route("/<number>/status", methods=["POST"])
@staff_required
def set_status(number: str) -> Any:
    data = json_body()
    require_fields(data, "status")
    identity = current_identity()
    return jsonify(services.set_status(number, str(data["status"]), str(data.get("note", "")),
                                       identity.email))
