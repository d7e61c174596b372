"""Compensations for business errors: in the monolith, a call to another domain wrote in the
caller's transaction, so the caller's rollback (after a business error such as "out of stock")
undid it. Split into services, the owner has already committed it; the runtime records, with
the owner's answer, how to undo what each saga call wrote through its ORM, and when the caller
rolls back (or answers a 4xx before committing), it asks the owners to undo exactly the calls
that rollback would have undone: not those the caller committed, nor those the owner's own
function committed. The owner here uses real SQLAlchemy ORM rows in its own SQLite file and is
a real HTTP server on 127.0.0.1; the caller is a WSGI app behind ``SagaMiddleware``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from sqlalchemy import String, create_engine, select, text
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    scoped_session,
    sessionmaker,
)

from .conftest import send_json, serve
from .test_sagas import _runtime_copy


class Base(DeclarativeBase):
    pass


class OrderRow(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))


class OrdersOwner:
    """The orders service: ``create`` adds an order and ``mark`` changes one (the caller
    commits, as in the monolith), ``record`` adds one and commits itself, ``refuse`` is a
    business error (out of stock). ``faults["compensate"] = "down"``: it cannot be reached
    for the undo."""

    def __init__(self, db: Path) -> None:
        self.rt = rt = _runtime_copy("orders_owner_runtime")
        self.engine = create_engine(f"sqlite:///{db}")
        Base.metadata.create_all(self.engine)
        self.session = scoped_session(sessionmaker(bind=self.engine))
        rt.STORE = rt.SagaStore(self.session.get_bind)
        rt._listen()  # what install_sagas does in a service
        self.faults: dict[str, str] = {}
        functions = {
            "create": self.create,
            "mark": self.mark,
            "record": self.record,
            "refuse": self.refuse,
            # a caller's read model of OrderRow writes through it (runtime.sql_write)
            "_read.OrderRow": rt.reader(OrderRow, self.session),
        }
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                name = self.path.rsplit("/", 1)[1]
                data = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.faults.get(name) == "down":
                    return send_json(self, 503, b"{}")
                if self.path == rt.COMPENSATE_PATH:
                    status, body = rt.compensation_answer(data)
                    return send_json(self, status, body)
                body, status = rt.dispatch(
                    functions[name],
                    json.loads(data),
                    None,
                    self.headers.get("Idempotency-Key"),
                    self.headers.get(rt.SAGA_HEADER),
                    outer.session,
                )
                (outer.session.commit if status == 200 else outer.session.rollback)()
                outer.session.remove()
                send_json(self, status, json.dumps(body).encode())

        self.httpd, self.url = serve(Handler)

    def create(self, ref: str) -> int:
        order = OrderRow(ref=ref, status="placed")
        self.session.add(order)
        self.session.flush()
        return order.id

    def mark(self, order_id: int, status: str) -> None:
        self.session.get(OrderRow, order_id).status = status

    def record(self, ref: str) -> int:
        order_id = self.create(ref)
        self.session.commit()  # "whatever happens next, this must survive"
        return order_id

    def refuse(self, ref: str) -> None:
        raise ValueError(f"out of stock for {ref}")

    def rows(self) -> list[tuple[str, str]]:
        with Session(self.engine) as session:
            return [(o.ref, o.status) for o in session.scalars(select(OrderRow).order_by("id"))]


def _int() -> int:
    return 0


def _none() -> None:
    return None


#: each checkout's steps: a call (endpoint, argument), "commit", or "rollback-on-error"
PLANS = {
    # the business error after create+mark: the rollback undoes both
    "undone": ["create", "mark", "refuse"],
    # the caller committed after create: only mark is undone
    "committed-before": ["create", "commit", "mark", "refuse"],
    # the owner's function committed itself: nothing before it is undone
    "owner-committed": ["record", "refuse"],
    # the route answers the error without rolling back: what it never committed is undone
    "no-rollback": ["create", "mark", "refuse-unhandled"],
    # a crash after create: the error handler rolls back and answers 500 (as the sample's
    # does); that is the relay's to complete forward, not a business outcome to undo
    "crash": ["create", "crash"],
    # a row made through the read model and a column changed on it: both undone
    "written": ["made", "set", "refuse"],
}


class Checkout:
    """``POST /checkout/<plan>``: the steps of ``PLANS``; a business error from orders is
    answered 409 after ``session.rollback()`` (as the sample's checkout does), or without it."""

    def __init__(self, db: Path) -> None:
        self.rt = rt = _runtime_copy("checkout_caller_runtime")
        self.engine = create_engine(f"sqlite:///{db}")
        with self.engine.begin() as conn:
            conn.execute(text("CREATE TABLE attempts (plan TEXT)"))
        rt.STORE = rt.SagaStore(lambda: self.engine)
        rt._listen()
        self.app = rt.SagaMiddleware(self.checkout)

    def checkout(self, environ: dict, start_response) -> list[bytes]:  # noqa: ANN001
        rt, plan = self.rt, environ["PATH_INFO"].rsplit("/", 1)[1]
        session = Session(self.engine)
        session.execute(text("INSERT INTO attempts VALUES (:p)"), {"p": plan})
        order_id = 0
        try:
            for step in PLANS[plan]:
                if step == "commit":
                    session.commit()
                elif step == "crash":
                    session.rollback()
                    start_response("500 Internal Server Error", [])
                    return [b"crash"]
                elif step in ("create", "record"):
                    order_id = rt.call("orders", step, _int, [plan], {}, idempotent=False)
                elif step == "made":
                    made = rt.ReadModel("orders", "OrderRow")(ref=plan, status="placed")
                elif step == "set":
                    made.status = "paid"
                elif step == "mark":
                    rt.call("orders", "mark", _none, [order_id, "paid"], {}, idempotent=False)
                else:
                    try:
                        rt.call("orders", "refuse", _none, [plan], {}, idempotent=False)
                    except ValueError:
                        if step == "refuse":
                            session.rollback()
                        start_response("409 Conflict", [])
                        return [b"out of stock"]
            session.commit()
        finally:
            session.close()
        start_response("201 Created", [])
        return [b"ok"]

    def post(self, plan: str) -> int:
        status = []
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": f"/checkout/{plan}",
            "QUERY_STRING": "",
            "CONTENT_LENGTH": "0",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "http",
        }
        self.app(environ, lambda s, h, e=None: status.append(int(s.split()[0])))
        return status[0]

    def outbox(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT COUNT(*) FROM interservice_outbox")).scalar()


@pytest.fixture()
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Checkout, OrdersOwner]]:
    owner = OrdersOwner(tmp_path / "orders.sqlite3")
    caller = Checkout(tmp_path / "checkout.sqlite3")
    monkeypatch.setenv("ORDERS_URL", owner.url)
    monkeypatch.setattr(caller.rt, "RELAY_SECONDS", 0)
    yield caller, owner
    owner.httpd.shutdown()
    owner.httpd.server_close()


