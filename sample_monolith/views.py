"""Storefront pages (Jinja) and a couple of JSON endpoints the first mobile app still calls.

Historically every route lived here; the JSON API moved into per-domain blueprints since, but
the shopper-facing pages never did.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from sample_monolith.accounts import services as accounts
from sample_monolith.cart import services as cart_services
from sample_monolith.catalog import services as catalog
from sample_monolith.checkout import services as checkout
from sample_monolith.inventory import services as inventory
from sample_monolith.orders import services as orders
from sample_monolith.shipping import services as shipping
from sample_monolith.utils import (
    ApiError,
    current_identity,
    format_cents,
    login_required,
    parse_int,
)

storefront = Blueprint("storefront", __name__)

INFO_PAGES = {
    "about": ("About us", "info/about.html"),
    "shipping-policy": ("Shipping & returns", "info/shipping.html"),
}


def _identity_customer_id() -> int | None:
    identity = current_identity()
    return identity.customer_id if identity else None


def _page_cart(create: bool = False) -> Any:
    """The cart shown on pages: the customer's, or the guest cart kept in the session cookie."""
    customer_id = _identity_customer_id()
    token = session.get("cart_token")
    try:
        cart = cart_services.resolve_cart(token, customer_id, create=create)
    except ApiError:
        if not create:
            return None
        cart = cart_services.create_guest_cart()
    if customer_id is None:
        session["cart_token"] = cart.token
    return cart


@storefront.app_context_processor
def inject_globals() -> dict[str, Any]:
    identity = None
    try:
        identity = current_identity()
    except ApiError:
        identity = None
    count = 0
    if request.endpoint and not request.path.startswith(("/api/", "/static/")):
        # a plain count from the cart domain, not its Cart rows (the storefront pages and the
        # cart live in different services once the shop is split)
        count = cart_services.item_count(session.get("cart_token"),
                                         identity.customer_id if identity else None)
    return {"identity": identity, "cart_count": count, "categories": catalog.category_tree(),
            "money": format_cents}


@storefront.route("/")
def index() -> str:
    return render_template("index.html", featured=catalog.featured_products(8))


@storefront.route("/c/<slug>")
def category(slug: str) -> str:
    node = catalog.category_by_slug(slug)
    if node is None:
        abort(404)
    page = parse_int(request.args.get("page"), 1, minimum=1, name="page")
    sort = request.args.get("sort", "name")
    try:
        listing = catalog.list_products(slug, page, current_app.config["PAGE_SIZE"], sort)
    except ApiError:
        listing = catalog.list_products(slug, page, current_app.config["PAGE_SIZE"])
    return render_template("category.html", category=node, listing=listing, sort=sort)


@storefront.route("/p/<slug>")
def product(slug: str) -> str:
    item = catalog.get_product_by_slug(slug)
    if item is None:
        abort(404)
    # Pickers asked to see which warehouse has it (inventory's answer; this page used to read
    # the stock table directly, which cannot work once inventory has its own database).
    stock = inventory.stock_by_warehouse_name(item.id)
    data = catalog.product_dicts([item])[0]
    return render_template("product.html", product=data, category_name=item.category.name,
                           category_slug=item.category.slug, stock=stock)


@storefront.route("/search")
def search() -> str:
    query = request.args.get("q", "").strip()
    results = None
    error = None
    if query:
        try:
            results = catalog.search(query, page=parse_int(request.args.get("page"), 1,
                                                           minimum=1, name="page"))
        except ApiError as exc:
            error = exc.message
    return render_template("search.html", query=query, results=results, error=error)


@storefront.route("/cart")
def cart_page() -> str:
    cart = _page_cart()
    view = cart_services.cart_view(cart) if cart is not None else None
    return render_template("cart.html", cart=view)


@storefront.route("/cart/add", methods=["POST"])
def cart_add() -> Any:
    cart = _page_cart(create=True)
    sku = request.form.get("sku", "")
    quantity = parse_int(request.form.get("quantity"), 1, minimum=1, maximum=99, name="quantity")
    try:
        cart_services.set_quantity(cart, sku, quantity, add=True)
        flash(f"Added {quantity} x {sku} to your basket", "ok")
    except ApiError as exc:
        flash(exc.message, "error")
    return redirect(request.form.get("next") or url_for("storefront.cart_page"))


@storefront.route("/cart/update", methods=["POST"])
def cart_update() -> Any:
    cart = _page_cart()
    if cart is None:
        return redirect(url_for("storefront.cart_page"))
    for key, value in request.form.items():
        if key.startswith("qty-"):
            try:
                cart_services.set_quantity(cart, key[4:], parse_int(value, 0, minimum=0,
                                                                    name="quantity"))
            except ApiError as exc:
                flash(exc.message, "error")
    return redirect(url_for("storefront.cart_page"))


