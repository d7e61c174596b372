"""End to end: sample_monolith split into services, each in its own venv with its own database,
behind the generated nginx gateway (or the Python fallback), driven by the monolith's own,
unchanged HTTP journey tests.

Slow (a few minutes: venvs from a cached wheelhouse, eleven gunicorn processes). Every journey
collected in external mode must pass, the back-office reports included: they are a read model
over the other services' service-layer functions (see DECOMPOSITION.md), which the extraction
turns into HTTP calls.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from .conftest import send_json, serve

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_monolith"
WHEELHOUSE = REPO / ".migrator-cache" / "e2e-wheels"


#: services whose checkout (checkout) and cancellation (orders) span other services: their
#: calls go through the fault proxy
SAGA_CALLERS = ("checkout", "orders")


#: an owner's business error, as its internal endpoint sends it back (re-raised by the caller
#: as the shared kernel's ApiError)
REFUSAL = json.dumps(
    {
        "error": {
            "type": "ApiError",
            "module": "sample_monolith.utils",
            "message": "out of stock",
            "args": ["out of stock"],
            "attrs": {
                "status": 409,
                "code": "out_of_stock",
                "message": "out of stock",
                "extra": {},
            },
        }
    }
).encode()


class FaultProxy:
    """``/<service>/internal/<endpoint>`` on 127.0.0.1 goes to that service, unless a fault is
    set for ``(service, endpoint)``: ``down`` answers 503 without passing the call on (the
    service is unreachable at that step); ``lost`` passes it on, then answers 503 (the
    service did it, the caller never heard); ``refuse`` answers, without passing the call
    on, the business error an owner answers (HTTP 422 with the shared kernel's ``ApiError``,
    409 out of stock)."""

    def __init__(self, ports: dict[str, int]) -> None:
        self.faults: dict[tuple[str, str], str] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                _, service, rest = self.path.split("/", 2)
                fault = outer.faults.get((service, rest.rsplit("/", 1)[-1]))
                status, body = 503, b"{}"
                if fault == "refuse":
                    status, body = 422, REFUSAL
                elif fault != "down":
                    data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    headers = {
                        k: v
                        for k, v in self.headers.items()
                        if k.lower() not in ("host", "content-length", "connection")
                    }
                    request = urllib.request.Request(
                        f"http://127.0.0.1:{ports[service]}/{rest}",
                        data=data,
                        method="POST",
                        headers=headers,
                    )
                    try:
                        with urllib.request.urlopen(request, timeout=30) as reply:
                            status, body = reply.status, reply.read()
                    except urllib.error.HTTPError as exc:
                        status, body = exc.code, exc.read()
                    except (urllib.error.URLError, OSError):
                        status, body = 503, b"{}"  # the service itself is stopped
                    if fault == "lost":
                        status, body = 503, b"{}"
                send_json(self, status, body)

        self.httpd, self.url = serve(Handler)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def choose_plan(graph):  # noqa: ANN001, ANN201
    """The proposer's default plan when it matches the authors' intent (MoJoFM >= 90), else a
    plan completed from sample_monolith/decomposition.yaml."""
    from migrator.extraction.planning import plan_from_decomposition
    from migrator.proposal import propose
    from migrator.proposal.compare import load_partition, mojofm

    plan = propose(graph)
    if mojofm(plan.assignment(), load_partition(SAMPLE / "decomposition.yaml")) >= 90:
        return plan
    return plan_from_decomposition(SAMPLE / "decomposition.yaml", graph, REPO)


@pytest.fixture(scope="module")
def split_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from generation.support import OtlpReceiver

    from migrator import scaffold
    from migrator.analysis import analyze
    from migrator.extraction.localrun import (
        fill_wheelhouse,
        free_port,
        install_services,
        requirement_lines,
        start_gateway,
        start_service,
        wait_http,
    )
    from migrator.generation import build_project

    work = tmp_path_factory.mktemp("split-shop")
    graph = analyze(SAMPLE)
    plan = choose_plan(graph)
    for spec in plan.services.values():  # the generated gateway sends every route to its service
        spec.cutover = "live"
    out = work / "out"
    scaffold(plan, graph, out, extract=True, source_root=REPO)
    services = {name: out / "services" / name for name in sorted(plan.services)}
    requirements = sorted(
        {line for d in services.values() for line in requirement_lines(d / "requirements.txt")}
    )
    fill_wheelhouse(requirements, WHEELHOUSE)
    pythons = install_services(services, out / "shared_kernel", work / "venvs", WHEELHOUSE)
    ports = {name: free_port() for name in services}
    urls = {f"{n.upper().replace('-', '_')}_URL": f"http://127.0.0.1:{p}" for n, p in ports.items()}
    receiver = OtlpReceiver()  # every service sends its spans here (OTEL_* variables)
    faults = FaultProxy(ports)  # between the sagas' callers and the services they call
    proxied = {f"{n.upper().replace('-', '_')}_URL": f"{faults.url}/{n}" for n in ports}
    envs = {
        name: {
            **(proxied if name in SAGA_CALLERS else urls),
            "DATABASE_URL": f"sqlite:///{work / name}.sqlite3",
            "SHOP_SECRET_KEY": "split-shop-secret",
            "SHOP_PASSWORD_ITERATIONS": "1000",
            "SHOP_INSTANCE_DIR": str(work / "instance" / name),
            "SHOP_MAIL_DIR": str(work / "mail"),
            "INTERSERVICE_TIMEOUT": "20",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "SAGA_RELAY_SECONDS": "0",
        }  # the tests run the relay themselves
        for name in ports
    }

    def start(name: str, logs: Path):  # noqa: ANN202 - a localrun.Process
        (work / "instance" / name).mkdir(parents=True, exist_ok=True)
        return start_service(
            name, services[name], ports[name], envs[name], logs, python=pythons[name]
        )

    procs, gateway = [], None
    try:
        procs.extend(start(name, work / "logs") for name in sorted(ports))
        for proc in procs:
            wait_http(proc.url + "/healthz", 120, proc)
        project = build_project(plan, graph)
        rules = [(r.path, r.path_type, r.service) for r in project.rules]
        # nothing stays in the monolith: its catch-all goes to the storefront's service
        front = next((r.service for r in project.rules if r.path == "/"), "catalog")
        gateway = start_gateway(rules, ports, front, work)
        wait_http(gateway.url + "/healthz", 30)
        yield {
            "url": gateway.url,
            "plan": plan,
            "work": work,
            "procs": procs,
            "out": out,
            "gateway": gateway,
            "front": front,
            "receiver": receiver,
            "start": start,
            "faults": faults,
            "envs": envs,
            "pythons": pythons,
            "services": services,
        }
    finally:
        if gateway is not None:
            gateway.stop()
        for proc in procs:
            proc.stop()
        receiver.close()
        faults.close()


def test_every_service_runs_from_its_own_venv_with_its_own_database(split_shop: dict) -> None:
    from migrator.extraction.localrun import wait_http

    plan = split_shop["plan"]
    for proc in split_shop["procs"]:
        wait_http(proc.url + "/readyz", 10, proc)
        assert f"/venvs/{proc.name}/" in " ".join(proc.popen.args)
        db = split_shop["work"] / f"{proc.name}.sqlite3"
        tables = {
            row[0]
            for row in sqlite3.connect(db).execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }
        owned = set(plan.services[proc.name].tables)
        assert owned <= tables, (proc.name, owned - tables)
        others = {t for n, s in plan.services.items() if n != proc.name for t in s.tables}
        assert not tables & others, (proc.name, tables & others)  # no silent shared tables


def _journeys(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """The sample's own tests in external mode (``SHOP_BASE_URL``), as a separate pytest run."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(SAMPLE / "tests"),
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "external",
            *extra,
        ],
        cwd=REPO,
        env={**os.environ, "SHOP_BASE_URL": url},
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_journeys_run_unchanged_against_the_gateway(split_shop: dict) -> None:
    collected = set(
        re.findall(
            r"^sample_monolith/tests/(\S+)\[external\]$",
            _journeys(split_shop["url"], "--collect-only").stdout,
            re.MULTILINE,
        )
    )
    assert len(collected) >= 20, "the sample's journeys were not collected in external mode"
    result = _journeys(split_shop["url"], "-rA")
    outcomes = {
        m.group(2): m.group(1)
        for m in re.finditer(
            r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) sample_monolith/tests/(\S+)\[external\]",
            result.stdout,
            re.MULTILINE,
        )
    }
    passed = {name for name, outcome in outcomes.items() if outcome == "PASSED"}
    print(f"journeys through the gateway: {len(passed)} of {len(collected)} passed")
    assert result.returncode == 0, result.stdout[-4000:]
    not_passed = {name: outcomes.get(name, "not run") for name in sorted(collected - passed)}
    assert not not_passed, (not_passed, result.stdout[-4000:])
    assert passed == collected


