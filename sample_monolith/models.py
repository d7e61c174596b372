"""The shop's entities.

This was the only models file when the shop launched in 2019, so the catalog, stock, customers,
carts, checkout, orders, payments and shipments all still live here. Promotions and the e-mail
outbox came later and got their own ``models`` modules inside their packages.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sample_monolith.db import Base
from sample_monolith.utils import format_cents, isoformat, utcnow

# --- catalog -------------------------------------------------------------------------------


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)

    parent = relationship("Category", remote_side="Category.id", back_populates="children")
    children = relationship("Category", back_populates="parent", order_by="Category.position")
    products = relationship("Product", back_populates="category")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "slug": self.slug, "name": self.name,
                "description": self.description, "parent_id": self.parent_id}


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), unique=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    price_cents: Mapped[int] = mapped_column(Integer)
    sale_price_cents: Mapped[int | None] = mapped_column(Integer)
    sale_ends_at: Mapped[datetime | None] = mapped_column(DateTime)
    weight_grams: Mapped[int] = mapped_column(Integer, default=500)
    is_perishable: Mapped[bool] = mapped_column(Boolean, default=False)
    origin: Mapped[str] = mapped_column(String(120), default="Atlanta, GA")
    tags: Mapped[str] = mapped_column(String(255), default="")
    image: Mapped[str] = mapped_column(String(120), default="placeholder.svg")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    category = relationship("Category", back_populates="products")
    stock_levels = relationship("StockLevel", back_populates="product")

    def current_price_cents(self, now: datetime | None = None) -> int:
        """The sale price while a sale runs, the list price otherwise."""
        now = now or utcnow()
        if self.sale_price_cents is not None and (self.sale_ends_at is None
                                                  or self.sale_ends_at > now):
            return min(self.sale_price_cents, self.price_cents)
        return self.price_cents

    @property
    def tag_list(self) -> list[str]:
        return [tag.strip() for tag in self.tags.split(",") if tag.strip()]

    def to_dict(self) -> dict[str, Any]:
        price = self.current_price_cents()
        return {
            "sku": self.sku, "slug": self.slug, "name": self.name,
            "description": self.description, "price_cents": price,
            "list_price_cents": self.price_cents, "on_sale": price < self.price_cents,
            "price": format_cents(price), "weight_grams": self.weight_grams,
            "perishable": self.is_perishable, "origin": self.origin, "tags": self.tag_list,
            "image": self.image, "category": self.category.slug if self.category else None,
            "active": self.is_active,
        }


# --- inventory -----------------------------------------------------------------------------


class Warehouse(Base):
    __tablename__ = "warehouses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(80))
    zip_code: Mapped[str] = mapped_column(String(10))
    priority: Mapped[int] = mapped_column(Integer, default=10)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "city": self.city,
                "zip_code": self.zip_code, "priority": self.priority}


class StockLevel(Base):
    __tablename__ = "stock_levels"
    __table_args__ = (UniqueConstraint("product_id", "warehouse_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    product = relationship("Product", back_populates="stock_levels")
    warehouse = relationship("Warehouse")


class Reservation(Base):
    """Stock held for a checkout until it is paid (committed) or times out (expired)."""

    __tablename__ = "reservations"
    __table_args__ = (Index("ix_reservations_reference", "reference"),
                      Index("ix_reservations_status_expiry", "status", "expires_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(DateTime)

    product = relationship("Product")
    warehouse = relationship("Warehouse")


# --- accounts ------------------------------------------------------------------------------


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    marketing_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)

    addresses = relationship("Address", back_populates="customer", order_by="Address.id")
    orders = relationship("Order", back_populates="customer", order_by="Order.id.desc()")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "name": self.name,
                "is_staff": self.is_staff, "marketing_opt_in": self.marketing_opt_in,
                "created_at": isoformat(self.created_at)}


class Address(Base):
    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    label: Mapped[str] = mapped_column(String(40), default="Home")
    recipient: Mapped[str] = mapped_column(String(120))
    line1: Mapped[str] = mapped_column(String(160))
    line2: Mapped[str] = mapped_column(String(160), default="")
    city: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(2))
    zip_code: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str] = mapped_column(String(32), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    customer = relationship("Customer", back_populates="addresses")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "recipient": self.recipient,
                "line1": self.line1, "line2": self.line2, "city": self.city,
                "state": self.state, "zip_code": self.zip_code, "phone": self.phone,
                "is_default": self.is_default}


class AuthSession(Base):
    """One row per sign-in, so customers can see and end their sessions."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    customer = relationship("Customer")


# --- cart ----------------------------------------------------------------------------------


class Cart(Base):
    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("carts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    items = relationship("CartItem", back_populates="cart", order_by="CartItem.id",
                         cascade="all, delete-orphan")
    customer = relationship("Customer")


