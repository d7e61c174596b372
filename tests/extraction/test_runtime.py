"""The HTTP+JSON runtime copied into every service: values, retries, timeouts, error mapping."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import typing
from http.server import BaseHTTPRequestHandler
from typing import Optional

import pytest

from migrator.extraction import runtime

from .conftest import send_json, serve


@dataclasses.dataclass
class Line:
    sku: str
    price: decimal.Decimal
    when: dt.date


@dataclasses.dataclass
class Basket:
    lines: list[Line]
    note: Optional[str] = None  # noqa: UP045 - the typing spelling must decode too


def basket(b: Basket, factor: int) -> Basket:
    return Basket([Line(x.sku, x.price * factor, x.when) for x in b.lines], b.note)


def test_values_round_trip_through_json_with_type_hints() -> None:
    value = Basket([Line("PEACH", decimal.Decimal("6.50"), dt.date(2026, 5, 1))], None)
    wire = json.loads(json.dumps(runtime.encode(value)))
    assert wire == {
        "lines": [{"sku": "PEACH", "price": "6.50", "when": "2026-05-01"}],
        "note": None,
    }
    assert runtime.decode(wire, Basket) == value
    assert runtime.decode(["1.5"], list[decimal.Decimal]) == [decimal.Decimal("1.5")]
    # JSON object keys are strings: an int-keyed dict gets its keys back
    wire = json.loads(json.dumps(runtime.encode({7: 3, 9: 0})))
    assert runtime.decode(wire, dict[int, int]) == {7: 3, 9: 0}
    with pytest.raises(TypeError, match="cannot send a object"):
        runtime.encode(object())


def test_dispatch_calls_the_real_function_and_reports_its_errors() -> None:
    body, status = runtime.dispatch(
        basket,
        {
            "args": [
                runtime.encode(Basket([Line("A", decimal.Decimal("2"), dt.date(2026, 1, 2))]))
            ],
            "kwargs": {"factor": 3},
        },
    )
    assert status == 200
    assert body["result"]["lines"][0]["price"] == "6"

    def boom(x: int) -> int:
        raise LookupError(f"no {x}")

    body, status = runtime.dispatch(boom, {"args": [7]})
    assert status == runtime.ERROR_STATUS
    assert body["error"] == {
        "type": "LookupError",
        "module": "builtins",
        "message": "no 7",
        "args": ["no 7"],
        "attrs": {},
    }
    assert runtime.dispatch(boom, ["not", "an", "object"])[1] == 400


class _Server:
    """A stand-in owner service on 127.0.0.1 that answers from a script of statuses."""

    def __init__(self, script: list[tuple[int, dict]]) -> None:
        self.script = list(script)
        self.hits: list[dict] = []
        self.tokens: list[str | None] = []  # the X-Internal-Token each call showed
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.hits.append({"path": self.path, "body": body})
                outer.tokens.append(self.headers.get("X-Internal-Token"))
                status, payload = outer.script.pop(0) if outer.script else (200, {"result": None})
                send_json(self, status, json.dumps(payload).encode())

        self.httpd, self.url = serve(Handler)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def owner(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    servers = []

    def make(script: list[tuple[int, dict]]) -> _Server:
        server = _Server(script)
        servers.append(server)
        monkeypatch.setenv("CATALOG_URL", server.url)
        monkeypatch.setattr(runtime.time, "sleep", lambda s: None)
        return server

    yield make
    for s in servers:
        s.close()


def get_price(product_id: int) -> decimal.Decimal:  # the client's signature
    raise AssertionError("never runs locally")


class UnknownProduct(LookupError):
    pass


def test_call_posts_json_and_decodes_the_result(owner) -> None:  # noqa: ANN001
    server = owner([(200, {"result": "6.50"})])
    value = runtime.call("catalog", "get_price", get_price, [], {"product_id": 1}, idempotent=True)
    assert value == decimal.Decimal("6.50")
    assert server.hits == [
        {"path": "/internal/get_price", "body": {"args": [], "kwargs": {"product_id": 1}}}
    ]


def test_calls_show_the_deployments_token_only_when_one_is_set(owner, monkeypatch) -> None:  # noqa: ANN001
    server = owner([(200, {"result": "1"}), (200, {"result": "1"})])
    monkeypatch.delenv(runtime.TOKEN_ENV, raising=False)
    runtime.call("catalog", "get_price", get_price, [], {"product_id": 1}, idempotent=True)
    monkeypatch.setenv(runtime.TOKEN_ENV, "s3cret")
    runtime.call("catalog", "get_price", get_price, [], {"product_id": 1}, idempotent=True)
    assert server.tokens == [None, "s3cret"]


def _guarded_wsgi(method: str, path: str, token: str | None) -> tuple[str, bytes]:
    """(status line, body) of ``runtime.InternalGuard`` around an app that answers "app"."""

    def app(environ: dict, start_response) -> list[bytes]:  # noqa: ANN001
        start_response("200 OK", [])
        return [b"app"]

    seen: list[str] = []
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path}
    if token is not None:
        environ["HTTP_X_INTERNAL_TOKEN"] = token
    body = runtime.InternalGuard(app)(environ, lambda status, headers: seen.append(status))
    return seen[0], b"".join(body)


def _guarded_asgi(method: str, path: str, token: str | None) -> tuple[int, bytes]:
    """(status, body) of ``runtime.AsgiInternalGuard`` around an app that answers "app"."""
    import asyncio

    sent: list[dict] = []

    async def app(scope: dict, receive, send) -> None:  # noqa: ANN001
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"app"})

    async def send(message: dict) -> None:
        sent.append(message)

    headers = [(b"x-internal-token", token.encode())] if token is not None else []
    scope = {"type": "http", "method": method, "path": path, "headers": headers}
    asyncio.run(runtime.AsgiInternalGuard(app)(scope, None, send))
    return sent[0]["status"], sent[1]["body"]


@pytest.mark.parametrize("guarded", [_guarded_wsgi, _guarded_asgi])
def test_the_internal_api_answers_only_callers_showing_the_token(guarded, monkeypatch) -> None:  # noqa: ANN001
    def status(answer: tuple) -> int:
        return int(str(answer[0]).split()[0])

    def error(answer: tuple) -> str:
        return json.loads(answer[1])["error"]["type"]

    monkeypatch.delenv(runtime.TOKEN_ENV, raising=False)
    # no token configured: refused, naming the setting (fails closed, never open)
    missing = guarded("POST", "/internal/get_price", "anything")
    assert (status(missing), error(missing)) == (503, "InternalTokenMissing")
    assert runtime.TOKEN_ENV in json.loads(missing[1])["error"]["message"]
    monkeypatch.setenv(runtime.TOKEN_ENV, "s3cret")
    for shown in (None, "", "s3cre", "s3cret2", "S3CRET"):
        for path in ("/internal/_saga/relay", "//internal/get_price"):
            refused = guarded("POST", path, shown)
            assert (status(refused), error(refused)) == (401, "Unauthorized"), (path, shown)
    assert guarded("POST", "/internal/get_price", "s3cret")[1] == b"app"
    # the service's own routes are not the internal API
    assert guarded("POST", "/api/orders", None)[1] == b"app"
    assert guarded("GET", "/healthz", None)[1] == b"app"


def test_rows_inside_unhinted_values_are_rows() -> None:
    """A function without a return hint that gives back a list (or dict) of rows: the caller
    gets read-only rows it can read columns of, not the wire's ``{"__row__": ...}`` dicts."""
    wire = runtime.encode([runtime.ReadRow("Product", {"id": 1, "sku": "tea"})])
    (row,) = runtime.decode(wire, typing.Any)
    assert (row.id, row.sku) == (1, "tea")
    nested = runtime.decode({"top": wire, "n": 2}, None)
    assert nested["top"][0].sku == "tea" and nested["n"] == 2
    assert runtime.decode([1, "a", None], typing.Any) == [1, "a", None]


