"""JSON API of accounts: /api/accounts/..."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from sample_monolith.accounts import services
from sample_monolith.utils import (
    ApiError,
    cart_token_from_request,
    current_identity,
    json_body,
    login_required,
    require_fields,
)

bp = Blueprint("accounts_api", __name__)


def _active_identity() -> Any:
    identity = current_identity()
    if identity is None or not services.session_is_active(identity.session_id):
        raise ApiError(401, "session_ended", "this session has ended; sign in again")
    return identity


@bp.route("/register", methods=["POST"])
def register() -> Any:
    data = json_body()
    require_fields(data, "email", "password", "name")
    customer = services.register(str(data["email"]), str(data["password"]), str(data["name"]),
                                 bool(data.get("marketing_opt_in", False)))
    return jsonify({"customer": customer.to_dict()}), 201


@bp.route("/sessions", methods=["POST"])
def sign_in() -> Any:
    data = json_body()
    require_fields(data, "email", "password")
    result = services.sign_in(str(data["email"]), str(data["password"]),
                              data.get("cart_token") or cart_token_from_request(),
                              request.headers.get("User-Agent", ""))
    return jsonify(result), 201


@bp.route("/sessions/current", methods=["DELETE"])
@login_required
def sign_out() -> Any:
    identity = _active_identity()
    services.sign_out(identity.session_id)
    return "", 204


@bp.route("/sessions")
@login_required
def sessions() -> Any:
    identity = _active_identity()
    return jsonify({"sessions": services.list_sessions(identity.customer_id)})


@bp.route("/me")
@login_required
def me() -> Any:
    identity = _active_identity()
    customer = services.get_customer(identity.customer_id)
    if customer is None:
        raise ApiError(401, "session_ended", "account no longer exists")
    data = customer.to_dict()
    data["addresses"] = services.list_addresses(customer.id)
    return jsonify(data)


@bp.route("/password", methods=["POST"])
@login_required
def change_password() -> Any:
    identity = _active_identity()
    data = json_body()
    require_fields(data, "old_password", "new_password")
    services.change_password(identity.customer_id, str(data["old_password"]),
                             str(data["new_password"]))
    return "", 204


@bp.route("/addresses")
@login_required
def addresses() -> Any:
    identity = _active_identity()
    return jsonify({"addresses": services.list_addresses(identity.customer_id)})


@bp.route("/addresses", methods=["POST"])
@login_required
def add_address() -> Any:
    identity = _active_identity()
    address = services.add_address(identity.customer_id, json_body())
    return jsonify(address.to_dict()), 201


@bp.route("/addresses/<int:address_id>", methods=["DELETE"])
@login_required
def delete_address(address_id: int) -> Any:
    identity = _active_identity()
    services.delete_address(identity.customer_id, address_id)
    return "", 204
