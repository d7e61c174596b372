"""The small shop, extracted, runs as three processes with three databases behind a gateway.

The services run from their source folders with this interpreter (the slow sample test installs
each one into its own venv instead); the kernel is on PYTHONPATH like an installed library.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator.extraction import extract
from migrator.extraction.localrun import (
    free_port,
    routes_from_plan,
    start_gateway,
    start_service,
    wait_http,
)

from .conftest import SHOP_ROOT


@pytest.fixture(scope="module", params=[pytest.param("nginx", marks=pytest.mark.slow), "python"])
def shop_url(
    request: pytest.FixtureRequest,
    shop_plan,
    shop_graph,  # noqa: ANN001
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    if request.param == "nginx" and not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        pytest.skip("nginx is not installed (scripts/bootstrap.sh --test installs nginx-light)")
    work = tmp_path_factory.mktemp(f"shop-{request.param}")
    out = work / "out"
    extract(shop_plan, shop_graph, SHOP_ROOT, out)
    ports = {name: free_port() for name in shop_plan.services}
    urls = {f"{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    procs = []
    gateway = None
    try:
        for name, port in sorted(ports.items()):
            env = {
                **urls,
                "DATABASE_URL": f"sqlite:///{work / name}.sqlite3",
                "INTERSERVICE_TIMEOUT": "10",
            }
            procs.append(
                start_service(
                    name,
                    out / "services" / name,
                    port,
                    env,
                    work / "logs",
                    extra_path=[out / "shared_kernel" / "src"],
                )
            )
        for proc in procs:
            wait_http(proc.url + "/healthz", 60, proc)
        rules = routes_from_plan({n: s.routes for n, s in shop_plan.services.items()})
        gateway = start_gateway(rules, ports, "catalog", work, prefer=request.param)
        assert gateway.kind == request.param
        wait_http(gateway.url + "/healthz", 30)
        yield gateway.url
    finally:
        if gateway is not None:
            gateway.stop()
        for proc in procs:
            proc.stop()
    for name in ports:  # each service created its own database, with only its own tables
        assert (work / f"{name}.sqlite3").exists()


def _call(base: str, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_journey_across_services_through_the_gateway(shop_url: str) -> None:
    status, products = _call(shop_url, "GET", "/catalog/products")
    assert status == 200 and [p["sku"] for p in products] == ["PEACH", "PECAN"]
    assert _call(shop_url, "GET", "/catalog/products/1/price") == (200, {"price": 6.5})
    before = _call(shop_url, "GET", "/inventory/stock/1")[1]["available"]
    # orders -> catalog (price) and orders -> inventory (reserve), both over HTTP
    status, order = _call(shop_url, "POST", "/orders", {"product_id": 1, "quantity": 2})
    assert status == 201 and order["total"] == 13.0
    # catalog's get_product answers orders with a row of Product's columns, and describe
    # takes that row back (catalog loads its own Product by the key)
    assert _call(shop_url, "GET", f"/orders/{order['order_id']}") == (
        200,
        {"lines": ["2 x Peach jam (PEACH)"]},
    )
    assert _call(shop_url, "GET", "/inventory/stock/1")[1]["available"] == before - 2
    # inventory's OutOfStock crosses the network and is caught by orders' own except clause
    status, body = _call(shop_url, "POST", "/orders", {"product_id": 2, "quantity": 50})
    assert status == 409 and "only 1 of product 2 left" in body["error"]
    # a dataclass result, and catalog's UnknownProduct mapped back to the caller's class
    assert _call(shop_url, "GET", "/quote/PECAN/3") == (200, {"total": 27.0})
    assert _call(shop_url, "GET", "/quote/NOPE/3") == (200, {"total": 0.0})