def test_only_idempotent_calls_are_retried(owner) -> None:  # noqa: ANN001
    server = owner([(503, {}), (503, {}), (200, {"result": "1"})])
    assert runtime.call(
        "catalog", "get_price", get_price, [], {"product_id": 1}, idempotent=True
    ) == decimal.Decimal("1")
    assert len(server.hits) == 3
    server = owner([(503, {}), (200, {"result": "1"})])
    with pytest.raises(runtime.ServiceUnavailable):
        runtime.call("catalog", "reserve", get_price, [], {}, idempotent=False)
    assert len(server.hits) == 1


def test_remote_errors_become_the_callers_exceptions(owner) -> None:  # noqa: ANN001
    owner(
        [
            (422, {"error": {"type": "UnknownProduct", "message": "no 9", "args": ["no 9"]}}),
            (422, {"error": {"type": "ValueError", "message": "bad", "args": ["bad"]}}),
            (422, {"error": {"type": "SomethingElse", "message": "odd", "args": []}}),
            (500, {"error": "internal"}),
        ]
    )
    errors = {"UnknownProduct": UnknownProduct}
    with pytest.raises(UnknownProduct, match="no 9"):
        runtime.call("catalog", "get_price", get_price, [], {}, idempotent=True, errors=errors)
    with pytest.raises(ValueError, match="bad"):
        runtime.call("catalog", "get_price", get_price, [], {}, idempotent=True, errors=errors)
    with pytest.raises(runtime.RemoteError, match="HTTP 422: odd"):
        runtime.call("catalog", "get_price", get_price, [], {}, idempotent=True, errors=errors)
    with pytest.raises(runtime.RemoteError, match="HTTP 500"):
        runtime.call("catalog", "get_price", get_price, [], {}, idempotent=True, errors=errors)


