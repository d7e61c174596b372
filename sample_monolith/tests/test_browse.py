"""Journey: a shopper browses the catalog, searches, and the pages and assets load."""

from __future__ import annotations

from sample_monolith.tests.journey import expect


def test_categories_are_a_tree_with_counts(shop):
    tree = expect(shop.get("/api/catalog/categories"), 200)["categories"]
    by_slug = {c["slug"]: c for c in tree}
    assert {"fresh-produce", "pantry", "sauces", "bakery", "gifts"} <= set(by_slug)
    children = [c["slug"] for c in by_slug["pantry"]["children"]]
    assert children == ["preserves-honey"]
    assert by_slug["pantry"]["product_count"] > 0


def test_category_listing_includes_subcategories_and_sorts(shop):
    listing = expect(shop.get("/api/catalog/products?category=pantry&per_page=100"), 200)
    skus = {p["sku"] for p in listing["items"]}
    assert "PSP-GRT-001" in skus
    assert "PSP-HON-001" in skus  # Preserves & Honey sits under Pantry
    cheap_first = expect(shop.get("/api/catalog/products?category=gifts&sort=price_asc"), 200)
    prices = [p["price_cents"] for p in cheap_first["items"]]
    assert prices == sorted(prices) and len(prices) >= 3
    paged = expect(shop.get("/api/catalog/products?category=pantry&per_page=2&page=2"), 200)
    assert paged["page"] == 2 and len(paged["items"]) == 2 and paged["pages"] >= 3
    assert expect(shop.get("/api/catalog/products?category=nope"), 404)["error"] == \
        "unknown_category"
    assert expect(shop.get("/api/catalog/products?sort=sideways"), 400)["error"] == "bad_sort"


def test_product_detail_has_price_stock_and_sale(shop):
    pecans = expect(shop.get("/api/catalog/products/PSP-PEC-001"), 200)
    assert pecans["price_cents"] == 1899 and pecans["price"] == "$18.99"
    assert pecans["category"] == "pantry" and pecans["origin"] == "Albany, GA"
    assert [w["warehouse"] for w in pecans["stock"]] == ["ATL", "MAC", "SAV"]
    assert pecans["available"] == sum(w["available"] for w in pecans["stock"]) > 0
    glazed = expect(shop.get("/api/catalog/products/PSP-PEC-002"), 200)
    assert glazed["on_sale"] is True and glazed["price_cents"] == 899
    assert glazed["list_price_cents"] == 1149
    sold_out = expect(shop.get("/api/catalog/products/PSP-MUS-001"), 200)
    assert sold_out["in_stock"] is False and sold_out["available"] == 0
    assert expect(shop.get("/api/catalog/products/NOPE-1"), 404)["error"] == "unknown_product"


def test_search_ranks_name_hits_first_and_filters(shop):
    result = expect(shop.get("/api/catalog/search?q=peach&per_page=50"), 200)
    names = [p["name"] for p in result["items"]]
    assert names and all("peach" in (p["name"] + " ".join(p["tags"])).lower()
                         or "peach" in p["description"].lower() for p in result["items"])
    scores = [p["score"] for p in result["items"]]
    assert scores == sorted(scores, reverse=True)
    assert "peach" in names[0].lower()
    plural = expect(shop.get("/api/catalog/search?q=pecans"), 200)
    assert "PSP-PEC-001" in {p["sku"] for p in plural["items"]}
    both = expect(shop.get("/api/catalog/search?q=peach+preserves"), 200)
    assert [p["sku"] for p in both["items"]][0] == "PSP-JAM-001"
    cheap = expect(shop.get("/api/catalog/search?q=honey&max_price=1500"), 200)
    assert cheap["items"] and all(p["price_cents"] <= 1500 for p in cheap["items"])
    in_stock = expect(shop.get("/api/catalog/search?q=muscadine&in_stock=1"), 200)
    assert "PSP-MUS-001" not in {p["sku"] for p in in_stock["items"]}
    assert expect(shop.get("/api/catalog/search?q=the"), 422)["error"] == "empty_query"


def test_legacy_mobile_search_keeps_its_shape(shop):
    body = expect(shop.get("/api/search?q=grits"), 200)
    assert body["count"] == 2
    assert {r["sku"] for r in body["results"]} == {"PSP-GRT-001", "PSP-GRT-002"}
    assert all(r["url"].startswith("/p/") and r["price"] == "$10.99" for r in body["results"])


def test_pages_and_static_assets_render(shop):
    home = shop.get("/", headers={"Accept": "text/html"})
    assert home.status == 200 and "Peach State Provisions" in home.text
    assert "Fort Valley Peaches" in home.text
    category = shop.get("/c/preserves-honey", headers={"Accept": "text/html"})
    assert category.status == 200 and "Savannah Tupelo Honey" in category.text
    product = shop.get("/p/albany-pecan-halves-1-lb", headers={"Accept": "text/html"})
    assert product.status == 200 and "$18.99" in product.text
    search = shop.get("/search?q=vidalia", headers={"Accept": "text/html"})
    assert search.status == 200 and "Vidalia Sweet Onions" in search.text
    assert shop.get("/shipping-policy", headers={"Accept": "text/html"}).status == 200
    assert shop.get("/c/not-a-category", headers={"Accept": "text/html"}).status == 404
    css = shop.get("/static/css/shop.css")
    assert css.status == 200 and css.headers["content-type"].startswith("text/css")
    assert "--peach" in css.text
    js = shop.get("/static/js/shop.js")
    assert js.status == 200 and "add-to-cart" in js.text
    logo = shop.get("/static/img/logo.svg")
    assert logo.status == 200 and logo.text.lstrip().startswith("<svg")
    assert expect(shop.get("/healthz"), 200) == {"status": "ok"}
