"""The shopper's and the staff's HTML pages, with a browser-like cookie session.

These need cookies, so they run through Flask's test client only; the JSON journeys cover the
same rules over plain HTTP.
"""

from __future__ import annotations

import re

from sample_monolith.tests.journey import (
    DECLINED_CARD,
    GOOD_CARD,
    PASSWORD,
    STAFF_EMAIL,
    STAFF_PASSWORD,
    card,
    unique,
)

ADDRESS_FORM = {"recipient": "Martin King", "line1": "501 Auburn Ave NE", "city": "Atlanta",
                "state": "GA", "zip_code": "30312", "shipping_method": "standard"}


def _card_form(number: str) -> dict[str, str]:
    details = card(number)
    return {"card_number": details["number"], "exp_month": str(details["exp_month"]),
            "exp_year": str(details["exp_year"]), "cvc": details["cvc"]}


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, f"no hidden {name} in page"
    return match.group(1)


def test_shopper_pages_from_basket_to_cancelled_order(flask_app):
    browser = flask_app.test_client()
    assert "Your basket is empty" in browser.get("/cart").get_data(as_text=True)
    added = browser.post("/cart/add", data={"sku": "PSP-GRT-001", "quantity": "2"})
    assert added.status_code == 302
    basket = browser.get("/cart").get_data(as_text=True)
    assert "Stone-Ground Yellow Grits" in basket and "data-cart-count>2<" in basket

    email = unique("page") + "@example.com"
    registered = browser.post("/account/register", data={
        "name": "Martin King", "email": email, "password": PASSWORD})
    assert registered.status_code == 302 and registered.headers["Location"].endswith("/account")
    assert "Hello, Martin King" in browser.get("/account").get_data(as_text=True)
    assert "data-cart-count>2<" in browser.get("/cart").get_data(as_text=True)  # cart adopted

    form_page = browser.get("/checkout").get_data(as_text=True)
    key = _hidden(form_page, "idempotency_key")
    declined = browser.post("/checkout", data={**ADDRESS_FORM, **_card_form(DECLINED_CARD),
                                               "idempotency_key": key})
    assert declined.status_code == 402
    page = declined.get_data(as_text=True)
    assert "declined" in page
    checkout_id = _hidden(page, "checkout_id")
    new_key = _hidden(page, "idempotency_key")
    assert new_key != key
    paid = browser.post("/checkout", data={**ADDRESS_FORM, **_card_form(GOOD_CARD),
                                           "checkout_id": checkout_id,
                                           "idempotency_key": new_key})
    assert paid.status_code == 302
    number = re.search(r"/orders/(PSP-\d+)/thanks", paid.headers["Location"]).group(1)
    assert f"Order {number} is in" in browser.get(f"/orders/{number}/thanks").get_data(
        as_text=True)
    assert number in browser.get("/account").get_data(as_text=True)

    detail = browser.get(f"/account/orders/{number}").get_data(as_text=True)
    assert "Cancel this order" in detail
    browser.post(f"/account/orders/{number}", data={"action": "cancel", "reason": "oops"})
    detail = browser.get(f"/account/orders/{number}").get_data(as_text=True)
    assert "<strong>cancelled</strong>" in detail and "Cancel this order" not in detail
    assert browser.get("/backoffice/").status_code == 403
    browser.get("/account/logout")
    assert browser.get("/account").status_code == 302


def _api_order(flask_app) -> str:
    """Place an order through the JSON API of the same app; returns its number."""
    from sample_monolith.tests.journey import buy, new_customer
    from sample_monolith.tests.shop_client import FlaskTransport, ShopClient

    shop = ShopClient(FlaskTransport(flask_app), "flask")
    _email, token = new_customer(shop)
    return buy(shop, token, "PSP-SYR-001", 1)["number"]


def test_staff_pages(flask_app):
    number = _api_order(flask_app)
    staff = flask_app.test_client()
    wrong = staff.post("/account/login", data={"email": STAFF_EMAIL, "password": "nope-nope"})
    assert wrong.status_code == 401
    signed_in = staff.post("/account/login?next=/backoffice/",
                           data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/backoffice/"
    assert "Back office" in staff.get("/backoffice/").get_data(as_text=True)
    assert "Stock value" in staff.get("/backoffice/inventory").get_data(as_text=True)
    assert number in staff.get("/backoffice/orders?status=placed").get_data(as_text=True)
    staff.post(f"/backoffice/orders/{number}", data={"action": "pack"})
    staff.post(f"/backoffice/orders/{number}", data={"action": "ship"})
    page = staff.get(f"/backoffice/orders/{number}").get_data(as_text=True)
    assert f"{number} &middot; shipped" in page and "packed in Atlanta" in page
    staff.post(f"/backoffice/orders/{number}", data={"action": "cancel"})
    page = staff.get(f"/backoffice/orders/{number}").get_data(as_text=True)
    assert "can no longer be cancelled" in page
    processed = staff.post("/backoffice/outbox")
    assert processed.status_code == 302
    assert "E-mail outbox" in staff.get("/backoffice/outbox").get_data(as_text=True)
    offsite = staff.post("/account/login?next=//evil.example/",
                         data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD})
    assert offsite.headers["Location"] == "/account"
