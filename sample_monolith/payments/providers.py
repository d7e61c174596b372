"""Payment providers behind one small interface.

Production talked to a card processor; this codebase ships the fake one the team used in
staging, with the processor's documented test card numbers and decline codes.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Card:
    number: str
    exp_month: int
    exp_year: int
    cvc: str
    name: str = ""

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def brand(self) -> str:
        if self.number.startswith("4"):
            return "visa"
        if self.number[:2] in {"51", "52", "53", "54", "55"} or self.number.startswith("22"):
            return "mastercard"
        if self.number[:2] in {"34", "37"}:
            return "amex"
        if self.number.startswith("6011"):
            return "discover"
        return "unknown"


@dataclass(frozen=True)
class ChargeResult:
    approved: bool
    provider_ref: str | None
    decline_code: str | None = None
    message: str = ""


@dataclass(frozen=True)
class RefundResult:
    ok: bool
    provider_ref: str
    message: str = ""


class PaymentProvider(ABC):
    """What the shop needs from a card processor."""

    name = "abstract"

    @abstractmethod
    def charge(self, card: Card, amount_cents: int, currency: str, reference: str) -> ChargeResult:
        """Authorise and capture in one step."""

    @abstractmethod
    def refund(self, provider_ref: str, amount_cents: int) -> RefundResult:
        """Return money on an earlier charge."""


def luhn_ok(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def card_problems(card: Card, today: date | None = None) -> list[str]:
    today = today or date.today()
    problems = []
    if not luhn_ok(card.number):
        problems.append("number")
    if not 1 <= card.exp_month <= 12:
        problems.append("exp_month")
    elif (card.exp_year, card.exp_month) < (today.year, today.month):
        problems.append("expired")
    if not (card.cvc.isdigit() and len(card.cvc) in (3, 4)):
        problems.append("cvc")
    return problems


class FakeCardProvider(PaymentProvider):
    """Deterministic processor: outcome chosen by the card number, like real test modes."""

    name = "fakecard"
    DECLINES = {
        "4000000000000002": ("card_declined", "Your card was declined."),
        "4000000000009995": ("insufficient_funds", "Your card has insufficient funds."),
        "4000000000000069": ("expired_card", "Your card has expired."),
        "4000000000000127": ("incorrect_cvc", "Your card's security code is incorrect."),
    }
    LIMIT_CENTS = 500_000

    def __init__(self) -> None:
        self.charges: dict[str, int] = {}
        self.refunded: dict[str, int] = {}

    def charge(self, card: Card, amount_cents: int, currency: str, reference: str) -> ChargeResult:
        if card.number in self.DECLINES:
            code, message = self.DECLINES[card.number]
            return ChargeResult(False, None, code, message)
        if amount_cents > self.LIMIT_CENTS:
            return ChargeResult(False, None, "amount_too_large", "Amount over the card limit.")
        ref = "ch_" + secrets.token_hex(10)
        self.charges[ref] = amount_cents
        return ChargeResult(True, ref, None, "approved")

    def refund(self, provider_ref: str, amount_cents: int) -> RefundResult:
        # The process may have restarted since the charge; the fake trusts the shop's records.
        self.refunded[provider_ref] = self.refunded.get(provider_ref, 0) + amount_cents
        return RefundResult(True, "re_" + secrets.token_hex(10), "refunded")


_PROVIDERS: dict[str, PaymentProvider] = {}


def get_provider(name: str) -> PaymentProvider:
    """One provider instance per name for the life of the process."""
    if name not in _PROVIDERS:
        if name != FakeCardProvider.name:
            raise ValueError(f"unknown payment provider {name!r}")
        _PROVIDERS[name] = FakeCardProvider()
    return _PROVIDERS[name]