def _hop_problems(spans: list, root) -> list[str]:  # noqa: ANN001 - (service, protobuf Span)
    """What is missing from ROOT's trace: every other SERVER span must be the child of a
    CLIENT span in another service calling it, and every call that was answered must have a
    SERVER span under it. Empty when each hop is in the trace."""
    from opentelemetry.proto.trace.v1 import trace_pb2

    server, client = trace_pb2.Span.SPAN_KIND_SERVER, trace_pb2.Span.SPAN_KIND_CLIENT
    trace = [(svc, s) for svc, s in spans if s.trace_id == root.trace_id]
    by_id = {s.span_id: (svc, s) for svc, s in trace}

    def attribute(span, key: str):  # noqa: ANN001, ANN202
        value = next((a.value for a in span.attributes if a.key == key), None)
        return value and (value.string_value or value.int_value)

    problems = []
    for svc, s in trace:
        if s.kind == server and s is not root:
            caller, call = by_id.get(s.parent_span_id, (None, None))
            if (
                call is None
                or call.kind != client
                or attribute(call, "peer.service") != svc
                or caller == svc
            ):
                problems.append(f"{svc} {s.name} {s.span_id.hex()}: not under a call to {svc}")
        elif (
            s.kind == client
            and attribute(s, "http.response.status_code")
            and not any(c.kind == server and c.parent_span_id == s.span_id for _, c in trace)
        ):
            problems.append(f"{svc} {s.name}: answered, but no SERVER span under it")
    return problems


