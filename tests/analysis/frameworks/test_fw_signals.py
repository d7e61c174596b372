"""Signals plug-in: blinker signals, their receivers and senders, by variable or by name."""

from __future__ import annotations

import pytest
from fwhelp import app_graph, edges, fake_graph, parse

from migrator.analysis.frameworks.signals import SignalsPlugin

BLINKER = {
    ("hub.views:checkout", "hub.listeners:email_receipt"),  # @order_placed.connect
    ("hub.views:checkout", "hub.listeners:restock"),  # @order_placed.connect_via("shop")
    ("hub.views:join", "hub.listeners:greet"),  # signal("user-joined"): the same object
    ("hub.views:invite", "hub.listeners:greet"),  # signal("user-joined").send()
}


@pytest.fixture(params=["fake-resolver", "analyze"])
def graph(request):
    return app_graph(request, "signals")


def test_blinker_senders_reach_every_connected_receiver() -> None:
    alone = fake_graph("signals", ("signals",))
    # not: ``.connect`` of an object that is no signal, nor Django's ``Signal()``
    assert edges(alone, "signal") == BLINKER
    assert {(e.name, e.handler) for e in alone.entry_points} == {
        ("order-placed:*", "hub.listeners:email_receipt"),
        ("order-placed:shop", "hub.listeners:restock"),
        ("user-joined:*", "hub.listeners:greet"),
    }


def test_signal_edges_with_every_plug_in(graph) -> None:
    # Django's ``Signal()`` sent in ``noise`` is the django plug-in's, on the same edge kind
    assert edges(graph, "signal") == BLINKER | {("hub.views:noise", "hub.listeners:audit")}


def test_collect_definitions_receivers_and_senders() -> None:
    data = SignalsPlugin().collect(
        parse("""
        from blinker import signal
        done = signal("done")

        @done.connect_via(app)
        def on_done(sender): ...

        signal("x").send(1)
        done.connect(on_done, sender=app)
    """),
        "m",
        "m.py",
    )
    assert data["defs"] == [{"var": "done", "factory": "signal", "name": "done", "line": 2}]
    assert [
        (i["what"], i["signal"], i["named"], i.get("handler"), i.get("sender"), i["line"])
        for i in data["items"]
    ] == [
        ("connect", "done", None, "on_done", "app", 4),
        ("send", None, "x", None, None, 7),
        ("connect", "done", None, "on_done", "app", 8),
    ]
