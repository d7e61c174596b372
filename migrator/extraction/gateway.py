"""The documented fallback gateway: a small reverse proxy in pure Python for machines without
nginx. Same routing as the generated nginx config (exact paths, then the longest prefix, then
the default service); standard library only, listens on 127.0.0.1.

Not for production: one thread per connection, whole bodies in memory, no TLS.
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
}


def pick(rules: list[tuple[str, str, str]], default: str, path: str) -> str:
    """The service for a request path: an exact rule, else the longest prefix, else default."""
    for rule_path, kind, service in rules:
        if kind == "Exact" and path == rule_path:
            return service
    best = ("", default)
    for rule_path, kind, service in rules:
        if (
            kind == "Prefix"
            and (path.startswith(rule_path) or path == rule_path.rstrip("/"))
            and len(rule_path) > len(best[0])
        ):
            best = (rule_path, service)
    return best[1]


def serve(
    rules: list[tuple[str, str, str]], upstreams: dict[str, str], default: str, port: int
) -> ThreadingHTTPServer:
    """Start the gateway in a background thread; stop it with ``shutdown()``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def _proxy(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            target = urllib.parse.urlsplit(upstreams[pick(rules, default, path)])
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["X-Forwarded-For"] = self.client_address[0]
            conn = http.client.HTTPConnection(target.hostname or "", target.port, timeout=60)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except OSError as exc:
                self.send_error(502, f"upstream failed: {exc}")
                return
            finally:
                conn.close()
            self.send_response(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _proxy

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