@pytest.mark.parametrize(
    ("plan", "left"),
    [
        ("undone", []),
        ("committed-before", [("committed-before", "placed")]),
        ("owner-committed", [("owner-committed", "placed")]),
        ("no-rollback", []),
        ("written", []),
    ],
)
def test_a_business_error_undoes_what_the_monoliths_rollback_would_have(
    shop: tuple[Checkout, OrdersOwner], plan: str, left: list
) -> None:
    caller, owner = shop
    assert caller.post(plan) == 409  # the business error, not a 500 or a 202
    assert owner.rows() == left
    assert caller.outbox() == 0  # the saga has ended
    with owner.engine.connect() as conn:  # an undo is used once
        assert conn.execute(text("SELECT COUNT(*) FROM interservice_undo")).scalar() == (
            1 if plan == "committed-before" else 0
        )


def test_a_saga_without_a_business_error_keeps_every_call(
    shop: tuple[Checkout, OrdersOwner],
) -> None:
    caller, owner = shop
    PLANS["fine"] = ["create", "mark"]
    try:
        assert caller.post("fine") == 201
    finally:
        del PLANS["fine"]
    assert owner.rows() == [("fine", "paid")]


def test_a_run_that_crashed_after_a_rollback_is_not_undone_but_kept_for_the_relay(
    shop: tuple[Checkout, OrdersOwner],
) -> None:
    caller, owner = shop
    assert caller.post("crash") == 202
    assert owner.rows() == [("crash", "placed")]
    assert caller.outbox() == 1


def test_an_owner_unreachable_for_the_undo_is_asked_again_by_the_relay(
    shop: tuple[Checkout, OrdersOwner],
) -> None:
    caller, owner = shop
    owner.faults["compensate"] = "down"
    assert caller.post("undone") == 409  # the customer still gets the business error
    assert owner.rows() == [("undone", "paid")]
    assert caller.outbox() == 1  # kept: the undo is still owed
    owner.faults.clear()
    assert caller.app.relay() == {"ran": 1, "pending": 0}
    assert owner.rows() == []


def test_a_row_changed_since_the_call_is_left_as_it_is(
    shop: tuple[Checkout, OrdersOwner],
) -> None:
    """An undo restores a column only where it still holds what the call wrote."""
    _caller, owner = shop
    rt = owner.rt
    with owner.engine.begin() as conn:
        conn.execute(text("INSERT INTO orders (id, ref, status) VALUES (7, 'x', 'placed')"))
    payload = {"args": [7, "paid"], "kwargs": {}}
    assert rt.dispatch(owner.mark, payload, None, "s:1:mark", "s", owner.session)[1] == 200
    owner.session.commit()
    with owner.engine.begin() as conn:  # someone else ships it meanwhile
        conn.execute(text("UPDATE orders SET status = 'shipped' WHERE id = 7"))
    assert rt.STORE.compensate(["s:1:mark"]) == {"undone": 1, "conflicts": 1}
    assert owner.rows() == [("x", "shipped")]


def test_migration_md_states_the_contract_a_customer_sees(shop_extraction) -> None:  # noqa: ANN001
    text = shop_extraction.markdown()
    assert "`202 Accepted` with `{saga, status_url}`" in text
    assert "`GET <path>?interservice_saga=<id>`" in text
    assert "`POST /internal/_saga/compensate`" in text
    assert "Compensations the monolith left to a rollback are not generated" not in text
