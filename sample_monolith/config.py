"""Settings for Peach State Provisions, read from ``SHOP_*`` environment variables.

Everything that differs between a developer laptop, CI and the production box lives here so
that the app factory can be handed a plain dict in tests and the environment everywhere else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_INSTANCE_DIR = PACKAGE_DIR / "instance"

# The shop's identity, used in page titles and e-mails.
SHOP_NAME = "Peach State Provisions"
SHOP_TAGLINE = "Georgia-grown groceries from Atlanta, delivered."
SUPPORT_EMAIL = "help@peachstate.example"
CURRENCY = "USD"


def _env_str(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def instance_dir() -> Path:
    """Where the SQLite file and the mail spool live unless told otherwise."""
    return Path(_env_str("SHOP_INSTANCE_DIR", str(DEFAULT_INSTANCE_DIR)))


def default_database_url() -> str:
    return "sqlite:///" + str(instance_dir() / "shop.sqlite3")


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config dict: defaults, then the environment, then explicit overrides."""
    inst = instance_dir()
    config: dict[str, Any] = {
        "SHOP_NAME": SHOP_NAME,
        "INSTANCE_DIR": str(inst),
        "DATABASE_URL": _env_str("SHOP_DATABASE_URL", default_database_url()),
        # A fixed development key keeps sessions valid across restarts on a laptop; production
        # sets SHOP_SECRET_KEY (the ops runbook checks for it).
        "SECRET_KEY": _env_str("SHOP_SECRET_KEY", "dev-only-peach-state-secret"),
        "SEED_ON_START": _env_bool("SHOP_SEED_ON_START", True),
        "RESERVATION_TTL_MINUTES": _env_int("SHOP_RESERVATION_TTL_MINUTES", 15),
        "PASSWORD_ITERATIONS": _env_int("SHOP_PASSWORD_ITERATIONS", 260_000),
        "AUTH_TOKEN_MAX_AGE": _env_int("SHOP_AUTH_TOKEN_MAX_AGE", 14 * 24 * 3600),
        "STAFF_EMAIL": _env_str("SHOP_STAFF_EMAIL", "staff@peachstate.example"),
        "STAFF_PASSWORD": _env_str("SHOP_STAFF_PASSWORD", "peach-staff-2024"),
        "MAX_LINE_QUANTITY": _env_int("SHOP_MAX_LINE_QUANTITY", 24),
        "FREE_SHIPPING_THRESHOLD_CENTS": _env_int("SHOP_FREE_SHIPPING_THRESHOLD_CENTS", 7500),
        "LOW_STOCK_THRESHOLD": _env_int("SHOP_LOW_STOCK_THRESHOLD", 10),
        "MAIL_BACKEND": _env_str("SHOP_MAIL_BACKEND", "file"),
        "MAIL_DIR": _env_str("SHOP_MAIL_DIR", str(inst / "mail")),
        "MAIL_FROM": _env_str("SHOP_MAIL_FROM", "orders@peachstate.example"),
        "OUTBOX_BATCH_SIZE": _env_int("SHOP_OUTBOX_BATCH_SIZE", 50),
        "OUTBOX_MAX_ATTEMPTS": _env_int("SHOP_OUTBOX_MAX_ATTEMPTS", 5),
        "PAYMENT_PROVIDER": _env_str("SHOP_PAYMENT_PROVIDER", "fakecard"),
        "PAGE_SIZE": _env_int("SHOP_PAGE_SIZE", 12),
        "CATALOG_CACHE_SECONDS": _env_int("SHOP_CATALOG_CACHE_SECONDS", 60),
        "JSON_SORT_KEYS": False,
    }
    if overrides:
        config.update(overrides)
    return config
