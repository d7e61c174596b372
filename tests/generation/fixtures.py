"""Hand-built graphs and plans for small Flask, FastAPI and Django monoliths."""

from __future__ import annotations

from migrator.graph import DependencyGraph, ExternalImport, Route, Table
from migrator.plan import plan_from_dict

ROUTES = {
    "flask": [
        ("GET", "/products", "shop.catalog.views:index"),
        ("GET", "/products/<int:product_id>", "shop.catalog.views:show"),
        ("GET|POST", "/cart", "shop.cart.views:cart"),
        ("POST", "/cart/items/<item_id>", "shop.cart.views:add_item"),
        ("GET", "/orders/<uuid:order_id>/items/<path:rest>", "shop.orders.views:items"),
        ("GET", "/<slug>", "shop.pages:page"),
    ],
    "fastapi": [
        ("GET", "/api/products", "shop.catalog.api:index"),
        ("GET", "/api/products/{product_id}", "shop.catalog.api:show"),
        ("POST", "/api/cart/items", "shop.cart.api:add"),
        ("DELETE", "/api/cart/items/{item_id:int}", "shop.cart.api:remove"),
        ("GET", "/api/orders/{order_id}", "shop.orders.api:show"),
    ],
    "django": [
        ("GET", "/products/", "shop.catalog.views:index"),
        ("GET", "/products/<int:pk>/", "shop.catalog.views:show"),
        ("POST", "/cart/add/<slug:sku>/", "shop.cart.views:add"),
        ("GET", "^orders/(?P<pk>[0-9]+)/$", "shop.orders.views:show"),
    ],
}
DIST = {"flask": "Flask", "fastapi": "fastapi", "django": "Django"}


def make_graph(framework: str, root: str = "/nonexistent/shop") -> DependencyGraph:
    g = DependencyGraph(root=root)
    mods = [
        "shop",
        "shop.catalog",
        "shop.catalog.views",
        "shop.catalog.models",
        "shop.cart",
        "shop.cart.views",
        "shop.orders",
        "shop.orders.views",
        "shop.pages",
        "shop.config",
        "shop.catalog.api",
        "shop.cart.api",
        "shop.orders.api",
    ]
    for m in mods:
        g.add_node(m, "module", file=m.replace(".", "/") + ".py", line=1, end_line=20)
    g.add_node(
        "shop.catalog.models:Product", "class", file="shop/catalog/models.py", line=3, end_line=10
    )
    g.add_edge("shop.cart.views", "shop.catalog.models", "import", ["shop/cart/views.py:2"])
    g.add_edge(
        "shop.cart.views",
        "shop.catalog.models:Product",
        "reference",
        ["shop/cart/views.py:10", "shop/cart/views.py:12"],
    )
    g.add_edge("shop.orders.views", "shop.cart.views", "import", ["shop/orders/views.py:1"])
    g.add_edge("shop.catalog.views", "shop.config", "import", ["shop/catalog/views.py:1"])
    for method, path, handler in ROUTES[framework]:
        g.routes.append(
            Route(
                method=method.split("|")[0],
                path=path,
                handler=handler,
                framework=framework,
                file="x.py",
                line=1,
            )
        )
        if "|" in method:
            g.routes.append(
                Route(
                    method=method.split("|")[1],
                    path=path,
                    handler=handler,
                    framework=framework,
                    file="x.py",
                    line=1,
                )
            )
    g.tables["products"] = Table(
        name="products",
        model="shop.catalog.models:Product",
        readers=["shop.catalog.views", "shop.cart.views"],
        writers=["shop.catalog.views"],
    )
    g.tables["cart_items"] = Table(
        name="cart_items",
        readers=["shop.cart.views", "shop.orders.views"],
        writers=["shop.cart.views", "shop.orders.views"],
    )
    g.tables["orders"] = Table(name="orders", writers=["shop.orders.views"])
    for m in (
        "shop.catalog.views",
        "shop.cart.views",
        "shop.orders.views",
        "shop.catalog.api",
        "shop.cart.api",
        "shop.orders.api",
    ):
        g.externals[m] = [
            ExternalImport(framework, DIST[framework]),
            ExternalImport("json", None, stdlib=True),
        ]
    g.externals["shop.catalog.models"] = [ExternalImport("sqlalchemy", "SQLAlchemy")]
    g.externals["shop.orders.views"].append(ExternalImport("requests", "requests"))
    return g.finalize()


def make_plan(framework: str):
    return plan_from_dict(
        {
            "version": 1,
            "services": {
                "catalog": {
                    "modules": [
                        "shop.catalog",
                        "shop.catalog.views",
                        "shop.catalog.api",
                        "shop.catalog.models",
                    ],
                    "symbols": ["shop.catalog.models:Product"],
                    "tables": ["products"],
                    "interface": ["shop.catalog.models:Product"],
                },
                "cart": {
                    "modules": ["shop.cart", "shop.cart.views", "shop.cart.api"],
                    "tables": ["cart_items"],
                    "depends_on": ["catalog"],
                },
                "orders": {
                    "modules": ["shop.orders", "shop.orders.views", "shop.orders.api"],
                    "tables": ["orders"],
                    "depends_on": ["cart"],
                },
            },
            "shared_kernel": {"modules": ["shop.config"]},
            "meta": {"framework": framework, "project": "shop"},
        },
        source="fixture",
    )
