"""Orders service layer.

Status flow: placed -> packed -> shipped -> delivered, and placed/packed -> cancelled. Cancelling
a paid order refunds the payment, returns the units to stock and gives back a coupon use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select

from sample_monolith.db import db_session
from sample_monolith.inventory import services as inventory_services
from sample_monolith.models import Order, OrderEvent, OrderLine
from sample_monolith.notifications import services as notifications
from sample_monolith.payments import services as payment_services
from sample_monolith.utils import ApiError, Identity, format_cents, isoformat, utcnow

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "placed": ("packed", "shipped", "cancelled"),
    "packed": ("shipped", "cancelled"),
    "shipped": ("delivered",),
    "delivered": (),
    "cancelled": (),
}
CANCELLABLE = ("placed", "packed")


def _number_for(order_id: int) -> str:
    return f"PSP-{100000 + order_id}"


def create_order(data: dict[str, Any]) -> dict[str, Any]:
    """Write a paid order from plain checkout data; the caller commits."""
    address = data["shipping_address"]
    order = Order(
        number="pending", customer_id=data.get("customer_id"), email=data["email"],
        status="placed", payment_status="paid", subtotal_cents=data["subtotal_cents"],
        discount_cents=data["discount_cents"], shipping_cents=data["shipping_cents"],
        tax_cents=data["tax_cents"], total_cents=data["total_cents"],
        coupon_code=data.get("coupon_code"), shipping_method=data["shipping_method"],
        ship_name=address["recipient"], ship_line1=address["line1"],
        ship_line2=address.get("line2", ""), ship_city=address["city"],
        ship_state=address["state"], ship_zip=address["zip_code"],
        checkout_session_id=data.get("checkout_session_id"),
    )
    for line in data["lines"]:
        order.lines.append(OrderLine(
            product_id=line["product_id"], sku=line["sku"], name=line["name"],
            quantity=line["quantity"], unit_price_cents=line["unit_price_cents"],
            line_total_cents=line["unit_price_cents"] * line["quantity"],
            weight_grams=line["weight_grams"]))
    order.events.append(OrderEvent(from_status=None, to_status="placed",
                                   note="payment captured", actor="checkout"))
    db_session.add(order)
    db_session.flush()
    order.number = _number_for(order.id)
    db_session.flush()
    return {"id": order.id, "number": order.number, "total_cents": order.total_cents}


def order_dict(order: Order, detail: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": order.number, "status": order.status, "payment_status": order.payment_status,
        "email": order.email, "subtotal_cents": order.subtotal_cents,
        "discount_cents": order.discount_cents, "shipping_cents": order.shipping_cents,
        "tax_cents": order.tax_cents, "total_cents": order.total_cents,
        "total": format_cents(order.total_cents), "refunded_cents": order.refunded_cents,
        "coupon_code": order.coupon_code, "shipping_method": order.shipping_method,
        "created_at": isoformat(order.created_at), "item_count": sum(
            line.quantity for line in order.lines),
    }
    if detail:
        data["lines"] = [{"sku": line.sku, "name": line.name, "quantity": line.quantity,
                          "unit_price_cents": line.unit_price_cents,
                          "line_total_cents": line.line_total_cents} for line in order.lines]
        data["ship_to"] = {"recipient": order.ship_name, "line1": order.ship_line1,
                           "line2": order.ship_line2, "city": order.ship_city,
                           "state": order.ship_state, "zip_code": order.ship_zip}
        data["events"] = [{"from": e.from_status, "to": e.to_status, "note": e.note,
                           "actor": e.actor, "at": isoformat(e.created_at)}
                          for e in order.events]
        # Shipments and payments come from their own domains as plain data (not through the
        # Order's relationships, which cannot reach another service's database).
        from sample_monolith.shipping import services as shipping_services

        data["shipments"] = [{"tracking_number": s["tracking_number"], "carrier": s["carrier"],
                              "status": s["status"]}
                             for s in shipping_services.shipments_for_order(order.id)]
        data["payments"] = [{key: p[key] for key in ("id", "status", "amount_cents",
                                                     "refunded_cents", "card_last4")}
                            for p in payment_services.payments_for_order(order.id)]
    return data


def get_order(number: str) -> Order:
    order = db_session.execute(select(Order).where(Order.number == number)).scalar_one_or_none()
    if order is None:
        raise ApiError(404, "unknown_order", f"no order {number}")
    return order


def order_detail(number: str) -> dict[str, Any]:
    """The order as plain data, for other domains (checkout, back office)."""
    return order_dict(get_order(number))


def _email_snapshot(order: Order) -> dict[str, Any]:
    """What an order e-mail needs, as plain data (notifications never sees the Order row)."""
    return {"number": order.number, "email": order.email, "ship_name": order.ship_name,
            "status": order.status, "total_cents": order.total_cents,
            "discount_cents": order.discount_cents, "shipping_cents": order.shipping_cents,
            "tax_cents": order.tax_cents,
            "lines": [{"name": line.name, "quantity": line.quantity,
                       "line_total_cents": line.line_total_cents} for line in order.lines],
            "ship_to": f"{order.ship_line1}, {order.ship_city}, {order.ship_state} "
                       f"{order.ship_zip}"}


def order_number_for_id(order_id: int | None) -> str | None:
    if order_id is None:
        return None
    order = db_session.get(Order, order_id)
    return order.number if order else None


def get_order_for(number: str, identity: Identity) -> Order:
    """The order if this caller may see it: its customer, or staff."""
    order = get_order(number)
    if not identity.is_staff and order.customer_id != identity.customer_id:
        # 404, not 403: do not confirm that someone else's order number exists.
        raise ApiError(404, "unknown_order", f"no order {number}")
    return order


def list_orders(customer_id: int) -> list[dict[str, Any]]:
    rows = db_session.execute(select(Order).where(Order.customer_id == customer_id)
                              .order_by(Order.id.desc())).scalars()
    return [order_dict(o, detail=False) for o in rows]


def list_all(status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    stmt = select(Order).order_by(Order.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Order.status == status)
    return [order_dict(o, detail=False) for o in db_session.execute(stmt).scalars()]


def transition(order: Order, to_status: str, note: str = "", actor: str = "system") -> None:
    allowed = TRANSITIONS.get(order.status, ())
    if to_status not in allowed:
        raise ApiError(409, "bad_transition",
                       f"order {order.number} is {order.status}; cannot become {to_status}",
                       order_status=order.status)
    order.events.append(OrderEvent(from_status=order.status, to_status=to_status, note=note,
                                   actor=actor))
    order.status = to_status
    order.updated_at = utcnow()


def set_status(number: str, to_status: str, note: str, actor: str) -> dict[str, Any]:
    """Staff moves an order along (packing); shipping and cancelling have their own calls."""
    if to_status in ("cancelled", "shipped"):
        raise ApiError(422, "use_dedicated_call",
                       f"use the {'cancel' if to_status == 'cancelled' else 'shipment'} endpoint")
    order = get_order(number)
    transition(order, to_status, note, actor)
    db_session.commit()
    return order_dict(order)


def cancel_order(number: str, identity: Identity, reason: str = "") -> dict[str, Any]:
    """Cancel before shipping: refund in full, restock, give the coupon use back, tell them."""
    order = get_order_for(number, identity)
    if order.status not in CANCELLABLE:
        raise ApiError(409, "not_cancellable",
                       f"order {order.number} is {order.status} and can no longer be cancelled",
                       order_status=order.status)
    actor = "staff" if identity.is_staff else "customer"
    transition(order, "cancelled", reason or "cancelled on request", actor)
    order.cancelled_at = utcnow()
    refunded = payment_services.refund_order(order.id, reason or "order cancelled")
    record_refund(order.id, refunded, "order cancelled")
    restocked = inventory_services.restock_order(order.id)
    if order.coupon_code:
        # Lazy import: promotions is an optional module in the original deployment.
        from sample_monolith.promotions import services as promotions

        promotions.void_redemption(order.id)
    notifications.queue_order_email(_email_snapshot(order), "order_cancelled",
                                    {"refunded": format_cents(refunded)})
    db_session.commit()
    result = order_dict(order)
    result.update(refunded_now_cents=refunded, restocked_units=restocked)
    return result


def record_refund(order_id: int, amount_cents: int, reason: str = "") -> None:
    """Payments tells us money went back; keep the order's payment status in step."""
    if amount_cents <= 0:
        return
    order = db_session.get(Order, order_id)
    if order is None:
        return
    order.refunded_cents += amount_cents
    order.payment_status = ("refunded" if order.refunded_cents >= order.total_cents
                            else "partially_refunded")
    order.events.append(OrderEvent(from_status=order.status, to_status=order.status,
                                   note=f"refunded {format_cents(amount_cents)} {reason}".strip(),
                                   actor="payments"))
    db_session.flush()


