"""Journeys through checkout: coupons, taxes, shipping, declines, idempotent retries, expiry."""

from __future__ import annotations

import datetime

from sample_monolith.tests.journey import (
    ATLANTA,
    DECLINED_CARD,
    add_to_cart,
    available,
    buy,
    card,
    expect,
    new_customer,
    pay,
    staff_token,
    start_checkout,
    stocked_product,
    unique,
)


def test_checkout_with_coupon_prices_taxes_and_creates_the_order(shop):
    email, token = new_customer(shop)
    add_to_cart(shop, "PSP-GRT-001", 2, token=token)
    add_to_cart(shop, "PSP-HON-001", 1, token=token)
    quote = expect(shop.post("/api/checkout/quote", {
        "shipping_address": ATLANTA, "shipping_method": "standard", "coupon_code": "PEACH10"},
        token=token), 200)
    session = expect(start_checkout(shop, token, coupon="peach10"), 201)
    assert quote["total_cents"] == session["total_cents"] and quote["zone"] == 1
    # 2 x 10.99 + 17.99; 10 % off; 2.52 kg to zone 1 = 4.99 + 5 x 0.60; Atlanta tax 8.9 %
    # on discounted goods plus shipping.
    assert session["subtotal_cents"] == 3997
    assert session["discount_cents"] == 400
    assert session["shipping_cents"] == 799
    assert session["tax_rate_bps"] == 890
    assert session["tax_cents"] == 391
    assert session["total_cents"] == 3997 - 400 + 799 + 391
    assert session["coupon"]["code"] == "PEACH10"
    assert session["status"] == "open" and session["email"] == email

    paid = expect(pay(shop, session["id"], token), 201)
    order = paid["order"]
    assert order["number"].startswith("PSP-")
    assert order["status"] == "placed" and order["payment_status"] == "paid"
    assert order["total_cents"] == session["total_cents"]
    assert order["coupon_code"] == "PEACH10"
    assert {(x["sku"], x["quantity"]) for x in order["lines"]} == {("PSP-GRT-001", 2),
                                                                   ("PSP-HON-001", 1)}
    assert paid["payment"]["status"] == "succeeded" and paid["payment"]["card_last4"] == "4242"

    history = expect(shop.get("/api/orders", token=token), 200)["orders"]
    assert [o["number"] for o in history] == [order["number"]]
    detail = expect(shop.get(f"/api/orders/{order['number']}", token=token), 200)
    assert detail["ship_to"]["zip_code"] == ATLANTA["zip_code"]
    assert [e["to"] for e in detail["events"]] == ["placed"]
    # The cart was converted; the customer starts with a fresh, empty one.
    assert expect(shop.get("/api/cart", token=token), 200)["items"] == []
    assert expect(shop.get(f"/api/checkout/sessions/{session['id']}", token=token),
                  200)["order_number"] == order["number"]


def test_coupon_rules(shop):
    _email, token = new_customer(shop)
    add_to_cart(shop, "PSP-JAM-001", 1, token=token)  # $8.99
    expired = start_checkout(shop, token, coupon="SUMMER2023")
    assert expect(expired, 422)["error"] == "coupon_expired"
    early = start_checkout(shop, token, coupon="HOLIDAY2099")
    assert expect(early, 422)["error"] == "coupon_not_started"
    small = start_checkout(shop, token, coupon="WELCOME5")
    assert expect(small, 422)["error"] == "coupon_minimum"
    unknown = start_checkout(shop, token, coupon="FREE-MONEY")
    assert expect(unknown, 422)["error"] == "coupon_invalid"
    check = expect(shop.post("/api/promotions/validate",
                             {"code": "PEACH10", "subtotal_cents": 1005}), 200)
    assert check["discount_cents"] == 101 and check["kind"] == "percent"

    add_to_cart(shop, "PSP-BOX-002", 1, token=token)  # over the $25 minimum now
    session = expect(start_checkout(shop, token, coupon="WELCOME5"), 201)
    assert session["discount_cents"] == 500
    expect(pay(shop, session["id"], token), 201)
    add_to_cart(shop, "PSP-BOX-002", 1, token=token)
    again = start_checkout(shop, token, coupon="WELCOME5")
    assert expect(again, 422)["error"] == "coupon_already_used"

    free = expect(start_checkout(shop, token, coupon="FREESHIP", address={
        "recipient": "A", "line1": "1 Main St", "city": "Birmingham", "state": "AL",
        "zip_code": "35203"}), 201)
    assert free["shipping_cents"] == 0 and free["tax_cents"] == 0  # no Georgia tax in Alabama


def test_coupon_usage_limit_counts_paid_orders_and_cancellation_gives_it_back(shop):
    staff = staff_token(shop)
    code = unique("ONCE").upper().replace("-", "")
    coupon = expect(shop.post("/api/promotions/coupons", {
        "code": code, "kind": "fixed", "value": 300, "usage_limit": 1}, token=staff), 201)
    assert coupon["times_used"] == 0
    _a, first = new_customer(shop)
    _b, second = new_customer(shop)
    add_to_cart(shop, "PSP-TEA-001", 1, token=second)
    # Both may start a checkout with it: usage is counted at payment.
    order = buy(shop, first, "PSP-TEA-001", 1, coupon=code)
    assert order["discount_cents"] == 300
    exhausted = start_checkout(shop, second, coupon=code)
    assert expect(exhausted, 422)["error"] == "coupon_exhausted"
    expect(shop.post(f"/api/orders/{order['number']}/cancel", {}, token=first), 200)
    assert expect(start_checkout(shop, second, coupon=code), 201)["discount_cents"] == 300
    listed = {c["code"]: c for c in expect(shop.get("/api/promotions/coupons", token=staff),
                                           200)["coupons"]}
    assert listed[code]["times_used"] == 0
    assert shop.post("/api/promotions/coupons", {"code": "X", "kind": "percent", "value": 5},
                     token=second).status == 403


