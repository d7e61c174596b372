"""Sagas in the runtime: a caller's state-changing request that fails half-way (the owner
down, or its answer lost after it applied the call) stays in the caller's outbox; the relay runs
it again and the owner, answering the calls already made from its own database, applies each
call exactly once. Two copies of the runtime module play two services, each with its own SQLite
database; the owner is a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import io
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from migrator.extraction import runtime as runtime_source

from .conftest import send_json, serve


def _runtime_copy(name: str) -> ModuleType:
    """A private copy of the runtime, as each service has its own (its own ``STORE``)."""
    spec = importlib.util.spec_from_file_location(name, runtime_source.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Owner:
    """The payments service: ``charge`` and ``record`` write rows in its own database; a fault
    per endpoint: ``down`` (refused before running) or ``lost`` (applied, then the answer lost).
    """

    def __init__(self, db: Path) -> None:
        self.rt = _runtime_copy("owner_runtime")
        self.engine = create_engine(f"sqlite:///{db}")
        with self.engine.begin() as conn:
            conn.execute(text("CREATE TABLE moves (id INTEGER PRIMARY KEY, kind TEXT, ref TEXT)"))
        self.session = scoped_session(sessionmaker(bind=self.engine))
        self.rt.STORE = self.rt.SagaStore(self.session.get_bind)
        self.faults: dict[str, str] = {}
        functions = {"charge": self.charge, "record": self.record}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                name = self.path.rsplit("/", 1)[1]
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fault = outer.faults.get(name)
                if fault == "down":
                    return send_json(self, 503, b"{}")
                body, status = outer.rt.dispatch(
                    functions[name],
                    payload,
                    None,
                    self.headers.get("Idempotency-Key"),
                    self.headers.get(outer.rt.SAGA_HEADER),
                    outer.session,
                )
                (outer.session.commit if status == 200 else outer.session.rollback)()
                outer.session.remove()
                send_json(self, 503, b"{}") if fault == "lost" else send_json(
                    self, status, json.dumps(body).encode()
                )

        self.httpd, self.url = serve(Handler)

    def charge(self, ref: str) -> int:
        return self._move("charge", ref)

    def record(self, ref: str) -> int:
        return self._move("order", ref)

    def _move(self, kind: str, ref: str) -> int:
        row = self.session.execute(
            text("INSERT INTO moves (kind, ref) VALUES (:k, :r) RETURNING id"),
            {"k": kind, "r": ref},
        )
        return int(row.scalar_one())

    def moves(self) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT kind, ref FROM moves ORDER BY id"))]


def _int_result() -> int:  # the client's hints: an int comes back
    return 0


class Caller:
    """The checkout service: ``POST /pay`` charges, then records the order, then answers 201;
    a call that fails makes it answer 500 (what a Flask error handler does)."""

    def __init__(self, db: Path) -> None:
        self.rt = _runtime_copy("caller_runtime")
        self.engine = create_engine(f"sqlite:///{db}")
        self.rt.STORE = self.rt.SagaStore(lambda: self.engine)
        self.app = self.rt.SagaMiddleware(self.pay)

    def pay(self, environ: dict, start_response) -> list[bytes]:  # noqa: ANN001
        ref = json.loads(environ["wsgi.input"].read())["ref"]
        if ref == "broken":  # fails before it calls anybody
            start_response("500 Internal Server Error", [])
            return [b"bug"]
        try:
            charge = self.rt.call("payments", "charge", _int_result, [ref], {}, idempotent=False)
            order = self.rt.call("payments", "record", _int_result, [ref], {}, idempotent=False)
        except self.rt.ServiceUnavailable:
            start_response("500 Internal Server Error", [])
            return [b"later"]
        start_response("201 Created", [])
        return [json.dumps([charge, order]).encode()]

    def request(self, method: str, path: str, body: dict | None = None, query: str = "") -> int:
        """The answer's status; its headers and body are in ``self.headers``/``self.body``."""
        data = json.dumps(body or {}).encode()
        status = []
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "HTTP_COOKIE": "session=abc",
            "wsgi.url_scheme": "http",
        }

        def start_response(line: str, headers: list, exc_info: object = None) -> None:
            status.append(int(line.split()[0]))
            self.headers = dict(headers)

        self.body = b"".join(self.app(environ, start_response))
        return status[0]

    def saga(self, saga_id: str) -> tuple[int, dict]:
        """``GET /pay?interservice_saga=<id>``: how the saga stands."""
        status = self.request("GET", "/pay", query=f"interservice_saga={saga_id}")
        return status, json.loads(self.body)

    def outbox(self) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(text("SELECT saga_id, request FROM interservice_outbox"))
            ]


def linked(caller, owner: Owner, monkeypatch: pytest.MonkeyPatch) -> Iterator:  # noqa: ANN001
    """``caller`` calls ``owner`` (``PAYMENTS_URL``); the test runs the relay itself."""
    monkeypatch.setenv("PAYMENTS_URL", owner.url)
    monkeypatch.setattr(caller.rt, "RELAY_SECONDS", 0)
    monkeypatch.setattr(caller.rt.time, "sleep", lambda s: None)
    yield caller, owner
    owner.httpd.shutdown()
    owner.httpd.server_close()


@pytest.fixture()
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Caller, Owner]]:
    owner = Owner(tmp_path / "payments.sqlite3")
    yield from linked(Caller(tmp_path / "checkout.sqlite3"), owner, monkeypatch)


