"""Checkout orchestration.

1. ``start``: validate the cart and address, check and reserve stock, price the basket with the
   coupon, shipping and tax, and open a checkout session that holds the stock for a while.
2. ``pay``: charge the card with the client's idempotency key; on approval write the order,
   commit the reserved stock, count the coupon use, close the cart and queue the confirmation.
   A decline leaves the session open (and the stock held) for another card.
"""

from __future__ import annotations

import importlib
import json
import uuid
from collections import defaultdict
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from sample_monolith.accounts import services as accounts
from sample_monolith.cart import services as cart_services
from sample_monolith.catalog import services as catalog
from sample_monolith.checkout import pricing
from sample_monolith.db import db_session
from sample_monolith.inventory import services as inventory
from sample_monolith.models import CheckoutSession
from sample_monolith.orders import services as orders
from sample_monolith.payments import services as payments
from sample_monolith.utils import ApiError, Identity, format_cents, isoformat, utcnow


def _precheck_stock(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every short line at once, so the customer fixes the cart in one go.

    Asks inventory for availability in one call (it used to read the inventory tables directly,
    a 2022 holiday-rush shortcut that could not survive the split into services);
    inventory.reserve re-checks anyway.
    """
    product_ids = sorted({line["product_id"] for line in lines})
    available_by_id = inventory.available_for_products(product_ids)
    wanted: dict[int, int] = defaultdict(int)
    for line in lines:
        wanted[line["product_id"]] += line["quantity"]
    short = []
    for line in lines:
        available = int(available_by_id.get(line["product_id"], 0))
        if wanted[line["product_id"]] > available:
            short.append({"sku": line["sku"], "requested": line["quantity"],
                          "available": max(0, available)})
    return short


def _address(data: dict[str, Any], identity: Identity | None) -> dict[str, Any]:
    if data.get("address_id") is not None:
        if identity is None:
            raise ApiError(401, "auth_required", "sign in to use a saved address")
        saved = accounts.get_address(identity.customer_id, int(data["address_id"]))
        return {k: saved[k] for k in ("recipient", "line1", "line2", "city", "state",
                                      "zip_code", "phone")}
    if not isinstance(data.get("shipping_address"), dict):
        raise ApiError(422, "bad_address", "shipping_address or address_id is required")
    return accounts.validate_address(data["shipping_address"])


def session_view(session: CheckoutSession) -> dict[str, Any]:
    return {
        "id": session.id, "status": session.status, "email": session.email,
        "lines": session.lines, "shipping_address": session.shipping_address,
        "shipping_method": session.shipping_method, "coupon_code": session.coupon_code,
        "subtotal_cents": session.subtotal_cents, "discount_cents": session.discount_cents,
        "shipping_cents": session.shipping_cents, "tax_cents": session.tax_cents,
        "total_cents": session.total_cents, "total": format_cents(session.total_cents),
        "weight_grams": session.weight_grams, "expires_at": isoformat(session.expires_at),
        "order_number": _order_number(session),
    }


def _order_number(session: CheckoutSession) -> str | None:
    if session.order_id is None:
        return None
    return orders.order_number_for_id(session.order_id)


def quote(cart_token: str | None, identity: Identity | None, data: dict[str, Any]
          ) -> dict[str, Any]:
    """Price the cart without reserving anything (the checkout page calls this as you type)."""
    cart_id = cart_services.resolve_cart_id(cart_token,
                                            identity.customer_id if identity else None)
    lines = cart_services.lines_for_checkout(cart_id)
    if not lines:
        raise ApiError(422, "empty_cart", "the cart is empty")
    priced = pricing.price_lines(lines, catalog.product_snapshots([x["sku"] for x in lines]))
    address = _address(data, identity)
    email = identity.email if identity else str(data.get("email") or "")
    result = pricing.totals(priced, address, str(data.get("shipping_method") or "standard"),
                            data.get("coupon_code"), identity.customer_id if identity else None,
                            email)
    result["lines"] = priced
    return result


def start(cart_token: str | None, identity: Identity | None, data: dict[str, Any]
          ) -> dict[str, Any]:
    customer_id = identity.customer_id if identity else None
    cart_id = cart_services.resolve_cart_id(cart_token, customer_id)
    lines = cart_services.lines_for_checkout(cart_id)
    if not lines:
        raise ApiError(422, "empty_cart", "the cart is empty")
    email = identity.email if identity else str(data.get("email") or "").strip().lower()
    if not email:
        raise ApiError(422, "missing_fields", "guests must give an e-mail", fields=["email"])
    address = _address(data, identity)
    method = str(data.get("shipping_method") or "standard")
    priced = pricing.price_lines(lines, catalog.product_snapshots([x["sku"] for x in lines]))
    short = _precheck_stock(priced)
    if short:
        raise ApiError(409, "insufficient_stock", "some items are short", lines=short)
    coupon_code = (data.get("coupon_code") or "").strip().upper() or None
    totals = pricing.totals(priced, address, method, coupon_code, customer_id, email)

    # One open checkout per cart: a new attempt replaces the previous one and its holds.
    for previous in db_session.execute(
            select(CheckoutSession).where(CheckoutSession.cart_id == cart_id,
                                          CheckoutSession.status == "open")).scalars():
        previous.status = "abandoned"
        inventory.release(previous.id, commit=False)

    session_id = "cs_" + uuid.uuid4().hex
    ttl = int(current_app.config["RESERVATION_TTL_MINUTES"])
    inventory.reserve(session_id, priced, ttl)
    session = CheckoutSession(
        id=session_id, cart_id=cart_id, customer_id=customer_id, email=email, status="open",
        shipping_address_json=json.dumps(address, sort_keys=True), shipping_method=method,
        coupon_code=coupon_code, lines_json=json.dumps(priced, sort_keys=True),
        subtotal_cents=totals["subtotal_cents"], discount_cents=totals["discount_cents"],
        shipping_cents=totals["shipping_cents"], tax_cents=totals["tax_cents"],
        total_cents=totals["total_cents"], weight_grams=totals["weight_grams"],
        expires_at=utcnow() + timedelta(minutes=ttl),
    )
    db_session.add(session)
    db_session.commit()
    view = session_view(session)
    view["coupon"] = totals["coupon"]
    view["tax_rate_bps"] = totals["tax_rate_bps"]
    return view


def get_session(session_id: str, identity: Identity | None, cart_token: str | None
                ) -> CheckoutSession:
    session = db_session.get(CheckoutSession, session_id)
    if session is None:
        raise ApiError(404, "unknown_checkout", f"no checkout {session_id}")
    if identity is not None and (identity.is_staff or session.customer_id == identity.customer_id):
        return session
    if session.customer_id is None and cart_token:
        if cart_services.cart_id_for_token(cart_token) == session.cart_id:
            return session
    raise ApiError(404, "unknown_checkout", f"no checkout {session_id}")


def pay(session_id: str, identity: Identity | None, cart_token: str | None,
        card: dict[str, Any], idempotency_key: str | None) -> tuple[int, dict[str, Any]]:
    """Take payment for an open checkout; returns (HTTP status, body)."""
    if not idempotency_key:
        raise ApiError(422, "idempotency_key_required",
                       "send an Idempotency-Key header so a retry can never charge twice")
    session = get_session(session_id, identity, cart_token)
    if session.status == "completed":
        replay = payments.lookup(idempotency_key)
        if replay and replay["reference"] == session.id and replay["status"] == "succeeded":
            order = orders.order_detail(orders.order_number_for_id(session.order_id))
            return 200, {"order": order, "payment": replay, "replayed": True}
        raise ApiError(409, "already_paid", "this checkout has already been paid")
    if session.status != "open":
        raise ApiError(409, "checkout_closed", f"this checkout is {session.status}")
    if not inventory.holds_are_live(session.id):
        session.status = "expired"
        inventory.release(session.id, status="expired", commit=False)
        db_session.commit()
        raise ApiError(409, "reservation_expired",
                       "the items were held for too long; please check out again")
    if session.coupon_code:
        # Re-check: the last use may have gone to someone else while this card was typed in.
        # Imported by name: promotions was a plug-in that some deployments left out.
        promotions = importlib.import_module("sample_monolith.promotions.services")
        promotions.evaluate(session.coupon_code, session.subtotal_cents, session.shipping_cents,
                            session.customer_id, session.email)

    payment = payments.charge(session.id, session.total_cents, card, idempotency_key)
    if payment["status"] != "succeeded":
        return 402, {"error": "payment_declined", "decline_code": payment["decline_code"],
                     "message": "the card was declined; try another card",
                     "payment": payment, "checkout": session_view(session)}
    return 201, _complete(session, payment)


def _complete(session: CheckoutSession, payment: dict[str, Any]) -> dict[str, Any]:
    """Turn a paid session into an order. All of it commits together, or the charge is refunded."""
    from sample_monolith.notifications import services as notifications
    from sample_monolith.promotions import services as promotions

    try:
        order = orders.create_order({
            "customer_id": session.customer_id, "email": session.email, "lines": session.lines,
            "subtotal_cents": session.subtotal_cents, "discount_cents": session.discount_cents,
            "shipping_cents": session.shipping_cents, "tax_cents": session.tax_cents,
            "total_cents": session.total_cents, "coupon_code": session.coupon_code,
            "shipping_method": session.shipping_method,
            "shipping_address": session.shipping_address, "checkout_session_id": session.id,
        })
        payments.attach_order(payment["id"], order["id"])
        inventory.commit_reservations(session.id, order["id"])
        if session.coupon_code:
            promotions.redeem(session.coupon_code, order["id"], session.customer_id,
                              session.email, session.discount_cents)
        cart_services.mark_converted(session.cart_id)
        session.status = "completed"
        session.order_id = order["id"]
        notifications.enqueue_email(session.email, "order_confirmation", {
            "number": order["number"], "name": session.shipping_address["recipient"],
            "total": format_cents(session.total_cents),
            "discount": format_cents(session.discount_cents),
            "shipping": format_cents(session.shipping_cents),
            "tax": format_cents(session.tax_cents),
            "lines": [{"name": x["name"], "quantity": x["quantity"],
                       "total": format_cents(x["unit_price_cents"] * x["quantity"])}
                      for x in session.lines],
        }, dedupe_key=f"order_confirmation:{order['number']}")
        db_session.commit()
    except ApiError:
        db_session.rollback()
        payments.refund(payment["id"], payment["amount_cents"], "checkout failed after charge",
                        notify_order=False)
        session.status = "failed"
        inventory.release(session.id, commit=False)
        db_session.commit()
        raise
    full = orders.order_detail(order["number"])
    return {"order": full, "payment": payment, "replayed": False}


def expire_stale_sessions() -> int:
    """Close open sessions whose holds ran out (the worker's sweep does the stock)."""
    now = utcnow()
    rows = list(db_session.execute(
        select(CheckoutSession).where(CheckoutSession.status == "open",
                                      CheckoutSession.expires_at <= now)).scalars())
    for session in rows:
        session.status = "expired"
    db_session.commit()
    return len(rows)
