"""Route paths from user code: parsed, re-emitted per framework, or refused when unsafe."""

from __future__ import annotations

import pytest

from migrator.generation.routing import UnroutableError, parse_path, routing_table


@pytest.mark.parametrize(
    "raw, flask, fastapi, django, prefix",
    [
        (
            "/products/<int:pid>",
            "/products/<int:pid>",
            "/products/{pid:int}",
            "products/<int:pid>",
            "/products",
        ),
        (
            "/api/items/{item_id}",
            "/api/items/<item_id>",
            "/api/items/{item_id}",
            "api/items/<str:item_id>",
            "/api/items",
        ),
        (
            "cart/add/<slug:sku>/",
            "/cart/add/<sku>/",
            "/cart/add/{sku}/",
            "cart/add/<slug:sku>/",
            "/cart/add",
        ),
        (
            "^orders/(?P<pk>[0-9]+)/$",
            "/orders/<int:pk>/",
            "/orders/{pk:int}/",
            "orders/<int:pk>/",
            "/orders",
        ),
        (
            "/files/<path:rest>",
            "/files/<path:rest>",
            "/files/{rest:path}",
            "files/<path:rest>",
            "/files",
        ),
        ("/about", "/about", "/about", "about", "/about"),
        ("/p/item-<int:id>", "/p/item-<int:id>", "/p/item-{id:int}", "p/item-<int:id>", "/p"),
    ],
)
def test_paths_convert_between_frameworks(raw, flask, fastapi, django, prefix):
    parsed = parse_path(raw)
    assert parsed.render("flask") == flask
    assert parsed.render("fastapi") == fastapi
    assert parsed.render("django") == django
    assert parsed.static_prefix() == prefix


@pytest.mark.parametrize(
    "raw",
    [
        '/a"; drop',
        "/x/{{ evil }}",
        "/a b",
        "/../etc",
        "/re/[a-z]+",
        "/x/<a>/<a>",
        "/a\nb",
        "/q?x=1",
        "/a;b",
        "/a//b",
        "/é",
    ],
)
def test_unsafe_paths_are_refused(raw):
    with pytest.raises(UnroutableError):
        parse_path(raw)


def test_example_urls_match_their_converters():
    assert (
        parse_path("/o/<uuid:oid>/<int:n>/<path:p>").example()
        == "/o/12345678-1234-5678-1234-567812345678/1/a/b"
    )


def test_routing_table_prefers_exact_and_reports_conflicts():
    owned = {
        "catalog": [
            parse_path("/products"),
            parse_path("/products/<int:id>"),
            parse_path("/products/<int:id>/reviews"),
        ],
        "reviews": [
            parse_path("/products/<int:id>/x"),
            parse_path("/<slug>"),
            parse_path("/static/<path:p>"),
        ],
    }
    rules, notes = routing_table(owned)
    assert [(r.path, r.path_type, r.service) for r in rules] == [("/products", "Prefix", "catalog")]
    text = "\n".join(n for _, n in notes)
    assert "claimed by catalog, reviews; routed to catalog" in text
    assert "/{slug}: no static prefix" in text
    assert "inside the static assets path /static" in text
