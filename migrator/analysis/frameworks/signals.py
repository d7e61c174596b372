"""Blinker signals (Flask's ``signals``, any project that uses blinker): who sends, who listens.

Signals: module-level ``x = signal("name")`` (blinker's global registry: every ``signal("name")``
is the same object), ``x = ns.signal("name")`` on a ``Namespace()`` and ``x = Signal()``, where
the factory comes from ``blinker`` or ``flask.signals`` (Django's ``Signal`` is the ``django``
plug-in's). Receivers: ``x.connect(handler)``, ``@x.connect``, ``@x.connect_via(sender)`` and
``signal("name").connect(handler)``. Senders: ``x.send(...)`` and ``signal("name").send(...)``.

Each receiver is an ``EntryPoint(kind="signal", name="<signal>:<sender or *>")``; each send gives
a ``signal`` edge **from the sending symbol to every handler connected to that signal**, matched
by the signal's variable (through imports) or, for the global registry, by its name.
"""

from __future__ import annotations

from typing import Any, TypedDict

from migrator.analysis.facts import ModuleFacts
from migrator.analysis.frameworks import _util as u
from migrator.analysis.lazy import cst
from migrator.graph import DependencyGraph, EntryPoint

_LIBS = ("blinker", "flask.signals", "flask")
_CONNECT = ("connect", "connect_via")


class SignalDef(TypedDict):
    """A module-level ``x = signal("name")`` / ``ns.signal(...)`` / ``Signal()`` / ``Namespace()``."""

    var: str
    factory: str  # the callee as written
    name: str | None  # the signal's name, when given
    line: int


class SignalItem(TypedDict, total=False):
    """A ``connect`` (a receiver) or a ``send``."""

    what: str  # "connect" | "send"
    signal: str | None  # the signal as written
    named: str | None  # ``signal("name").connect``/``.send``: the name
    handler: str  # connect: the receiver as written
    decorated: bool  # connect: ``@x.connect`` on ``handler``
    sender: str | None  # connect: the sender it is limited to
    line: int


class SignalsFacts(TypedDict):
    """What ``collect`` keeps of one module (version: ``SignalsPlugin.facts_version``)."""

    defs: list[SignalDef]
    items: list[SignalItem]


