"""Steps shared by the journey tests. Everything goes through the HTTP API."""

from __future__ import annotations

import datetime
import os
import uuid
from typing import Any

from sample_monolith.tests.shop_client import ShopClient

STAFF_EMAIL = os.environ.get("SHOP_STAFF_EMAIL", "staff@peachstate.example")
STAFF_PASSWORD = os.environ.get("SHOP_STAFF_PASSWORD", "peach-staff-2024")
PASSWORD = "sweet-tea-2024"
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
ATLANTA = {"recipient": "Rosa Parks", "line1": "450 Auburn Ave NE", "city": "Atlanta",
           "state": "GA", "zip_code": "30312"}
SAVANNAH = {"recipient": "Flannery O'Connor", "line1": "207 E Charlton St", "city": "Savannah",
            "state": "GA", "zip_code": "31401"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def card(number: str = GOOD_CARD) -> dict[str, Any]:
    return {"number": number, "exp_month": 12, "exp_year": datetime.date.today().year + 3,
            "cvc": "123", "name": "Test Shopper"}


def expect(response: Any, status: int) -> Any:
    assert response.status == status, response
    return response.json() if response.body else None


def register(shop: ShopClient, name: str = "Test Shopper") -> str:
    email = unique("shopper") + "@example.com"
    expect(shop.post("/api/accounts/register",
                     {"email": email, "password": PASSWORD, "name": name}), 201)
    return email


def sign_in(shop: ShopClient, email: str, password: str = PASSWORD,
            cart: str | None = None) -> dict[str, Any]:
    return expect(shop.post("/api/accounts/sessions", {"email": email, "password": password},
                            cart=cart), 201)


def new_customer(shop: ShopClient) -> tuple[str, str]:
    email = register(shop)
    return email, sign_in(shop, email)["token"]


def staff_token(shop: ShopClient) -> str:
    return sign_in(shop, STAFF_EMAIL, STAFF_PASSWORD)["token"]


def stocked_product(shop: ShopClient, staff: str, quantity: int, price_cents: int = 1000,
                    perishable: bool = False) -> str:
    """A product of the test's own, with exactly ``quantity`` units in Atlanta."""
    sku = unique("T").upper()[:20]
    expect(shop.post("/api/catalog/products", {
        "sku": sku, "name": f"Test Jar {sku}", "price_cents": price_cents, "category": "pantry",
        "weight_grams": 400, "perishable": perishable, "tags": ["test"]}, token=staff), 201)
    expect(shop.post(f"/api/inventory/stock/{sku}/adjust",
                     {"warehouse": "ATL", "delta": quantity, "reason": "test stock"},
                     token=staff), 200)
    return sku


def available(shop: ShopClient, sku: str) -> int:
    return expect(shop.get(f"/api/inventory/stock/{sku}"), 200)["available"]


def add_to_cart(shop: ShopClient, sku: str, quantity: int, *, token: str | None = None,
                cart: str | None = None) -> dict[str, Any]:
    return expect(shop.post("/api/cart/items", {"sku": sku, "quantity": quantity},
                            token=token, cart=cart), 200)


def start_checkout(shop: ShopClient, token: str, coupon: str | None = None,
                   address: dict[str, Any] | None = None, method: str = "standard") -> Any:
    return shop.post("/api/checkout/sessions", {
        "shipping_address": address or ATLANTA, "shipping_method": method,
        "coupon_code": coupon}, token=token)


def pay(shop: ShopClient, session_id: str, token: str, number: str = GOOD_CARD,
        key: str | None = None) -> Any:
    return shop.post(f"/api/checkout/sessions/{session_id}/pay", {"card": card(number)},
                     token=token, headers={"Idempotency-Key": key or unique("idem")})


def buy(shop: ShopClient, token: str, sku: str, quantity: int,
        coupon: str | None = None) -> dict[str, Any]:
    """Cart -> checkout -> paid order; returns the order."""
    add_to_cart(shop, sku, quantity, token=token)
    session = expect(start_checkout(shop, token, coupon), 201)
    return expect(pay(shop, session["id"], token), 201)["order"]