def test_checkout_through_the_generated_gateway_is_one_trace_with_one_request_id(
    split_shop: dict,
) -> None:
    """The sample's checkout journey through the GENERATED nginx gateway (every service live):
    nginx gives the payment request its X-Request-ID; checkout's SERVER span starts one trace
    holding a CLIENT span per internal call and the callee's SERVER span for each answered
    one; every service in it logs that request id with that trace id. With notifications
    stopped, the payment is taken for the relay (202) and checkout's call to notifications is
    still in the trace, marked as an error."""
    import json
    import time

    from generation.support import local_gateway
    from opentelemetry.proto.trace.v1 import trace_pb2

    from migrator.extraction.localrun import wait_http
    from sample_monolith.tests.journey import (
        add_to_cart,
        expect,
        new_customer,
        pay,
        staff_token,
        start_checkout,
        stocked_product,
    )
    from sample_monolith.tests.shop_client import ShopClient, UrllibTransport

    work, receiver, procs = split_shop["work"], split_shop["receiver"], split_shop["procs"]
    ports = {proc.name: proc.port for proc in procs}
    with local_gateway(
        split_shop["out"],
        work / "generated-gateway",
        {**ports, "monolith": ports[split_shop["front"]]},
    ) as (url, _):
        shop = ShopClient(UrllibTransport(url, timeout=60), "external")
        sku = stocked_product(shop, staff_token(shop), 5)
        _, token = new_customer(shop)
        sessions = []
        for _ in range(2):
            add_to_cart(shop, sku, 1, token=token)
            sessions.append(expect(start_checkout(shop, token), 201)["id"])
            if len(sessions) == 1:
                assert pay(shop, sessions[0], token).status == 201
        down = next(proc for proc in procs if proc.name == "notifications")
        down.stop()
        try:
            failed = pay(shop, sessions[1], token)
        finally:
            procs[procs.index(down)] = split_shop["start"]("notifications", work / "logs-again")
    assert failed.status == 202, failed  # taken for the relay (notifications is down)
    access = [
        json.loads(line)
        for line in (work / "generated-gateway/access.log").read_text().splitlines()
    ]
    ids = [
        next(e["request_id"] for e in access if e["path"] == f"/api/checkout/sessions/{s}/pay")
        for s in sessions
    ]
    assert all(len(i) == 32 for i in ids) and ids[0] != ids[1], ids  # made by nginx

    def roots(request_id: str) -> list:
        """(service, span) of the SERVER spans with that request id and no parent: one only,
        checkout's, when every hop passes the trace on."""
        return [
            (svc, s)
            for svc, s in receiver.received()
            if s.kind == trace_pb2.Span.SPAN_KIND_SERVER
            and not s.parent_span_id
            and any(
                a.key == "request.id" and a.value.string_value == request_id for a in s.attributes
            )
        ]

    def root(request_id: str):  # noqa: ANN202 - checkout's SERVER span
        return next((s for svc, s in roots(request_id) if svc == "checkout"), None)

    def failed_call(span) -> list:  # noqa: ANN001
        return [
            s
            for svc, s in receiver.received()
            if s.trace_id == span.trace_id
            and svc == "checkout"
            and s.name.startswith("call notifications.")
        ]

    end = time.monotonic() + 60
    while time.monotonic() < end and not (
        all(root(i) for i in ids)
        and not _hop_problems(receiver.received(), root(ids[0]))
        and failed_call(root(ids[1]))
    ):
        time.sleep(0.25)
    spans = receiver.received()
    paid, broken = root(ids[0]), root(ids[1])
    assert paid is not None and broken is not None, "no SERVER span for a payment request"
    assert [[svc for svc, _ in roots(i)] for i in ids] == [["checkout"], ["checkout"]]
    assert _hop_problems(spans, paid) == []
    traced = {svc for svc, s in spans if s.trace_id == paid.trace_id}
    print(
        f"payment trace: {sum(s.trace_id == paid.trace_id for _, s in spans)} spans in "
        f"{sorted(traced)}"
    )
    assert {"checkout", "inventory", "payments", "orders", "notifications"} <= traced, traced
    for svc in sorted(traced):
        lines = [
            json.loads(line)
            for line in (work / "logs" / f"{svc}.log").read_text().splitlines()
            if line.startswith("{")
        ]
        mine = [e for e in lines if e.get("request_id") == ids[0]]
        assert mine and {e.get("trace_id") for e in mine} == {paid.trace_id.hex()}, (svc, mine)
    (call,) = failed_call(broken)
    assert call.status.code == trace_pb2.Status.STATUS_CODE_ERROR, call
    assert not [s for svc, s in spans if svc == "notifications" and s.trace_id == broken.trace_id]
    # the customer was answered 202 (taken for the relay): the request's own span is not an
    # error; the failed call to notifications above is
    status_codes = [
        a.value.int_value for a in broken.attributes if a.key == "http.response.status_code"
    ]
    assert status_codes == [202], broken
    assert broken.status.code != trace_pb2.Status.STATUS_CODE_ERROR
    # the failed payment's saga waits in checkout's outbox: once notifications is back, the
    # relay ends it (and the fault tests below start from an empty outbox)
    back = _proc(split_shop, "notifications")
    wait_http(back.url + "/healthz", 120, back)
    assert _relay(_proc(split_shop, "checkout").url) == {"ran": 1, "pending": 0}


