"""Payments service layer: charge with an idempotency key, refund, and read payments.

An idempotency key names one payment attempt. Sending the same key again returns the stored
outcome (approved or declined) without charging again; the same key with a different request is
refused, so a client retrying after a timeout can never pay twice.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from sample_monolith.db import db_session
from sample_monolith.models import Payment, Refund
from sample_monolith.orders import services as order_services
from sample_monolith.payments.providers import Card, card_problems, get_provider
from sample_monolith.utils import ApiError, isoformat


def _provider() -> Any:
    return get_provider(current_app.config["PAYMENT_PROVIDER"])


def parse_card(data: dict[str, Any] | None) -> Card:
    if not isinstance(data, dict):
        raise ApiError(422, "card_required", "payment.card is required")
    number = "".join(ch for ch in str(data.get("number", "")) if ch.isdigit())
    try:
        card = Card(number=number, exp_month=int(data.get("exp_month", 0)),
                    exp_year=int(data.get("exp_year", 0)), cvc=str(data.get("cvc", "")),
                    name=str(data.get("name", "")))
    except (TypeError, ValueError) as exc:
        raise ApiError(422, "card_invalid", "card expiry must be numbers") from exc
    problems = card_problems(card)
    if problems:
        raise ApiError(422, "card_invalid", "check the card: " + ", ".join(problems),
                       fields=problems)
    return card


def _fingerprint(reference: str, amount_cents: int, card: Card) -> str:
    raw = f"{reference}|{amount_cents}|{card.number}|{card.exp_month}|{card.exp_year}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def payment_dict(payment: Payment, replayed: bool = False) -> dict[str, Any]:
    return {"id": payment.id, "reference": payment.reference, "order_id": payment.order_id,
            "amount_cents": payment.amount_cents, "currency": payment.currency,
            "status": payment.status, "decline_code": payment.decline_code,
            "card_brand": payment.card_brand, "card_last4": payment.card_last4,
            "provider": payment.provider, "provider_ref": payment.provider_ref,
            "refunded_cents": payment.refunded_cents, "idempotency_key": payment.idempotency_key,
            "created_at": isoformat(payment.created_at), "replayed": replayed,
            "refunds": [{"id": r.id, "amount_cents": r.amount_cents, "reason": r.reason,
                         "created_at": isoformat(r.created_at)} for r in payment.refunds]}


def charge(reference: str, amount_cents: int, card_data: dict[str, Any],
           idempotency_key: str, currency: str = "USD") -> dict[str, Any]:
    """Charge a card once per idempotency key; returns the payment as plain data."""
    if amount_cents <= 0:
        raise ApiError(422, "bad_amount", "amount must be positive")
    card = parse_card(card_data)
    fingerprint = _fingerprint(reference, amount_cents, card)
    existing = db_session.execute(
        select(Payment).where(Payment.idempotency_key == idempotency_key)).scalar_one_or_none()
    if existing is not None:
        if existing.request_fingerprint != fingerprint:
            raise ApiError(409, "idempotency_conflict",
                           "this Idempotency-Key was already used for a different payment")
        return payment_dict(existing, replayed=True)
    provider = _provider()
    result = provider.charge(card, amount_cents, currency, reference)
    payment = Payment(reference=reference, amount_cents=amount_cents, currency=currency,
                      status="succeeded" if result.approved else "declined",
                      provider=provider.name, provider_ref=result.provider_ref,
                      card_brand=card.brand, card_last4=card.last4,
                      decline_code=result.decline_code, idempotency_key=idempotency_key,
                      request_fingerprint=fingerprint)
    db_session.add(payment)
    # Commit now: whatever happens to the order, the record of money moving must survive.
    db_session.commit()
    return payment_dict(payment)


def lookup(idempotency_key: str) -> dict[str, Any] | None:
    """The payment stored under a key, as a replay, without charging anything."""
    payment = db_session.execute(
        select(Payment).where(Payment.idempotency_key == idempotency_key)).scalar_one_or_none()
    return payment_dict(payment, replayed=True) if payment else None


def attach_order(payment_id: int, order_id: int) -> None:
    payment = db_session.get(Payment, payment_id)
    if payment is not None:
        payment.order_id = order_id
        db_session.flush()


def get_payment(payment_id: int) -> Payment:
    payment = db_session.get(Payment, payment_id)
    if payment is None:
        raise ApiError(404, "unknown_payment", f"no payment {payment_id}")
    return payment


def payments_for_order(order_id: int) -> list[dict[str, Any]]:
    rows = db_session.execute(select(Payment).where(Payment.order_id == order_id)
                              .order_by(Payment.id)).scalars()
    return [payment_dict(p) for p in rows]


def refund(payment_id: int, amount_cents: int, reason: str = "",
           notify_order: bool = True) -> dict[str, Any]:
    """Refund part or all of a successful payment."""
    payment = get_payment(payment_id)
    if payment.status not in ("succeeded", "partially_refunded"):
        raise ApiError(409, "not_refundable", f"payment is {payment.status}")
    remaining = payment.amount_cents - payment.refunded_cents
    if amount_cents <= 0 or amount_cents > remaining:
        raise ApiError(422, "bad_amount", f"refund must be between 1 and {remaining} cents",
                       refundable_cents=remaining)
    result = _provider().refund(payment.provider_ref or "", amount_cents)
    if not result.ok:
        raise ApiError(502, "refund_failed", result.message)
    payment.refunds.append(Refund(amount_cents=amount_cents, reason=reason[:255],
                                  provider_ref=result.provider_ref))
    payment.refunded_cents += amount_cents
    payment.status = ("refunded" if payment.refunded_cents == payment.amount_cents
                      else "partially_refunded")
    db_session.flush()
    if notify_order and payment.order_id is not None:
        order_services.record_refund(payment.order_id, amount_cents, reason)
    return payment_dict(payment)


def refund_order(order_id: int, reason: str) -> int:
    """Refund whatever is left on every successful payment of an order; returns cents."""
    total = 0
    rows = db_session.execute(
        select(Payment).where(Payment.order_id == order_id,
                              Payment.status.in_(("succeeded", "partially_refunded")))
        .order_by(Payment.id)).scalars()
    for payment in list(rows):
        remaining = payment.amount_cents - payment.refunded_cents
        if remaining > 0:
            refund(payment.id, remaining, reason, notify_order=False)
            total += remaining
    return total


def payment_summary(start: datetime, end: datetime) -> dict[str, Any]:
    """Charge attempts in [start, end) by status and decline code, and refunds since start."""
    rows = db_session.execute(
        select(Payment.status, Payment.decline_code, func.count(Payment.id),
               func.coalesce(func.sum(Payment.amount_cents), 0))
        .where(Payment.created_at >= start, Payment.created_at < end)
        .group_by(Payment.status, Payment.decline_code)
        .order_by(Payment.status, Payment.decline_code)).all()
    refunds = db_session.execute(
        select(func.count(Refund.id), func.coalesce(func.sum(Refund.amount_cents), 0))
        .where(Refund.created_at >= start)).one()
    attempts = sum(int(n) for _s, _c, n, _a in rows)
    declines = sum(int(n) for s, _c, n, _a in rows if s == "declined")
    return {"attempts": attempts, "declines": declines,
            "decline_rate": round(declines / attempts, 4) if attempts else 0.0,
            "by_status": [{"status": s, "decline_code": c, "count": int(n), "amount_cents": int(a)}
                          for s, c, n, a in rows],
            "refunds": int(refunds[0]), "refunded_cents": int(refunds[1])}