def order_for_fulfilment(number: str) -> dict[str, Any]:
    order = get_order(number)
    return {"id": order.id, "number": order.number, "status": order.status,
            "ship_zip": order.ship_zip, "shipping_method": order.shipping_method,
            "weight_grams": order.weight_grams, "email": order.email}


def mark_shipped(order_id: int, tracking_number: str, carrier: str, actor: str = "staff") -> None:
    order = db_session.get(Order, order_id)
    if order is None:
        raise ApiError(404, "unknown_order", f"no order id {order_id}")
    transition(order, "shipped", f"{carrier} {tracking_number}", actor)
    notifications.queue_order_email(_email_snapshot(order), "order_shipped",
                                    {"tracking_number": tracking_number, "carrier": carrier})


def mark_delivered(order_id: int, actor: str = "carrier") -> None:
    order = db_session.get(Order, order_id)
    if order is not None and order.status == "shipped":
        transition(order, "delivered", "delivered", actor)


# --- figures for the back office (plain data; the reports combine them with other domains') --


def sales_summary(start: datetime, end: datetime) -> dict[str, Any]:
    """Order totals in [start, end) and units and revenue per product of the orders that stand."""
    live = (Order.created_at >= start, Order.created_at < end)
    totals = db_session.execute(
        select(func.count(Order.id), func.coalesce(func.sum(Order.total_cents), 0),
               func.coalesce(func.sum(Order.discount_cents), 0),
               func.coalesce(func.sum(Order.refunded_cents), 0),
               func.coalesce(func.sum(case((Order.status == "cancelled", 1), else_=0)), 0))
        .where(*live)).one()
    by_product = db_session.execute(
        select(OrderLine.product_id, func.sum(OrderLine.quantity),
               func.sum(OrderLine.line_total_cents))
        .join(Order, OrderLine.order_id == Order.id)
        .where(*live, Order.status != "cancelled")
        .group_by(OrderLine.product_id).order_by(OrderLine.product_id)).all()
    orders, gross, discounts, refunds, cancelled = (int(v) for v in totals)
    return {"orders": orders, "gross_cents": gross, "discount_cents": discounts,
            "refunded_cents": refunds, "cancelled_orders": cancelled,
            "products": [{"product_id": pid, "units": int(units), "revenue_cents": int(revenue)}
                         for pid, units, revenue in by_product]}