class SignalsPlugin:
    """See the module docstring."""

    name = "signals"
    facts_version = 1
    # a module that only imports a signal and sends it names neither blinker nor flask
    markers = ("blinker", "flask", ".send(", ".connect(", ".connect_via(")

    # -- worker half ---------------------------------------------------------------------------
    def collect(
        self, tree: cst.Module, module: str, file: str, ctx: u.WalkContext | None = None
    ) -> SignalsFacts | None:
        lines = u.Lines(tree, ctx)
        found: list[tuple[cst.CSTNode, SignalItem]] = []
        defs: list[tuple[cst.CSTNode, SignalDef]] = []
        for small in u.small_statements(tree.body):
            names, value = u.assign_targets(small)
            factory = u.callee(value) if value is not None else None
            if names and factory and u.last(factory) in ("signal", "Signal", "Namespace"):
                assert type(value) is cst.Call  # a callee is a call's
                name = u.string(u.arg(value, 0, "name"))
                defs.extend(
                    (small, {"var": n, "factory": factory, "name": name, "line": 0}) for n in names
                )
        for node, _ in u.walk(tree, ctx=ctx):
            if type(node) is cst.FunctionDef:
                for dec in node.decorators:
                    target, call = u.decorator_call(dec)
                    recv, _, attr = (target or "").rpartition(".")
                    if attr in _CONNECT and recv:
                        sender = _sender(u.arg(call, 0, "sender")) if call else None
                        found.append(
                            (
                                dec.decorator,
                                {
                                    "what": "connect",
                                    "signal": recv,
                                    "named": None,
                                    "handler": node.name.value,
                                    "decorated": True,
                                    "sender": sender,
                                },
                            )
                        )
            elif type(node) is cst.Call and type(node.func) is cst.Attribute:
                attr = node.func.attr.value
                if attr not in ("connect", "send"):
                    continue
                value = node.func.value
                signal, named = u.dotted(value), None
                if type(value) is cst.Call and u.last(u.callee(value)) == "signal":
                    named = u.string(u.arg(value, 0, "name"))  # ``signal("name").send()``
                if not (signal or named):
                    continue
                item: SignalItem = {"what": attr, "signal": signal, "named": named}
                if attr == "connect":
                    handler = u.dotted(u.arg(node, 0, "receiver"))
                    if not handler:
                        continue
                    sender = _sender(u.arg(node, 1, "sender"))
                    item.update({"handler": handler, "decorated": False, "sender": sender})
                found.append((node, item))
        if not (found or defs):
            return None
        for n, d in defs:
            d["line"] = lines.of(n)
        for n, item in found:
            item["line"] = lines.of(n)
        return {
            "defs": sorted((d for _, d in defs), key=lambda d: d["var"]),
            "items": sorted(
                (d for _, d in found), key=lambda d: (d["line"], repr(sorted(d.items())))
            ),
        }

    # -- parent half ---------------------------------------------------------------------------
    def resolve(self, facts: dict[str, ModuleFacts], resolver: Any, graph: DependencyGraph) -> None:
        items: list[tuple[str, ModuleFacts, SignalsFacts]] = u.sorted_items(facts, self.name)
        keys: dict[str, tuple[str, str]] = {}  # signal variable node -> (match key, shown name)
        namespaces = {
            f"{m}:{d['var']}"
            for m, _, data in items
            for d in data["defs"]
            if u.last(d["factory"]) == "Namespace"
            and (resolver.external(m, d["factory"]) or "").startswith(_LIBS)
        }
        for m, _, data in items:
            for d in data["defs"]:
                origin = resolver.external(m, d["factory"]) or ""
                recv = d["factory"].rpartition(".")[0]
                if u.last(d["factory"]) == "Namespace" or not (
                    origin.startswith(_LIBS)
                    or (recv and u.resolve_name(resolver, facts, m, recv) in namespaces)
                ):
                    continue
                if u.last(d["factory"]) == "signal" and "." not in d["factory"] and d["name"]:
                    keys[f"{m}:{d['var']}"] = (f"name:{d['name']}", d["name"])  # global registry
                else:
                    keys[f"{m}:{d['var']}"] = (f"{m}:{d['var']}", d["name"] or d["var"])

        def key_of(m: str, it: SignalItem) -> tuple[str, str] | None:
            if it["named"] is not None:
                return f"name:{it['named']}", it["named"]
            return keys.get(u.resolve_name(resolver, facts, m, it["signal"]) or "")

        handlers: dict[str, set[str]] = {}
        for m, mf, data in items:
            for it in data["items"]:
                if it["what"] != "connect":
                    continue
                key = key_of(m, it)
                handler = (
                    f"{m}:{it['handler']}"
                    if it["decorated"]
                    else u.resolve_name(resolver, facts, m, it["handler"])
                )
                if it["decorated"] and handler not in graph.g:
                    handler = resolver.owner_of_line(m, it["line"])
                if (
                    key is None
                    or handler is None
                    or handler not in graph.g
                    or graph.g.nodes[handler].get("kind") not in ("function", "class")
                ):
                    continue
                handlers.setdefault(key[0], set()).add(handler)
                graph.entry_points.append(
                    EntryPoint(
                        "signal",
                        f"{key[1]}:{u.last(it['sender']) or '*'}",
                        handler,
                        mf.file,
                        it["line"],
                    )
                )
        for m, mf, data in items:
            for it in data["items"]:
                key = key_of(m, it) if it["what"] == "send" else None
                if key is None:
                    continue
                source = resolver.owner_of_line(m, it["line"])
                for handler in sorted(handlers.get(key[0], ())):
                    u.add_edge(graph, source, handler, "signal", u.evidence(mf.file, it["line"]))


def _sender(node: cst.CSTNode | None) -> str | None:
    """The sender a receiver is limited to: a name (``app``) or a string (``"shop"``)."""
    return u.dotted(node) or u.string(node)
