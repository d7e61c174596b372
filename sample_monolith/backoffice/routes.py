"""Staff area: HTML pages under /backoffice and report JSON under /api/backoffice."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from sample_monolith.backoffice import reports
from sample_monolith.orders import services as order_services
from sample_monolith.utils import ApiError, current_identity, parse_int, staff_required

pages = Blueprint("backoffice", __name__)
api = Blueprint("backoffice_api", __name__)

REPORTS = {
    "sales": lambda: reports.sales_report(parse_int(request.args.get("days"), 30, minimum=1,
                                                    maximum=366, name="days")),
    "inventory": lambda: reports.inventory_report(current_app.config["LOW_STOCK_THRESHOLD"]),
    "customers": lambda: reports.customer_report(),
    "promotions": lambda: reports.promotions_report(),
    "payments": lambda: reports.payments_report(parse_int(request.args.get("days"), 30,
                                                          minimum=1, maximum=366, name="days")),
    "fulfilment": lambda: {"orders": reports.fulfilment_queue()},
}


@api.route("/dashboard")
@staff_required
def dashboard_json() -> Any:
    return jsonify(reports.dashboard(current_app.config["LOW_STOCK_THRESHOLD"]))


@api.route("/reports/<name>")
@staff_required
def report_json(name: str) -> Any:
    if name not in REPORTS:
        raise ApiError(404, "unknown_report", "reports: " + ", ".join(sorted(REPORTS)))
    return jsonify(REPORTS[name]())


@api.route("/orders")
@staff_required
def orders_json() -> Any:
    return jsonify({"orders": order_services.list_all(request.args.get("status") or None)})


@pages.route("/")
@staff_required
def dashboard() -> Any:
    return render_template("backoffice/dashboard.html",
                           data=reports.dashboard(current_app.config["LOW_STOCK_THRESHOLD"]),
                           sales=reports.sales_report(30))


@pages.route("/orders")
@staff_required
def orders() -> Any:
    status = request.args.get("status") or None
    return render_template("backoffice/orders.html", status=status,
                           orders=order_services.list_all(status))


@pages.route("/orders/<number>", methods=["GET", "POST"])
@staff_required
def order_detail(number: str) -> Any:
    order = order_services.order_detail(number)  # plain data; a 404 for an unknown number
    if request.method == "POST":
        action = request.form.get("action")
        identity = current_identity()
        try:
            if action == "pack":
                order_services.set_status(number, "packed", "packed in Atlanta", identity.email)
            elif action == "ship":
                from sample_monolith.shipping import services as shipping_services

                shipping_services.create_shipment(number, identity.email)
            elif action == "cancel":
                order_services.cancel_order(number, identity, "cancelled by staff")
            flash(f"{number}: {action} done", "ok")
        except ApiError as exc:
            flash(exc.message, "error")
        return redirect(url_for("backoffice.order_detail", number=number))
    return render_template("backoffice/order.html", order=order)


@pages.route("/inventory")
@staff_required
def inventory() -> Any:
    return render_template("backoffice/inventory.html",
                           report=reports.inventory_report(
                               current_app.config["LOW_STOCK_THRESHOLD"]))


@pages.route("/outbox", methods=["GET", "POST"])
@staff_required
def outbox() -> Any:
    from sample_monolith.notifications import services as notification_services

    if request.method == "POST":
        counts = notification_services.process_outbox()
        flash(f"sent {counts['sent']}, retrying {counts['retrying']}, failed {counts['failed']}",
              "ok")
        return redirect(url_for("backoffice.outbox"))
    return render_template("backoffice/outbox.html",
                           messages=notification_services.list_outbox(limit=100),
                           counts=notification_services.outbox_counts())
