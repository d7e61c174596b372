"""A tiny HTTP client for the journey tests: one base URL, JSON in and out, no cookies.

The same tests run through Flask's test client, against a real server process, or against
any base URL (``SHOP_BASE_URL``, e.g. a gateway in front of the split services).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def __repr__(self) -> str:  # shown by pytest when an assertion fails
        return f"<Response {self.status} {self.text[:300]!r}>"


class Transport(Protocol):
    def send(self, method: str, path: str, body: bytes | None,
             headers: dict[str, str]) -> Response: ...


class FlaskTransport:
    """In-process, through ``app.test_client()`` with cookies off, like an API client."""

    def __init__(self, app: Any) -> None:
        self.client = app.test_client(use_cookies=False)

    def send(self, method: str, path: str, body: bytes | None,
             headers: dict[str, str]) -> Response:
        result = self.client.open(path, method=method, data=body, headers=headers)
        return Response(result.status_code, result.get_data(),
                        {k.lower(): v for k, v in result.headers.items()})


class UrllibTransport:
    """Real HTTP with the standard library, bounded by a timeout on every request."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def send(self, method: str, path: str, body: bytes | None,
             headers: dict[str, str]) -> Response:
        request = urllib.request.Request(self.base_url + path, data=body, method=method,
                                         headers=headers)
        opener = urllib.request.build_opener(_NoRedirect())
        try:
            with opener.open(request, timeout=self.timeout) as reply:
                return Response(reply.status, reply.read(),
                                {k.lower(): v for k, v in reply.headers.items()})
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read(),
                            {k.lower(): v for k, v in error.headers.items()})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class ShopClient:
    """``shop.post("/api/cart/items", {"sku": ...}, token=..., cart=...)``."""

    def __init__(self, transport: Transport, name: str) -> None:
        self.transport = transport
        self.name = name

    def request(self, method: str, path: str, json_body: Any = None, *,
                token: str | None = None, cart: str | None = None,
                headers: dict[str, str] | None = None) -> Response:
        all_headers = {"Accept": "application/json"}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if cart:
            all_headers["X-Cart-Token"] = cart
        all_headers.update(headers or {})
        return self.transport.send(method, path, body, all_headers)

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json_body: Any = None, **kwargs: Any) -> Response:
        return self.request("POST", path, {} if json_body is None else json_body, **kwargs)

    def put(self, path: str, json_body: Any = None, **kwargs: Any) -> Response:
        return self.request("PUT", path, json_body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)
