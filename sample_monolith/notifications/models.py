"""The e-mail outbox: rows written in the same transaction as the business change they announce,
sent later by the worker so a slow mail server never holds up a checkout."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sample_monolith.db import Base
from sample_monolith.utils import isoformat, utcnow


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(64))
    context_json: Mapped[str] = mapped_column(Text, default="{}")
    subject: Mapped[str] = mapped_column(String(255), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def context(self) -> dict[str, Any]:
        return json.loads(self.context_json or "{}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "to": self.to_address, "template": self.template,
            "subject": self.subject, "body": self.body, "status": self.status,
            "attempts": self.attempts, "last_error": self.last_error,
            "created_at": isoformat(self.created_at), "sent_at": isoformat(self.sent_at),
        }
