"""JSON API of checkout: /api/checkout/..."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from sample_monolith.checkout import services
from sample_monolith.utils import (
    cart_token_from_request,
    current_identity,
    idempotency_key_from_request,
    json_body,
)

bp = Blueprint("checkout_api", __name__)


@bp.route("/quote", methods=["POST"])
def quote() -> Any:
    return jsonify(services.quote(cart_token_from_request(), current_identity(), json_body()))


@bp.route("/sessions", methods=["POST"])
def start() -> Any:
    view = services.start(cart_token_from_request(), current_identity(), json_body())
    return jsonify(view), 201


@bp.route("/sessions/<session_id>")
def show(session_id: str) -> Any:
    session = services.get_session(session_id, current_identity(), cart_token_from_request())
    return jsonify(services.session_view(session))


@bp.route("/sessions/<session_id>/pay", methods=["POST"])
def pay(session_id: str) -> Any:
    data = json_body()
    status, body = services.pay(session_id, current_identity(), cart_token_from_request(),
                                (data.get("payment") or {}).get("card") or data.get("card"),
                                idempotency_key_from_request(data))
    return jsonify(body), status
