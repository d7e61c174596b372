"""Shipping service layer: quotes, label creation with tracking numbers, tracking events."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select

from sample_monolith.db import db_session
from sample_monolith.models import Shipment, ShipmentEvent
from sample_monolith.orders import services as order_services
from sample_monolith.shipping import rates
from sample_monolith.utils import ApiError, stable_digits, utcnow

TRACKING_FLOW = ("label_created", "in_transit", "out_for_delivery", "delivered")
HUB_BY_ZONE = {1: "Atlanta, GA", 2: "Macon, GA", 3: "Atlanta, GA hub", 4: "Memphis, TN hub"}


def quote(zip_code: str, weight_grams: int, perishable: bool = False,
          subtotal_cents: int = 0) -> dict[str, Any]:
    threshold = current_app.config["FREE_SHIPPING_THRESHOLD_CENTS"]
    return {"zip_code": zip_code, "zone": rates.zone_for_zip(zip_code),
            "weight_grams": weight_grams,
            "options": rates.options(zip_code, weight_grams, perishable, subtotal_cents,
                                     threshold)}


def shipping_cost(zip_code: str, method: str, weight_grams: int, perishable: bool,
                  subtotal_cents: int) -> dict[str, Any]:
    threshold = current_app.config["FREE_SHIPPING_THRESHOLD_CENTS"]
    return rates.cost_for(zip_code, method, weight_grams, perishable, subtotal_cents, threshold)


def _tracking_number(carrier: str, order_number: str, sequence: int) -> str:
    prefix = {"UPS": "1Z", "FedEx": "FX", "PSP-VAN": "PSP"}.get(carrier, "TRK")
    return prefix + stable_digits(f"{order_number}:{sequence}", 14)


def create_shipment(order_number: str, actor: str = "staff") -> dict[str, Any]:
    """Print the label for a paid order and mark the order shipped."""
    order = order_services.order_for_fulfilment(order_number)
    if order["status"] not in ("placed", "packed"):
        raise ApiError(409, "not_shippable", f"order {order_number} is {order['status']}")
    zone = rates.zone_for_zip(order["ship_zip"])
    carrier = rates.CARRIERS.get(order["shipping_method"], "UPS")
    cost = rates.price(zone, order["shipping_method"], order["weight_grams"])
    sequence = int(db_session.execute(select(func.count(Shipment.id))).scalar_one()) + 1
    tracking = _tracking_number(carrier, order_number, sequence)
    shipment = Shipment(order_id=order["id"], carrier=carrier, method=order["shipping_method"],
                        tracking_number=tracking, zone=zone, weight_grams=order["weight_grams"],
                        cost_cents=cost, status="label_created")
    shipment.events.append(ShipmentEvent(status="label_created", location="Atlanta, GA",
                                         description="Label created, parcel packed"))
    db_session.add(shipment)
    db_session.flush()
    order_services.mark_shipped(order["id"], tracking, carrier, actor=actor)
    db_session.commit()
    return shipment.to_dict() | {"order_number": order_number}


def get_shipment(tracking_number: str) -> Shipment:
    shipment = db_session.execute(
        select(Shipment).where(Shipment.tracking_number == tracking_number)).scalar_one_or_none()
    if shipment is None:
        raise ApiError(404, "unknown_tracking", f"no shipment {tracking_number}")
    return shipment


def track(tracking_number: str) -> dict[str, Any]:
    shipment = get_shipment(tracking_number)
    return shipment.to_dict() | {
        "order_number": order_services.order_number_for_id(shipment.order_id)}


def advance(tracking_number: str, status: str, location: str | None = None,
            actor: str = "carrier") -> dict[str, Any]:
    """Record a carrier scan; statuses only move forward."""
    shipment = get_shipment(tracking_number)
    if status not in TRACKING_FLOW:
        raise ApiError(422, "bad_status", "status must be one of " + ", ".join(TRACKING_FLOW))
    if TRACKING_FLOW.index(status) <= TRACKING_FLOW.index(shipment.status):
        raise ApiError(409, "status_backwards",
                       f"shipment is already {shipment.status}, cannot go to {status}")
    shipment.status = status
    descriptions = {"in_transit": "Departed facility", "out_for_delivery": "Out for delivery",
                    "delivered": "Delivered"}
    shipment.events.append(ShipmentEvent(status=status,
                                         location=location or HUB_BY_ZONE[shipment.zone],
                                         description=descriptions[status]))
    if status == "delivered":
        shipment.delivered_at = utcnow()
        order_services.mark_delivered(shipment.order_id, actor=actor)
    db_session.commit()
    return shipment.to_dict() | {
        "order_number": order_services.order_number_for_id(shipment.order_id)}


def shipments_for_order(order_id: int) -> list[dict[str, Any]]:
    rows = db_session.execute(select(Shipment).where(Shipment.order_id == order_id)
                              .order_by(Shipment.id)).scalars()
    return [s.to_dict() for s in rows]
