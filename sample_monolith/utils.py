"""Helpers everybody needs: time, money, tokens, request parsing, auth decorators.

This module grew one helper at a time; it is imported from nearly everywhere.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import current_app, g, jsonify, redirect, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

F = TypeVar("F", bound=Callable[..., Any])

AUTH_SALT = "peach-auth-v1"
CART_HEADER = "X-Cart-Token"
IDEMPOTENCY_HEADER = "Idempotency-Key"


# --- time ---------------------------------------------------------------------------------


def utcnow() -> datetime:
    """Naive UTC now: SQLite keeps no time zones, so every timestamp in the db is naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def isoformat(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.replace(microsecond=0).isoformat() + "Z"


def parse_datetime(value: str | None) -> datetime | None:
    """Parse an ISO timestamp from a request; aware values are converted to naive UTC."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ApiError(400, "bad_datetime", f"not an ISO 8601 timestamp: {value!r}") from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def minutes_from_now(minutes: int) -> datetime:
    return utcnow() + timedelta(minutes=minutes)


# --- money and text -----------------------------------------------------------------------


def format_cents(cents: int | None) -> str:
    """1234 -> "$12.34"; negative amounts keep the sign in front."""
    if cents is None:
        return "-"
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def percent_of(cents: int, basis_points: int) -> int:
    """Round half up, as the accountant asked (never banker's rounding on receipts)."""
    return int(math.floor(cents * basis_points / 10_000 + 0.5))


def slugify(text: str) -> str:
    normalized = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", normalized).strip("-").lower()
    return slug or "item"


def normalize_email(email: str | None) -> str:
    return (email or "").strip().lower()


EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_valid_email(email: str) -> bool:
    return bool(EMAIL_RE.match(email)) and len(email) <= 254


def normalize_zip(zip_code: str | None) -> str:
    digits = re.sub(r"\D", "", zip_code or "")
    return digits[:5]


def mask_email(email: str) -> str:
    name, _, domain = email.partition("@")
    if len(name) <= 2:
        return f"{name[:1]}*@{domain}"
    return f"{name[0]}{'*' * (len(name) - 2)}{name[-1]}@{domain}"


def new_token(nbytes: int = 16) -> str:
    return secrets.token_urlsafe(nbytes)


def stable_digits(text: str, length: int) -> str:
    """Deterministic digits derived from text (tracking numbers, order numbers in tests)."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return str(int(digest, 16))[:length].rjust(length, "0")


def chunked(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- request parsing and errors -------------------------------------------------------------


class ApiError(Exception):
    """An error that becomes a JSON response ``{"error": code, "message": ...}``."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def to_response(self) -> Any:
        body = {"error": self.code, "message": self.message}
        body.update(self.extra)
        response = jsonify(body)
        response.status_code = self.status
        return response


def json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None:
        if request.data:
            raise ApiError(400, "bad_json", "request body is not valid JSON")
        return {}
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "request body must be a JSON object")
    return data


def require_fields(data: dict[str, Any], *names: str) -> None:
    missing = [name for name in names if data.get(name) in (None, "")]
    if missing:
        raise ApiError(422, "missing_fields", "missing: " + ", ".join(missing), fields=missing)


def parse_int(value: Any, default: int, minimum: int | None = None,
              maximum: int | None = None, name: str = "value") -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "bad_integer", f"{name} must be an integer") from exc
    if minimum is not None and number < minimum:
        raise ApiError(422, "out_of_range", f"{name} must be at least {minimum}")
    if maximum is not None and number > maximum:
        raise ApiError(422, "out_of_range", f"{name} must be at most {maximum}")
    return number


def paginate(items: list[Any], page: int, per_page: int) -> dict[str, Any]:
    total = len(items)
    pages = max(1, math.ceil(total / per_page)) if per_page else 1
    page = min(max(page, 1), pages)
    start = (page - 1) * per_page
    return {"items": items[start:start + per_page], "page": page, "pages": pages,
            "total": total, "per_page": per_page}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


# --- authentication ------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    customer_id: int
    session_id: str
    is_staff: bool
    email: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=AUTH_SALT)


def sign_auth_token(customer_id: int, session_id: str, is_staff: bool, email: str) -> str:
    """Signed, stateless bearer token: any process holding the secret can verify it."""
    return _serializer().dumps({"cid": customer_id, "sid": session_id, "staff": is_staff,
                                "email": email})


def read_auth_token(token: str) -> Identity | None:
    try:
        data = _serializer().loads(token, max_age=current_app.config["AUTH_TOKEN_MAX_AGE"])
    except (BadSignature, SignatureExpired):
        return None
    try:
        return Identity(int(data["cid"]), str(data["sid"]), bool(data["staff"]),
                        str(data.get("email", "")))
    except (KeyError, TypeError, ValueError):
        return None


def current_identity() -> Identity | None:
    """Who is calling: a bearer token (API clients) or the signed session cookie (pages)."""
    if "identity" in g:
        return g.identity
    identity = None
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        identity = read_auth_token(header[7:].strip())
        if identity is None:
            raise ApiError(401, "bad_token", "the bearer token is invalid or expired")
    elif session.get("auth"):
        identity = read_auth_token(session["auth"])
    g.identity = identity
    return identity


def current_customer() -> Any:
    """The signed-in Customer row, or None; pages use it for the header."""
    identity = current_identity()
    if identity is None:
        return None
    # Lazy import: accounts imports this module at load time.
    from sample_monolith.accounts import services as accounts_services

    return accounts_services.get_customer(identity.customer_id)


# A path, not url_for("storefront.login"): the sign-in page may be served by another process
# (the accounts service) than the page that asks for it.
LOGIN_PATH = "/account/login"


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_identity() is None:
            if wants_json():
                raise ApiError(401, "auth_required", "sign in first")
            return redirect(LOGIN_PATH + "?" + urlencode({"next": request.path}))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def staff_required(view: F) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        identity = current_identity()
        if identity is None:
            if wants_json():
                raise ApiError(401, "auth_required", "sign in first")
            return redirect(LOGIN_PATH + "?" + urlencode({"next": request.path}))
        if not identity.is_staff:
            raise ApiError(403, "staff_only", "this area is for Peach State staff")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def cart_token_from_request() -> str | None:
    token = request.headers.get(CART_HEADER) or request.args.get("cart_token")
    if token:
        return token.strip()
    return session.get("cart_token")


def idempotency_key_from_request(data: dict[str, Any] | None = None) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if not key and data:
        key = data.get("idempotency_key")
    if key is not None:
        key = str(key).strip()
        if not 8 <= len(key) <= 128:
            raise ApiError(422, "bad_idempotency_key", "Idempotency-Key must be 8-128 characters")
    return key or None
