"""Sagas for FastAPI (ASGI) services, as ``test_sagas.py`` checks them for WSGI: a real FastAPI
app is the caller (its runtime copy's ``AsgiSagaMiddleware`` around it, its outbox in its own
SQLite file), the payments owner of ``test_sagas.py`` a real HTTP server on 127.0.0.1. Also the
outbox's hygiene: credentials kept only while the relay may still need them, old answers pruned.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine, text

from .test_sagas import Owner, _int_result, _runtime_copy, linked


class AsgiCaller:
    """The checkout service as FastAPI: ``POST /pay`` (async, ``acall``) and ``POST /pay-sync``
    (a sync endpoint FastAPI runs in a worker thread, ``call``) charge, then record the order,
    for a caller with the right ``Authorization``; a service down answers 500."""

    def __init__(self, db: Path) -> None:
        self.rt = rt = _runtime_copy("asgi_caller_runtime")
        self.engine = create_engine(f"sqlite:///{db}")
        api = FastAPI()

        def allowed(authorization: str) -> None:
            if authorization != "Bearer ok":
                raise HTTPException(status_code=401, detail="who are you")

        @api.post("/pay")
        async def pay(body: dict, authorization: str = Header("")) -> object:
            allowed(authorization)
            if body["ref"] == "broken":  # fails before it calls anybody
                return JSONResponse("bug", status_code=500)
            try:
                charge = await rt.acall(
                    "payments", "charge", _int_result, [body["ref"]], {}, idempotent=False
                )
                order = await rt.acall(
                    "payments", "record", _int_result, [body["ref"]], {}, idempotent=False
                )
            except rt.ServiceUnavailable:
                return JSONResponse("later", status_code=500)
            return JSONResponse([charge, order], status_code=201)

        @api.post("/pay-sync")
        def pay_sync(body: dict, authorization: str = Header("")) -> object:
            allowed(authorization)
            try:
                charge = rt.call(
                    "payments", "charge", _int_result, [body["ref"]], {}, idempotent=False
                )
                order = rt.call(
                    "payments", "record", _int_result, [body["ref"]], {}, idempotent=False
                )
            except rt.ServiceUnavailable:
                return JSONResponse("later", status_code=500)
            return JSONResponse([charge, order], status_code=201)

        rt.install_asgi_sagas(api, lambda: self.engine)
        rt.install_asgi_sagas(api, lambda: self.engine)  # a factory run twice: one middleware
        self.app = api.build_middleware_stack()  # what uvicorn runs: the middleware outside
        self.sagas = _find_middleware(self.app, rt.AsgiSagaMiddleware)

    def request(
        self, method: str, path: str, body: dict, auth: str = "Bearer ok", query: str = ""
    ) -> int:
        """The answer's status; its headers and body are in ``self.headers``/``self.body``."""
        return asyncio.run(self._request(method, path, body, auth, query))

    async def _request(self, method: str, path: str, body: dict, auth: str, query: str) -> int:
        data = json.dumps(body).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"authorization", auth.encode()),
                (b"cookie", b"session=abc"),
            ],
            "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 5000),
        }
        messages = [{"type": "http.request", "body": data, "more_body": False}]
        statuses: list[int] = []

        async def receive() -> dict:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        chunks: list[bytes] = []

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
                self.headers = dict(message["headers"])
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        self.body = b"".join(chunks)
        return statuses[0]

    def relay(self) -> dict[str, int]:
        return asyncio.run(self.sagas.relay())

    def outbox(self) -> list[tuple]:
        with self.engine.connect() as conn:
            return [
                (r[0], json.loads(r[1]), r[2])
                for r in conn.execute(
                    text("SELECT saga_id, request, last_error FROM interservice_outbox")
                )
            ]


def _find_middleware(app: object, kind: type) -> object:
    while not isinstance(app, kind):
        app = app.app  # type: ignore[attr-defined]
    return app


@pytest.fixture()
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AsgiCaller, Owner]]:
    owner = Owner(tmp_path / "payments.sqlite3")
    yield from linked(AsgiCaller(tmp_path / "checkout.sqlite3"), owner, monkeypatch)


