"""Journeys after the sale: cancellation with refund and restock, shipping, outbox, back office."""

from __future__ import annotations

from sample_monolith.tests.journey import (
    available,
    buy,
    expect,
    new_customer,
    register,
    sign_in,
    staff_token,
    stocked_product,
    unique,
)


def test_cancellation_refunds_in_full_and_releases_stock(shop):
    staff = staff_token(shop)
    sku = stocked_product(shop, staff, 10, price_cents=2500)
    email, token = new_customer(shop)
    order = buy(shop, token, sku, 3, coupon="PEACH10")
    assert available(shop, sku) == 7
    _other_email, other = new_customer(shop)
    assert shop.get(f"/api/orders/{order['number']}", token=other).status == 404
    assert shop.post(f"/api/orders/{order['number']}/cancel", {}, token=other).status == 404

    cancelled = expect(shop.post(f"/api/orders/{order['number']}/cancel",
                                 {"reason": "changed my mind"}, token=token), 200)
    assert cancelled["status"] == "cancelled"
    assert cancelled["payment_status"] == "refunded"
    assert cancelled["refunded_cents"] == order["total_cents"]
    assert cancelled["refunded_now_cents"] == order["total_cents"]
    assert cancelled["restocked_units"] == 3
    assert [e["to"] for e in cancelled["events"]][:2] == ["placed", "cancelled"]
    assert available(shop, sku) == 10
    payment = cancelled["payments"][0]
    assert payment["status"] == "refunded" and payment["refunded_cents"] == order["total_cents"]
    again = shop.post(f"/api/orders/{order['number']}/cancel", {}, token=token)
    assert expect(again, 409)["error"] == "not_cancellable"
    outbox = expect(shop.get(f"/api/notifications/outbox?to={email}", token=staff), 200)
    assert "order_cancelled" in {m["template"] for m in outbox["messages"]}


def test_staff_partial_refund_keeps_the_order(shop):
    staff = staff_token(shop)
    _email, token = new_customer(shop)
    order = buy(shop, token, "PSP-CID-001", 1)
    payment_id = order["payments"][0]["id"]
    refund = expect(shop.post(f"/api/payments/{payment_id}/refunds",
                              {"amount_cents": 500, "reason": "dented can"}, token=staff), 201)
    assert refund["status"] == "partially_refunded" and refund["refunded_cents"] == 500
    too_much = shop.post(f"/api/payments/{payment_id}/refunds",
                         {"amount_cents": order["total_cents"]}, token=staff)
    assert expect(too_much, 422)["refundable_cents"] == order["total_cents"] - 500
    detail = expect(shop.get(f"/api/orders/{order['number']}", token=token), 200)
    assert detail["status"] == "placed" and detail["payment_status"] == "partially_refunded"
    assert shop.post(f"/api/payments/{payment_id}/refunds", {"amount_cents": 1},
                     token=token).status == 403


def test_shipment_gets_a_tracking_number_and_moves_the_order_along(shop):
    staff = staff_token(shop)
    email, token = new_customer(shop)
    order = buy(shop, token, "PSP-GRT-002", 2)
    number = order["number"]
    assert shop.post("/api/shipping/shipments", {"order_number": number},
                     token=token).status == 403
    packed = expect(shop.post(f"/api/orders/{number}/status", {"status": "packed"},
                              token=staff), 200)
    assert packed["status"] == "packed"
    shipment = expect(shop.post("/api/shipping/shipments", {"order_number": number},
                                token=staff), 201)
    tracking = shipment["tracking_number"]
    assert tracking.startswith("1Z") and len(tracking) == 16  # ground goes by UPS
    assert shipment["carrier"] == "UPS" and shipment["zone"] == 1
    assert shipment["weight_grams"] == 2 * 950
    assert expect(shop.post("/api/shipping/shipments", {"order_number": number}, token=staff),
                  409)["error"] == "not_shippable"
    detail = expect(shop.get(f"/api/orders/{number}", token=token), 200)
    assert detail["status"] == "shipped"
    assert detail["shipments"][0]["tracking_number"] == tracking
    assert expect(shop.post(f"/api/orders/{number}/cancel", {}, token=token), 409)["error"] == \
        "not_cancellable"

    public = expect(shop.get(f"/api/shipping/track/{tracking}"), 200)
    assert public["status"] == "label_created" and public["order_number"] == number
    expect(shop.post(f"/api/shipping/shipments/{tracking}/events", {"status": "in_transit"},
                     token=staff), 200)
    done = expect(shop.post(f"/api/shipping/shipments/{tracking}/events",
                            {"status": "delivered", "location": "Atlanta, GA"}, token=staff), 200)
    assert [e["status"] for e in done["events"]] == ["label_created", "in_transit", "delivered"]
    backwards = shop.post(f"/api/shipping/shipments/{tracking}/events",
                          {"status": "in_transit"}, token=staff)
    assert expect(backwards, 409)["error"] == "status_backwards"
    detail = expect(shop.get(f"/api/orders/{number}", token=token), 200)
    assert detail["status"] == "delivered"
    page = shop.get(f"/track?tracking={tracking}", headers={"Accept": "text/html"})
    assert page.status == 200 and tracking in page.text and "delivered" in page.text
    assert expect(shop.get("/api/shipping/track/1Z000"), 404)["error"] == "unknown_tracking"
    outbox = expect(shop.get(f"/api/notifications/outbox?to={email}", token=staff), 200)
    assert "order_shipped" in {m["template"] for m in outbox["messages"]}