# -- sagas: checkout and cancellation with a service down at each step -------------------------
def _rows(work: Path, service: str, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(work / f"{service}.sqlite3")) as db:
        return db.execute(sql).fetchall()


def broken_invariants(work: Path) -> list[str]:
    """What the four services' own databases say is wrong once every saga has ended."""
    charges = _rows(
        work,
        "payments",
        "SELECT reference, status, amount_cents, refunded_cents "
        "FROM payments WHERE status != 'declined'",
    )
    orders = _rows(
        work, "orders", "SELECT id, checkout_session_id, status, payment_status FROM orders"
    )
    held = _rows(
        work,
        "inventory",
        "SELECT reference, status, order_id FROM reservations "
        "WHERE status IN ('active', 'committed')",
    )
    open_checkouts = {
        r[0]
        for r in _rows(work, "checkout", "SELECT id FROM checkout_sessions WHERE status = 'open'")
    }
    per_checkout = Counter(o[1] for o in orders)
    live_orders = {o[0] for o in orders if o[2] != "cancelled"}
    charged = {c[0]: c for c in charges}
    problems = [
        f"charge without an order or a refund: {ref}"
        for ref, _status, amount, refunded in charges
        if not per_checkout[ref] and refunded < amount
    ]
    problems += [f"{n} orders for one checkout: {ref}" for ref, n in per_checkout.items() if n > 1]
    problems += [
        f"order {oid} marked paid without a charge"
        for oid, ref, _status, paid in orders
        if paid == "paid"
        and (ref not in charged or charged[ref][1] != "succeeded" or charged[ref][3])
    ]
    problems += [
        f"stock reserved without an order: {ref} ({status})"
        for ref, status, order_id in held
        if (status == "active" and ref not in open_checkouts)
        or (status == "committed" and order_id not in live_orders)
    ]
    return problems