@pytest.mark.parametrize("path", ["/pay", "/pay-sync"])
@pytest.mark.parametrize("fault", ["charge:down", "record:down", "record:lost"])
def test_an_asgi_saga_that_failed_half_way_ends_after_the_relay_with_each_call_applied_once(
    shop: tuple[AsgiCaller, Owner], fault: str, path: str
) -> None:
    caller, owner = shop
    endpoint, kind = fault.split(":")
    owner.faults[endpoint] = kind
    assert caller.request("POST", path, {"ref": "cs_1"}) == 202  # taken for the relay
    [(saga_id, request, error)] = caller.outbox()  # in the caller's own database
    assert json.loads(caller.body)["status_url"] == f"{path}?interservice_saga={saga_id}"
    assert caller.headers[b"location"] == f"{path}?interservice_saga={saga_id}".encode()
    assert (request["PATH_INFO"], request["HTTP_AUTHORIZATION"], error) == (
        path,
        "Bearer ok",
        "HTTP 500",
    )
    assert caller.relay() == {"ran": 1, "pending": 1}  # still failing: kept
    owner.faults.clear()  # the service is back
    assert caller.relay() == {"ran": 1, "pending": 0}
    assert owner.moves() == [("charge", "cs_1"), ("order", "cs_1")]  # once each
    assert caller.outbox() == []
    with owner.engine.connect() as conn:  # derived keys: the same on every run of the saga
        keys = sorted(
            r[0] for r in conn.execute(text("SELECT answer_key FROM interservice_answers"))
        )
    assert keys == [f"{saga_id}:1:charge", f"{saga_id}:2:record"]
    assert caller.request("GET", path, {}, query=f"interservice_saga={saga_id}") == 200
    assert json.loads(caller.body) == {
        "saga": saga_id,
        "status": "done",
        "answer_status": 201,
        "answer": [1, 2],
    }


def test_an_asgi_request_that_fails_before_calling_anybody_answers_500_and_is_not_relayed(
    shop: tuple[AsgiCaller, Owner],
) -> None:
    caller, owner = shop
    assert caller.request("POST", "/pay", {"ref": "broken"}) == 500
    assert caller.body == b'"bug"'
    assert caller.outbox() == []
    assert caller.relay() == {"ran": 0, "pending": 0}
    assert owner.moves() == []


def test_asgi_requests_that_end_and_reads_leave_nothing_in_the_outbox(
    shop: tuple[AsgiCaller, Owner],
) -> None:
    caller, owner = shop
    assert caller.request("POST", "/pay", {"ref": "cs_2"}) == 201
    assert caller.request("GET", "/healthz", {}) == 404  # a read passes by: no saga
    assert caller.request("POST", "/pay", {"ref": "cs_3"}, auth="Bearer no") == 401
    assert caller.outbox() == []
    assert owner.moves() == [("charge", "cs_2"), ("order", "cs_2")]


def test_the_relay_needs_the_callers_credentials_so_they_stay_while_it_may_run(
    shop: tuple[AsgiCaller, Owner],
) -> None:
    """Why Authorization (and Cookie) are kept in the outbox: the relay runs the route again,
    and the route checks the caller again. Without them the run is refused (401, below 500),
    the saga counts as ended and the order is never recorded after the charge."""
    caller, owner = shop
    owner.faults["record"] = "down"
    assert caller.request("POST", "/pay", {"ref": "cs_6"}) == 202
    owner.faults.clear()
    [(saga_id, request, _)] = caller.outbox()
    stripped = {k: v for k, v in request.items() if k != "HTTP_AUTHORIZATION"}
    with caller.engine.begin() as conn:
        conn.execute(
            text("UPDATE interservice_outbox SET request = :r WHERE saga_id = :i"),
            {"r": json.dumps(stripped), "i": saga_id},
        )
    assert caller.relay() == {"ran": 1, "pending": 0}
    assert owner.moves() == [("charge", "cs_6")]  # charged, never ordered


def test_a_given_up_saga_keeps_its_error_but_not_the_callers_credentials(
    shop: tuple[AsgiCaller, Owner], monkeypatch: pytest.MonkeyPatch
) -> None:
    caller, owner = shop
    monkeypatch.setattr(caller.rt, "RELAY_ATTEMPTS", 2)
    owner.faults["charge"] = "down"
    assert caller.request("POST", "/pay", {"ref": "cs_4"}) == 202
    assert caller.outbox()[0][1]["HTTP_COOKIE"] == "session=abc"  # may still be relayed
    assert [caller.relay()["ran"] for _ in range(3)] == [1, 0, 0]
    [(_, request, error)] = caller.outbox()
    assert (request["HTTP_AUTHORIZATION"], request["HTTP_COOKIE"], error) == ("", "", "HTTP 500")
    assert request["PATH_INFO"] == "/pay" and request["body"]  # what a person needs to see