def test_shipping_rates_by_zone_weight_and_perishability(shop):
    zones = {z: expect(shop.get(f"/api/shipping/zones?zip={z}"), 200)["zone"]
             for z in ("30307", "31401", "35203", "94103")}
    assert zones == {"30307": 1, "31401": 2, "35203": 3, "94103": 4}
    light = expect(shop.get("/api/shipping/rates?zip=94103&weight_grams=400"), 200)
    heavy = expect(shop.get("/api/shipping/rates?zip=94103&weight_grams=4100"), 200)
    cost = {o["method"]: o["cost_cents"] for o in light["options"]}
    assert cost == {"standard": 1199, "express": 2499}
    heavy_cost = {o["method"]: o["cost_cents"] for o in heavy["options"]}
    assert heavy_cost == {"standard": 1199 + 8 * 175, "express": 2499 + 8 * 320}
    peaches = expect(shop.get("/api/shipping/rates?zip=94103&weight_grams=2700&perishable=1"),
                     200)
    assert [o["method"] for o in peaches["options"]] == ["express"]
    atlanta = expect(shop.get("/api/shipping/rates?zip=30307&weight_grams=400"
                              "&subtotal_cents=8000"), 200)
    by_method = {o["method"]: o for o in atlanta["options"]}
    assert by_method["standard"]["free"] is True and by_method["standard"]["cost_cents"] == 0
    assert by_method["local_courier"]["cost_cents"] == 699
    assert expect(shop.get("/api/shipping/zones?zip=abc"), 422)["error"] == "bad_zip"


def test_outbox_is_sent_by_the_worker_endpoint(shop):
    staff = staff_token(shop)
    email, token = new_customer(shop)
    order = buy(shop, token, "PSP-PEC-001", 1)
    queued = expect(shop.get(f"/api/notifications/outbox?to={email}", token=staff), 200)
    # "pending" here; "sent" only if a background worker also runs against this server.
    assert sorted(m["template"] for m in queued["messages"]) == ["order_confirmation", "welcome"]
    assert {m["status"] for m in queued["messages"]} <= {"pending", "sent"}
    assert shop.post("/api/notifications/outbox/process", {}, token=token).status == 403

    bounce = unique("bounce") + "@bounce.example"
    expect(shop.post("/api/accounts/register",
                     {"email": bounce, "password": "sweet-tea-2024", "name": "B"}), 201)
    counts = expect(shop.post("/api/notifications/outbox/process", {}, token=staff), 200)
    assert set(counts) >= {"sent", "retrying", "failed", "pending", "reservations_expired"}
    sent = expect(shop.get(f"/api/notifications/outbox?to={email}", token=staff), 200)
    by_template = {m["template"]: m for m in sent["messages"]}
    assert {m["status"] for m in sent["messages"]} == {"sent"}
    confirmation = by_template["order_confirmation"]
    assert confirmation["subject"] == f"Your order {order['number']} is confirmed"
    assert "Albany Pecan Halves" in confirmation["body"] and order["total"] in confirmation["body"]
    assert by_template["welcome"]["subject"].startswith("Welcome to Peach State Provisions")
    bounced = expect(shop.get(f"/api/notifications/outbox?to={bounce}", token=staff),
                     200)["messages"]
    assert [m["status"] for m in bounced] == ["pending"] and bounced[0]["attempts"] >= 1
    assert bounced[0]["last_error"].startswith("550")


def test_back_office_reports_join_everything_for_staff_only(shop):
    staff = staff_token(shop)
    email = register(shop)
    token = sign_in(shop, email)["token"]
    order = buy(shop, token, "PSP-BBQ-002", 2, coupon="PEACH10")
    assert shop.get("/api/backoffice/dashboard").status == 401
    assert shop.get("/api/backoffice/dashboard", token=token).status == 403

    dashboard = expect(shop.get("/api/backoffice/dashboard", token=staff), 200)
    assert dashboard["sales_7d"]["orders"] >= 1 and dashboard["to_ship"] >= 1
    assert "PSP-MUS-001" in dashboard["low_stock"] and "PSP-BOX-003" in dashboard["low_stock"]
    sales = expect(shop.get("/api/backoffice/reports/sales?days=7", token=staff), 200)
    assert sales["gross_cents"] >= order["total_cents"]
    assert "sauces" in {c["category"] for c in sales["by_category"]}
    inventory = expect(shop.get("/api/backoffice/reports/inventory", token=staff), 200)
    bbq = next(p for p in inventory["products"] if p["sku"] == "PSP-BBQ-002")
    assert set(bbq["warehouses"]) == {"ATL", "MAC", "SAV"}
    customers = expect(shop.get("/api/backoffice/reports/customers", token=staff), 200)
    assert customers["customers"] >= 1
    promotions = expect(shop.get("/api/backoffice/reports/promotions", token=staff), 200)
    peach = next(c for c in promotions["coupons"] if c["code"] == "PEACH10")
    assert peach["redemptions"] >= 1 and peach["discount_cents"] >= order["discount_cents"]
    queue = expect(shop.get("/api/backoffice/reports/fulfilment", token=staff), 200)["orders"]
    assert order["number"] in {o["number"] for o in queue}
    placed = expect(shop.get("/api/backoffice/orders?status=placed", token=staff), 200)
    assert order["number"] in {o["number"] for o in placed["orders"]}
    assert shop.get("/api/backoffice/reports/gossip", token=staff).status == 404
    page = shop.get("/backoffice/", headers={"Accept": "text/html"})
    assert page.status == 302 and "/account/login" in page.headers["location"]
