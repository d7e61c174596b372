"""Rate card: zones by ZIP prefix, prices by zone, method and weight.

Zone 1 is metro Atlanta (our own vans), zone 2 the rest of Georgia, zone 3 the neighbouring
states, zone 4 the rest of the contiguous US. Perishables leave Georgia only by express.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from sample_monolith.utils import ApiError, normalize_zip

METHODS = ("local_courier", "standard", "express")
METHOD_NAMES = {"local_courier": "Peach State same-day van", "standard": "Ground (3-5 days)",
                "express": "Express (1-2 days)"}
CARRIERS = {"local_courier": "PSP-VAN", "standard": "UPS", "express": "FedEx"}
WEIGHT_STEP_GRAMS = 500
MAX_PARCEL_GRAMS = 30_000

# (first three ZIP digits from, to) -> zone
ZIP3_ZONES: tuple[tuple[int, int, int], ...] = (
    (300, 303, 1),   # Atlanta metro
    (304, 319, 2),   # rest of Georgia
    (398, 399, 2),   # south-west Georgia
    (350, 369, 3),   # Alabama
    (320, 349, 3),   # Florida
    (290, 299, 3),   # South Carolina
    (370, 385, 3),   # Tennessee
    (270, 289, 3),   # North Carolina
)


@functools.lru_cache(maxsize=1)
def rate_card() -> dict[tuple[int, str], tuple[int, int]]:
    """(zone, method) -> (base cents, cents per started 500 g). Cached: it is read per quote."""
    card: dict[tuple[int, str], tuple[int, int]] = {(1, "local_courier"): (699, 0)}
    standard = {1: (499, 60), 2: (699, 85), 3: (899, 120), 4: (1199, 175)}
    express = {1: (999, 90), 2: (1399, 140), 3: (1899, 210), 4: (2499, 320)}
    for zone in (1, 2, 3, 4):
        card[(zone, "standard")] = standard[zone]
        card[(zone, "express")] = express[zone]
    return card


def zone_for_zip(zip_code: str) -> int:
    digits = normalize_zip(zip_code)
    if len(digits) != 5:
        raise ApiError(422, "bad_zip", f"{zip_code!r} is not a US ZIP code")
    prefix = int(digits[:3])
    for low, high, zone in ZIP3_ZONES:
        if low <= prefix <= high:
            return zone
    return 4


def price(zone: int, method: str, weight_grams: int) -> int:
    key = (zone, method)
    card = rate_card()
    if key not in card:
        raise ApiError(422, "method_unavailable", f"{method} does not deliver to zone {zone}")
    base, per_step = card[key]
    steps = max(1, math.ceil(weight_grams / WEIGHT_STEP_GRAMS))
    return base + per_step * (steps - 1)


def options(zip_code: str, weight_grams: int, perishable: bool = False,
            subtotal_cents: int = 0, free_threshold_cents: int | None = None
            ) -> list[dict[str, Any]]:
    """Every way we can ship this parcel to this ZIP, cheapest first."""
    if weight_grams > MAX_PARCEL_GRAMS:
        raise ApiError(422, "too_heavy", f"parcels over {MAX_PARCEL_GRAMS // 1000} kg need freight")
    zone = zone_for_zip(zip_code)
    result = []
    for method in METHODS:
        if (zone, method) not in rate_card():
            continue
        if perishable and zone >= 3 and method != "express":
            continue
        cost = price(zone, method, weight_grams)
        free = (method == "standard" and zone <= 2 and free_threshold_cents is not None
                and subtotal_cents >= free_threshold_cents)
        result.append({"method": method, "name": METHOD_NAMES[method], "zone": zone,
                       "carrier": CARRIERS[method], "cost_cents": 0 if free else cost,
                       "list_cost_cents": cost, "free": free})
    result.sort(key=lambda o: (o["cost_cents"], o["method"]))
    return result


def cost_for(zip_code: str, method: str, weight_grams: int, perishable: bool,
             subtotal_cents: int, free_threshold_cents: int | None) -> dict[str, Any]:
    for option in options(zip_code, weight_grams, perishable, subtotal_cents,
                          free_threshold_cents):
        if option["method"] == method:
            return option
    if method not in METHODS:
        raise ApiError(422, "bad_method", "shipping method must be one of " + ", ".join(METHODS))
    reason = ("perishable goods leave Georgia by express only" if perishable
              else f"{method} is not available for this address")
    raise ApiError(422, "method_unavailable", reason, method=method)
