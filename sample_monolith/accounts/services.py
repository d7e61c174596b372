"""Accounts service layer: customers, sign-in sessions, addresses.

Signing in also merges the guest cart into the customer's cart; that call goes through the
cart service with plain arguments (token and customer id).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from sample_monolith.accounts.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from sample_monolith.cart import services as cart_services
from sample_monolith.db import db_session
from sample_monolith.models import Address, AuthSession, Customer
from sample_monolith.utils import (
    ApiError,
    is_valid_email,
    isoformat,
    normalize_email,
    normalize_zip,
    sign_auth_token,
    utcnow,
)

US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY".split())


def get_customer(customer_id: int) -> Customer | None:
    return db_session.get(Customer, customer_id)


def get_customer_by_email(email: str) -> Customer | None:
    return db_session.execute(
        select(Customer).where(Customer.email == normalize_email(email))).scalar_one_or_none()


def customer_summary(customer_id: int) -> dict[str, Any] | None:
    """Plain data about a customer, for other domains (e-mails, reports)."""
    customer = get_customer(customer_id)
    return customer.to_dict() if customer else None


def customer_directory(customer_ids: list[int]) -> list[dict[str, Any]]:
    """E-mail and name of these customers (unknown ids are left out), for reports."""
    if not customer_ids:
        return []
    rows = db_session.execute(select(Customer.id, Customer.email, Customer.name)
                              .where(Customer.id.in_(sorted(set(customer_ids))))
                              .order_by(Customer.id))
    return [{"customer_id": cid, "email": email, "name": name} for cid, email, name in rows]


def count_customers() -> int:
    """How many shoppers have an account (staff accounts are not counted)."""
    return int(db_session.execute(
        select(func.count(Customer.id)).where(Customer.is_staff.is_(False))).scalar_one())

def register(email: str, password: str, name: str, marketing_opt_in: bool = False,
             is_staff: bool = False) -> Customer:
    email = normalize_email(email)
    if not is_valid_email(email):
        raise ApiError(422, "bad_email", "that does not look like an e-mail address")
    problems = password_problems(password, email)
    if problems:
        raise ApiError(422, "weak_password", "password " + "; ".join(problems),
                       problems=problems)
    if not name.strip():
        raise ApiError(422, "missing_fields", "missing: name", fields=["name"])
    if get_customer_by_email(email) is not None:
        raise ApiError(409, "email_taken", "an account with that e-mail already exists")
    customer = Customer(email=email, name=name.strip(), is_staff=is_staff,
                        marketing_opt_in=marketing_opt_in,
                        password_hash=hash_password(password,
                                                    current_app.config["PASSWORD_ITERATIONS"]))
    db_session.add(customer)
    db_session.flush()
    # Lazy import: notifications renders account data and imports this module.
    from sample_monolith.notifications import services as notifications

    notifications.enqueue_email(email, "welcome", {"name": customer.name},
                                dedupe_key=f"welcome:{customer.id}")
    db_session.commit()
    return customer


def authenticate(email: str, password: str) -> Customer:
    customer = get_customer_by_email(email)
    # Hash anyway when the e-mail is unknown so timing does not reveal which e-mails exist.
    encoded = customer.password_hash if customer else hash_password("x" * 12, 1000)
    if not verify_password(password, encoded) or customer is None:
        raise ApiError(401, "bad_credentials", "e-mail or password is wrong")
    iterations = current_app.config["PASSWORD_ITERATIONS"]
    if needs_rehash(customer.password_hash, iterations):
        customer.password_hash = hash_password(password, iterations)
    return customer


def sign_in(email: str, password: str, guest_cart_token: str | None = None,
            user_agent: str = "") -> dict[str, Any]:
    """Check the password, open a session, merge the guest cart; returns token and cart."""
    customer = authenticate(email, password)
    auth = AuthSession(id=uuid.uuid4().hex, customer_id=customer.id,
                       user_agent=user_agent[:200])
    customer.last_login_at = utcnow()
    db_session.add(auth)
    db_session.commit()
    merge = cart_services.merge_guest_cart(guest_cart_token, customer.id)
    token = sign_auth_token(customer.id, auth.id, customer.is_staff, customer.email)
    return {"token": token, "session_id": auth.id, "customer": customer.to_dict(),
            "cart": merge}


def sign_out(session_id: str) -> bool:
    auth = db_session.get(AuthSession, session_id)
    if auth is None or auth.revoked_at is not None:
        return False
    auth.revoked_at = utcnow()
    db_session.commit()
    return True


def session_is_active(session_id: str) -> bool:
    auth = db_session.get(AuthSession, session_id)
    return auth is not None and auth.revoked_at is None


def list_sessions(customer_id: int) -> list[dict[str, Any]]:
    rows = db_session.execute(
        select(AuthSession).where(AuthSession.customer_id == customer_id)
        .order_by(AuthSession.created_at.desc(), AuthSession.id)).scalars()
    return [{"id": s.id, "created_at": isoformat(s.created_at),
             "revoked": s.revoked_at is not None, "user_agent": s.user_agent} for s in rows]


def change_password(customer_id: int, old_password: str, new_password: str) -> None:
    customer = get_customer(customer_id)
    if customer is None or not verify_password(old_password, customer.password_hash):
        raise ApiError(401, "bad_credentials", "current password is wrong")
    problems = password_problems(new_password, customer.email)
    if problems:
        raise ApiError(422, "weak_password", "password " + "; ".join(problems))
    customer.password_hash = hash_password(new_password, current_app.config["PASSWORD_ITERATIONS"])
    # End every other session: a changed password means someone may know the old one.
    for auth in db_session.execute(
            select(AuthSession).where(AuthSession.customer_id == customer_id,
                                      AuthSession.revoked_at.is_(None))).scalars():
        auth.revoked_at = utcnow()
    from sample_monolith.notifications import services as notifications

    notifications.enqueue_email(customer.email, "password_changed", {"name": customer.name})
    db_session.commit()


def validate_address(data: dict[str, Any]) -> dict[str, Any]:
    """Normalise a postal address; raises 422 listing every bad field."""
    required = ("recipient", "line1", "city", "state", "zip_code")
    missing = [f for f in required if not str(data.get(f) or "").strip()]
    if missing:
        raise ApiError(422, "bad_address", "missing: " + ", ".join(missing), fields=missing)
    state = str(data["state"]).strip().upper()
    zip_code = normalize_zip(str(data["zip_code"]))
    errors = []
    if state not in US_STATES:
        errors.append("state")
    if len(zip_code) != 5:
        errors.append("zip_code")
    if errors:
        raise ApiError(422, "bad_address", "invalid: " + ", ".join(errors), fields=errors)
    return {"recipient": str(data["recipient"]).strip(), "line1": str(data["line1"]).strip(),
            "line2": str(data.get("line2") or "").strip(), "city": str(data["city"]).strip(),
            "state": state, "zip_code": zip_code, "phone": str(data.get("phone") or "").strip()}


def add_address(customer_id: int, data: dict[str, Any]) -> Address:
    clean = validate_address(data)
    existing = list(db_session.execute(
        select(Address).where(Address.customer_id == customer_id)).scalars())
    make_default = bool(data.get("is_default")) or not existing
    if make_default:
        for address in existing:
            address.is_default = False
    address = Address(customer_id=customer_id, label=str(data.get("label") or "Home"),
                      is_default=make_default, **clean)
    db_session.add(address)
    db_session.commit()
    return address


def list_addresses(customer_id: int) -> list[dict[str, Any]]:
    rows = db_session.execute(
        select(Address).where(Address.customer_id == customer_id).order_by(Address.id))
    return [a.to_dict() for a in rows.scalars()]


def get_address(customer_id: int, address_id: int) -> dict[str, Any]:
    address = db_session.get(Address, address_id)
    if address is None or address.customer_id != customer_id:
        raise ApiError(404, "unknown_address", "no such address in your address book")
    return address.to_dict()


def delete_address(customer_id: int, address_id: int) -> None:
    address = db_session.get(Address, address_id)
    if address is None or address.customer_id != customer_id:
        raise ApiError(404, "unknown_address", "no such address in your address book")
    was_default = address.is_default
    db_session.delete(address)
    db_session.flush()
    if was_default:
        remaining = db_session.execute(
            select(Address).where(Address.customer_id == customer_id).order_by(Address.id)
        ).scalars().first()
        if remaining is not None:
            remaining.is_default = True
    db_session.commit()


def ensure_staff_account(email: str, password: str) -> Customer:
    """Seed and ops helper: create or promote the staff login."""
    customer = get_customer_by_email(email)
    if customer is None:
        customer = Customer(email=normalize_email(email), name="Peach State Staff", is_staff=True,
                            password_hash=hash_password(password,
                                                        current_app.config["PASSWORD_ITERATIONS"]))
        db_session.add(customer)
    customer.is_staff = True
    db_session.commit()
    return customer
