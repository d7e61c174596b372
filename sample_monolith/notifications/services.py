"""Notifications service layer: put e-mails in the outbox, and send what is due.

Messages are written in the same transaction as the change they announce (an order, a
cancellation), so an e-mail is never sent for something that rolled back and never lost for
something that committed. Sending happens later, in the worker.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from sample_monolith.accounts import services as accounts_services
from sample_monolith.config import SHOP_NAME, SUPPORT_EMAIL
from sample_monolith.db import db_session
from sample_monolith.notifications.mailer import MailError, build_message, get_mailer
from sample_monolith.notifications.models import OutboxMessage
from sample_monolith.utils import format_cents, utcnow

TEMPLATES = ("welcome", "order_confirmation", "order_shipped", "order_cancelled",
             "password_changed")


def enqueue_email(to: str, template: str, context: dict[str, Any],
                  dedupe_key: str | None = None) -> int:
    """Add a message to the outbox (flushed, committed by the caller's transaction); its id."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown e-mail template {template!r}")
    if dedupe_key is not None:
        existing = db_session.execute(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
        ).scalar_one_or_none()
        if existing is not None:
            return existing.id
    message = OutboxMessage(to_address=to, template=template, dedupe_key=dedupe_key,
                            context_json=json.dumps(context, sort_keys=True, default=str))
    db_session.add(message)
    db_session.flush()
    return message.id


def enqueue_for_customer(customer_id: int, template: str, context: dict[str, Any]) -> None:
    customer = accounts_services.customer_summary(customer_id)
    if customer is not None:
        enqueue_email(customer["email"], template, {"name": customer["name"], **context})


def queue_order_email(order: dict[str, Any], template: str,
                      extra: dict[str, Any] | None = None) -> None:
    """Turn an order snapshot (plain data from the orders domain) into an e-mail."""
    context = {
        "number": order["number"], "name": order["ship_name"], "status": order["status"],
        "total": format_cents(order["total_cents"]),
        "discount": format_cents(order["discount_cents"]),
        "shipping": format_cents(order["shipping_cents"]), "tax": format_cents(order["tax_cents"]),
        "lines": [{"name": line["name"], "quantity": line["quantity"],
                   "total": format_cents(line["line_total_cents"])} for line in order["lines"]],
        "ship_to": order["ship_to"],
    }
    context.update(extra or {})
    enqueue_email(order["email"], template, context, dedupe_key=f"{template}:{order['number']}")


def render(template: str, context: dict[str, Any]) -> tuple[str, str]:
    """Templates start with a ``Subject:`` line; the rest is the plain-text body."""
    env = current_app.jinja_env
    text = env.get_template(f"email/{template}.txt").render(
        shop_name=SHOP_NAME, support_email=SUPPORT_EMAIL, **context)
    first, _, body = text.partition("\n")
    subject = first.removeprefix("Subject:").strip()
    return subject, body.strip() + "\n"


def process_outbox(batch_size: int | None = None, now: datetime | None = None) -> dict[str, int]:
    """Send what is due. Failed sends back off exponentially and give up after N attempts."""
    config = current_app.config
    batch_size = batch_size or config["OUTBOX_BATCH_SIZE"]
    max_attempts = config["OUTBOX_MAX_ATTEMPTS"]
    now = now or utcnow()
    mailer = get_mailer(config)
    due = list(db_session.execute(
        select(OutboxMessage).where(OutboxMessage.status == "pending",
                                    OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id).limit(batch_size)).scalars())
    counts = {"sent": 0, "retrying": 0, "failed": 0}
    for message in due:
        message.attempts += 1
        try:
            subject, body = render(message.template, message.context)
            message.subject, message.body = subject, body
            mailer.send(build_message(config["MAIL_FROM"], message.to_address, subject, body,
                                      message.id))
        except MailError as exc:
            message.last_error = str(exc)[:255]
            if message.attempts >= max_attempts:
                message.status = "failed"
                counts["failed"] += 1
            else:
                message.next_attempt_at = now + timedelta(minutes=2 ** message.attempts)
                counts["retrying"] += 1
        else:
            message.status = "sent"
            message.sent_at = now
            message.last_error = None
            counts["sent"] += 1
        db_session.commit()
    counts["pending"] = int(db_session.execute(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "pending")
    ).scalar_one())
    return counts


def list_outbox(to: str | None = None, status: str | None = None,
                limit: int = 50) -> list[dict[str, Any]]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if to:
        stmt = stmt.where(OutboxMessage.to_address == to.strip().lower())
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    return [m.to_dict() for m in db_session.execute(stmt).scalars()]


def retry_failed() -> int:
    rows = list(db_session.execute(
        select(OutboxMessage).where(OutboxMessage.status == "failed")).scalars())
    for message in rows:
        message.status = "pending"
        message.attempts = 0
        message.next_attempt_at = utcnow()
    db_session.commit()
    return len(rows)


def outbox_counts() -> dict[str, int]:
    rows = db_session.execute(select(OutboxMessage.status, func.count(OutboxMessage.id))
                              .group_by(OutboxMessage.status)).all()
    return {status: int(count) for status, count in sorted(rows)}