def test_answers_older_than_the_configured_age_are_pruned(
    shop: tuple[AsgiCaller, Owner], monkeypatch: pytest.MonkeyPatch
) -> None:
    caller, owner = shop
    store = owner.rt.STORE
    store.remember("old", ({"result": 1}, 200))
    store.remember("new", ({"result": 2}, 200))
    with owner.engine.begin() as conn:
        conn.execute(
            text("UPDATE interservice_answers SET created = :t WHERE answer_key = 'old'"),
            {"t": time.time() - 3 * 86400},
        )
    monkeypatch.setattr(owner.rt, "ANSWERS_MAX_AGE", 0)
    assert store.prune_answers() == 0  # 0: kept for ever
    monkeypatch.setattr(owner.rt, "ANSWERS_MAX_AGE", 2 * 86400)
    store.tidy()  # what every relay run does
    assert store.answer("old") is None and store.answer("new") == ({"result": 2}, 200)


OWNER_MODULE = """
import os
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine(os.environ["DATABASE_URL"])
with engine.begin() as conn:
    conn.execute(text("CREATE TABLE IF NOT EXISTS moves (ref TEXT)"))
session = scoped_session(sessionmaker(bind=engine))


def charge(ref: str) -> int:
    session.execute(text("INSERT INTO moves (ref) VALUES (:r)"), {"r": ref})
    if ref == "bad":
        raise ValueError("declined")
    return len(ref)
"""

DRIVE = """
import asyncio, json, sqlite3, sys
from fastapi import FastAPI
from interservice import endpoints, runtime
from payments import engine

runtime.install_asgi_sagas(FastAPI(), lambda: engine)
app = FastAPI()
endpoints.init_app(app)


async def post(ref, key):
    body = json.dumps({"args": [ref], "kwargs": {}}).encode()
    scope = {"type": "http", "method": "POST", "path": "/internal/charge", "headers": [
        (b"content-type", b"application/json"), (b"saga-id", b"s"),
        (b"idempotency-key", key.encode())], "query_string": b"", "root_path": ""}
    sent = []
    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}
    async def send(message):
        sent.append(message)
    await app(scope, receive, send)
    return sent[0]["status"], json.loads(sent[1]["body"])

out = [asyncio.run(post(*a)) for a in (("tea", "s:1:charge"), ("tea", "s:1:charge"),
                                       ("bad", "s:2:charge"))]
db = sqlite3.connect(sys.argv[1])
out.append(db.execute("SELECT ref FROM moves").fetchall())
out.append(db.execute("SELECT answer_key, status FROM interservice_answers ORDER BY 1").fetchall())
print(json.dumps(out))
"""


def test_a_fastapi_owner_keeps_a_saga_answer_with_what_the_call_wrote(tmp_path: Path) -> None:
    """The generated internal endpoint of a FastAPI service with a unit of work (a scoped
    session): the call, its answer and the commit happen in one worker thread, so the answer
    and the row are committed together; a repeated key is answered from the database without
    a second row; a call that raised leaves no row, and its error answer is kept."""
    import os
    import shutil
    import subprocess
    import sys

    from migrator.extraction import frameworks
    from migrator.extraction import runtime as runtime_source

    (tmp_path / "interservice").mkdir()
    (tmp_path / "interservice" / "__init__.py").write_text("")
    shutil.copy(runtime_source.__file__, tmp_path / "interservice" / "runtime.py")
    (tmp_path / "interservice" / "endpoints.py").write_text(
        frameworks.fastapi_endpoints("payments", {"charge": "payments:charge"}, "payments:session")
    )
    (tmp_path / "payments.py").write_text(OWNER_MODULE)
    db = tmp_path / "payments.sqlite3"
    done = subprocess.run(
        [sys.executable, "-c", DRIVE, str(db)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{db}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    first, again, failed, rows, answers = json.loads(done.stdout)
    assert first == again == [200, {"result": 3}]
    assert failed[0] == 422 and failed[1]["error"]["message"] == "declined"
    assert rows == [["tea"]]  # once, and nothing of the call that raised
    assert answers == [["s:1:charge", 200], ["s:2:charge", 422]]
