"""Mail transports. The shop never talks SMTP from a request; only the worker uses these."""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from email.message import EmailMessage
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class MailError(Exception):
    """A delivery attempt failed; the worker retries later."""


class Mailer(ABC):
    @abstractmethod
    def send(self, message: EmailMessage) -> None:
        """Deliver one message or raise MailError."""


def _refuse_bounces(message: EmailMessage) -> None:
    # The staging relay rejects this domain, which is how ops tests the retry path.
    if str(message["To"]).endswith("@bounce.example"):
        raise MailError(f"550 mailbox unavailable: {message['To']}")


class FileMailer(Mailer):
    """Writes each message as an .eml file: what the staging box and laptops use."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> None:
        _refuse_bounces(message)
        self.directory.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(message["X-Outbox-Id"]))
        path = self.directory / f"{name}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(bytes(message))
        tmp.replace(path)


class MemoryMailer(Mailer):
    """Keeps messages in a list; handy in a Python shell."""

    sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        _refuse_bounces(message)
        self.sent.append(message)


class LogMailer(Mailer):
    def send(self, message: EmailMessage) -> None:
        _refuse_bounces(message)
        log.info("mail to %s: %s", message["To"], message["Subject"])


def build_message(sender: str, to: str, subject: str, body: str, outbox_id: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["X-Outbox-Id"] = str(outbox_id)
    message.set_content(body)
    return message


def get_mailer(config: dict[str, Any]) -> Mailer:
    backend = config.get("MAIL_BACKEND", "file")
    if backend == "file":
        return FileMailer(config["MAIL_DIR"])
    if backend == "memory":
        return MemoryMailer()
    if backend == "log":
        return LogMailer()
    raise ValueError(f"unknown MAIL_BACKEND {backend!r}")
