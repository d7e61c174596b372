"""JSON API of shipping: /api/shipping/..."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from sample_monolith.shipping import rates, services
from sample_monolith.utils import (
    current_identity,
    json_body,
    parse_int,
    require_fields,
    staff_required,
)

bp = Blueprint("shipping_api", __name__)


@bp.route("/zones")
def zone() -> Any:
    zip_code = request.args.get("zip", "")
    return jsonify({"zip_code": zip_code, "zone": rates.zone_for_zip(zip_code)})


@bp.route("/rates")
def quote() -> Any:
    weight = parse_int(request.args.get("weight_grams"), 500, minimum=1, name="weight_grams")
    subtotal = parse_int(request.args.get("subtotal_cents"), 0, minimum=0, name="subtotal_cents")
    perishable = request.args.get("perishable", "").lower() in ("1", "true", "yes")
    return jsonify(services.quote(request.args.get("zip", ""), weight, perishable, subtotal))


@bp.route("/shipments", methods=["POST"])
@staff_required
def create_shipment() -> Any:
    data = json_body()
    require_fields(data, "order_number")
    return jsonify(services.create_shipment(str(data["order_number"]),
                                            current_identity().email)), 201


@bp.route("/track/<tracking_number>")
def track(tracking_number: str) -> Any:
    return jsonify(services.track(tracking_number))


@bp.route("/shipments/<tracking_number>/events", methods=["POST"])
@staff_required
def scan(tracking_number: str) -> Any:
    data = json_body()
    require_fields(data, "status")
    return jsonify(services.advance(tracking_number, str(data["status"]),
                                    data.get("location"), actor=current_identity().email))
