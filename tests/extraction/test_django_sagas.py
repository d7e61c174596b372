"""Sagas for Django services, as ``test_sagas.py`` checks them for WSGI: a real Django project
wired with the GENERATED settings (``DjangoSagaMiddleware`` first), URLconf (the relay view)
and internal endpoints, run in a subprocess driven line by line (Django's settings belong to
one process), with its outbox in its own SQLite file; the payments owner of ``test_sagas.py``
is a real HTTP server on 127.0.0.1. Also the Django owner's side: a saga's answer is kept in
the same transaction as what the call wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from migrator.extraction import frameworks
from migrator.extraction import runtime as runtime_source

from .test_sagas import Owner

#: the monolith's project in one module: settings, URLconf, a checkout route that charges and
#: records through payments, and a payments function other services call
SITE = """
import json

from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from interservice import runtime

SECRET_KEY = "test"
DEBUG = False
INSTALLED_APPS = ["django.contrib.contenttypes", "shopapp"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "site_app"
USE_TZ = True


def _int_result() -> int:
    return 0


@csrf_exempt
def pay(request):
    if request.headers.get("Authorization") != "Bearer ok":
        return JsonResponse("who are you", status=401, safe=False)
    ref = json.loads(request.body)["ref"]
    if ref == "broken":  # fails before it calls anybody
        return JsonResponse("bug", status=500, safe=False)
    try:
        charge = runtime.call("payments", "charge", _int_result, [ref], {}, idempotent=False)
        order = runtime.call("payments", "record", _int_result, [ref], {}, idempotent=False)
    except runtime.ServiceUnavailable:
        return JsonResponse("later", status=500, safe=False)
    return JsonResponse([charge, order], status=201, safe=False)


def charge(ref: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS moves (ref TEXT)")
        cursor.execute("INSERT INTO moves (ref) VALUES (%s)", [ref])
    if ref == "bad":
        raise ValueError("declined")
    return len(ref)


def create_order(ref: str) -> int:
    from shopapp.models import Order

    return Order.objects.create(ref=ref, status="placed").pk


def refuse(ref: str) -> None:
    raise ValueError(f"out of stock for {ref}")


@csrf_exempt
def order(request, plan):
    # creates an order at orders, then orders refuses a step: inside atomic() (rolled back
    # by the error, so the monolith lost the order too) or in autocommit (kept)
    from django.db import transaction

    def create():
        runtime.call("orders", "create_order", _int_result, [plan], {}, idempotent=False)

    def refused():
        runtime.call("orders", "refuse", _int_result, [plan], {}, idempotent=False)

    try:
        if plan == "atomic":
            with transaction.atomic():
                create()
                refused()
        elif plan == "committed":  # the block committed before the error: kept
            with transaction.atomic():
                create()
            refused()
        else:
            create()
            refused()
    except ValueError:
        return JsonResponse("out of stock", status=409, safe=False)
    return JsonResponse("ok", status=201, safe=False)


urlpatterns = [path("pay", pay), path("order/<str:plan>", order)]
"""

MODELS = """
from django.db import models


class Order(models.Model):
    ref = models.CharField(max_length=20)
    status = models.CharField(max_length=20)

    class Meta:
        app_label = "shopapp"
"""

#: reads one JSON command a line, answers one JSON line: ``["post", path, body, headers]``,
#: ``["get", path]`` -> ``[status, body, Location]``
DRIVE = """
import json, os, sys, threading
import django

django.setup()
from django.db import connection
from django.test import Client
from shopapp.models import Order

if "shopapp_order" not in connection.introspection.table_names():
    with connection.schema_editor() as editor:
        editor.create_model(Order)
if os.environ.get("SERVE"):  # also a real HTTP server on 127.0.0.1, for other services
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
    from django.core.wsgi import get_wsgi_application

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    httpd = make_server("127.0.0.1", 0, get_wsgi_application(), Server, Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    print(json.dumps(f"http://127.0.0.1:{httpd.server_port}"), flush=True)
client = Client()
for line in sys.stdin:
    verb, path, *rest = json.loads(line)
    if verb == "post":
        body, headers = rest
        reply = client.post(path, json.dumps(body), content_type="application/json",
                            headers=headers)
    else:
        reply = client.get(path)
    try:
        answer = json.loads(reply.content or b"null")
    except ValueError:
        answer = reply.content.decode()
    print(json.dumps([reply.status_code, answer, reply.get("Location")]), flush=True)
"""


class DjangoService:
    """The generated Django service in a subprocess; ``ask`` sends it one request."""

    def __init__(self, root: Path, db: Path, env: dict[str, str]) -> None:
        pkg = root / "interservice"
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        shutil.copy(runtime_source.__file__, pkg / "runtime.py")
        (pkg / "settings.py").write_text(frameworks.django_settings("checkout", "site_app", [], []))
        (pkg / "urls.py").write_text(frameworks.django_urls("checkout", "site_app", []))
        functions = {n: f"site_app:{n}" for n in ("charge", "create_order", "refuse")}
        (pkg / "endpoints.py").write_text(frameworks.django_endpoints("checkout", functions))
        (root / "site_app.py").write_text(SITE)
        (root / "shopapp").mkdir()
        (root / "shopapp" / "__init__.py").write_text("")
        (root / "shopapp" / "models.py").write_text(MODELS)
        self.db = db
        self.proc = subprocess.Popen(
            [sys.executable, "-c", DRIVE],
            cwd=root,
            env={
                **os.environ,
                **env,
                "PYTHONPATH": str(root),
                "DJANGO_SETTINGS_MODULE": "interservice.settings",
                "DATABASE_URL": f"sqlite:///{db}",
                "SAGA_RELAY_SECONDS": "0",  # the test runs the relay itself
            },
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if env.get("SERVE"):
            assert self.proc.stdout
            self.url = json.loads(self.proc.stdout.readline())

    def ask(self, *command: object) -> list:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"the Django service stopped (exit {self.proc.wait(timeout=30)})"
        return json.loads(line)

    def pay(self, ref: str, auth: str = "Bearer ok") -> list:
        return self.ask("post", "/pay", {"ref": ref}, {"Authorization": auth})

    def relay(self) -> dict:
        status, body, _ = self.ask("post", "/internal/_saga/relay", {}, {})
        assert status == 200, body
        return body

    def rows(self, sql: str) -> list[tuple]:
        with closing(sqlite3.connect(self.db)) as db:
            return db.execute(sql).fetchall()

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.fixture()
def shop(tmp_path: Path) -> Iterator[tuple[DjangoService, Owner]]:
    owner = Owner(tmp_path / "payments.sqlite3")
    caller = DjangoService(
        tmp_path / "checkout", tmp_path / "checkout.sqlite3", {"PAYMENTS_URL": owner.url}
    )
    try:
        yield caller, owner
    finally:
        caller.close()
        owner.httpd.shutdown()
        owner.httpd.server_close()


@pytest.mark.parametrize("fault", ["charge:down", "record:down", "charge:lost", "record:lost"])
def test_a_django_saga_that_failed_half_way_ends_after_the_relay_with_each_call_applied_once(
    shop: tuple[DjangoService, Owner], fault: str
) -> None:
    caller, owner = shop
    endpoint, kind = fault.split(":")
    owner.faults[endpoint] = kind
    status, accepted, location = caller.pay("cs_1")
    assert status == 202  # taken for the relay, not a 500
    [(saga_id, request, error)] = caller.rows(
        "SELECT saga_id, request, last_error FROM interservice_outbox"
    )
    assert accepted["saga"] == saga_id and location == f"/pay?interservice_saga={saga_id}"
    assert (json.loads(request)["HTTP_AUTHORIZATION"], error) == ("Bearer ok", "HTTP 500")
    assert caller.relay() == {"ran": 1, "pending": 1}  # still failing: kept
    owner.faults.clear()  # the service is back
    assert caller.relay() == {"ran": 1, "pending": 0}
    assert owner.moves() == [("charge", "cs_1"), ("order", "cs_1")]  # once each
    assert caller.rows("SELECT * FROM interservice_outbox") == []
    with closing(sqlite3.connect(owner.engine.url.database)) as db:
        keys = sorted(r[0] for r in db.execute("SELECT answer_key FROM interservice_answers"))
    assert keys == [f"{saga_id}:1:charge", f"{saga_id}:2:record"]  # derived from the saga
    assert caller.ask("get", location) == [
        200,
        {"saga": saga_id, "status": "done", "answer_status": 201, "answer": [1, 2]},
        None,
    ]


def test_django_requests_that_end_or_fail_before_any_call_leave_nothing_to_relay(
    shop: tuple[DjangoService, Owner],
) -> None:
    caller, owner = shop
    assert caller.pay("cs_2")[:2] == [201, [1, 2]]
    assert caller.pay("cs_3", auth="Bearer no")[0] == 401
    assert caller.pay("broken")[:2] == [500, "bug"]  # nothing done elsewhere: its own error
    assert caller.ask("get", "/healthz")[0] == 200  # a read passes by: no saga
    assert caller.rows("SELECT * FROM interservice_outbox") == []
    assert caller.relay() == {"ran": 0, "pending": 0}
    assert owner.moves() == [("charge", "cs_2"), ("order", "cs_2")]


def test_a_django_owner_keeps_a_saga_answer_with_what_the_call_wrote(tmp_path: Path) -> None:
    """The generated internal endpoint of a Django service: the answer to a saga's call is
    written in the call's transaction; a repeated key is answered from the database without
    a second row; a call that raised leaves no row, and its error answer is kept."""
    service = DjangoService(tmp_path / "payments", tmp_path / "payments.sqlite3", {})
    try:
        answers = [
            service.ask(
                "post",
                "/internal/charge",
                {"args": [ref], "kwargs": {}},
                {"Saga-Id": "s", "Idempotency-Key": key},
            )[:2]
            for ref, key in (("tea", "s:1:charge"), ("tea", "s:1:charge"), ("bad", "s:2:charge"))
        ]
    finally:
        service.close()
    assert answers[0] == answers[1] == [200, {"result": 3}]
    assert answers[2][0] == 422 and answers[2][1]["error"]["message"] == "declined"
    assert service.rows("SELECT ref FROM moves") == [("tea",)]  # once, nothing of the error
    assert service.rows("SELECT answer_key, status FROM interservice_answers ORDER BY 1") == [
        ("s:1:charge", 200),
        ("s:2:charge", 422),
    ]


@pytest.mark.parametrize(
    ("plan", "kept"),
    [("atomic", []), ("committed", [("committed",)]), ("autocommit", [("autocommit",)])],
)
def test_a_django_business_error_undoes_what_the_monoliths_atomic_block_lost(
    tmp_path: Path, plan: str, kept: list
) -> None:
    """Both services are Django: orders records the undo of the order it created (model
    signals); checkout's ``atomic()`` block ends with the business error, so the order the
    monolith would have rolled back is undone at orders. Where the block committed first, or
    in autocommit, the monolith kept it, and so does the split."""
    orders = DjangoService(tmp_path / "orders", tmp_path / "orders.sqlite3", {"SERVE": "1"})
    checkout = DjangoService(
        tmp_path / "checkout", tmp_path / "checkout.sqlite3", {"ORDERS_URL": orders.url}
    )
    try:
        assert checkout.ask("post", f"/order/{plan}", {}, {})[:2] == [409, "out of stock"]
    finally:
        checkout.close()
        orders.close()
    assert orders.rows("SELECT ref FROM shopapp_order") == kept
    assert checkout.rows("SELECT * FROM interservice_outbox") == []  # the saga has ended
    # an undo is used once; one nobody asks for is pruned with the answers
    assert len(orders.rows("SELECT * FROM interservice_undo")) == len(kept)
