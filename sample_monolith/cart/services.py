"""Cart service layer.

A guest cart is identified by an opaque token the browser or app keeps; a customer has at most
one active cart. Signing in merges the guest cart into the customer's: quantities add up, capped
by the per-line limit and by what is in stock.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from sample_monolith.catalog import services as catalog_services
from sample_monolith.db import db_session
from sample_monolith.inventory import services as inventory_services
from sample_monolith.models import Cart, CartItem
from sample_monolith.utils import ApiError, format_cents, isoformat, new_token, utcnow


def _max_line() -> int:
    return int(current_app.config["MAX_LINE_QUANTITY"])


def create_guest_cart() -> Cart:
    cart = Cart(token=new_token(18), status="active")
    db_session.add(cart)
    db_session.commit()
    return cart


def get_by_token(token: str | None) -> Cart | None:
    if not token:
        return None
    return db_session.execute(select(Cart).where(Cart.token == token)).scalar_one_or_none()


def customer_cart(customer_id: int, create: bool = True) -> Cart | None:
    cart = db_session.execute(
        select(Cart).where(Cart.customer_id == customer_id, Cart.status == "active")
        .order_by(Cart.id.desc())).scalars().first()
    if cart is None and create:
        cart = Cart(token=new_token(18), customer_id=customer_id, status="active")
        db_session.add(cart)
        db_session.commit()
    return cart


def resolve_cart(token: str | None, customer_id: int | None, create: bool = False) -> Cart:
    """The cart a request talks about: the customer's when signed in, else the guest token's."""
    if customer_id is not None:
        cart = customer_cart(customer_id, create=True)
        assert cart is not None
        return cart
    cart = get_by_token(token)
    if cart is not None:
        if cart.customer_id is not None:
            raise ApiError(403, "cart_owned", "this cart belongs to an account; sign in")
        if cart.status != "active":
            raise ApiError(409, "cart_closed", f"this cart is {cart.status}",
                           merged_into=None)
        return cart
    if create:
        return create_guest_cart()
    raise ApiError(404, "unknown_cart", "no cart: create one with POST /api/cart")


def resolve_cart_id(token: str | None, customer_id: int | None) -> int:
    """The id of the cart a request talks about (see ``resolve_cart``), for other domains."""
    return resolve_cart(token, customer_id).id


def cart_id_for_token(token: str | None) -> int | None:
    cart = get_by_token(token)
    return cart.id if cart is not None else None


def item_count(token: str | None, customer_id: int | None) -> int:
    """How many items the page header shows; 0 when there is no usable cart."""
    try:
        cart = resolve_cart(token, customer_id)
    except ApiError:
        return 0
    return sum(item.quantity for item in cart.items)


def cart_view(cart: Cart) -> dict[str, Any]:
    items = []
    subtotal = 0
    weight = 0
    snapshots = catalog_services.product_snapshots_by_id([item.product_id for item in cart.items])
    for item in cart.items:
        snap = snapshots[item.product_id]
        price = snap["unit_price_cents"]
        line_total = price * item.quantity
        subtotal += line_total
        weight += snap["weight_grams"] * item.quantity
        items.append({
            "sku": snap["sku"], "name": snap["name"], "quantity": item.quantity,
            "unit_price_cents": price, "line_total_cents": line_total,
            "line_total": format_cents(line_total),
            "price_changed": price != item.unit_price_cents, "perishable": snap["perishable"],
            "image": snap["image"], "slug": snap["slug"],
        })
    return {"token": cart.token, "status": cart.status, "customer_id": cart.customer_id,
            "items": items, "item_count": sum(i["quantity"] for i in items),
            "subtotal_cents": subtotal, "subtotal": format_cents(subtotal),
            "weight_grams": weight, "updated_at": isoformat(cart.updated_at)}


def _line(cart: Cart, product_id: int) -> CartItem | None:
    for item in cart.items:
        if item.product_id == product_id:
            return item
    return None


def set_quantity(cart: Cart, sku: str, quantity: int, add: bool = False) -> dict[str, Any]:
    """Set (or with ``add`` increase) a line's quantity; 0 removes the line."""
    if cart.status != "active":
        raise ApiError(409, "cart_closed", f"this cart is {cart.status}")
    product = catalog_services.require_snapshot(sku)
    line = _line(cart, product["product_id"])
    current = line.quantity if line is not None else 0
    new_quantity = current + quantity if add else quantity
    if new_quantity < 0:
        raise ApiError(422, "bad_quantity", "quantity cannot be negative")
    if new_quantity == 0:
        if line is not None:
            cart.items.remove(line)
            cart.updated_at = utcnow()
            db_session.commit()
        return cart_view(cart)
    if new_quantity > _max_line():
        raise ApiError(422, "line_limit",
                       f"at most {_max_line()} of one product per order", limit=_max_line())
    available = inventory_services.available_for_products(
        [product["product_id"]]).get(product["product_id"], 0)
    if new_quantity > available:
        raise ApiError(409, "insufficient_stock",
                       f"only {available} of {product['sku']} available", available=available,
                       sku=product["sku"], requested=new_quantity)
    price = product["unit_price_cents"]
    if line is None:
        cart.items.append(CartItem(product_id=product["product_id"], quantity=new_quantity,
                                   unit_price_cents=price))
    else:
        line.quantity = new_quantity
        line.unit_price_cents = price
    cart.updated_at = utcnow()
    db_session.commit()
    return cart_view(cart)


