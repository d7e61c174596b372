"""Basket arithmetic: subtotal, coupon, shipping, Georgia sales tax, total.

Order of operations (as the accountant signed off): discount applies to goods only; tax is
charged on discounted goods plus shipping, because Georgia taxes delivery charges.
"""

from __future__ import annotations

from typing import Any

from sample_monolith.promotions import services as promotions
from sample_monolith.shipping import services as shipping
from sample_monolith.utils import ApiError, percent_of

# Basis points. Atlanta (Fulton/DeKalb) 8.9 %, the rest of Georgia the common 7 %.
ATLANTA_TAX_BPS = 890
GEORGIA_TAX_BPS = 700
ATLANTA_ZIP3 = ("300", "301", "302", "303")


def tax_rate_bps(state: str, zip_code: str) -> int:
    if state != "GA":
        return 0
    return ATLANTA_TAX_BPS if zip_code[:3] in ATLANTA_ZIP3 else GEORGIA_TAX_BPS


def price_lines(lines: list[dict[str, Any]], snapshots: dict[str, dict[str, Any]]
                ) -> list[dict[str, Any]]:
    """Attach current prices and weights to ``{"sku", "quantity"}`` lines."""
    priced = []
    unavailable = []
    for line in lines:
        snap = snapshots.get(line["sku"])
        if snap is None or not snap["active"]:
            unavailable.append(line["sku"])
            continue
        priced.append({"sku": snap["sku"], "product_id": snap["product_id"],
                       "name": snap["name"], "quantity": int(line["quantity"]),
                       "unit_price_cents": snap["unit_price_cents"],
                       "weight_grams": snap["weight_grams"], "perishable": snap["perishable"]})
    if unavailable:
        raise ApiError(409, "unavailable_products",
                       "no longer sold: " + ", ".join(unavailable), skus=unavailable)
    return priced


def totals(lines: list[dict[str, Any]], address: dict[str, Any], method: str,
           coupon_code: str | None, customer_id: int | None, email: str) -> dict[str, Any]:
    subtotal = sum(line["unit_price_cents"] * line["quantity"] for line in lines)
    weight = sum(line["weight_grams"] * line["quantity"] for line in lines)
    perishable = any(line["perishable"] for line in lines)
    option = shipping.shipping_cost(address["zip_code"], method, weight, perishable, subtotal)
    shipping_cents = option["cost_cents"]
    discount = 0
    coupon: dict[str, Any] | None = None
    if coupon_code:
        coupon = promotions.evaluate(coupon_code, subtotal, shipping_cents, customer_id, email)
        discount = coupon["discount_cents"]
        if coupon["free_shipping"]:
            shipping_cents = 0
    rate = tax_rate_bps(address["state"], address["zip_code"])
    tax = percent_of(subtotal - discount + shipping_cents, rate)
    return {"subtotal_cents": subtotal, "discount_cents": discount,
            "shipping_cents": shipping_cents, "tax_cents": tax, "tax_rate_bps": rate,
            "total_cents": subtotal - discount + shipping_cents + tax,
            "weight_grams": weight, "zone": option["zone"], "carrier": option["carrier"],
            "coupon": coupon}
