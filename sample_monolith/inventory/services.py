"""Inventory service layer: availability, reservations with expiry, commits and restocks.

Available stock = on hand - quantity held by active, unexpired reservations. A reservation is
created when a checkout starts, committed (taken off the shelf) when payment succeeds, released
when the checkout is abandoned, and returned to the shelf when a paid order is cancelled.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from sample_monolith.catalog import services as catalog_services
from sample_monolith.db import db_session
from sample_monolith.models import Reservation, StockLevel, Warehouse
from sample_monolith.utils import ApiError, isoformat, utcnow


class InsufficientStock(ApiError):
    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(409, "insufficient_stock",
                         f"only {available} of {sku} available, {requested} requested",
                         sku=sku, requested=requested, available=available)


class ReservationExpired(ApiError):
    def __init__(self, reference: str) -> None:
        super().__init__(409, "reservation_expired",
                         "the stock held for this checkout has expired; start checkout again",
                         reference=reference)


def _held_by_product(product_ids: list[int], now: datetime,
                     exclude_reference: str | None = None) -> dict[tuple[int, int], int]:
    stmt = (select(Reservation.product_id, Reservation.warehouse_id,
                   func.sum(Reservation.quantity))
            .where(Reservation.product_id.in_(product_ids), Reservation.status == "active",
                   Reservation.expires_at > now)
            .group_by(Reservation.product_id, Reservation.warehouse_id))
    if exclude_reference:
        stmt = stmt.where(Reservation.reference != exclude_reference)
    return {(pid, wid): int(qty) for pid, wid, qty in db_session.execute(stmt)}


def available_by_warehouse(product_ids: list[int], now: datetime | None = None
                           ) -> dict[int, list[dict[str, Any]]]:
    """Per product, the warehouses in pick order with what each can still promise."""
    now = now or utcnow()
    if not product_ids:
        return {}
    held = _held_by_product(product_ids, now)
    rows = db_session.execute(
        select(StockLevel, Warehouse).join(Warehouse, StockLevel.warehouse_id == Warehouse.id)
        .where(StockLevel.product_id.in_(product_ids))
        .order_by(Warehouse.priority, Warehouse.code)).all()
    result: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for level, warehouse in rows:
        reserved = held.get((level.product_id, warehouse.id), 0)
        result[level.product_id].append({
            "warehouse_id": warehouse.id, "warehouse": warehouse.code,
            "on_hand": level.on_hand, "reserved": reserved,
            "available": max(0, level.on_hand - reserved),
        })
    return dict(result)


def available_for_products(product_ids: list[int]) -> dict[int, int]:
    by_wh = available_by_warehouse(product_ids)
    return {pid: sum(w["available"] for w in rows) for pid, rows in by_wh.items()}


def stock_by_warehouse_name(product_id: int) -> list[tuple[str, int]]:
    """On-hand stock of one product per warehouse name, for the product page's pickers."""
    rows = db_session.execute(
        select(Warehouse.name, func.sum(StockLevel.on_hand))
        .join(Warehouse, StockLevel.warehouse_id == Warehouse.id)
        .where(StockLevel.product_id == product_id)
        .group_by(Warehouse.name).order_by(Warehouse.name)).all()
    return [(name, int(total)) for name, total in rows]


def stock_for_sku(sku: str) -> dict[str, Any]:
    product = catalog_services.require_snapshot(sku)
    rows = available_by_warehouse([product["product_id"]]).get(product["product_id"], [])
    return {"sku": product["sku"], "warehouses": rows,
            "on_hand": sum(r["on_hand"] for r in rows),
            "reserved": sum(r["reserved"] for r in rows),
            "available": sum(r["available"] for r in rows)}


def availability(skus: list[str]) -> dict[str, int]:
    snapshots = catalog_services.product_snapshots(skus)
    by_id = available_for_products([s["product_id"] for s in snapshots.values()])
    return {sku: by_id.get(s["product_id"], 0) for sku, s in sorted(snapshots.items())}


def adjust_stock(sku: str, warehouse_code: str, delta: int, reason: str = "") -> dict[str, Any]:
    """Staff: receive goods (positive delta) or write off damaged stock (negative delta)."""
    product = catalog_services.require_snapshot(sku, include_inactive=True)
    warehouse = db_session.execute(
        select(Warehouse).where(Warehouse.code == warehouse_code.upper())).scalar_one_or_none()
    if warehouse is None:
        raise ApiError(404, "unknown_warehouse", f"no warehouse {warehouse_code!r}")
    level = db_session.execute(
        select(StockLevel).where(StockLevel.product_id == product["product_id"],
                                 StockLevel.warehouse_id == warehouse.id)).scalar_one_or_none()
    if level is None:
        level = StockLevel(product_id=product["product_id"], warehouse_id=warehouse.id,
                           on_hand=0)
        db_session.add(level)
    if level.on_hand + delta < 0:
        raise ApiError(422, "negative_stock",
                       f"{warehouse.code} has {level.on_hand} of {product['sku']}; cannot "
                       f"remove {-delta}")
    level.on_hand += delta
    db_session.commit()
    return stock_for_sku(product["sku"])


