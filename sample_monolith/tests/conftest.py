"""Fixtures: the ``shop`` client, parametrised over Flask's test client and a live server.

With ``SHOP_BASE_URL`` set, every journey runs only against that URL instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sample_monolith.tests.shop_client import FlaskTransport, ShopClient, UrllibTransport

REPO_ROOT = Path(__file__).resolve().parents[2]
EXTERNAL_URL = os.environ.get("SHOP_BASE_URL", "").strip()
BACKENDS = (["external"] if EXTERNAL_URL
            else ["flask", pytest.param("live", marks=pytest.mark.live_server)])
SERVER_START_TIMEOUT = 30.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "live_server: journeys against a real `python -m sample_monolith` process")


def _test_env(tmp: Path) -> dict[str, str]:
    return {"SHOP_DATABASE_URL": f"sqlite:///{tmp / 'shop.sqlite3'}",
            "SHOP_INSTANCE_DIR": str(tmp), "SHOP_MAIL_DIR": str(tmp / "mail"),
            "SHOP_PASSWORD_ITERATIONS": "1000", "SHOP_SECRET_KEY": "test-secret-key"}


@pytest.fixture(scope="session")
def flask_app(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - Flask app
    from sample_monolith.app import create_app

    tmp = tmp_path_factory.mktemp("shop-flask")
    env = _test_env(tmp)
    return create_app({"DATABASE_URL": env["SHOP_DATABASE_URL"], "INSTANCE_DIR": str(tmp),
                       "MAIL_DIR": env["SHOP_MAIL_DIR"], "PASSWORD_ITERATIONS": 1000,
                       "SECRET_KEY": env["SHOP_SECRET_KEY"]})


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``python -m sample_monolith --port 0`` on 127.0.0.1 and wait until it is healthy."""
    tmp = tmp_path_factory.mktemp("shop-live")
    env = dict(os.environ)
    env.update(_test_env(tmp))
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    log = open(tmp / "server.log", "w+b")  # noqa: SIM115 - closed in teardown
    process = subprocess.Popen(
        [sys.executable, "-m", "sample_monolith", "--host", "127.0.0.1", "--port", "0"],
        cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=log)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode("utf-8", "replace").strip()
        if not line.startswith("serving on "):
            log.seek(0)
            pytest.fail(f"server did not start: {line!r}\n{log.read().decode()[-2000:]}")
        url = line.removeprefix("serving on ")
        transport = UrllibTransport(url, timeout=5.0)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            try:
                if transport.send("GET", "/healthz", None, {}).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("server never became healthy")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        log.close()


@pytest.fixture(scope="session", params=BACKENDS)
def shop(request: pytest.FixtureRequest) -> ShopClient:
    if request.param == "flask":
        return ShopClient(FlaskTransport(request.getfixturevalue("flask_app")), "flask")
    if request.param == "live":
        return ShopClient(UrllibTransport(request.getfixturevalue("live_server_url")), "live")
    return ShopClient(UrllibTransport(EXTERNAL_URL, timeout=15.0), "external")
