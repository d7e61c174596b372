"""Generated services on a real PostgreSQL primary and streaming replica (127.0.0.1): writes land
on the primary, reads are answered by the replica, and a client reads its own writes (Flask and
FastAPI through ``db.connect``, Django through its database router)."""

from __future__ import annotations

import http.cookiejar
import json
import os
import subprocess
import sys
import time
import urllib.request

import psycopg
import pytest

from migrator.extraction.localrun import Process, free_port, wait_http

from .pgpair import primary_and_replica

PROBE = """
from {pkg}.app import create_app
from {pkg} import db

app = create_app()


def _where(conn):
    port, recovery = conn.execute("SELECT inet_server_port(), pg_is_in_recovery()").fetchone()
    rows = conn.execute("SELECT count(*) FROM notes").fetchone()[0]
    return {{"port": port, "replica": recovery, "rows": rows}}


def read():
    with db.connect() as conn:
        return _where(conn)


def write():
    with db.connect(write=True) as conn:
        conn.execute("INSERT INTO notes (body) VALUES ('hello')")
        conn.commit()
        wrote = _where(conn)
    return {{"wrote": wrote, "then_read": read()}}

{hook}
"""
HOOKS = {
    "flask": "app.add_url_rule('/t/read', 't_read', read)\n"
    "app.add_url_rule('/t/write', 't_write', write, methods=['POST'])\n",
    "fastapi": "app.add_api_route('/t/read', read, methods=['GET'])\n"
    "app.add_api_route('/t/write', write, methods=['POST'])\n",
}
WORKER = {"flask": [], "fastapi": ["--worker-class", "uvicorn_worker.UvicornWorker"], "django": []}
#: Django: the generated settings' "replica" database and ReplicaRouter pick the connection
DJANGO_PROBE = """
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{pkg}.settings")
import django  # noqa: E402

django.setup()
from django.db import connections, router  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402

from {pkg} import urls  # noqa: E402


def _where(alias):
    with connections[alias].cursor() as cur:
        cur.execute("SELECT inet_server_port(), pg_is_in_recovery()")
        port, recovery = cur.fetchone()
        cur.execute("SELECT count(*) FROM notes")
        return {{"port": port, "replica": recovery, "rows": cur.fetchone()[0]}}


def read(request):
    return JsonResponse(_where(router.db_for_read(None)))


def write(request):
    alias = router.db_for_write(None)
    with connections[alias].cursor() as cur:
        cur.execute("INSERT INTO notes (body) VALUES ('hello')")
    return JsonResponse({{"wrote": _where(alias), "then_read": _where(router.db_for_read(None))}})


urls.urlpatterns += [path("t/read", read), path("t/write", write)]
from {pkg}.wsgi import application as app  # noqa: E402
"""


@pytest.fixture(scope="module")
def pg():
    with primary_and_replica() as pair:
        with psycopg.connect(pair.primary(), autocommit=True) as conn:
            conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)")
        pair.wait_replayed()
        yield pair


def test_the_pair_is_a_real_read_only_streaming_replica(pg):
    with psycopg.connect(pg.primary(), autocommit=True) as conn:
        conn.execute("INSERT INTO notes (body) VALUES ('seen on both')")
    pg.wait_replayed()
    with psycopg.connect(pg.replica(), autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        assert (
            conn.execute("SELECT count(*) FROM notes WHERE body = 'seen on both'").fetchone()[0]
            == 1
        )
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO notes (body) VALUES ('nope')")


def _call(opener, url: str, data: bytes | None = None) -> dict:
    with opener.open(urllib.request.Request(url, data=data), timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.parametrize("fw", ["flask", "fastapi", "django"])
def test_service_reads_on_the_replica_writes_on_the_primary_and_reads_its_writes(
    generated, pg, fw, tmp_path
):
    folder = generated[fw] / "services" / "catalog"
    probe = (
        DJANGO_PROBE.format(pkg="catalog_service")
        if fw == "django"
        else PROBE.format(pkg="catalog_service", hook=HOOKS[fw])
    )
    (tmp_path / "probe_app.py").write_text(probe)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": f"{folder}{os.pathsep}{tmp_path}",
        "DATABASE_URL": pg.primary(scheme="postgresql+psycopg"),
        "DATABASE_READ_URL": pg.replica(scheme="postgresql+psycopg"),
        "DATABASE_REQUIRED": "true",
        "READ_YOUR_WRITES_SECONDS": "600",
    }
    log = tmp_path / "service.log"
    with open(log, "wb") as fh:
        popen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--threads",
                "4",
                *WORKER[fw],
                "probe_app:app",
            ],
            cwd=tmp_path,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    proc = Process("catalog", port, popen, log)
    base = proc.url
    try:
        wait_http(base + "/healthz", 60, proc)
        ready = _call(urllib.request.build_opener(), base + "/readyz")
        assert ready["checks"]["database"].startswith("postgresql ok"), ready
        assert ready["checks"]["database_read"].startswith("postgresql ok"), ready
        client = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        stranger = urllib.request.build_opener()
        before = _call(client, base + "/t/read")
        assert (before["port"], before["replica"]) == (pg.replica_port, True)
        result = _call(client, base + "/t/write", data=b"")
        # the write and the same request's later read: on the primary
        assert (result["wrote"]["port"], result["wrote"]["replica"]) == (pg.primary_port, False)
        assert result["then_read"]["port"] == pg.primary_port
        assert result["then_read"]["rows"] == before["rows"] + 1
        # the writer's next request reads the primary (its cookie); anyone else the replica
        mine = _call(client, base + "/t/read")
        assert (mine["port"], mine["rows"]) == (pg.primary_port, before["rows"] + 1)
        assert _call(stranger, base + "/t/read")["port"] == pg.replica_port
        expired = urllib.request.Request(
            base + "/t/read", headers={"Cookie": f"db_primary_until={time.time() - 1:.3f}"}
        )
        with stranger.open(expired, timeout=10) as response:
            assert json.loads(response.read())["port"] == pg.replica_port
        with psycopg.connect(pg.primary(), autocommit=True) as conn:
            on_primary = conn.execute("SELECT count(*) FROM notes").fetchone()[0]
        assert on_primary == before["rows"] + 1
        pg.wait_replayed()
        assert _call(stranger, base + "/t/read")["rows"] == on_primary
    finally:
        proc.stop()
