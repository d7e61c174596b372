"""A hand-written plan for sample_monolith: one service per business domain.

Modules are matched by package prefix against the analysed graph, so the plan follows the
sample as it grows; tables and dependencies are written out by hand from its DECOMPOSITION.
"""

from __future__ import annotations

from migrator.graph import DependencyGraph
from migrator.plan import Plan, plan_from_dict

DOMAINS = {
    "catalog": (["categories", "products"], []),
    "inventory": (["reservations", "stock_levels", "warehouses"], ["catalog"]),
    "cart": (["cart_items", "carts"], ["catalog", "inventory"]),
    "promotions": (["coupon_redemptions", "coupons"], []),
    "payments": (["payments", "refunds"], []),
    "accounts": (["addresses", "auth_sessions", "customers"], []),
    "shipping": (["shipment_events", "shipments"], []),
    "orders": (["order_events", "order_lines", "orders"], ["payments", "inventory"]),
    "checkout": (
        ["checkout_sessions"],
        ["cart", "inventory", "orders", "payments", "promotions", "shipping"],
    ),
    "notifications": (["outbox_messages"], []),
    "backoffice": ([], ["catalog", "inventory", "orders", "notifications"]),
}
PACKAGE = "sample_monolith"


def sample_plan(graph: DependencyGraph) -> Plan:
    modules = graph.modules()
    tables = set(graph.tables)
    services = {}
    for name, (owned, deps) in DOMAINS.items():
        prefix = f"{PACKAGE}.{name}"
        services[name] = {
            "modules": sorted(m for m in modules if m == prefix or m.startswith(prefix + ".")),
            "tables": sorted(t for t in owned if t in tables),
            "depends_on": deps,
        }
    kernel = [m for m in (f"{PACKAGE}.config", f"{PACKAGE}.db", f"{PACKAGE}.utils") if m in modules]
    return plan_from_dict(
        {
            "version": 1,
            "services": services,
            "shared_kernel": {"modules": kernel},
            "meta": {"framework": "flask"},
        },
        source="sample_plan",
    )
