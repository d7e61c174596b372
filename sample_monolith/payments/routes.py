"""JSON API of payments: /api/payments/... (staff tools and the test-card list)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from sample_monolith.db import db_session
from sample_monolith.payments import services
from sample_monolith.payments.providers import FakeCardProvider
from sample_monolith.utils import json_body, parse_int, require_fields, staff_required

bp = Blueprint("payments_api", __name__)


@bp.route("/test-cards")
def test_cards() -> Any:
    cards = [{"number": "4242424242424242", "outcome": "approved"},
             {"number": "5555555555554444", "outcome": "approved"}]
    cards += [{"number": number, "outcome": code}
              for number, (code, _msg) in sorted(FakeCardProvider.DECLINES.items())]
    return jsonify({"provider": FakeCardProvider.name, "cards": cards})


@bp.route("/<int:payment_id>")
@staff_required
def show(payment_id: int) -> Any:
    return jsonify(services.payment_dict(services.get_payment(payment_id)))


@bp.route("/<int:payment_id>/refunds", methods=["POST"])
@staff_required
def refund(payment_id: int) -> Any:
    data = json_body()
    require_fields(data, "amount_cents")
    amount = parse_int(data["amount_cents"], 0, minimum=1, name="amount_cents")
    result = services.refund(payment_id, amount, str(data.get("reason", "")))
    db_session.commit()
    return jsonify(result), 201
