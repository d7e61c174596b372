"""Coupons and their redemptions (added in 2021 when marketing asked for coupon codes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sample_monolith.db import Base
from sample_monolith.utils import isoformat, utcnow

COUPON_KINDS = ("percent", "fixed", "free_shipping")


class Coupon(Base):
    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[str] = mapped_column(String(16))
    # percent: whole percent (10 = 10 %); fixed: cents; free_shipping: unused.
    value: Mapped[int] = mapped_column(Integer, default=0)
    min_subtotal_cents: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    times_used: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    redemptions = relationship("CouponRedemption", back_populates="coupon",
                               order_by="CouponRedemption.id")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "description": self.description, "kind": self.kind,
            "value": self.value, "min_subtotal_cents": self.min_subtotal_cents,
            "starts_at": isoformat(self.starts_at), "expires_at": isoformat(self.expires_at),
            "usage_limit": self.usage_limit, "per_customer_limit": self.per_customer_limit,
            "times_used": self.times_used, "active": self.is_active,
        }


class CouponRedemption(Base):
    __tablename__ = "coupon_redemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    email: Mapped[str] = mapped_column(String(254))
    discount_cents: Mapped[int] = mapped_column(Integer)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    coupon = relationship("Coupon", back_populates="redemptions")
