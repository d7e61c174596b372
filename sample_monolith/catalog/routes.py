"""JSON API of the catalog: /api/catalog/..."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from sample_monolith.catalog import services
from sample_monolith.inventory import services as inventory_services
from sample_monolith.utils import json_body, parse_int, require_fields, staff_required

bp = Blueprint("catalog_api", __name__)


def _flag(name: str) -> bool:
    return request.args.get(name, "").lower() in ("1", "true", "yes")


@bp.route("/categories")
def categories() -> Any:
    return jsonify({"categories": services.category_tree()})


@bp.route("/products")
def products() -> Any:
    result = services.list_products(
        category_slug=request.args.get("category") or None,
        page=parse_int(request.args.get("page"), 1, minimum=1, name="page"),
        per_page=parse_int(request.args.get("per_page"), current_app.config["PAGE_SIZE"],
                           minimum=1, maximum=100, name="per_page"),
        sort=request.args.get("sort", "name"), in_stock_only=_flag("in_stock"))
    return jsonify(result)


@bp.route("/products/<sku>")
def product(sku: str) -> Any:
    item = services.require_product(sku)
    data = services.product_dicts([item])[0]
    data["stock"] = inventory_services.stock_for_sku(item.sku)["warehouses"]
    data["category_name"] = item.category.name
    return jsonify(data)


@bp.route("/search")
def search() -> Any:
    result = services.search(
        request.args.get("q", ""), category_slug=request.args.get("category") or None,
        min_price=parse_int(request.args.get("min_price"), None, minimum=0, name="min_price")
        if request.args.get("min_price") else None,
        max_price=parse_int(request.args.get("max_price"), None, minimum=0, name="max_price")
        if request.args.get("max_price") else None,
        in_stock_only=_flag("in_stock"), sort=request.args.get("sort", "relevance"),
        page=parse_int(request.args.get("page"), 1, minimum=1, name="page"),
        per_page=parse_int(request.args.get("per_page"), current_app.config["PAGE_SIZE"],
                           minimum=1, maximum=100, name="per_page"))
    return jsonify(result)


@bp.route("/products", methods=["POST"])
@staff_required
def create_product() -> Any:
    data = json_body()
    require_fields(data, "sku", "name", "price_cents")
    product = services.create_product(data)
    return jsonify(services.product_dicts([product])[0]), 201


@bp.route("/products/<sku>", methods=["PATCH"])
@staff_required
def update_product(sku: str) -> Any:
    product = services.update_product(sku, json_body())
    return jsonify(services.product_dicts([product])[0])
