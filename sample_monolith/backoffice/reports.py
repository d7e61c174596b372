"""Reports for the Monday meeting, built as a read model from the other domains' service layers.

They used to join straight across the tables of every domain (written against the shared
database long before anyone talked about services). Now each domain hands over plain figures
(``orders.sales_summary``, ``inventory.stock_summary``, ``catalog.product_facts`` ...) and this
module puts them side by side, so the back office needs no table of anyone else's and the
calls work the same in one process or across services.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sample_monolith.accounts import services as account_services
from sample_monolith.catalog import services as catalog_services
from sample_monolith.inventory import services as inventory_services
from sample_monolith.notifications import services as notification_services
from sample_monolith.orders import services as order_services
from sample_monolith.payments import services as payment_services
from sample_monolith.promotions import services as promotion_services
from sample_monolith.utils import format_cents, isoformat, utcnow


def _window(days: int) -> tuple[datetime, datetime]:
    end = utcnow() + timedelta(seconds=1)
    return end - timedelta(days=days), end


def sales_report(days: int = 30) -> dict[str, Any]:
    start, end = _window(days)
    sales = order_services.sales_summary(start, end)
    sold = {row["product_id"]: row for row in sales["products"]}
    facts = catalog_services.product_facts(sorted(sold))
    categories: dict[str, dict[str, Any]] = {}
    products: dict[str, dict[str, Any]] = {}
    for fact in facts:
        row = sold[fact["product_id"]]
        cat = categories.setdefault(fact["category"], {
            "category": fact["category"], "name": fact["category_name"], "units": 0,
            "revenue_cents": 0})
        item = products.setdefault(fact["sku"], {"sku": fact["sku"], "name": fact["name"],
                                                 "units": 0, "revenue_cents": 0})
        for entry in (cat, item):
            entry["units"] += row["units"]
            entry["revenue_cents"] += row["revenue_cents"]
    gross, refunds, orders = sales["gross_cents"], sales["refunded_cents"], sales["orders"]
    return {
        "from": isoformat(start), "to": isoformat(end), "orders": orders,
        "gross_cents": gross, "gross": format_cents(gross),
        "discount_cents": sales["discount_cents"], "refunded_cents": refunds,
        "net_cents": gross - refunds, "cancelled_orders": sales["cancelled_orders"],
        "average_order_cents": gross // orders if orders else 0,
        "by_category": sorted(categories.values(),
                              key=lambda c: (-c["revenue_cents"], c["category"])),
        "top_products": sorted(products.values(), key=lambda p: (-p["units"], p["sku"]))[:10],
    }


def inventory_report(low_threshold: int = 10) -> dict[str, Any]:
    stock = inventory_services.stock_summary()
    facts = {f["product_id"]: f for f in catalog_services.product_facts()}
    listed = sorted((row for row in stock if row["product_id"] in facts),
                    key=lambda row: facts[row["product_id"]]["sku"])  # stable: pick order kept
    products: dict[str, dict[str, Any]] = {}
    for row in listed:
        fact = facts[row["product_id"]]
        if not fact["active"]:
            continue
        entry = products.setdefault(fact["sku"], {
            "sku": fact["sku"], "name": fact["name"], "category": fact["category"],
            "on_hand": 0, "reserved": 0, "warehouses": {}})
        entry["on_hand"] += row["on_hand"]
        entry["reserved"] += row["reserved"]
        entry["warehouses"][row["warehouse"]] = row["on_hand"]
    items = []
    for entry in products.values():
        entry["available"] = entry["on_hand"] - entry["reserved"]
        entry["low"] = entry["available"] <= low_threshold
        items.append(entry)
    stock_value = sum(row["on_hand"] * facts[row["product_id"]]["list_price_cents"]
                      for row in listed)
    return {"products": items, "low_stock": [i["sku"] for i in items if i["low"]],
            "stock_value_cents": stock_value, "threshold": low_threshold}


def customer_report(limit: int = 20) -> dict[str, Any]:
    spend = order_services.spend_by_customer()
    directory = {c["customer_id"]: c for c in account_services.customer_directory(
        [row["customer_id"] for row in spend])}
    top = [{"email": directory[row["customer_id"]]["email"],
            "name": directory[row["customer_id"]]["name"], "orders": row["orders"],
            "spent_cents": row["spent_cents"], "last_order_at": row["last_order_at"]}
           for row in spend if row["customer_id"] in directory]
    top.sort(key=lambda c: (-c["spent_cents"], c["email"]))
    return {"customers": account_services.count_customers(), "top": top[:limit]}


def promotions_report() -> dict[str, Any]:
    coupons = promotion_services.coupon_usage()
    totals = {row["order_id"]: row["total_cents"] for row in order_services.order_totals(
        sorted({oid for c in coupons for oid in c["order_ids"]}))}
    return {"coupons": [{"code": c["code"], "kind": c["kind"], "times_used": c["times_used"],
                         "usage_limit": c["usage_limit"], "redemptions": c["redemptions"],
                         "discount_cents": c["discount_cents"],
                         "order_revenue_cents": sum(totals.get(oid, 0)
                                                    for oid in c["order_ids"])}
                        for c in coupons]}


def payments_report(days: int = 30) -> dict[str, Any]:
    start, end = _window(days)
    return payment_services.payment_summary(start, end)


def fulfilment_queue() -> list[dict[str, Any]]:
    """Paid orders not yet shipped, oldest first, with what they weigh and where they go."""
    return order_services.fulfilment_queue()


def dashboard(low_threshold: int = 10) -> dict[str, Any]:
    sales = sales_report(7)
    inventory = inventory_report(low_threshold)
    return {
        "sales_7d": {k: sales[k] for k in ("orders", "gross_cents", "refunded_cents",
                                           "cancelled_orders")},
        "to_ship": len(fulfilment_queue()),
        "low_stock": inventory["low_stock"],
        "outbox": notification_services.outbox_counts(),
        "payments_7d": payments_report(7)["decline_rate"],
    }