@storefront.route("/account/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "POST":
        try:
            result = accounts.sign_in(request.form.get("email", ""),
                                      request.form.get("password", ""),
                                      session.get("cart_token"),
                                      request.headers.get("User-Agent", ""))
        except ApiError as exc:
            flash(exc.message, "error")
            return render_template("account/login.html", email=request.form.get("email", "")), 401
        session.pop("cart_token", None)
        session["auth"] = result["token"]
        if result["cart"].get("merged") and result["cart"].get("moved_lines"):
            flash("We moved the items from your basket into your account.", "ok")
        target = request.args.get("next") or url_for("storefront.account")
        if not target.startswith("/") or target.startswith("//"):
            target = url_for("storefront.account")
        return redirect(target)
    return render_template("account/login.html", email="")


@storefront.route("/account/register", methods=["GET", "POST"])
def register() -> Any:
    if request.method == "POST":
        form = request.form
        try:
            accounts.register(form.get("email", ""), form.get("password", ""),
                              form.get("name", ""), form.get("marketing_opt_in") == "on")
            result = accounts.sign_in(form.get("email", ""), form.get("password", ""),
                                      session.get("cart_token"))
        except ApiError as exc:
            flash(exc.message, "error")
            return render_template("account/register.html", form=form), 422
        session.pop("cart_token", None)
        session["auth"] = result["token"]
        flash("Welcome to Peach State Provisions!", "ok")
        return redirect(url_for("storefront.account"))
    return render_template("account/register.html", form={})


@storefront.route("/account/logout", methods=["POST", "GET"])
def logout() -> Any:
    identity = current_identity()
    if identity is not None:
        accounts.sign_out(identity.session_id)
    session.clear()
    return redirect(url_for("storefront.index"))


@storefront.route("/account")
@login_required
def account() -> str:
    identity = current_identity()
    customer = accounts.get_customer(identity.customer_id)
    return render_template("account/account.html", customer=customer,
                           orders=orders.list_orders(identity.customer_id),
                           addresses=accounts.list_addresses(identity.customer_id))


@storefront.route("/account/orders/<number>", methods=["GET", "POST"])
@login_required
def account_order(number: str) -> Any:
    identity = current_identity()
    try:
        order = orders.get_order_for(number, identity)
    except ApiError:
        abort(404)
    if request.method == "POST" and request.form.get("action") == "cancel":
        try:
            orders.cancel_order(number, identity, request.form.get("reason", ""))
            flash("Your order was cancelled and refunded.", "ok")
        except ApiError as exc:
            flash(exc.message, "error")
        return redirect(url_for("storefront.account_order", number=number))
    data = orders.order_dict(order)
    return render_template("account/order.html", order=data,
                           cancellable=data["status"] in orders.CANCELLABLE)


@storefront.route("/checkout", methods=["GET", "POST"])
def checkout_page() -> Any:
    cart = _page_cart()
    if cart is None or not cart.items:
        flash("Your basket is empty.", "error")
        return redirect(url_for("storefront.cart_page"))
    identity = current_identity()
    form: dict[str, Any] = dict(request.form) if request.method == "POST" else {}
    if request.method == "GET":
        addresses = accounts.list_addresses(identity.customer_id) if identity else []
        default = next((a for a in addresses if a["is_default"]), None)
        if default:
            form.update({k: default[k] for k in ("recipient", "line1", "line2", "city",
                                                 "state", "zip_code")})
        form["idempotency_key"] = uuid.uuid4().hex
        return render_template("checkout.html", cart=cart_services.cart_view(cart), form=form,
                               checkout=None)
    data = {"email": form.get("email", ""), "shipping_method": form.get("shipping_method"),
            "coupon_code": form.get("coupon_code") or None,
            "shipping_address": {k: form.get(k, "") for k in ("recipient", "line1", "line2",
                                                              "city", "state", "zip_code")}}
    card = {"number": form.get("card_number", ""), "exp_month": form.get("exp_month", "0"),
            "exp_year": form.get("exp_year", "0"), "cvc": form.get("cvc", "")}
    try:
        session_id = form.get("checkout_id")
        if not session_id:
            session_id = checkout.start(cart.token if identity is None else None, identity,
                                        data)["id"]
            form["checkout_id"] = session_id
        status, body = checkout.pay(session_id, identity, cart.token, card,
                                    form.get("idempotency_key") or uuid.uuid4().hex)
    except ApiError as exc:
        flash(exc.message, "error")
        form["idempotency_key"] = uuid.uuid4().hex
        if exc.code in ("reservation_expired", "checkout_closed"):
            form.pop("checkout_id", None)
        return render_template("checkout.html", cart=cart_services.cart_view(cart), form=form,
                               checkout=None), 422
    if status == 402:
        flash(body["message"], "error")
        form["idempotency_key"] = uuid.uuid4().hex
        return render_template("checkout.html", cart=cart_services.cart_view(cart), form=form,
                               checkout=body["checkout"]), 402
    number = body["order"]["number"]
    session["last_order"] = number
    if identity is None:
        session.pop("cart_token", None)
    return redirect(url_for("storefront.thanks", number=number))


@storefront.route("/orders/<number>/thanks")
def thanks(number: str) -> str:
    if session.get("last_order") != number:
        abort(404)
    order = orders.order_dict(orders.get_order(number))
    return render_template("thanks.html", order=order)


@storefront.route("/track")
def track() -> str:
    tracking = request.args.get("tracking", "").strip()
    shipment = None
    error = None
    if tracking:
        try:
            shipment = shipping.track(tracking)
        except ApiError as exc:
            error = exc.message
    return render_template("track.html", tracking=tracking, shipment=shipment, error=error)


def info_page(page: str) -> str:
    title, template = INFO_PAGES[page]
    return render_template(template, title=title)


def register_info_pages(app: Any) -> None:
    """Static marketing pages, added as plain URL rules (they predate blueprints here)."""
    for page in sorted(INFO_PAGES):
        app.add_url_rule(f"/{page}", endpoint=f"info_{page.replace('-', '_')}",
                         view_func=info_page, defaults={"page": page})


# --- JSON endpoints kept for the 2019 mobile app (v1); new clients use /api/catalog ----------


@storefront.route("/api/search")
def legacy_search() -> Any:
    query = request.args.get("q", "")
    result = catalog.search(query, per_page=50)
    return jsonify({"q": query, "count": result["total"],
                    "results": [{"sku": p["sku"], "title": p["name"], "price": p["price"],
                                 "url": url_for("storefront.product", slug=p["slug"])}
                                for p in result["items"]]})


@storefront.route("/api/products/featured")
def legacy_featured() -> Any:
    return jsonify({"products": catalog.featured_products(8)})
