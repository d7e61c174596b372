"""Journeys of the staff tools: price changes, delisting, stock, coupons, password changes."""

from __future__ import annotations

from sample_monolith.tests.journey import (
    PASSWORD,
    add_to_cart,
    expect,
    new_customer,
    sign_in,
    staff_token,
    start_checkout,
    stocked_product,
    unique,
)


def test_price_change_sale_and_delisting(shop):
    staff = staff_token(shop)
    sku = stocked_product(shop, staff, 8, price_cents=1200)
    _email, token = new_customer(shop)
    add_to_cart(shop, sku, 2, token=token)
    assert shop.request("PATCH", f"/api/catalog/products/{sku}", {"price_cents": 1},
                        token=token).status == 403
    sale = expect(shop.request("PATCH", f"/api/catalog/products/{sku}",
                               {"sale_price_cents": 900}, token=staff), 200)
    assert sale["price_cents"] == 900 and sale["on_sale"] is True
    cart = expect(shop.get("/api/cart", token=token), 200)
    assert cart["items"][0]["unit_price_cents"] == 900
    assert cart["items"][0]["price_changed"] is True and cart["subtotal_cents"] == 1800
    found = expect(shop.get(f"/api/catalog/search?q={sku}"), 200)
    assert [p["sku"] for p in found["items"]] == [sku]

    expect(shop.request("PATCH", f"/api/catalog/products/{sku}", {"active": False},
                        token=staff), 200)
    assert shop.get(f"/api/catalog/products/{sku}").status == 404
    assert expect(shop.get(f"/api/catalog/search?q={sku}"), 200)["items"] == []
    gone = start_checkout(shop, token)
    assert expect(gone, 409)["error"] == "unavailable_products"
    duplicate = shop.post("/api/catalog/products", {"sku": sku, "name": "x", "price_cents": 1},
                          token=staff)
    assert expect(duplicate, 409)["error"] == "duplicate_sku"


def test_stock_adjustments_and_availability(shop):
    staff = staff_token(shop)
    sku = stocked_product(shop, staff, 4)
    codes = [w["code"] for w in expect(shop.get("/api/inventory/warehouses"), 200)["warehouses"]]
    assert codes == ["ATL", "MAC", "SAV"]
    stock = expect(shop.post(f"/api/inventory/stock/{sku}/adjust",
                             {"warehouse": "sav", "delta": 6}, token=staff), 200)
    assert {w["warehouse"]: w["on_hand"] for w in stock["warehouses"]} == {"ATL": 4, "SAV": 6}
    too_many = shop.post(f"/api/inventory/stock/{sku}/adjust",
                         {"warehouse": "ATL", "delta": -5}, token=staff)
    assert expect(too_many, 422)["error"] == "negative_stock"
    assert shop.post(f"/api/inventory/stock/{sku}/adjust", {"warehouse": "ATL", "delta": 1},
                     token=None).status == 401
    both = expect(shop.get(f"/api/inventory/availability?skus={sku},PSP-MUS-001"), 200)
    assert both["availability"] == {sku: 10, "PSP-MUS-001": 0}
    # A checkout holds from the first warehouse by priority, then the next.
    _email, token = new_customer(shop)
    add_to_cart(shop, sku, 7, token=token)
    expect(start_checkout(shop, token), 201)
    held = {w["warehouse"]: w["reserved"]
            for w in expect(shop.get(f"/api/inventory/stock/{sku}"), 200)["warehouses"]}
    assert held == {"ATL": 4, "SAV": 3}


def test_deactivated_coupon_stops_working(shop):
    staff = staff_token(shop)
    code = unique("GONE").upper().replace("-", "")
    expect(shop.post("/api/promotions/coupons", {"code": code, "kind": "percent", "value": 5},
                     token=staff), 201)
    assert expect(shop.post("/api/promotions/validate",
                            {"code": code, "subtotal_cents": 2000}), 200)["discount_cents"] == 100
    expect(shop.post(f"/api/promotions/coupons/{code}/deactivate", {}, token=staff), 200)
    assert expect(shop.post("/api/promotions/validate", {"code": code, "subtotal_cents": 2000}),
                  422)["error"] == "coupon_invalid"
    bad = shop.post("/api/promotions/coupons", {"code": unique("P").upper(), "kind": "percent",
                                                "value": 95}, token=staff)
    assert expect(bad, 422)["error"] == "bad_value"


def test_password_change_ends_other_sessions(shop):
    email, first = new_customer(shop)
    second = sign_in(shop, email)["token"]
    sessions = expect(shop.get("/api/accounts/sessions", token=first), 200)["sessions"]
    assert len(sessions) == 2 and not any(s["revoked"] for s in sessions)
    wrong = shop.post("/api/accounts/password",
                      {"old_password": "not-it-at-all", "new_password": "new-pass-2024"},
                      token=second)
    assert expect(wrong, 401)["error"] == "bad_credentials"
    assert shop.post("/api/accounts/password",
                     {"old_password": PASSWORD, "new_password": "new-pass-2024"},
                     token=second).status == 204
    assert shop.get("/api/accounts/me", token=first).status == 401
    assert shop.post("/api/accounts/sessions", {"email": email, "password": PASSWORD}
                     ).status == 401
    fresh = sign_in(shop, email, password="new-pass-2024")["token"]
    assert expect(shop.get("/api/accounts/me", token=fresh), 200)["email"] == email
