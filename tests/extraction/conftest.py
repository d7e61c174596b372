"""Shared fixtures: the small shop under fixtures/ and its extraction (built once per session)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from migrator.extraction import Extraction, build_extraction
from migrator.extraction.localrun import free_port
from migrator.plan import Plan, load_plan

FIXTURES = Path(__file__).parent / "fixtures"
SHOP_ROOT = FIXTURES / "shopfix_app"


@pytest.fixture(scope="session")
def shop_plan() -> Plan:
    return load_plan(FIXTURES / "shopfix_plan.yaml")


@pytest.fixture(scope="session")
def shop_graph():  # noqa: ANN201 - DependencyGraph
    from migrator.analysis import analyze

    return analyze(SHOP_ROOT, cache_dir=None) if _takes_cache_dir() else analyze(SHOP_ROOT)


def _takes_cache_dir() -> bool:
    import inspect

    from migrator.analysis import analyze

    return "cache_dir" in inspect.signature(analyze).parameters


@pytest.fixture(scope="session")
def shop_extraction(shop_plan: Plan, shop_graph) -> Extraction:  # noqa: ANN001
    return build_extraction(shop_plan, shop_graph, SHOP_ROOT)


def mini_packages(root: Path) -> Path:
    """``root/mini`` with the empty packages ``mini``, ``mini.a`` and ``mini.b``."""
    pkg = root / "mini"
    for sub in ("a", "b"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    return pkg


def text(ex: Extraction, rel: str) -> str:
    return ex.files[rel].decode("utf-8")


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    """``handler`` served on a free port of 127.0.0.1 by a daemon thread: (server, base URL).
    The port comes from ``free_port`` so that no service port handed out before can be it."""
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_port}"


def send_json(handler: BaseHTTPRequestHandler, status: int, data: bytes) -> None:
    """Answer a stand-in service's request with ``status`` and a JSON body."""
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
