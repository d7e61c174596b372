"""A real FastAPI application that nobody on the team wrote, extracted and served through the
generated gateway.

The app is "Bigger Applications", the multi-file app of FastAPI's own documentation, shipped
in FastAPI's sdist (``docs_src/bigger_applications``): a ``FastAPI`` object in ``app/main.py``
whose every route needs the query token (``get_query_token``), an ``items`` router that needs
the ``X-Token`` header (``get_token_header``), a ``users`` router and an ``admin`` router,
the two request checks in ``app/dependencies.py``.

Steps (what a new user does, with the CLI):

1. ``pip download --no-deps --no-binary :all: fastapi==0.165.0`` into ``benchmarks/.cache``
   (skips only when the registry is unreachable);
2. ``migrator propose APP -o proposed.yaml`` (one service for an app this small), then a
   plan by hand that splits it in two: ``users`` (the app, the users and admin routers and
   the dependencies) and ``items`` (the items router), both cut over (``live``);
3. ``migrator scaffold APP --plan plan.yaml --extract -o out``: items' copy of the app keeps
   ``FastAPI(dependencies=[Depends(get_query_token)])`` with both checks copied into its
   client of users (they read the caller's request, so they run where the request is);
4. each service's ``requirements.txt`` and the shared kernel installed into a venv of its own
   (offline from a wheelhouse filled once, as the sample's end-to-end test does);
5. each service started with uvicorn on 127.0.0.1, ``/healthz`` and ``/readyz`` answered;
6. the generated ``gateway/nginx.local.conf`` run by real nginx, and one real API call per
   service through it, with its checks: ``GET /users/me``, ``GET /items/plumbus`` (and
   with a wrong header or token, the 400 that the copied checks answer, from items).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from registry_apps import fetch

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
WHEELHOUSE = REPO / ".migrator-cache" / "e2e-wheels"
FASTAPI = "0.165.0"
PKG = "bigger_applications"
PLAN = {
    "version": 1,
    "services": {
        "users": {
            "modules": [
                f"{PKG}.app.main",
                f"{PKG}.app.dependencies",
                f"{PKG}.app.routers.users",
                f"{PKG}.app.internal.admin",
            ],
            "interface": [
                f"{PKG}.app.dependencies:get_query_token",
                f"{PKG}.app.dependencies:get_token_header",
            ],
            "cutover": {"state": "live"},
        },
        "items": {"modules": [f"{PKG}.app.routers.items"], "cutover": {"state": "live"}},
    },
    "shared_kernel": {"modules": [PKG, f"{PKG}.app", f"{PKG}.app.internal", f"{PKG}.app.routers"]},
}


def _migrator(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "migrator", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    return done.stdout


def _call(url: str, headers: dict[str, str] | None = None) -> tuple[int, object]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_fastapi_docs_app_is_split_and_serves_through_the_gateway(tmp_path: Path) -> None:
    from generation.support import local_gateway

    from migrator.extraction.localrun import (
        fill_wheelhouse,
        free_port,
        install_services,
        requirement_lines,
        start_service,
        wait_http,
    )

    sdist = fetch(f"fastapi=={FASTAPI}", f"fastapi-{FASTAPI}", "--no-binary", ":all:")
    app = sdist / "docs_src" / PKG
    assert (app / "app" / "main.py").is_file()
    _migrator("propose", str(app), "-o", str(tmp_path / "proposed.yaml"))
    proposed = yaml.safe_load((tmp_path / "proposed.yaml").read_text())
    assert {m for s in proposed["services"].values() for m in s["modules"]} >= {
        f"{PKG}.app.main",
        f"{PKG}.app.routers.items",
    }
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(PLAN))
    out = tmp_path / "out"
    _migrator(
        "scaffold", str(app), "--plan", str(tmp_path / "plan.yaml"), "--extract", "-o", str(out)
    )
    main = (out / "services/items/src" / PKG / "app/main.py").read_text()
    assert "app = FastAPI(dependencies=[Depends(get_query_token)])" in main
    assert "app.include_router(items.router)" in main and "users.router" not in main
    assert (
        "async def get_token_header("
        in (out / "services/items/src/interservice/users_app_dependencies.py").read_text()
    )

    services = {name: out / "services" / name for name in ("items", "users")}
    requirements = sorted(
        {line for d in services.values() for line in requirement_lines(d / "requirements.txt")}
    )
    fill_wheelhouse(requirements, WHEELHOUSE)
    pythons = install_services(services, out / "shared_kernel", tmp_path / "venvs", WHEELHOUSE)
    ports = {name: free_port() for name in services}
    procs = []
    try:
        for name, port in sorted(ports.items()):
            # neither service owns a table: no DATABASE_URL, and readiness says so
            procs.append(
                start_service(name, services[name], port, {}, tmp_path / "logs", pythons[name])
            )
        for proc in procs:
            wait_http(f"{proc.url}/healthz", 90, proc)
            assert _call(f"{proc.url}/healthz") == (200, {"status": "ok", "service": proc.name})
            assert _call(f"{proc.url}/readyz") == (
                200,
                {"status": "ok", "checks": {"database": "not configured"}},
            )
        with local_gateway(out, tmp_path / "nginx", {**ports, "gateway": free_port()}) as (
            gateway,
            _,
        ):
            token = "?token=jessica"
            assert _call(f"{gateway}/users/me{token}") == (200, {"username": "fakecurrentuser"})
            secret = {"X-Token": "fake-super-secret-token"}
            assert _call(f"{gateway}/items/plumbus{token}", secret) == (
                200,
                {"name": "Plumbus", "item_id": "plumbus"},
            )
            # the copied checks run in items: a wrong header, or a wrong token, is refused there
            assert _call(f"{gateway}/items/plumbus{token}", {"X-Token": "guess"}) == (
                400,
                {"detail": "X-Token header invalid"},
            )
            assert _call(f"{gateway}/items/plumbus?token=rick", secret) == (
                400,
                {"detail": "No Jessica token provided"},
            )
            log = (tmp_path / "nginx" / "access.log").read_text().splitlines()
        served = [(e["path"], e["upstream"]) for e in map(json.loads, log)]
        assert served[:2] == [
            ("/users/me", f"127.0.0.1:{ports['users']}"),
            ("/items/plumbus", f"127.0.0.1:{ports['items']}"),
        ]
        assert "/items/plumbus" in (tmp_path / "logs" / "items.log").read_text()
    finally:
        for proc in procs:
            proc.stop()
