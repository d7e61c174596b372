"""Application factory: configuration, database, blueprints, error pages, CLI commands."""

from __future__ import annotations

import logging
import time
from typing import Any

import click
from flask import Flask, g, jsonify, render_template, request
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from sample_monolith import db
from sample_monolith.config import load_config
from sample_monolith.utils import ApiError

log = logging.getLogger("sample_monolith")

API_BLUEPRINTS = (
    # (module, blueprint attribute, URL prefix)
    ("sample_monolith.catalog.routes", "bp", "/api/catalog"),
    ("sample_monolith.inventory.routes", "bp", "/api/inventory"),
    ("sample_monolith.cart.routes", "bp", "/api/cart"),
    ("sample_monolith.accounts.routes", "bp", "/api/accounts"),
    ("sample_monolith.checkout.routes", "bp", "/api/checkout"),
    ("sample_monolith.orders.routes", "bp", "/api/orders"),
    ("sample_monolith.payments.routes", "bp", "/api/payments"),
    ("sample_monolith.shipping.routes", "bp", "/api/shipping"),
    ("sample_monolith.promotions.routes", "bp", "/api/promotions"),
    ("sample_monolith.notifications.routes", "bp", "/api/notifications"),
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the shop. ``config`` overrides the environment (tests pass a temp database)."""
    app = Flask(__name__, static_folder="static",
                template_folder="templates")
    app.config.update(load_config(config))
    app.json.sort_keys = False  # type: ignore[attr-defined]

    db.init_engine(app.config["DATABASE_URL"])
    db.create_schema()
    app.teardown_appcontext(db.shutdown_session)

    from sample_monolith.catalog import services as catalog_services

    catalog_services.CACHE_SECONDS = int(app.config["CATALOG_CACHE_SECONDS"])
    catalog_services.invalidate_cache()

    _register_blueprints(app)
    _register_errors(app)
    _register_hooks(app)
    _register_cli(app)
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)

    if app.config["SEED_ON_START"]:
        from sample_monolith.seed import seed_if_empty

        with app.app_context():
            try:
                seed_if_empty()
            except IntegrityError:
                # Another gunicorn worker seeded the same empty database at the same moment.
                db.db_session.rollback()
                log.info("demo data already loaded by another worker")
            finally:
                db.db_session.remove()
    return app


def _register_blueprints(app: Flask) -> None:
    # Imported here, not at the top: the route modules pull in every domain, and the worker
    # and CLI import this module without wanting all of that up front.
    import importlib

    from sample_monolith.backoffice.routes import api as backoffice_api
    from sample_monolith.backoffice.routes import pages as backoffice_pages
    from sample_monolith.views import register_info_pages, storefront

    app.register_blueprint(storefront)
    register_info_pages(app)
    for module_name, attribute, prefix in API_BLUEPRINTS:
        blueprint = getattr(importlib.import_module(module_name), attribute)
        app.register_blueprint(blueprint, url_prefix=prefix)
    app.register_blueprint(backoffice_pages, url_prefix="/backoffice")
    app.register_blueprint(backoffice_api, url_prefix="/api/backoffice")


def _register_errors(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Any:
        db.db_session.rollback()
        if request.path.startswith("/api/"):
            return exc.to_response()
        return render_template("error.html", code=exc.status, message=exc.message), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            response = jsonify({"error": (exc.name or "error").lower().replace(" ", "_"),
                                "message": exc.description})
            response.status_code = exc.code or 500
            return response
        return render_template("error.html", code=exc.code, message=exc.description), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        db.db_session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        if request.path.startswith("/api/"):
            return jsonify({"error": "internal", "message": "something went wrong"}), 500
        return render_template("error.html", code=500, message="Something went wrong."), 500


def _register_hooks(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def add_headers(response: Any) -> Any:
        started = g.get("started")
        if started is not None:
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "public, max-age=3600"
        return response


def healthz() -> Any:
    return jsonify({"status": "ok"})


def readyz() -> Any:
    try:
        db.db_session.execute(text("SELECT 1"))
    except Exception as exc:  # pragma: no cover - only when the disk is gone
        return jsonify({"status": "unavailable", "error": str(exc)}), 503
    return jsonify({"status": "ready"})


def _register_cli(app: Flask) -> None:
    @app.cli.group("shop")
    def shop() -> None:
        """Peach State Provisions maintenance commands."""

    @shop.command("process-outbox")
    def process_outbox() -> None:
        """Send pending e-mails once (the worker does this in a loop)."""
        from sample_monolith.notifications.worker import run_once

        click.echo(" ".join(f"{k}={v}" for k, v in sorted(run_once().items())))

    @shop.command("seed")
    def seed() -> None:
        """Load the demo catalog into an empty database."""
        from sample_monolith.seed import seed_if_empty

        click.echo("seeded" if seed_if_empty() else "database already has data")

    @shop.command("create-staff")
    @click.argument("email")
    @click.password_option()
    def create_staff(email: str, password: str) -> None:
        """Create or promote a staff login."""
        from sample_monolith.accounts.services import ensure_staff_account

        ensure_staff_account(email, password)
        click.echo(f"{email} is staff")

    @shop.command("routes-count")
    def routes_count() -> None:
        """How many URL rules the app has (used by the ops dashboard)."""
        from sample_monolith.models import Product

        products = len(db.db_session.execute(select(Product.id)).all())
        click.echo(f"{len(list(app.url_map.iter_rules()))} rules, {products} products")