def test_payment_decline_then_retry_with_idempotency_keys(shop):
    staff = staff_token(shop)
    sku = stocked_product(shop, staff, 5)
    _email, token = new_customer(shop)
    add_to_cart(shop, sku, 2, token=token)
    session = expect(start_checkout(shop, token), 201)
    assert available(shop, sku) == 3  # two units held for this checkout

    no_key = shop.post(f"/api/checkout/sessions/{session['id']}/pay", {"card": card()},
                       token=token)
    assert expect(no_key, 422)["error"] == "idempotency_key_required"
    first_key = unique("attempt")
    declined = expect(pay(shop, session["id"], token, DECLINED_CARD, key=first_key), 402)
    assert declined["error"] == "payment_declined"
    assert declined["decline_code"] == "card_declined"
    replay = expect(pay(shop, session["id"], token, DECLINED_CARD, key=first_key), 402)
    assert replay["payment"]["id"] == declined["payment"]["id"]
    assert replay["payment"]["replayed"] is True
    conflict = pay(shop, session["id"], token, key=first_key)
    assert expect(conflict, 409)["error"] == "idempotency_conflict"
    broke = expect(pay(shop, session["id"], token, "4000000000009995",
                       key=unique("attempt")), 402)
    assert broke["decline_code"] == "insufficient_funds"
    invalid = shop.post(f"/api/checkout/sessions/{session['id']}/pay",
                        {"card": card("4242424242424241")}, token=token,
                        headers={"Idempotency-Key": unique("attempt")})
    assert expect(invalid, 422)["error"] == "card_invalid"
    assert available(shop, sku) == 3  # declines keep the hold

    key = unique("attempt")
    paid = expect(pay(shop, session["id"], token, key=key), 201)
    number = paid["order"]["number"]
    assert paid["replayed"] is False
    again = expect(pay(shop, session["id"], token, key=key), 200)
    assert again["replayed"] is True and again["order"]["number"] == number
    assert again["payment"]["id"] == paid["payment"]["id"]
    assert expect(pay(shop, session["id"], token, key=unique("attempt")), 409)["error"] == \
        "already_paid"
    assert available(shop, sku) == 3  # charged and committed exactly once
    order = expect(shop.get(f"/api/orders/{number}", token=token), 200)
    assert [p["status"] for p in order["payments"]] == ["succeeded"]


def test_expired_reservations_release_stock_and_block_payment(shop):
    staff = staff_token(shop)
    sku = stocked_product(shop, staff, 2)
    _email, token = new_customer(shop)
    add_to_cart(shop, sku, 2, token=token)
    session = expect(start_checkout(shop, token), 201)
    assert available(shop, sku) == 0
    _other, other = new_customer(shop)
    blocked = shop.post("/api/cart/items", {"sku": sku, "quantity": 1}, token=other)
    assert expect(blocked, 409)["error"] == "insufficient_stock"

    later = (datetime.datetime.now(datetime.timezone.utc)
             + datetime.timedelta(hours=1)).isoformat()
    swept = expect(shop.post("/api/inventory/reservations/sweep", {"as_of": later},
                             token=staff), 200)
    assert swept["expired"] >= 1
    assert available(shop, sku) == 2
    late = pay(shop, session["id"], token)
    assert expect(late, 409)["error"] == "reservation_expired"
    state = expect(shop.get(f"/api/checkout/sessions/{session['id']}", token=token), 200)
    assert state["status"] == "expired"
    # Checking out again takes a fresh hold and goes through.
    fresh = expect(start_checkout(shop, token), 201)
    assert expect(pay(shop, fresh["id"], token), 201)["order"]["item_count"] == 2
    assert available(shop, sku) == 0


def test_checkout_refuses_short_stock_and_empty_carts(shop):
    staff = staff_token(shop)
    sku = stocked_product(shop, staff, 3)
    _a, first = new_customer(shop)
    _b, second = new_customer(shop)
    add_to_cart(shop, sku, 3, token=first)
    add_to_cart(shop, sku, 2, token=second)
    expect(start_checkout(shop, first), 201)
    short = expect(start_checkout(shop, second), 409)
    assert short["error"] == "insufficient_stock"
    assert short["lines"] == [{"sku": sku, "requested": 2, "available": 0}]
    _c, third = new_customer(shop)
    assert expect(start_checkout(shop, third), 422)["error"] == "empty_cart"


def test_guest_checkout_needs_an_email_and_uses_the_cart_token(shop):
    guest = expect(shop.post("/api/cart"), 201)["token"]
    add_to_cart(shop, "PSP-PNT-002", 1, cart=guest)
    body = {"shipping_address": ATLANTA, "shipping_method": "local_courier"}
    assert expect(shop.post("/api/checkout/sessions", body, cart=guest), 422)["fields"] == \
        ["email"]
    email = unique("guest") + "@example.com"
    session = expect(shop.post("/api/checkout/sessions", body | {"email": email}, cart=guest),
                     201)
    assert session["shipping_cents"] == 699  # same-day van, Atlanta only
    other_cart = expect(shop.post("/api/cart"), 201)["token"]
    stranger = shop.post(f"/api/checkout/sessions/{session['id']}/pay", {"card": card()},
                         cart=other_cart, headers={"Idempotency-Key": unique("k")})
    assert stranger.status == 404
    paid = shop.post(f"/api/checkout/sessions/{session['id']}/pay", {"card": card()},
                     cart=guest, headers={"Idempotency-Key": unique("k")})
    assert expect(paid, 201)["order"]["email"] == email
