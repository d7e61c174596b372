"""The interface lists what the kernel's part of a split module calls: that part runs in each
service's copy of the module, so its calls of a service's functions cross services."""

from __future__ import annotations

from migrator.graph import DependencyGraph
from migrator.proposal import propose
from migrator.proposal.synthetic import layered_monolith


def _graph() -> DependencyGraph:
    """``app/manage.py``: commands that go to their domains, and wiring (``main``,
    ``create_app`` and ``_register_routes``, which names every route handler) that stays in the
    kernel; ``create_app`` also calls an invoices function. The kernel's ``db.session`` (a
    module no service has a part of) calls a shipments function."""
    g, _ = layered_monolith()
    g.add_node("app.manage", "module", line=1, end_line=120)
    for name, size in (
        ("main", 10),
        ("create_app", 20),
        ("_register_routes", 20),
        ("nightly_sync", 40),
        ("rebuild_index", 40),
    ):
        g.add_node(f"app.manage:{name}", "function", line=1, end_line=size)
    g.add_edge(
        "app.manage:nightly_sync", "app.services.orders_service:handle", "reference", count=4
    )
    g.add_edge(
        "app.manage:rebuild_index", "app.services.products_service:handle", "reference", count=4
    )
    for e in ("orders", "products", "customers", "invoices", "shipments"):
        g.add_edge("app.manage:_register_routes", f"app.api.{e}.routes:index", "reference")
        g.add_edge("app.manage", f"app.api.{e}.routes", "import")
    g.add_edge("app.manage:create_app", "app.services.invoices_service:handle", "reference")
    g.add_edge("app.manage:create_app", "app.manage:_register_routes", "reference")
    g.add_edge("app.manage:main", "app.manage:nightly_sync", "reference")
    g.add_edge("app.manage:main", "app.manage:rebuild_index", "reference")
    g.add_edge("app.db:session", "app.services.shipments_service:handle", "reference")
    return g.finalize()


def test_calls_of_the_kernels_part_of_a_split_module_are_in_the_interface() -> None:
    plan = propose(_graph())
    assert plan.service_of("app.manage:create_app") == "shared_kernel"
    assert plan.service_of("app.manage:nightly_sync") == "orders"
    assert "app.services.invoices_service:handle" in plan.services["invoices"].interface
    assert "app.manage:nightly_sync" in plan.services["orders"].interface  # main's call
    # the kernel library's own code is not rewritten per service: no client for its calls
    assert "app.services.shipments_service:handle" not in plan.services["shipments"].interface
    # the route handlers the wiring names are served by the gateway, not called
    for svc in plan.services.values():
        assert not [n for n in svc.interface if n.endswith("routes:index")], svc.interface