def spend_by_customer() -> list[dict[str, Any]]:
    """Per customer with orders that stand: how many, net spend, and the latest one."""
    net = func.sum(Order.total_cents - Order.refunded_cents)
    rows = db_session.execute(
        select(Order.customer_id, func.count(Order.id), func.coalesce(net, 0),
               func.max(Order.created_at))
        .where(Order.customer_id.is_not(None), Order.status != "cancelled")
        .group_by(Order.customer_id).order_by(Order.customer_id)).all()
    return [{"customer_id": cid, "orders": int(n), "spent_cents": int(spent),
             "last_order_at": isoformat(last)} for cid, n, spent, last in rows]


def order_totals(order_ids: list[int]) -> list[dict[str, Any]]:
    """The total of each of these orders (unknown ids are left out)."""
    if not order_ids:
        return []
    rows = db_session.execute(select(Order.id, Order.total_cents)
                              .where(Order.id.in_(sorted(set(order_ids)))).order_by(Order.id))
    return [{"order_id": oid, "total_cents": int(total)} for oid, total in rows]


def fulfilment_queue() -> list[dict[str, Any]]:
    """Paid orders not yet shipped, oldest first, with what they weigh and where they go."""
    rows = db_session.execute(
        select(Order.number, Order.status, Order.created_at, Order.ship_city, Order.ship_state,
               Order.shipping_method, func.sum(OrderLine.quantity * OrderLine.weight_grams))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.status.in_(("placed", "packed")))
        .group_by(Order.id).order_by(Order.created_at, Order.id)).all()
    return [{"number": n, "status": s, "placed_at": isoformat(at), "city": city,
             "state": state, "method": method, "weight_grams": int(weight)}
            for n, s, at, city, state, method, weight in rows]
