"""Reports for the Monday meeting. These join straight across the tables of every domain:
written against the shared database long before anyone talked about services."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select

from sample_monolith.db import db_session
from sample_monolith.models import (
    Category,
    Customer,
    Order,
    OrderLine,
    Payment,
    Product,
    Refund,
    Reservation,
    Shipment,
    StockLevel,
    Warehouse,
)
from sample_monolith.notifications.models import OutboxMessage
from sample_monolith.promotions.models import Coupon, CouponRedemption
from sample_monolith.utils import format_cents, isoformat, utcnow


def _window(days: int) -> tuple[datetime, datetime]:
    end = utcnow() + timedelta(seconds=1)
    return end - timedelta(days=days), end


def sales_report(days: int = 30) -> dict[str, Any]:
    start, end = _window(days)
    live = and_(Order.created_at >= start, Order.created_at < end)
    totals = db_session.execute(
        select(func.count(Order.id), func.coalesce(func.sum(Order.total_cents), 0),
               func.coalesce(func.sum(Order.discount_cents), 0),
               func.coalesce(func.sum(Order.refunded_cents), 0),
               func.coalesce(func.sum(case((Order.status == "cancelled", 1), else_=0)), 0))
        .where(live)).one()
    by_category = db_session.execute(
        select(Category.slug, Category.name, func.sum(OrderLine.quantity),
               func.sum(OrderLine.line_total_cents))
        .join(Product, OrderLine.product_id == Product.id)
        .join(Category, Product.category_id == Category.id)
        .join(Order, OrderLine.order_id == Order.id)
        .where(live, Order.status != "cancelled")
        .group_by(Category.slug, Category.name)
        .order_by(func.sum(OrderLine.line_total_cents).desc(), Category.slug)).all()
    top_products = db_session.execute(
        select(Product.sku, Product.name, func.sum(OrderLine.quantity),
               func.sum(OrderLine.line_total_cents))
        .join(OrderLine, OrderLine.product_id == Product.id)
        .join(Order, OrderLine.order_id == Order.id)
        .where(live, Order.status != "cancelled")
        .group_by(Product.sku, Product.name)
        .order_by(func.sum(OrderLine.quantity).desc(), Product.sku).limit(10)).all()
    orders, gross, discounts, refunds, cancelled = (int(v) for v in totals)
    return {
        "from": isoformat(start), "to": isoformat(end), "orders": orders,
        "gross_cents": gross, "gross": format_cents(gross), "discount_cents": discounts,
        "refunded_cents": refunds, "net_cents": gross - refunds, "cancelled_orders": cancelled,
        "average_order_cents": gross // orders if orders else 0,
        "by_category": [{"category": slug, "name": name, "units": int(units),
                         "revenue_cents": int(revenue)}
                        for slug, name, units, revenue in by_category],
        "top_products": [{"sku": sku, "name": name, "units": int(units),
                          "revenue_cents": int(revenue)}
                         for sku, name, units, revenue in top_products],
    }


def inventory_report(low_threshold: int = 10) -> dict[str, Any]:
    now = utcnow()
    held = (select(Reservation.product_id.label("pid"), Reservation.warehouse_id.label("wid"),
                   func.sum(Reservation.quantity).label("qty"))
            .where(Reservation.status == "active", Reservation.expires_at > now)
            .group_by(Reservation.product_id, Reservation.warehouse_id).subquery())
    rows = db_session.execute(
        select(Product.sku, Product.name, Category.slug, Warehouse.code, StockLevel.on_hand,
               func.coalesce(held.c.qty, 0))
        .join(StockLevel, StockLevel.product_id == Product.id)
        .join(Warehouse, StockLevel.warehouse_id == Warehouse.id)
        .join(Category, Product.category_id == Category.id)
        .outerjoin(held, and_(held.c.pid == Product.id, held.c.wid == Warehouse.id))
        .where(Product.is_active.is_(True))
        .order_by(Product.sku, Warehouse.priority)).all()
    products: dict[str, dict[str, Any]] = {}
    for sku, name, category, warehouse, on_hand, reserved in rows:
        entry = products.setdefault(sku, {"sku": sku, "name": name, "category": category,
                                          "on_hand": 0, "reserved": 0, "warehouses": {}})
        entry["on_hand"] += on_hand
        entry["reserved"] += int(reserved)
        entry["warehouses"][warehouse] = on_hand
    items = []
    for entry in products.values():
        entry["available"] = entry["on_hand"] - entry["reserved"]
        entry["low"] = entry["available"] <= low_threshold
        items.append(entry)
    stock_value = db_session.execute(
        select(func.coalesce(func.sum(StockLevel.on_hand * Product.price_cents), 0))
        .join(Product, StockLevel.product_id == Product.id)).scalar_one()
    return {"products": items, "low_stock": [i["sku"] for i in items if i["low"]],
            "stock_value_cents": int(stock_value), "threshold": low_threshold}


def customer_report(limit: int = 20) -> dict[str, Any]:
    rows = db_session.execute(
        select(Customer.email, Customer.name, func.count(Order.id),
               func.coalesce(func.sum(Order.total_cents - Order.refunded_cents), 0),
               func.max(Order.created_at))
        .join(Order, Order.customer_id == Customer.id)
        .where(Order.status != "cancelled")
        .group_by(Customer.id, Customer.email, Customer.name)
        .order_by(func.sum(Order.total_cents - Order.refunded_cents).desc(), Customer.email)
        .limit(limit)).all()
    total_customers = db_session.execute(
        select(func.count(Customer.id)).where(Customer.is_staff.is_(False))).scalar_one()
    return {"customers": int(total_customers),
            "top": [{"email": email, "name": name, "orders": int(n), "spent_cents": int(spent),
                     "last_order_at": isoformat(last)} for email, name, n, spent, last in rows]}


def promotions_report() -> dict[str, Any]:
    rows = db_session.execute(
        select(Coupon.code, Coupon.kind, Coupon.times_used, Coupon.usage_limit,
               func.count(CouponRedemption.id),
               func.coalesce(func.sum(CouponRedemption.discount_cents), 0),
               func.coalesce(func.sum(Order.total_cents), 0))
        .outerjoin(CouponRedemption, and_(CouponRedemption.coupon_id == Coupon.id,
                                          CouponRedemption.voided.is_(False)))
        .outerjoin(Order, CouponRedemption.order_id == Order.id)
        .group_by(Coupon.id, Coupon.code, Coupon.kind, Coupon.times_used, Coupon.usage_limit)
        .order_by(Coupon.code)).all()
    return {"coupons": [{"code": code, "kind": kind, "times_used": used, "usage_limit": limit,
                         "redemptions": int(n), "discount_cents": int(discount),
                         "order_revenue_cents": int(revenue)}
                        for code, kind, used, limit, n, discount, revenue in rows]}


def payments_report(days: int = 30) -> dict[str, Any]:
    start, end = _window(days)
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


def fulfilment_queue() -> list[dict[str, Any]]:
    """Paid orders not yet shipped, oldest first, with what they weigh and where they go."""
    rows = db_session.execute(
        select(Order.number, Order.status, Order.created_at, Order.ship_city, Order.ship_state,
               Order.shipping_method, func.sum(OrderLine.quantity * OrderLine.weight_grams),
               func.count(Shipment.id))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .outerjoin(Shipment, Shipment.order_id == Order.id)
        .where(Order.status.in_(("placed", "packed")))
        .group_by(Order.id).order_by(Order.created_at, Order.id)).all()
    return [{"number": n, "status": s, "placed_at": isoformat(at), "city": city,
             "state": state, "method": method, "weight_grams": int(weight)}
            for n, s, at, city, state, method, weight, _shipments in rows]


def dashboard(low_threshold: int = 10) -> dict[str, Any]:
    outbox = dict(db_session.execute(
        select(OutboxMessage.status, func.count(OutboxMessage.id))
        .group_by(OutboxMessage.status)).all())
    sales = sales_report(7)
    inventory = inventory_report(low_threshold)
    return {
        "sales_7d": {k: sales[k] for k in ("orders", "gross_cents", "refunded_cents",
                                           "cancelled_orders")},
        "to_ship": len(fulfilment_queue()),
        "low_stock": inventory["low_stock"],
        "outbox": {k: int(v) for k, v in sorted(outbox.items())},
        "payments_7d": payments_report(7)["decline_rate"],
    }