def _relay(proc_url: str) -> dict:
    from migrator.extraction.localrun import internal_token

    request = urllib.request.Request(
        proc_url + "/internal/_saga/relay",
        data=b"",
        method="POST",
        headers={"X-Internal-Token": internal_token()},
    )
    with urllib.request.urlopen(request, timeout=120) as reply:
        return json.loads(reply.read())


def _shop(url: str):  # noqa: ANN202 - the sample's own client
    from sample_monolith.tests.shop_client import ShopClient, UrllibTransport

    return ShopClient(UrllibTransport(url, timeout=60.0), "external")


def _ready_checkout(shop, quantity: int = 2) -> tuple[str, str, str]:  # noqa: ANN001
    """(sku, customer token, open checkout id) with ``quantity`` of 5 units reserved."""
    from sample_monolith.tests import journey

    sku = journey.stocked_product(shop, journey.staff_token(shop), 5)
    _email, token = journey.new_customer(shop)
    journey.add_to_cart(shop, sku, quantity, token=token)
    session = journey.expect(journey.start_checkout(shop, token), 201)
    return sku, token, session["id"]


def _taken(response, shop, token: str) -> str:  # noqa: ANN001
    """The saga id of a request answered 202 Accepted (a service was down after the first
    call): its status URL, asked through the gateway, says it is pending."""
    assert response.status == 202, response
    accepted = response.json()
    assert (
        response.headers.get("Location", response.headers.get("location"))
        == (accepted["status_url"])
    )
    status = shop.get(accepted["status_url"], token=token)
    assert status.status == 200 and status.json()["status"] == "pending", status
    return accepted["status_url"]


def _ended(shop, status_url: str, token: str, answer_status: int) -> dict:  # noqa: ANN001
    """What the status URL says once the relay has ended the saga: the answer of that run."""
    status = shop.get(status_url, token=token).json()
    assert (status["status"], status["answer_status"]) == ("done", answer_status), status
    return status["answer"]


def _proc(split_shop: dict, name: str):  # noqa: ANN202
    return next(p for p in split_shop["procs"] if p.name == name)