def clear(cart: Cart) -> None:
    cart.items.clear()
    db_session.commit()


def merge_guest_cart(guest_token: str | None, customer_id: int) -> dict[str, Any]:
    """Fold a guest cart into the customer's cart at sign-in; returns a summary and the cart."""
    guest = get_by_token(guest_token)
    target = customer_cart(customer_id, create=False)
    summary: dict[str, Any] = {"merged": False, "moved_lines": 0, "capped": []}
    if guest is None or guest.status != "active" or guest.customer_id not in (None, customer_id):
        cart = target or customer_cart(customer_id)
        summary["cart"] = cart_view(cart)
        return summary
    if target is None or target.id == guest.id:
        # No cart of their own yet: the guest cart simply becomes theirs.
        guest.customer_id = customer_id
        db_session.commit()
        summary.update(merged=True, moved_lines=len(guest.items), cart=cart_view(guest))
        return summary
    available = inventory_services.available_for_products([i.product_id for i in guest.items])
    skus = {pid: snap["sku"] for pid, snap in catalog_services.product_snapshots_by_id(
        [i.product_id for i in guest.items]).items()}
    for item in list(guest.items):
        line = _line(target, item.product_id)
        current = line.quantity if line else 0
        cap = min(_max_line(), available.get(item.product_id, 0))
        quantity = min(current + item.quantity, max(cap, current))
        if quantity < current + item.quantity:
            summary["capped"].append(skus[item.product_id])
        if line is None:
            target.items.append(CartItem(product_id=item.product_id, quantity=quantity,
                                         unit_price_cents=item.unit_price_cents))
        else:
            line.quantity = quantity
        summary["moved_lines"] += 1
    guest.status = "merged"
    guest.merged_into_id = target.id
    target.updated_at = utcnow()
    db_session.commit()
    summary.update(merged=True, cart=cart_view(target))
    return summary


def lines_for_checkout(cart_id: int) -> list[dict[str, Any]]:
    """Plain lines ``{"sku", "product_id", "quantity"}`` for the checkout to price and reserve."""
    cart = db_session.get(Cart, cart_id)
    if cart is None:
        raise ApiError(404, "unknown_cart", "cart not found")
    skus = catalog_services.product_snapshots_by_id([item.product_id for item in cart.items])
    return [{"sku": skus[item.product_id]["sku"], "product_id": item.product_id,
             "quantity": item.quantity} for item in cart.items]


def mark_converted(cart_id: int) -> None:
    cart = db_session.get(Cart, cart_id)
    if cart is not None:
        cart.status = "converted"
        cart.updated_at = utcnow()
        db_session.flush()