def reserve(reference: str, lines: list[dict[str, Any]], ttl_minutes: int) -> list[dict[str, Any]]:
    """Hold stock for a checkout, picking warehouses by priority and splitting when needed.

    ``lines`` are ``{"product_id", "sku", "quantity"}``. All or nothing: if one line cannot be
    held, nothing is. Existing active holds for the same reference are replaced.
    """
    now = utcnow()
    release(reference, status="replaced", commit=False)
    db_session.flush()
    wanted: dict[int, int] = defaultdict(int)
    skus: dict[int, str] = {}
    for line in lines:
        wanted[int(line["product_id"])] += int(line["quantity"])
        skus[int(line["product_id"])] = line["sku"]
    stock = available_by_warehouse(sorted(wanted), now)
    expires_at = now + timedelta(minutes=ttl_minutes)
    created: list[Reservation] = []
    for product_id in sorted(wanted):
        need = wanted[product_id]
        rows = stock.get(product_id, [])
        total = sum(r["available"] for r in rows)
        if total < need:
            db_session.rollback()
            raise InsufficientStock(skus[product_id], need, total)
        for row in rows:
            if need == 0:
                break
            take = min(need, row["available"])
            if take <= 0:
                continue
            reservation = Reservation(reference=reference, product_id=product_id,
                                      warehouse_id=row["warehouse_id"], quantity=take,
                                      status="active", expires_at=expires_at)
            db_session.add(reservation)
            created.append(reservation)
            need -= take
    db_session.flush()
    return [{"id": r.id, "product_id": r.product_id, "warehouse_id": r.warehouse_id,
             "quantity": r.quantity, "expires_at": isoformat(r.expires_at)} for r in created]


def release(reference: str, status: str = "released", commit: bool = True) -> int:
    """Let go of the active holds of a checkout that will not be paid."""
    rows = list(db_session.execute(
        select(Reservation).where(Reservation.reference == reference,
                                  Reservation.status == "active")).scalars())
    now = utcnow()
    for reservation in rows:
        reservation.status = status
        reservation.released_at = now
    if commit:
        db_session.commit()
    return len(rows)


def commit_reservations(reference: str, order_id: int) -> int:
    """Payment went through: take the held stock off the shelves for good."""
    now = utcnow()
    rows = list(db_session.execute(
        select(Reservation).where(Reservation.reference == reference,
                                  Reservation.status == "active")).scalars())
    if not rows or any(r.expires_at <= now for r in rows):
        raise ReservationExpired(reference)
    for reservation in rows:
        level = db_session.execute(
            select(StockLevel).where(StockLevel.product_id == reservation.product_id,
                                     StockLevel.warehouse_id == reservation.warehouse_id)
        ).scalar_one()
        level.on_hand -= reservation.quantity
        reservation.status = "committed"
        reservation.order_id = order_id
    db_session.flush()
    return sum(r.quantity for r in rows)


def holds_are_live(reference: str) -> bool:
    now = utcnow()
    rows = list(db_session.execute(
        select(Reservation).where(Reservation.reference == reference,
                                  Reservation.status == "active")).scalars())
    return bool(rows) and all(r.expires_at > now for r in rows)


def restock_order(order_id: int) -> int:
    """A paid order was cancelled before shipping: put its units back where they came from."""
    rows = list(db_session.execute(
        select(Reservation).where(Reservation.order_id == order_id,
                                  Reservation.status == "committed")).scalars())
    now = utcnow()
    for reservation in rows:
        level = db_session.execute(
            select(StockLevel).where(StockLevel.product_id == reservation.product_id,
                                     StockLevel.warehouse_id == reservation.warehouse_id)
        ).scalar_one()
        level.on_hand += reservation.quantity
        reservation.status = "returned"
        reservation.released_at = now
    db_session.flush()
    return sum(r.quantity for r in rows)


def sweep_expired(as_of: datetime | None = None) -> int:
    """Mark active reservations past their expiry as expired (the worker runs this)."""
    as_of = as_of or utcnow()
    rows = list(db_session.execute(
        select(Reservation).where(Reservation.status == "active",
                                  Reservation.expires_at <= as_of)).scalars())
    for reservation in rows:
        reservation.status = "expired"
        reservation.released_at = as_of
    db_session.commit()
    return len(rows)


def warehouses() -> list[dict[str, Any]]:
    rows = db_session.execute(select(Warehouse).order_by(Warehouse.priority, Warehouse.code))
    return [w.to_dict() for w in rows.scalars()]


def low_stock(threshold: int) -> list[dict[str, Any]]:
    totals = db_session.execute(
        select(StockLevel.product_id, func.sum(StockLevel.on_hand))
        .group_by(StockLevel.product_id)).all()
    low_ids = sorted(pid for pid, on_hand in totals if int(on_hand) <= threshold)
    available = available_for_products(low_ids)
    return [{"product_id": pid, "available": available.get(pid, 0)} for pid in low_ids]


def stock_summary() -> list[dict[str, Any]]:
    """Every stock row: product id, warehouse (in pick order), on hand and held by live
    reservations; the back office's inventory report joins it with the catalog."""
    held = _held_by_product_all(utcnow())
    rows = db_session.execute(
        select(StockLevel.product_id, Warehouse.id, Warehouse.code, StockLevel.on_hand)
        .join(Warehouse, StockLevel.warehouse_id == Warehouse.id)
        .order_by(StockLevel.product_id, Warehouse.priority, Warehouse.code)).all()
    return [{"product_id": pid, "warehouse": code, "on_hand": int(on_hand),
             "reserved": held.get((pid, wid), 0)} for pid, wid, code, on_hand in rows]


def _held_by_product_all(now: datetime) -> dict[tuple[int, int], int]:
    rows = db_session.execute(
        select(Reservation.product_id, Reservation.warehouse_id, func.sum(Reservation.quantity))
        .where(Reservation.status == "active", Reservation.expires_at > now)
        .group_by(Reservation.product_id, Reservation.warehouse_id))
    return {(pid, wid): int(qty) for pid, wid, qty in rows}