#: each step of the checkout's payment after which a service can be unreachable: before the
#: charge, after the charge (each call that completes the order), and answers lost after the
#: owner applied the call
CHECKOUT_FAULTS = [
    ("inventory", "holds_are_live", "down"),
    ("payments", "charge", "down"),
    ("payments", "charge", "lost"),
    ("orders", "create_order", "down"),
    ("orders", "create_order", "lost"),
    ("payments", "attach_order", "down"),
    ("inventory", "commit_reservations", "down"),
    ("inventory", "commit_reservations", "lost"),
    ("notifications", "enqueue_email", "down"),
]


@pytest.mark.parametrize("fault", CHECKOUT_FAULTS, ids=lambda f: ":".join(f))
def test_checkout_with_a_service_down_at_a_step_ends_as_one_paid_order(
    split_shop: dict, fault: tuple[str, str, str]
) -> None:
    from sample_monolith.tests import journey

    shop, work = _shop(split_shop["url"]), split_shop["work"]
    sku, token, checkout = _ready_checkout(shop)
    split_shop["faults"].faults[fault[:2]] = fault[2]
    try:
        status_url = _taken(journey.pay(shop, checkout, token), shop, token)
    finally:
        split_shop["faults"].faults.clear()
    assert _rows(work, "checkout", "SELECT COUNT(*) FROM interservice_outbox") == [(1,)]
    assert _relay(_proc(split_shop, "checkout").url) == {"ran": 1, "pending": 0}
    assert broken_invariants(work) == []
    paid = _ended(shop, status_url, token, 201)  # the customer learns the order's number
    [(status, order_id)] = _rows(
        work, "checkout", f"SELECT status, order_id FROM checkout_sessions WHERE id = '{checkout}'"
    )
    assert status == "completed"
    assert _rows(
        work,
        "orders",
        f"SELECT id, payment_status FROM orders WHERE checkout_session_id = '{checkout}'",
    ) == [(order_id, "paid")]
    assert [(paid["order"]["number"], paid["order"]["payment_status"])] == _rows(
        work, "orders", f"SELECT number, payment_status FROM orders WHERE id = {order_id}"
    )
    assert _rows(
        work, "payments", f"SELECT status, order_id FROM payments WHERE reference = '{checkout}'"
    ) == [("succeeded", order_id)]
    assert journey.available(shop, sku) == 3


@pytest.mark.parametrize(
    "refused",
    [("inventory", "commit_reservations"), ("payments", "attach_order")],
    ids=lambda f: ":".join(f),
)
def test_a_business_error_after_the_charge_is_compensated_and_reaches_the_customer(
    split_shop: dict, refused: tuple[str, str]
) -> None:
    """Out of stock (or a refused step) after the charge and the order were written: the
    customer gets the business error, the charge is refunded (the monolith's own ``except``),
    the order that the monolith's rollback undid is undone by orders (the generated
    compensation), the stock is released, and nothing waits for the relay."""
    from sample_monolith.tests import journey

    shop, work = _shop(split_shop["url"]), split_shop["work"]
    sku, token, checkout = _ready_checkout(shop)
    split_shop["faults"].faults[refused] = "refuse"
    try:
        answer = journey.pay(shop, checkout, token)
    finally:
        split_shop["faults"].faults.clear()
    assert answer.status == 409 and answer.json()["error"] == "out_of_stock", answer
    assert _rows(work, "checkout", "SELECT COUNT(*) FROM interservice_outbox") == [(0,)]
    assert broken_invariants(work) == []
    assert (
        _rows(work, "orders", f"SELECT id FROM orders WHERE checkout_session_id = '{checkout}'")
        == []
    )
    assert _rows(
        work,
        "payments",
        "SELECT status, refunded_cents = amount_cents, order_id FROM payments "
        f"WHERE reference = '{checkout}'",
    ) == [("refunded", 1, None)]
    assert _rows(
        work, "checkout", f"SELECT status FROM checkout_sessions WHERE id = '{checkout}'"
    ) == [("failed",)]
    assert journey.available(shop, sku) == 5