def test_unreachable_service_and_timeouts_raise_service_unavailable(monkeypatch) -> None:  # noqa: ANN001
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("CATALOG_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setattr(runtime.time, "sleep", lambda s: None)
    with pytest.raises(runtime.ServiceUnavailable, match="after 3 attempt"):
        runtime.call("catalog", "get_price", get_price, [], {}, idempotent=True)
    # a server that accepts and never answers: the timeout ends the call
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    monkeypatch.setenv("CATALOG_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
    monkeypatch.setattr(runtime, "TIMEOUT_SECONDS", 0.2)
    try:
        with pytest.raises(runtime.ServiceUnavailable, match="after 1 attempt"):
            runtime.call("catalog", "reserve", get_price, [], {}, idempotent=False)
    finally:
        silent.close()


def test_base_url_comes_from_the_environment(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("ORDER_HISTORY_URL", raising=False)
    assert runtime.base_url("order-history") == "http://order-history:8000"
    monkeypatch.setenv("ORDER_HISTORY_URL", "http://127.0.0.1:9/")
    assert runtime.base_url("order-history") == "http://127.0.0.1:9"


def test_unavailable_stand_in_boots_and_fails_loudly_when_used() -> None:
    stand_in = runtime.Unavailable("shop.catalog.describe", "argument is an ORM model")

    @stand_in
    def view() -> str:
        return "never"

    with pytest.raises(
        runtime.NotExtractedError,
        match="describe is not available in this service: argument is an ORM model",
    ):
        view()
    with pytest.raises(runtime.NotExtractedError):
        stand_in(1, 2)
    with pytest.raises(runtime.NotExtractedError):
        stand_in.query  # noqa: B018


class ShopError(Exception):
    """Like a kernel error class: several constructor arguments, state in attributes."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def test_kernel_errors_keep_their_class_and_attributes_across_the_call(owner) -> None:  # noqa: ANN001
    def refuse() -> None:
        raise ShopError(409, "cart_closed", "this cart is converted")

    body, status = runtime.dispatch(refuse, {})
    assert status == runtime.ERROR_STATUS and body["error"]["attrs"] == {
        "status": 409,
        "code": "cart_closed",
    }
    owner([(status, body)])
    with pytest.raises(ShopError, match="this cart is converted") as info:
        runtime.call("catalog", "refuse", refuse, [], {}, idempotent=False)
    assert (info.value.status, info.value.code) == (409, "cart_closed")
