"""FastAPI and Django monoliths are extracted into services of their own framework that start
on 127.0.0.1, answer their health check and serve a real route that calls the other service.

Steps (what the tests do): extract the fixture with a two-service plan (catalog owns the
interface, orders calls it); for Django, create each service's tables with
``python -m django migrate --run-syncdb`` and ``DJANGO_SETTINGS_MODULE=interservice.settings``;
start each service with ``localrun.start_service`` (uvicorn for ``interservice.asgi:app``,
gunicorn for ``interservice.wsgi:app``); call /healthz and the orders route.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from migrator.extraction import extract
from migrator.extraction.localrun import free_port, internal_token, start_service, wait_http
from migrator.plan import Plan, plan_from_dict

from .conftest import FIXTURES


def _plan(
    pkg: str, catalog: list[str], orders: list[str], kernel: list[str], interface: list[str]
) -> Plan:
    return plan_from_dict(
        {
            "version": 1,
            "services": {
                "catalog": {
                    "modules": [f"{pkg}.{m}" if m else pkg + ".catalog" for m in catalog],
                    "interface": interface,
                },
                "orders": {"modules": [f"{pkg}.{m}" for m in orders]},
            },
            "shared_kernel": {"modules": [f"{pkg}.{m}" if m else pkg for m in kernel]},
        }
    )


FASTAPI_PLAN = _plan(
    "tinyapi",
    ["", "catalog.services", "catalog.routes"],
    ["orders", "orders.routes"],
    ["", "main"],
    ["tinyapi.catalog.services:price_of", "tinyapi.catalog.services:stock_of"],
)
DJANGO_PLAN = _plan(
    "tinydj",
    ["", "catalog.models", "catalog.services", "catalog.views", "catalog.urls"],
    ["orders", "orders.models", "orders.views", "orders.urls"],
    ["", "settings", "urls"],
    ["tinydj.catalog.services:price_of"],
)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _serve(out: Path, work: Path, django: bool) -> tuple[list, dict[str, str]]:
    ports = {name: free_port() for name in ("catalog", "orders")}
    env = {f"{n.upper()}_URL": f"http://127.0.0.1:{p}" for n, p in ports.items()}
    procs = []
    kernel = out / "shared_kernel" / "src"  # installed like a library
    for name, port in sorted(ports.items()):
        service_env = {
            **env,
            "DATABASE_URL": f"sqlite:///{work / name}.sqlite3",
            "INTERSERVICE_TIMEOUT": "10",
        }
        src = out / "services" / name / "src"
        if django:
            done = subprocess.run(
                [sys.executable, "-m", "django", "migrate", "--run-syncdb", "-v", "0"],
                cwd=src,
                env={
                    **os.environ,
                    **service_env,
                    "PYTHONPATH": os.pathsep.join([str(src), str(kernel)]),
                    "DJANGO_SETTINGS_MODULE": "interservice.settings",
                },
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr[-2000:]
        procs.append(
            start_service(
                name, out / "services" / name, port, service_env, work / "logs", extra_path=[kernel]
            )
        )
    return procs, {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}


def test_fastapi_services_get_fastapi_wiring_and_serve(tmp_path: Path) -> None:
    out = tmp_path / "out"
    ex = extract(FASTAPI_PLAN, None, FIXTURES / "tinyapi_app", out)
    assert all(c.converted for c in ex.calls) and len(ex.calls) == 2
    for name in ("catalog", "orders"):
        app = (out / "services" / name / "src" / "interservice" / "app.py").read_text()
        assert "from fastapi import FastAPI" in app and "Flask" not in app
        assert (out / "services" / name / "src" / "interservice" / "asgi.py").is_file()
    endpoints = (out / "services/catalog/src/interservice/endpoints.py").read_text()
    assert "router = APIRouter()" in endpoints and "'stock_of': _stock_of" in endpoints
    client = (out / "services/orders/src/interservice/catalog_services.py").read_text()
    assert "async def stock_of(sku: str) -> int:" in client and "await runtime.acall(" in client
    main = (out / "services/orders/src/tinyapi/main.py").read_text()
    assert "orders_router" in main and "catalog_router" not in main
    assert "`uvicorn --app-dir src interservice.asgi:app`" in ex.markdown()  # not gunicorn
    procs, urls = _serve(out, tmp_path, django=False)
    try:
        for proc in procs:
            wait_http(proc.url + "/healthz", 60, proc)
        assert _get(urls["orders"] + "/healthz") == {"status": "ok", "service": "orders"}
        assert _get(urls["catalog"] + "/api/catalog/tea") == {"sku": "tea", "price": 300}
        # orders has no catalog code: the price and the stock come over HTTP from catalog
        assert _get(urls["orders"] + "/api/orders/quote/tea?qty=2") == {
            "sku": "tea",
            "total": 600,
            "in_stock": 7,
        }
        with pytest.raises(urllib.error.HTTPError):
            _get(urls["orders"] + "/api/catalog/tea")
        # sagas: the relay answers on each service; an owner keeps a saga call's answer in
        # its own database and answers the same key again from there
        assert _post(urls["orders"] + "/internal/_saga/relay", {}, {}) == {"ran": 0, "pending": 0}
        saga = {"Saga-Id": "s1", "Idempotency-Key": "s1:1:price_of"}
        call = {"args": ["tea"], "kwargs": {}}
        assert _post(urls["catalog"] + "/internal/price_of", call, saga) == {"result": 300}
        # the internal API is the deployment's own: a caller without its token gets nothing
        unauthorized = [(401, "Unauthorized")] * 2
        assert _refusals(urls["catalog"] + "/internal/price_of") == unauthorized
        assert _refusals(urls["orders"] + "/internal/_saga/relay") == unauthorized
        with sqlite3.connect(tmp_path / "catalog.sqlite3") as db:
            kept = db.execute("SELECT answer_key, status FROM interservice_answers").fetchall()
        assert kept == [("s1:1:price_of", 200)]
    finally:
        for proc in procs:
            proc.stop()


def test_django_services_get_settings_urlconf_and_serve(tmp_path: Path) -> None:
    out = tmp_path / "out"
    ex = extract(DJANGO_PLAN, None, FIXTURES / "tinydj_app", out)
    assert [c.converted for c in ex.calls] == [True]
    # orders reads catalog's Product: through a generated read model, no coupling left
    reads = [(c.file, c.line, c.converted) for c in ex.couplings if c.kind == "model"]
    assert reads == [
        ("tinydj/orders/views.py", 14, True),
        ("tinydj/orders/views.py", 17, True),
        ("tinydj/orders/views.py", 21, True),
    ]
    # Wish.product, a foreign key into catalog's table, is cut to the key and read by it
    (cut,) = [c for c in ex.couplings if c.kind == "foreign-key"]
    assert (cut.uses, cut.owner, cut.converted) == ("Wish.product -> Product", "catalog", True)
    models = (out / "services/orders/src/tinydj/orders/models.py").read_text()
    assert (
        "    product_id = models.BigIntegerField(db_index=True)  # migrator: foreign key" in models
    )
    assert "ReadModel('catalog', 'Product').query.get(key)" in models
    assert ex.uses_fraction == 1.0
    client = (out / "services/orders/src/interservice/catalog_models.py").read_text()
    assert (
        "Product = runtime.ReadModel(SERVICE, 'Product', columns=('id', 'pk', 'price', 'sku'))"
        in client
    )
    src = out / "services" / "orders" / "src"
    settings = (src / "interservice" / "settings.py").read_text()
    assert "from tinydj.settings import *" in settings
    assert "ABSENT_APPS = ('tinydj.catalog',)" in settings
    assert 'ROOT_URLCONF = "interservice.urls"' in settings
    urls = (src / "tinydj" / "urls.py").read_text()
    assert "tinydj.orders.urls" in urls and "tinydj.catalog.urls" not in urls
    assert not (src / "interservice" / "app.py").exists()
    procs, base = _serve(out, tmp_path, django=True)
    try:
        for proc in procs:
            wait_http(proc.url + "/healthz", 60, proc)
        assert _get(base["catalog"] + "/healthz") == {"status": "ok", "service": "catalog"}
        assert _get(base["catalog"] + "/readyz")["status"] == "ok"
        assert _get(base["catalog"] + "/api/catalog/tea") == {"sku": "tea", "price": 300}
        assert _get(base["orders"] + "/api/orders/quote/tea?qty=3") == {"sku": "tea", "total": 900}
        unauthorized = [(401, "Unauthorized")] * 2
        assert _refusals(base["catalog"] + "/internal/price_of") == unauthorized
        assert _refusals(base["catalog"] + "/internal/_saga/relay") == unauthorized
        import sqlite3

        with sqlite3.connect(tmp_path / "catalog.sqlite3") as db:  # catalog's own database
            db.execute("INSERT INTO catalog_product (sku, price) VALUES ('tea', 250)")
        assert _get(base["orders"] + "/api/orders/listed/tea") == {
            "sku": "tea",
            "listed": True,
            "price": 250,
            "count": 1,
        }
        assert _get(base["orders"] + "/api/orders/listed/cake")["listed"] is False
        # orders keeps its own Wish rows with catalog's key; the row comes from catalog
        assert _get(base["orders"] + "/api/orders/wish/tea") == {"wish": 1, "sku": "tea"}
        assert not (tmp_path / "orders.sqlite3").exists() or "catalog_product" not in str(
            sqlite3.connect(tmp_path / "orders.sqlite3")
            .execute("SELECT name FROM sqlite_master")
            .fetchall()
        )
    finally:
        for proc in procs:
            proc.stop()


def test_django_apps_without_a_project_get_settings_of_their_own(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "app"
    shutil.copytree(FIXTURES / "tinydj_app", root)
    (root / "tinydj" / "settings.py").unlink()
    (root / "tinydj" / "urls.py").unlink()
    plan = plan_from_dict({**DJANGO_PLAN.to_dict(), "shared_kernel": {"modules": ["tinydj"]}})
    out = tmp_path / "out"
    extract(plan, None, root, out)
    src = out / "services" / "catalog" / "src"
    settings = (src / "interservice" / "settings.py").read_text()
    assert "'tinydj.catalog'," in settings and "tinydj.orders" not in settings
    assert "include('tinydj.catalog.urls')" in (src / "interservice" / "urls.py").read_text()
    done = subprocess.run(
        [sys.executable, "-m", "django", "check"],
        cwd=src,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(src), str(out / "shared_kernel/src")]),
            "DJANGO_SETTINGS_MODULE": "interservice.settings",
            "DJANGO_SECRET_KEY": "test",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_table_read_only_through_read_models_counts_as_converted() -> None:
    from migrator.analysis import analyze
    from migrator.extraction import build_extraction

    graph = analyze(FIXTURES / "tinydj_app")
    ex = build_extraction(DJANGO_PLAN, graph, FIXTURES / "tinydj_app")
    tables = [(c.uses, c.converted) for c in ex.couplings if c.kind == "table"]
    assert tables == [
        ("table catalog_product (tinydj.orders.views:listed)", True),
        ("table catalog_product (tinydj.orders.views:wish)", True),
    ]
    assert ex.uses_fraction == 1.0 and framework_of(ex) == "django"


def framework_of(ex) -> str:  # noqa: ANN001
    return {s["framework"] for s in ex.services.values()}.pop()


#: an app shaped like FastAPI's "Bigger Applications": request checks in one module, taken by
#: the app (``FastAPI(dependencies=...)``) and by a router of another service
GUARDED = {
    "guarded/__init__.py": "",
    "guarded/deps.py": (
        "from fastapi import Header, HTTPException\n\n\n"
        "async def need_token(token: str):\n"
        "    if token != 'open':\n"
        "        raise HTTPException(status_code=400, detail='bad token')\n\n\n"
        "async def need_key(x_key: str = Header()):\n"
        "    if x_key != 'k':\n"
        "        raise HTTPException(status_code=400, detail='bad key')\n"
    ),
    "guarded/users.py": (
        "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
        "@router.get('/users/me')\nasync def me():\n    return {'user': 'me'}\n"
    ),
    "guarded/items.py": (
        "from fastapi import APIRouter, Depends\n\nfrom .deps import need_key\n\n"
        "router = APIRouter(prefix='/items', dependencies=[Depends(need_key)])\n\n\n"
        "@router.get('/{item}')\nasync def item(item: str):\n    return {'item': item}\n"
    ),
    "guarded/main.py": (
        "from fastapi import Depends, FastAPI\n\nfrom . import items, users\n"
        "from .deps import need_token\n\n"
        "app = FastAPI(dependencies=[Depends(need_token)])\n"
        "app.include_router(users.router)\napp.include_router(items.router)\n"
    ),
}


def test_request_checks_of_another_service_are_copied_and_the_app_kept(tmp_path: Path) -> None:
    """``Depends(f)`` with ``f`` in another service: FastAPI fills ``f``'s parameters from the
    request, so ``f`` runs in the caller (copied into its client), and the caller's copy of the
    app keeps ``FastAPI(dependencies=[Depends(f)])`` instead of losing the app and its routes."""
    for rel, text in GUARDED.items():
        (tmp_path / "app" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "app" / rel).write_text(text)
    plan = plan_from_dict(
        {
            "version": 1,
            "services": {
                "users": {
                    "modules": ["guarded.main", "guarded.deps", "guarded.users"],
                    "interface": ["guarded.deps:need_token", "guarded.deps:need_key"],
                },
                "items": {"modules": ["guarded.items"]},
            },
            "shared_kernel": {"modules": ["guarded"]},
        }
    )
    out = tmp_path / "out"
    extract(plan, None, tmp_path / "app", out)
    src = out / "services" / "items" / "src"
    main = (src / "guarded" / "main.py").read_text()
    assert "app = FastAPI(dependencies=[Depends(need_token)])" in main
    assert "app.include_router(items.router)" in main and "users.router" not in main
    client = (src / "interservice" / "users_deps.py").read_text()
    assert "async def need_key(x_key: str = Header()):" in client
    assert "async def need_token(token: str):" in client
    port = free_port()
    proc = start_service("items", out / "services" / "items", port, {}, tmp_path / "logs")
    try:
        wait_http(f"{proc.url}/healthz", 60, proc)
        key = {"X-Key": "k"}
        assert _status(f"{proc.url}/items/tea?token=open", key) == (200, {"item": "tea"})
        assert _status(f"{proc.url}/items/tea?token=shut", key) == (400, {"detail": "bad token"})
        assert _status(f"{proc.url}/items/tea?token=open", {"X-Key": "x"}) == (
            400,
            {"detail": "bad key"},
        )
        assert _status(f"{proc.url}/users/me?token=open", {})[0] == 404  # users' route
    finally:
        proc.stop()


def _post(url: str, body: dict, headers: dict[str, str]) -> object:
    """POST as another service of the deployment does: with the shared token."""
    request = urllib.request.Request(
        url,
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "X-Internal-Token": internal_token(), **headers},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _refusals(url: str) -> list[tuple[int, str]]:
    """(status, error type) of an internal call without the token, then with a wrong one."""
    out = []
    for headers in ({}, {"X-Internal-Token": internal_token() + "x"}):
        request = urllib.request.Request(
            url, b'{"args": [], "kwargs": {}}', {"Content-Type": "application/json", **headers}
        )
        try:
            urllib.request.urlopen(request, timeout=30).close()
            out.append((200, ""))
        except urllib.error.HTTPError as exc:
            out.append((exc.code, json.loads(exc.read())["error"]["type"]))
    return out


def _status(url: str, headers: dict[str, str]) -> tuple[int, object]:
    import urllib.error

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=20) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