@pytest.mark.parametrize("fault", ["charge:down", "record:down", "charge:lost", "record:lost"])
def test_a_saga_that_failed_half_way_ends_after_the_relay_with_each_call_applied_once(
    shop: tuple[Caller, Owner], fault: str
) -> None:
    caller, owner = shop
    endpoint, kind = fault.split(":")
    owner.faults[endpoint] = kind
    # taken for the relay: the customer is told it is accepted, not that it failed
    assert caller.request("POST", "/pay", {"ref": "cs_1"}) == 202
    accepted = json.loads(caller.body)
    status_url = f"/pay?interservice_saga={accepted['saga']}"
    assert (accepted["status_url"], caller.headers["Location"]) == (status_url, status_url)
    assert caller.saga(accepted["saga"]) == (
        200,
        {"saga": accepted["saga"], "status": "pending", "attempts": 1},
    )
    applied = {
        "charge:down": [],
        "record:down": [("charge", "cs_1")],
        "charge:lost": [("charge", "cs_1")],
        "record:lost": [("charge", "cs_1"), ("order", "cs_1")],
    }[fault]
    assert owner.moves() == applied
    [(saga_id, request)] = caller.outbox()  # the request waits in the caller's own database
    assert json.loads(request)["HTTP_COOKIE"] == "session=abc"
    assert caller.app.relay() == {"ran": 1, "pending": 1}  # still failing: kept
    owner.faults.clear()  # the service is back
    assert caller.app.relay() == {"ran": 1, "pending": 0}
    assert owner.moves() == [("charge", "cs_1"), ("order", "cs_1")]  # once each
    assert caller.outbox() == []
    with owner.engine.connect() as conn:  # the owner's answers are in its database
        keys = sorted(
            r[0] for r in conn.execute(text("SELECT answer_key FROM interservice_answers"))
        )
    assert keys == [f"{saga_id}:1:charge", f"{saga_id}:2:record"]
    assert caller.app.relay() == {"ran": 0, "pending": 0}
    # the customer asks how it ended and gets the answer of the run that ended it
    assert caller.saga(saga_id) == (
        200,
        {"saga": saga_id, "status": "done", "answer_status": 201, "answer": [1, 2]},
    )
    assert caller.saga("0" * 32) == (404, {"saga": "0" * 32, "status": "unknown"})


def test_a_request_that_fails_before_calling_anybody_answers_its_error_and_is_not_relayed(
    shop: tuple[Caller, Owner],
) -> None:
    """The other half of the contract: a 5xx means nothing was done, so the relay must never
    complete that request behind the customer's back."""
    caller, owner = shop
    assert caller.request("POST", "/pay", {"ref": "broken"}) == 500
    assert caller.body == b"bug"
    assert caller.outbox() == []
    assert caller.app.relay() == {"ran": 0, "pending": 0}
    assert owner.moves() == []


def test_requests_that_end_and_reads_leave_nothing_in_the_outbox(
    shop: tuple[Caller, Owner],
) -> None:
    caller, owner = shop
    assert caller.request("POST", "/pay", {"ref": "cs_2"}) == 201
    assert caller.request("GET", "/pay", {"ref": "cs_3"}) == 201  # a read runs, not a saga
    assert caller.outbox() == []
    with owner.engine.connect() as conn:  # only the saga's calls were kept by the owner
        assert conn.execute(text("SELECT COUNT(*) FROM interservice_answers")).scalar() == 2


def test_a_saga_gives_up_after_the_attempts_allowed(
    shop: tuple[Caller, Owner], monkeypatch: pytest.MonkeyPatch
) -> None:
    caller, owner = shop
    monkeypatch.setattr(caller.rt, "RELAY_ATTEMPTS", 3)
    owner.faults["charge"] = "down"
    assert caller.request("POST", "/pay", {"ref": "cs_4"}) == 202
    saga_id = json.loads(caller.body)["saga"]
    assert [caller.app.relay()["ran"] for _ in range(4)] == [1, 1, 0, 0]
    assert caller.saga(saga_id) == (200, {"saga": saga_id, "status": "given_up", "attempts": 3})
    with caller.engine.connect() as conn:
        assert conn.execute(text("SELECT attempts, last_error FROM interservice_outbox")).one() == (
            3,
            "HTTP 500",
        )
        # given up: the request stays for a person, the caller's cookie does not
        kept = json.loads(conn.execute(text("SELECT request FROM interservice_outbox")).scalar())
    assert (kept["PATH_INFO"], kept["HTTP_COOKIE"]) == ("/pay", "")


def test_the_owner_answers_a_saga_call_again_from_its_database_after_a_restart(
    shop: tuple[Caller, Owner],
) -> None:
    caller, owner = shop
    payload = {"args": ["cs_5"], "kwargs": {}}
    first = owner.rt.dispatch(owner.charge, payload, None, "s:1:charge", "s", owner.session)
    owner.session.commit()
    restarted = _runtime_copy("owner_runtime_again")  # a new process: nothing in memory
    restarted.STORE = restarted.SagaStore(lambda: owner.engine)
    assert (
        restarted.dispatch(owner.charge, payload, None, "s:1:charge", "s", Session(owner.engine))
        == first
    )
    assert owner.moves() == [("charge", "cs_5")]