class CartItem(Base):
    __tablename__ = "cart_items"
    __table_args__ = (UniqueConstraint("cart_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    cart = relationship("Cart", back_populates="items")
    product = relationship("Product")


# --- checkout ------------------------------------------------------------------------------


class CheckoutSession(Base):
    """A priced, stock-reserved cart waiting for payment."""

    __tablename__ = "checkout_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    email: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16), default="open")
    shipping_address_json: Mapped[str] = mapped_column(Text)
    shipping_method: Mapped[str] = mapped_column(String(32))
    coupon_code: Mapped[str | None] = mapped_column(String(40))
    lines_json: Mapped[str] = mapped_column(Text)
    subtotal_cents: Mapped[int] = mapped_column(Integer)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    shipping_cents: Mapped[int] = mapped_column(Integer, default=0)
    tax_cents: Mapped[int] = mapped_column(Integer, default=0)
    total_cents: Mapped[int] = mapped_column(Integer)
    weight_grams: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))

    @property
    def shipping_address(self) -> dict[str, Any]:
        return json.loads(self.shipping_address_json)

    @property
    def lines(self) -> list[dict[str, Any]]:
        return json.loads(self.lines_json)


# --- orders --------------------------------------------------------------------------------


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    email: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(20), default="placed")
    payment_status: Mapped[str] = mapped_column(String(20), default="paid")
    subtotal_cents: Mapped[int] = mapped_column(Integer)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    shipping_cents: Mapped[int] = mapped_column(Integer, default=0)
    tax_cents: Mapped[int] = mapped_column(Integer, default=0)
    total_cents: Mapped[int] = mapped_column(Integer)
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0)
    coupon_code: Mapped[str | None] = mapped_column(String(40))
    shipping_method: Mapped[str] = mapped_column(String(32))
    ship_name: Mapped[str] = mapped_column(String(120))
    ship_line1: Mapped[str] = mapped_column(String(160))
    ship_line2: Mapped[str] = mapped_column(String(160), default="")
    ship_city: Mapped[str] = mapped_column(String(80))
    ship_state: Mapped[str] = mapped_column(String(2))
    ship_zip: Mapped[str] = mapped_column(String(10))
    checkout_session_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)

    customer = relationship("Customer", back_populates="orders")
    lines = relationship("OrderLine", back_populates="order", order_by="OrderLine.id",
                         cascade="all, delete-orphan")
    events = relationship("OrderEvent", back_populates="order", order_by="OrderEvent.id",
                          cascade="all, delete-orphan")
    payments = relationship("Payment", back_populates="order", order_by="Payment.id")
    shipments = relationship("Shipment", back_populates="order", order_by="Shipment.id")

    @property
    def weight_grams(self) -> int:
        return sum(line.weight_grams * line.quantity for line in self.lines)


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(160))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    line_total_cents: Mapped[int] = mapped_column(Integer)
    weight_grams: Mapped[int] = mapped_column(Integer, default=0)

    order = relationship("Order", back_populates="lines")
    product = relationship("Product")


class OrderEvent(Base):
    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(255), default="")
    actor: Mapped[str] = mapped_column(String(80), default="system")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    order = relationship("Order", back_populates="events")


# --- payments ------------------------------------------------------------------------------


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    status: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(32))
    provider_ref: Mapped[str | None] = mapped_column(String(64))
    card_brand: Mapped[str] = mapped_column(String(16), default="")
    card_last4: Mapped[str] = mapped_column(String(4), default="")
    decline_code: Mapped[str | None] = mapped_column(String(40))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    order = relationship("Order", back_populates="payments")
    refunds = relationship("Refund", back_populates="payment", order_by="Refund.id")


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    amount_cents: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(255), default="")
    provider_ref: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    payment = relationship("Payment", back_populates="refunds")


# --- shipping ------------------------------------------------------------------------------


class Shipment(Base):
    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    carrier: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(32))
    tracking_number: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="label_created")
    zone: Mapped[int] = mapped_column(Integer)
    weight_grams: Mapped[int] = mapped_column(Integer)
    cost_cents: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)

    order = relationship("Order", back_populates="shipments")
    events = relationship("ShipmentEvent", back_populates="shipment",
                          order_by="ShipmentEvent.id", cascade="all, delete-orphan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "tracking_number": self.tracking_number, "carrier": self.carrier,
            "method": self.method, "status": self.status, "zone": self.zone,
            "weight_grams": self.weight_grams, "cost_cents": self.cost_cents,
            "created_at": isoformat(self.created_at), "delivered_at": isoformat(self.delivered_at),
            "events": [{"status": e.status, "location": e.location,
                        "description": e.description, "at": isoformat(e.created_at)}
                       for e in self.events],
        }


class ShipmentEvent(Base):
    __tablename__ = "shipment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    status: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    shipment = relationship("Shipment", back_populates="events")