def test_a_declined_card_is_a_402_and_keeps_the_checkout_open_for_another_card(
    split_shop: dict,
) -> None:
    from sample_monolith.tests import journey

    shop, work = _shop(split_shop["url"]), split_shop["work"]
    sku, token, checkout = _ready_checkout(shop)
    declined = journey.pay(shop, checkout, token, journey.DECLINED_CARD)
    assert declined.status == 402 and declined.json()["error"] == "payment_declined"
    assert _rows(work, "checkout", "SELECT COUNT(*) FROM interservice_outbox") == [(0,)]
    assert broken_invariants(work) == []  # the hold belongs to an open checkout
    assert journey.available(shop, sku) == 3
    assert journey.expect(journey.pay(shop, checkout, token), 201)["order"]["number"]
    assert broken_invariants(work) == []


def test_checkout_with_the_orders_process_stopped_ends_after_it_restarts(split_shop: dict) -> None:
    from migrator.extraction.localrun import start_service, wait_http
    from sample_monolith.tests import journey

    shop, work = _shop(split_shop["url"]), split_shop["work"]
    _sku, token, checkout = _ready_checkout(shop)
    orders = _proc(split_shop, "orders")
    orders.stop()
    try:
        status_url = _taken(journey.pay(shop, checkout, token), shop, token)
    finally:
        restarted = start_service(
            "orders",
            split_shop["services"]["orders"],
            orders.port,
            split_shop["envs"]["orders"],
            work / "logs",
            python=split_shop["pythons"]["orders"],
        )
        split_shop["procs"][split_shop["procs"].index(orders)] = restarted
        wait_http(restarted.url + "/healthz", 120, restarted)
    assert _rows(
        work, "payments", f"SELECT status FROM payments WHERE reference = '{checkout}'"
    ) == [("succeeded",)]  # charged, no order yet
    assert _relay(_proc(split_shop, "checkout").url) == {"ran": 1, "pending": 0}
    assert broken_invariants(work) == []
    assert _ended(shop, status_url, token, 201)["order"]["number"]
    assert (
        len(
            _rows(work, "orders", f"SELECT id FROM orders WHERE checkout_session_id = '{checkout}'")
        )
        == 1
    )


@pytest.mark.parametrize(
    "fault",
    [
        ("payments", "refund_order", "down"),
        ("payments", "refund_order", "lost"),
        ("inventory", "restock_order", "down"),
    ],
    ids=lambda f: ":".join(f),
)
def test_cancellation_with_a_service_down_ends_refunded_and_restocked(
    split_shop: dict, fault: tuple[str, str, str]
) -> None:
    from sample_monolith.tests import journey

    shop, work = _shop(split_shop["url"]), split_shop["work"]
    sku, token, checkout = _ready_checkout(shop)
    order = journey.expect(journey.pay(shop, checkout, token), 201)["order"]
    split_shop["faults"].faults[fault[:2]] = fault[2]
    try:
        cancelled = shop.post(f"/api/orders/{order['number']}/cancel", {}, token=token)
        status_url = _taken(cancelled, shop, token)
    finally:
        split_shop["faults"].faults.clear()
    assert _relay(_proc(split_shop, "orders").url) == {"ran": 1, "pending": 0}
    _ended(shop, status_url, token, 200)
    assert broken_invariants(work) == []
    assert _rows(
        work,
        "orders",
        f"SELECT status, payment_status FROM orders WHERE number = '{order['number']}'",
    ) == [("cancelled", "refunded")]
    assert _rows(
        work,
        "payments",
        "SELECT status, refunded_cents = amount_cents FROM payments "
        f"WHERE reference = '{checkout}'",
    ) == [("refunded", 1)]
    assert _rows(
        work,
        "payments",
        "SELECT COUNT(*) FROM refunds JOIN payments ON payments.id "
        f"= refunds.payment_id WHERE reference = '{checkout}'",
    ) == [(1,)]  # once
    assert journey.available(shop, sku) == 5
