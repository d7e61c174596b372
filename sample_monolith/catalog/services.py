"""Catalog service layer: product lookups, listings, search and prices.

Other domains should come through these functions (plain dicts out) rather than the Product
table; the checkout team still has a shortcut or two, see DECOMPOSITION.md.
"""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import func, or_, select

from sample_monolith.db import db_session
from sample_monolith.inventory import services as inventory_services
from sample_monolith.models import Category, Product
from sample_monolith.utils import ApiError, paginate, slugify, utcnow

SORTS = ("relevance", "name", "price_asc", "price_desc", "newest")

# Module-level cache of the category tree: it changes a few times a year but renders on every
# page. Invalidated explicitly by staff edits; expires after CATALOG_CACHE_SECONDS otherwise.
_CATEGORY_CACHE: dict[str, Any] = {"loaded_at": 0.0, "tree": None, "by_slug": None}
CACHE_SECONDS = 60


def invalidate_cache() -> None:
    _CATEGORY_CACHE.update(loaded_at=0.0, tree=None, by_slug=None)


def _load_categories() -> None:
    rows = db_session.execute(select(Category).order_by(Category.position, Category.name))
    categories = list(rows.scalars())
    counts = dict(db_session.execute(
        select(Product.category_id, func.count(Product.id))
        .where(Product.is_active.is_(True)).group_by(Product.category_id)).all())
    by_slug: dict[str, dict[str, Any]] = {}
    nodes: dict[int, dict[str, Any]] = {}
    for category in categories:
        node = category.to_dict()
        node["product_count"] = counts.get(category.id, 0)
        node["children"] = []
        nodes[category.id] = node
        by_slug[category.slug] = node
    tree = []
    for category in categories:
        node = nodes[category.id]
        if category.parent_id and category.parent_id in nodes:
            nodes[category.parent_id]["children"].append(node)
        else:
            tree.append(node)
    _CATEGORY_CACHE.update(loaded_at=time.monotonic(), tree=tree, by_slug=by_slug)


def category_tree() -> list[dict[str, Any]]:
    if _CATEGORY_CACHE["tree"] is None or time.monotonic() - _CATEGORY_CACHE["loaded_at"] > CACHE_SECONDS:
        _load_categories()
    return _CATEGORY_CACHE["tree"]


def category_by_slug(slug: str) -> dict[str, Any] | None:
    category_tree()
    return _CATEGORY_CACHE["by_slug"].get(slug)


def _descendant_ids(node: dict[str, Any]) -> list[int]:
    ids = [node["id"]]
    for child in node["children"]:
        ids.extend(_descendant_ids(child))
    return ids


def get_product_by_sku(sku: str, include_inactive: bool = False) -> Product | None:
    stmt = select(Product).where(Product.sku == sku.upper())
    if not include_inactive:
        stmt = stmt.where(Product.is_active.is_(True))
    return db_session.execute(stmt).scalar_one_or_none()


def get_product_by_slug(slug: str) -> Product | None:
    return db_session.execute(
        select(Product).where(Product.slug == slug, Product.is_active.is_(True))
    ).scalar_one_or_none()


def require_product(sku: str) -> Product:
    product = get_product_by_sku(sku)
    if product is None:
        raise ApiError(404, "unknown_product", f"no product with SKU {sku!r}")
    return product


def product_dicts(products: list[Product]) -> list[dict[str, Any]]:
    """Serialise products with their availability (one inventory query for the whole page)."""
    available = inventory_services.available_for_products([p.id for p in products])
    result = []
    for product in products:
        data = product.to_dict()
        data["available"] = available.get(product.id, 0)
        data["in_stock"] = data["available"] > 0
        result.append(data)
    return result


def product_snapshots(skus: list[str]) -> dict[str, dict[str, Any]]:
    """Plain facts about products other domains need for pricing and shipping, keyed by SKU."""
    if not skus:
        return {}
    now = utcnow()
    rows = db_session.execute(
        select(Product).where(Product.sku.in_(sorted({s.upper() for s in skus})))).scalars()
    return {p.sku: _snapshot(p, now) for p in rows}


