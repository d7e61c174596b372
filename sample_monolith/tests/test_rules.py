"""Business rules that are pure functions: money, rates, cards, passwords, tax."""

from __future__ import annotations

from datetime import date

import pytest

from sample_monolith.accounts.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from sample_monolith.checkout.pricing import tax_rate_bps
from sample_monolith.payments.providers import Card, FakeCardProvider, card_problems, luhn_ok
from sample_monolith.shipping import rates
from sample_monolith.utils import ApiError, format_cents, percent_of, slugify


def test_money_formatting_and_rounding():
    assert format_cents(0) == "$0.00"
    assert format_cents(123456) == "$1,234.56"
    assert format_cents(-5) == "-$0.05"
    assert percent_of(3997, 1000) == 400  # 399.7 rounds up
    assert percent_of(25, 1000) == 3  # 2.5 rounds half up, never to even
    assert percent_of(4396, 890) == 391


def test_slugs_are_ascii_and_stable():
    assert slugify("Peach Lover's Gift Box") == "peach-lover-s-gift-box"
    assert slugify("Crème Brûlée, 8 oz") == "creme-brulee-8-oz"
    assert slugify("!!!") == "item"


@pytest.mark.parametrize(("zip_code", "zone"), [("30303", 1), ("30318-1234", 1), ("31201", 2),
                                                ("39817", 2), ("29401", 3), ("37203", 3),
                                                ("10001", 4), ("99501", 4)])
def test_zones_by_zip_prefix(zip_code, zone):
    assert rates.zone_for_zip(zip_code) == zone


def test_rates_step_by_started_half_kilo():
    assert rates.price(2, "standard", 500) == 699
    assert rates.price(2, "standard", 501) == 699 + 85
    assert rates.price(2, "standard", 1) == 699
    with pytest.raises(ApiError) as info:
        rates.price(3, "local_courier", 100)
    assert info.value.code == "method_unavailable"
    with pytest.raises(ApiError):
        rates.options("30303", rates.MAX_PARCEL_GRAMS + 1)


def test_perishables_leave_georgia_by_express_only():
    methods = [o["method"] for o in rates.options("37203", 1000, perishable=True)]
    assert methods == ["express"]
    with pytest.raises(ApiError) as info:
        rates.cost_for("37203", "standard", 1000, True, 0, 7500)
    assert "express" in info.value.message


def test_card_validation():
    assert luhn_ok("4242424242424242") and not luhn_ok("4242424242424241")
    assert not luhn_ok("4242")
    card = Card("4242424242424242", 1, 2020, "123")
    assert card_problems(card, today=date(2024, 6, 1)) == ["expired"]
    assert card_problems(Card("4242424242424242", 13, 2030, "12"), date(2024, 6, 1)) == \
        ["exp_month", "cvc"]
    assert Card("5555555555554444", 1, 2030, "123").brand == "mastercard"


def test_fake_provider_declines_by_card_number():
    provider = FakeCardProvider()
    ok = provider.charge(Card("4242424242424242", 1, 2030, "123"), 1000, "USD", "r1")
    assert ok.approved and ok.provider_ref.startswith("ch_")
    declined = provider.charge(Card("4000000000000002", 1, 2030, "123"), 1000, "USD", "r2")
    assert not declined.approved and declined.decline_code == "card_declined"
    too_big = provider.charge(Card("4242424242424242", 1, 2030, "123"), 10**6, "USD", "r3")
    assert too_big.decline_code == "amount_too_large"


def test_password_hashes_verify_and_upgrade():
    encoded = hash_password("sweet-tea-2024", 1000)
    assert encoded.startswith("pbkdf2_sha256$1000$")
    assert verify_password("sweet-tea-2024", encoded)
    assert not verify_password("sweet-tea-2025", encoded)
    assert not verify_password("anything", "md5$garbage")
    assert hash_password("sweet-tea-2024", 1000) != encoded  # salted
    assert needs_rehash(encoded, 2000) and not needs_rehash(encoded, 1000)
    assert password_problems("short") == ["must be at least 8 characters"]
    assert password_problems("password") == ["is too common"]
    assert password_problems("jane.doe1", "jane.doe1@example.com") == \
        ["must not be your e-mail name"]


def test_georgia_sales_tax():
    assert tax_rate_bps("GA", "30312") == 890
    assert tax_rate_bps("GA", "31401") == 700
    assert tax_rate_bps("AL", "35203") == 0
