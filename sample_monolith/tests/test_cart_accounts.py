"""Journeys: guest carts, accounts, and the guest cart merging into the customer's at sign-in."""

from __future__ import annotations

from sample_monolith.tests.journey import (
    PASSWORD,
    add_to_cart,
    expect,
    new_customer,
    register,
    sign_in,
    unique,
)


def test_guest_cart_rules(shop):
    cart = expect(shop.post("/api/cart"), 201)
    token = cart["token"]
    assert cart["items"] == [] and cart["subtotal_cents"] == 0
    view = add_to_cart(shop, "PSP-GRT-001", 2, cart=token)
    view = add_to_cart(shop, "PSP-GRT-001", 1, cart=token)
    assert [(i["sku"], i["quantity"]) for i in view["items"]] == [("PSP-GRT-001", 3)]
    view = add_to_cart(shop, "psp-pec-002", 1, cart=token)  # SKUs are case-insensitive
    assert view["subtotal_cents"] == 3 * 1099 + 899
    assert view["item_count"] == 4
    assert view["weight_grams"] == 3 * 950 + 250
    too_many = shop.post("/api/cart/items", {"sku": "PSP-GRT-001", "quantity": 30}, cart=token)
    assert expect(too_many, 422)["error"] == "line_limit"
    sold_out = shop.post("/api/cart/items", {"sku": "PSP-MUS-001", "quantity": 1}, cart=token)
    assert expect(sold_out, 409)["error"] == "insufficient_stock"
    unknown = shop.post("/api/cart/items", {"sku": "NOPE-1", "quantity": 1}, cart=token)
    assert expect(unknown, 404)["error"] == "unknown_product"
    view = expect(shop.put("/api/cart/items/PSP-GRT-001", {"quantity": 1}, cart=token), 200)
    assert {i["sku"]: i["quantity"] for i in view["items"]} == {"PSP-GRT-001": 1,
                                                                "PSP-PEC-002": 1}
    view = expect(shop.delete("/api/cart/items/PSP-PEC-002", cart=token), 200)
    assert [i["sku"] for i in view["items"]] == ["PSP-GRT-001"]
    assert expect(shop.get("/api/cart", cart=token), 200)["item_count"] == 1
    assert expect(shop.get("/api/cart", cart="no-such-token"), 404)["error"] == "unknown_cart"


def test_registration_rules_and_sessions(shop):
    email = register(shop, "Ada Lovelace")
    again = shop.post("/api/accounts/register",
                      {"email": email.upper(), "password": PASSWORD, "name": "Ada"})
    assert expect(again, 409)["error"] == "email_taken"
    weak = shop.post("/api/accounts/register",
                     {"email": unique("w") + "@example.com", "password": "short", "name": "W"})
    assert expect(weak, 422)["error"] == "weak_password"
    bad = shop.post("/api/accounts/register",
                    {"email": "not-an-email", "password": PASSWORD, "name": "X"})
    assert expect(bad, 422)["error"] == "bad_email"
    wrong = shop.post("/api/accounts/sessions", {"email": email, "password": "wrong-password"})
    assert expect(wrong, 401)["error"] == "bad_credentials"

    token = sign_in(shop, email)["token"]
    me = expect(shop.get("/api/accounts/me", token=token), 200)
    assert me["email"] == email and me["name"] == "Ada Lovelace" and me["is_staff"] is False
    assert expect(shop.get("/api/accounts/me"), 401)["error"] == "auth_required"
    assert expect(shop.get("/api/accounts/me", token="forged.token"), 401)["error"] == \
        "bad_token"
    assert shop.delete("/api/accounts/sessions/current", token=token).status == 204
    assert expect(shop.get("/api/accounts/me", token=token), 401)["error"] == "session_ended"


def test_address_book(shop):
    _email, token = new_customer(shop)
    first = expect(shop.post("/api/accounts/addresses", {
        "recipient": "Ada", "line1": "1 Peachtree St", "city": "Atlanta", "state": "ga",
        "zip_code": "30303-1234"}, token=token), 201)
    assert first["is_default"] is True and first["state"] == "GA"
    assert first["zip_code"] == "30303"
    second = expect(shop.post("/api/accounts/addresses", {
        "label": "Lake house", "recipient": "Ada", "line1": "9 Shore Rd", "city": "Blue Ridge",
        "state": "GA", "zip_code": "30513", "is_default": True}, token=token), 201)
    book = expect(shop.get("/api/accounts/addresses", token=token), 200)["addresses"]
    assert [(a["id"], a["is_default"]) for a in book] == [(first["id"], False),
                                                          (second["id"], True)]
    bad = shop.post("/api/accounts/addresses", {"recipient": "Ada", "line1": "x", "city": "y",
                                                "state": "ZZ", "zip_code": "123"}, token=token)
    assert expect(bad, 422)["fields"] == ["state", "zip_code"]
    assert shop.delete(f"/api/accounts/addresses/{second['id']}", token=token).status == 204
    book = expect(shop.get("/api/accounts/addresses", token=token), 200)["addresses"]
    assert [(a["id"], a["is_default"]) for a in book] == [(first["id"], True)]
    _other, other_token = new_customer(shop)
    assert shop.delete(f"/api/accounts/addresses/{first['id']}",
                       token=other_token).status == 404


def test_sign_in_merges_the_guest_cart(shop):
    email, token = new_customer(shop)
    add_to_cart(shop, "PSP-HON-001", 2, token=token)
    assert shop.delete("/api/accounts/sessions/current", token=token).status == 204

    guest = expect(shop.post("/api/cart"), 201)["token"]
    add_to_cart(shop, "PSP-HON-001", 1, cart=guest)
    add_to_cart(shop, "PSP-BBQ-001", 3, cart=guest)

    result = sign_in(shop, email, cart=guest)
    assert result["cart"]["merged"] is True and result["cart"]["moved_lines"] == 2
    merged = {i["sku"]: i["quantity"] for i in result["cart"]["cart"]["items"]}
    assert merged == {"PSP-HON-001": 3, "PSP-BBQ-001": 3}
    token = result["token"]
    assert {i["sku"]: i["quantity"] for i in expect(
        shop.get("/api/cart", token=token), 200)["items"]} == merged
    closed = shop.post("/api/cart/items", {"sku": "PSP-GRT-001", "quantity": 1}, cart=guest)
    assert expect(closed, 409)["error"] == "cart_closed"


def test_first_sign_in_adopts_the_guest_cart(shop):
    email = register(shop)
    guest = expect(shop.post("/api/cart"), 201)["token"]
    add_to_cart(shop, "PSP-TEA-001", 2, cart=guest)
    result = sign_in(shop, email, cart=guest)
    assert result["cart"]["merged"] is True
    assert result["cart"]["cart"]["token"] == guest
    assert [(i["sku"], i["quantity"]) for i in result["cart"]["cart"]["items"]] == \
        [("PSP-TEA-001", 2)]
    # The cart now belongs to the account: the bare token no longer opens it.
    assert expect(shop.get("/api/cart", cart=guest), 403)["error"] == "cart_owned"