def _snapshot(p: Product, now: Any) -> dict[str, Any]:
    return {"product_id": p.id, "sku": p.sku, "name": p.name,
            "unit_price_cents": p.current_price_cents(now),
            "weight_grams": p.weight_grams, "perishable": p.is_perishable,
            "active": p.is_active, "image": p.image, "slug": p.slug}


def product_snapshots_by_id(product_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The same plain facts keyed by product id (for domains that store only the id)."""
    if not product_ids:
        return {}
    now = utcnow()
    rows = db_session.execute(select(Product).where(Product.id.in_(sorted(set(product_ids)))))
    return {p.id: _snapshot(p, now) for p in rows.scalars()}


def product_facts(product_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """Id, SKU, name, category and list price of products (all of them without ids), by SKU:
    what the back office's reports put next to other domains' figures."""
    stmt = (select(Product.id, Product.sku, Product.name, Product.price_cents, Product.is_active,
                   Category.slug, Category.name)
            .join(Category, Product.category_id == Category.id).order_by(Product.sku))
    if product_ids is not None:
        if not product_ids:
            return []
        stmt = stmt.where(Product.id.in_(sorted(set(product_ids))))
    return [{"product_id": pid, "sku": sku, "name": name, "list_price_cents": price,
             "active": bool(active), "category": slug, "category_name": category}
            for pid, sku, name, price, active, slug, category in db_session.execute(stmt)]

def require_snapshot(sku: str, include_inactive: bool = False) -> dict[str, Any]:
    """Plain facts about one product by SKU, or a 404 ``unknown_product`` error."""
    product = get_product_by_sku(sku, include_inactive=include_inactive)
    if product is None:
        raise ApiError(404, "unknown_product", f"no product with SKU {sku!r}")
    return _snapshot(product, utcnow())


def list_products(category_slug: str | None = None, page: int = 1, per_page: int = 12,
                  sort: str = "name", in_stock_only: bool = False) -> dict[str, Any]:
    stmt = select(Product).where(Product.is_active.is_(True))
    if category_slug:
        node = category_by_slug(category_slug)
        if node is None:
            raise ApiError(404, "unknown_category", f"no category {category_slug!r}")
        stmt = stmt.where(Product.category_id.in_(_descendant_ids(node)))
    products = list(db_session.execute(stmt).scalars())
    items = product_dicts(products)
    if in_stock_only:
        items = [item for item in items if item["in_stock"]]
    items = _sort(items, sort)
    return paginate(items, page, per_page)


def featured_products(limit: int = 8) -> list[dict[str, Any]]:
    products = list(db_session.execute(
        select(Product).where(Product.is_active.is_(True), Product.featured.is_(True))
        .order_by(Product.name).limit(limit)).scalars())
    return product_dicts(products)


def _sort(items: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    if sort not in SORTS:
        raise ApiError(400, "bad_sort", f"sort must be one of {', '.join(SORTS)}")
    if sort == "price_asc":
        return sorted(items, key=lambda i: (i["price_cents"], i["sku"]))
    if sort == "price_desc":
        return sorted(items, key=lambda i: (-i["price_cents"], i["sku"]))
    if sort == "name":
        return sorted(items, key=lambda i: (i["name"].lower(), i["sku"]))
    if sort == "newest":
        return sorted(items, key=lambda i: i["sku"], reverse=True)
    return items


TOKEN_RE = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset({"a", "an", "and", "the", "of", "for", "with", "in"})


def _tokens(text: str) -> list[str]:
    return [t for t in TOKEN_RE.findall(text.lower()) if t not in STOPWORDS]


def _score(product: Product, tokens: list[str]) -> int:
    """Name hits beat tag hits beat description hits; every token must hit somewhere."""
    name = product.name.lower()
    tags = product.tags.lower()
    description = product.description.lower()
    origin = product.origin.lower()
    score = 0
    for token in tokens:
        hit = 0
        if re.search(rf"\b{re.escape(token)}", name):
            hit = 10
        elif token in tags:
            hit = 6
        elif token in origin:
            hit = 4
        elif token in description:
            hit = 2
        elif token.endswith("s") and token[:-1] in name:
            hit = 5
        if not hit:
            return 0
        score += hit
    return score


def search(query: str, category_slug: str | None = None, min_price: int | None = None,
           max_price: int | None = None, in_stock_only: bool = False,
           sort: str = "relevance", page: int = 1, per_page: int = 12) -> dict[str, Any]:
    tokens = _tokens(query)
    if not tokens:
        raise ApiError(422, "empty_query", "type at least one word to search for")
    stmt = select(Product).where(Product.is_active.is_(True))
    like_terms = [or_(Product.name.ilike(f"%{t.rstrip('s')}%"), Product.tags.ilike(f"%{t}%"),
                      Product.description.ilike(f"%{t}%"), Product.origin.ilike(f"%{t}%"))
                  for t in tokens]
    stmt = stmt.where(*like_terms)
    if category_slug:
        node = category_by_slug(category_slug)
        if node is None:
            raise ApiError(404, "unknown_category", f"no category {category_slug!r}")
        stmt = stmt.where(Product.category_id.in_(_descendant_ids(node)))
    candidates = list(db_session.execute(stmt).scalars())
    scored = [(p, _score(p, tokens)) for p in candidates]
    scored = [(p, s) for p, s in scored if s > 0]
    scored.sort(key=lambda ps: (-ps[1], ps[0].name.lower()))
    items = product_dicts([p for p, _ in scored])
    scores = {p.sku: s for p, s in scored}
    for item in items:
        item["score"] = scores[item["sku"]]
    if min_price is not None:
        items = [i for i in items if i["price_cents"] >= min_price]
    if max_price is not None:
        items = [i for i in items if i["price_cents"] <= max_price]
    if in_stock_only:
        items = [i for i in items if i["in_stock"]]
    if sort != "relevance":
        items = _sort(items, sort)
    result = paginate(items, page, per_page)
    result["query"] = query
    return result


def create_product(data: dict[str, Any]) -> Product:
    """Staff: add a product. Stock is added separately through inventory."""
    sku = str(data["sku"]).strip().upper()
    if not re.fullmatch(r"[A-Z0-9-]{3,32}", sku):
        raise ApiError(422, "bad_sku", "SKU must be 3-32 letters, digits or dashes")
    if get_product_by_sku(sku, include_inactive=True) is not None:
        raise ApiError(409, "duplicate_sku", f"SKU {sku} already exists")
    category = db_session.execute(
        select(Category).where(Category.slug == data.get("category", "pantry"))
    ).scalar_one_or_none()
    if category is None:
        raise ApiError(422, "unknown_category", f"no category {data.get('category')!r}")
    price = int(data["price_cents"])
    if price <= 0:
        raise ApiError(422, "bad_price", "price_cents must be positive")
    slug = slugify(data.get("slug") or f"{data['name']}-{sku}")
    product = Product(
        sku=sku, slug=slug, name=str(data["name"]).strip(),
        description=str(data.get("description", "")), price_cents=price,
        weight_grams=int(data.get("weight_grams", 500)),
        is_perishable=bool(data.get("perishable", False)),
        origin=str(data.get("origin", "Atlanta, GA")), tags=",".join(data.get("tags", [])),
        category_id=category.id, featured=bool(data.get("featured", False)),
    )
    db_session.add(product)
    db_session.commit()
    invalidate_cache()
    return product


def update_product(sku: str, data: dict[str, Any]) -> Product:
    product = get_product_by_sku(sku, include_inactive=True)
    if product is None:
        raise ApiError(404, "unknown_product", f"no product with SKU {sku!r}")
    if "price_cents" in data:
        if int(data["price_cents"]) <= 0:
            raise ApiError(422, "bad_price", "price_cents must be positive")
        product.price_cents = int(data["price_cents"])
    if "sale_price_cents" in data:
        sale = data["sale_price_cents"]
        product.sale_price_cents = None if sale is None else int(sale)
    for field in ("name", "description", "origin"):
        if field in data:
            setattr(product, field, str(data[field]))
    if "active" in data:
        product.is_active = bool(data["active"])
    if "featured" in data:
        product.featured = bool(data["featured"])
    db_session.commit()
    invalidate_cache()
    return product
