"""JSON API of the cart: /api/cart. Guests send ``X-Cart-Token``; customers a bearer token."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from sample_monolith.cart import services
from sample_monolith.utils import (
    cart_token_from_request,
    current_identity,
    json_body,
    parse_int,
    require_fields,
)

bp = Blueprint("cart_api", __name__)


def _cart(create: bool = False) -> Any:
    identity = current_identity()
    return services.resolve_cart(cart_token_from_request(),
                                 identity.customer_id if identity else None, create=create)


@bp.route("", methods=["POST"])
def create() -> Any:
    identity = current_identity()
    if identity is not None:
        return jsonify(services.cart_view(services.customer_cart(identity.customer_id))), 200
    cart = services.create_guest_cart()
    return jsonify(services.cart_view(cart)), 201


@bp.route("", methods=["GET"])
def show() -> Any:
    return jsonify(services.cart_view(_cart()))


@bp.route("", methods=["DELETE"])
def clear() -> Any:
    cart = _cart()
    services.clear(cart)
    return jsonify(services.cart_view(cart))


@bp.route("/items", methods=["POST"])
def add_item() -> Any:
    data = json_body()
    require_fields(data, "sku")
    quantity = parse_int(data.get("quantity"), 1, minimum=1, name="quantity")
    return jsonify(services.set_quantity(_cart(), str(data["sku"]), quantity, add=True))


@bp.route("/items/<sku>", methods=["PUT", "PATCH"])
def set_item(sku: str) -> Any:
    data = json_body()
    require_fields(data, "quantity")
    quantity = parse_int(data.get("quantity"), 0, minimum=0, name="quantity")
    return jsonify(services.set_quantity(_cart(), sku, quantity))


@bp.route("/items/<sku>", methods=["DELETE"])
def remove_item(sku: str) -> Any:
    return jsonify(services.set_quantity(_cart(), sku, 0))
