"""The generated services boot under their production server and behave: their own test
suites pass, probes and metrics answer on 127.0.0.1, SIGTERM stops them cleanly, and the local
nginx gateway routes to them and to the monolith."""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from migrator.extraction.localrun import TOKEN_ENV, free_port, internal_token

from .support import FRAMEWORKS, local_gateway

TARGETS = {
    "flask": "{pkg}.wsgi:app",
    "fastapi": "{pkg}.asgi:app",
    "django": "{pkg}.wsgi:application",
}


def get(
    url: str,
    timeout: float = 5,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers or {}), timeout=timeout
        ) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def wait_up(url: str, proc: subprocess.Popen | None, deadline: float = 30) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited early with {proc.returncode}")
        try:
            get(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {deadline}s")


def start_service(folder: Path, port: int, python: str = sys.executable, **env: str):
    pkg = next(p.name for p in folder.iterdir() if p.name.endswith("_service"))
    fw = (
        "fastapi"
        if (folder / pkg / "asgi.py").exists()
        else "django"
        if (folder / pkg / "settings.py").exists()
        else "flask"
    )
    cmd = [
        python,
        "-m",
        "gunicorn",
        "--config",
        f"python:{pkg}.gunicorn_conf",
        TARGETS[fw].format(pkg=pkg),
    ]
    # an extracted service's internal API needs the deployment's token (a skeleton ignores it)
    full_env = {
        **os.environ,
        TOKEN_ENV: internal_token(),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        **env,
    }
    proc = subprocess.Popen(
        cmd,
        cwd=folder,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_up(f"http://127.0.0.1:{port}/healthz", proc)
    except AssertionError:
        stop(proc)
        raise
    return proc


def stop(proc: subprocess.Popen, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError("server ignored SIGTERM") from None


def check_probes_and_metrics(base: str, route_example: str | None) -> None:
    status, _, body = get(f"{base}/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, headers, body = get(f"{base}/readyz", headers={"X-Request-ID": "probe-42"})
    assert status == 200, body
    assert headers["x-request-id"] == "probe-42"  # the caller's id, answered back
    if route_example:
        status, _, body = get(f"{base}{route_example}")
        assert status == 501 and json.loads(body)["error"] == "not implemented"
    status, headers, body = get(f"{base}/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    requests = families["http_requests"]
    healthz = [s for s in requests.samples if s.labels.get("route") == "/healthz"]
    assert healthz and healthz[0].value >= 1
    assert families["http_request_duration_seconds"].type == "histogram"


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_generated_test_suites_pass(generated, fw):
    for folder in sorted((generated[fw] / "services").iterdir()):
        proc = subprocess.run(
            [sys.executable, "-m", "unittest", "-v"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert re.search(r"^Ran (\d+) tests", proc.stderr, re.M) and "\nOK" in proc.stderr


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_service_serves_probes_metrics_and_stops_on_sigterm(generated, fw, tmp_path):
    folder = generated[fw] / "services/catalog"
    db = tmp_path / "catalog.sqlite3"
    sqlite3.connect(db).close()
    port = free_port()
    stubs = (folder / "tests/test_service.py").read_text()
    example = stubs.split("STUBS = [\n    ('", 1)[1].split("'", 1)[0]
    proc = start_service(
        folder, port, DATABASE_URL=f"sqlite:///{db}", DATABASE_READ_URL=f"sqlite:///{db}"
    )
    try:
        check_probes_and_metrics(f"http://127.0.0.1:{port}", example)
        db.unlink()  # the database goes away: not ready, still alive
        assert get(f"http://127.0.0.1:{port}/readyz")[0] == 503
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    finally:
        code = stop(proc)
    output = proc.stdout.read().decode()
    assert code == 0, output[-2000:]
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(e.get("route") == "/healthz" and e.get("status") == 200 for e in lines)
    # every request line carries its request id (X-Request-ID, or one made for it)
    requests = [e for e in lines if e.get("route")]
    assert requests and all(len(e.get("request_id", "")) >= 8 for e in requests), requests
    assert any(e["route"] == "/readyz" and e["request_id"] == "probe-42" for e in requests)
    assert all(not line.strip() or line.startswith("{") for line in output.splitlines()), output


class _Monolith(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = b"monolith:" + self.path.encode()
        self.send_response(200)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_local_gateway_routes_to_services_and_monolith(generated, tmp_path):
    out = generated["flask"]
    ports = {
        "monolith": free_port(),
        **{
            name: free_port()
            for name in json.loads((out / "gateway/local.json").read_text())["services"]
        },
    }
    monolith = http.server.ThreadingHTTPServer(("127.0.0.1", ports["monolith"]), _Monolith)
    threading.Thread(target=monolith.serve_forever, daemon=True).start()
    services = {}
    try:
        for name, port in sorted(ports.items()):
            if name != "monolith":
                services[name] = start_service(out / "services" / name, port)
        with local_gateway(out, tmp_path / "gw", ports) as (gw, _):
            wait_up(f"{gw}/", None)
            status, _, body = get(f"{gw}/products/7")
            assert status == 501 and json.loads(body)["service"] == "catalog"
            status, _, body = get(f"{gw}/cart")
            assert status == 501 and json.loads(body)["service"] == "cart"
            status, _, body = get(f"{gw}/about-us")
            assert (status, body) == (200, b"monolith:/about-us")
            status, headers, body = get(f"{gw}/static/app.css")
            assert (status, body) == (200, b"monolith:/static/app.css")
            assert headers["cache-control"] == "public, max-age=300"  # may change any deploy
            status, headers, body = get(f"{gw}/static/app.0123456789ab.css")
            assert (status, body) == (200, b"monolith:/static/app.0123456789ab.css")
            assert headers["cache-control"] == "public, max-age=31536000, immutable"
            status, headers, _ = get(f"{gw}/static/app.0123456789abc.css")  # 13 hex: not hashed
            assert headers["cache-control"] == "public, max-age=300"
    finally:
        for proc in services.values():
            stop(proc)
        monolith.shutdown()
