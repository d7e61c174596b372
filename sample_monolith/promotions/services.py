"""Promotions service layer: check a coupon against a basket, redeem it, void it.

Rules, in the order the customer hears about them: the code exists and is active, the promotion
has started and not expired, the basket reaches the minimum, the total usage limit and the
per-customer limit are not reached. Usage is counted when an order is paid, not at checkout.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from sample_monolith.db import db_session
from sample_monolith.promotions.models import COUPON_KINDS, Coupon, CouponRedemption
from sample_monolith.utils import ApiError, format_cents, parse_datetime, percent_of, utcnow

CODE_RE = re.compile(r"^[A-Z0-9_-]{3,40}$")


def normalize_code(code: str | None) -> str:
    return (code or "").strip().upper()


def get_coupon(code: str) -> Coupon | None:
    return db_session.execute(
        select(Coupon).where(Coupon.code == normalize_code(code))).scalar_one_or_none()


def _customer_uses(coupon_id: int, customer_id: int | None, email: str) -> int:
    stmt = select(func.count(CouponRedemption.id)).where(
        CouponRedemption.coupon_id == coupon_id, CouponRedemption.voided.is_(False))
    if customer_id is not None:
        stmt = stmt.where(CouponRedemption.customer_id == customer_id)
    else:
        stmt = stmt.where(CouponRedemption.email == email)
    return int(db_session.execute(stmt).scalar_one())


def evaluate(code: str, subtotal_cents: int, shipping_cents: int = 0,
             customer_id: int | None = None, email: str = "",
             now: datetime | None = None) -> dict[str, Any]:
    """The discount ``code`` gives on this basket, or an ApiError saying why it does not."""
    now = now or utcnow()
    coupon = get_coupon(code)
    if coupon is None or not coupon.is_active:
        raise ApiError(422, "coupon_invalid", f"{normalize_code(code)} is not a valid code")
    if coupon.starts_at and coupon.starts_at > now:
        raise ApiError(422, "coupon_not_started", f"{coupon.code} is not valid yet")
    if coupon.expires_at and coupon.expires_at <= now:
        raise ApiError(422, "coupon_expired", f"{coupon.code} has expired")
    if subtotal_cents < coupon.min_subtotal_cents:
        raise ApiError(422, "coupon_minimum",
                       f"{coupon.code} needs a basket of {format_cents(coupon.min_subtotal_cents)}",
                       min_subtotal_cents=coupon.min_subtotal_cents)
    if coupon.usage_limit is not None and coupon.times_used >= coupon.usage_limit:
        raise ApiError(422, "coupon_exhausted", f"{coupon.code} has been used up")
    if coupon.per_customer_limit is not None and (customer_id is not None or email):
        if _customer_uses(coupon.id, customer_id, email) >= coupon.per_customer_limit:
            raise ApiError(422, "coupon_already_used", f"you have already used {coupon.code}")
    free_shipping = False
    if coupon.kind == "percent":
        discount = percent_of(subtotal_cents, coupon.value * 100)
    elif coupon.kind == "fixed":
        discount = coupon.value
    else:
        discount = 0
        free_shipping = True
    discount = min(discount, subtotal_cents)
    return {"code": coupon.code, "kind": coupon.kind, "description": coupon.description,
            "discount_cents": discount, "free_shipping": free_shipping,
            "shipping_discount_cents": shipping_cents if free_shipping else 0}


def redeem(code: str, order_id: int, customer_id: int | None, email: str,
           discount_cents: int) -> None:
    """Count one use, atomically, so two checkouts cannot both take the last use."""
    coupon = get_coupon(code)
    if coupon is None:
        raise ApiError(422, "coupon_invalid", f"{normalize_code(code)} is not a valid code")
    result = db_session.execute(
        update(Coupon).where(Coupon.id == coupon.id,
                             (Coupon.usage_limit.is_(None))
                             | (Coupon.times_used < Coupon.usage_limit))
        .values(times_used=Coupon.times_used + 1))
    if result.rowcount != 1:
        raise ApiError(409, "coupon_exhausted", f"{coupon.code} has been used up")
    db_session.add(CouponRedemption(coupon_id=coupon.id, order_id=order_id,
                                    customer_id=customer_id, email=email,
                                    discount_cents=discount_cents))
    db_session.flush()
    db_session.refresh(coupon)


def void_redemption(order_id: int) -> bool:
    """The order was cancelled: give the use back."""
    redemption = db_session.execute(
        select(CouponRedemption).where(CouponRedemption.order_id == order_id,
                                       CouponRedemption.voided.is_(False))).scalar_one_or_none()
    if redemption is None:
        return False
    redemption.voided = True
    db_session.execute(update(Coupon).where(Coupon.id == redemption.coupon_id,
                                            Coupon.times_used > 0)
                       .values(times_used=Coupon.times_used - 1))
    db_session.flush()
    return True


def create_coupon(data: dict[str, Any]) -> Coupon:
    code = normalize_code(data.get("code"))
    if not CODE_RE.match(code):
        raise ApiError(422, "bad_code", "code must be 3-40 letters, digits, _ or -")
    kind = data.get("kind")
    if kind not in COUPON_KINDS:
        raise ApiError(422, "bad_kind", "kind must be one of " + ", ".join(COUPON_KINDS))
    value = int(data.get("value") or 0)
    if kind == "percent" and not 1 <= value <= 90:
        raise ApiError(422, "bad_value", "a percentage must be between 1 and 90")
    if kind == "fixed" and value <= 0:
        raise ApiError(422, "bad_value", "a fixed discount must be positive (cents)")
    if get_coupon(code) is not None:
        raise ApiError(409, "duplicate_code", f"{code} already exists")
    limit = data.get("usage_limit")
    per_customer = data.get("per_customer_limit")
    coupon = Coupon(code=code, kind=kind, value=value,
                    description=str(data.get("description") or ""),
                    min_subtotal_cents=int(data.get("min_subtotal_cents") or 0),
                    starts_at=parse_datetime(data.get("starts_at")),
                    expires_at=parse_datetime(data.get("expires_at")),
                    usage_limit=None if limit is None else int(limit),
                    per_customer_limit=None if per_customer is None else int(per_customer))
    db_session.add(coupon)
    db_session.commit()
    return coupon


def list_coupons() -> list[dict[str, Any]]:
    return [c.to_dict() for c in db_session.execute(select(Coupon).order_by(Coupon.code)).scalars()]


def deactivate(code: str) -> dict[str, Any]:
    coupon = get_coupon(code)
    if coupon is None:
        raise ApiError(404, "unknown_coupon", f"no coupon {normalize_code(code)}")
    coupon.is_active = False
    db_session.commit()
    return coupon.to_dict()


def coupon_usage() -> list[dict[str, Any]]:
    """Every coupon with its standing (not voided) redemptions: how many, the discount given
    and the orders they were on (the back office asks orders for those orders' totals)."""
    coupons = db_session.execute(select(Coupon).order_by(Coupon.code)).scalars().all()
    used: dict[int, list[tuple[int, int]]] = {}
    for coupon_id, order_id, discount in db_session.execute(
            select(CouponRedemption.coupon_id, CouponRedemption.order_id,
                   CouponRedemption.discount_cents)
            .where(CouponRedemption.voided.is_(False)).order_by(CouponRedemption.id)):
        used.setdefault(coupon_id, []).append((order_id, int(discount)))
    return [{"code": c.code, "kind": c.kind, "times_used": c.times_used,
             "usage_limit": c.usage_limit, "redemptions": len(used.get(c.id, [])),
             "discount_cents": sum(d for _o, d in used.get(c.id, [])),
             "order_ids": [o for o, _d in used.get(c.id, [])]} for c in coupons]
