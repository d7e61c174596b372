"""Background tasks and command-line entry points (Celery, RQ, Huey, Dramatiq, click, typer).

Tasks (``EntryPoint(kind="task")``): ``@shared_task``, ``@app.task`` / ``@celery.task(...)``
where the receiver is a ``Celery(...)`` object of the project (or, when it cannot be resolved,
is named ``celery``/``celery_app``/``huey``), ``@huey.task()``/``periodic_task``,
``@dramatiq.actor``/``@actor``, RQ's ``@job(queue)``, and functions handed to
``queue.enqueue(func)`` / ``enqueue_call(func=...)`` / ``enqueue_in(delay, func)`` /
``enqueue_at(when, func)`` by reference or as a dotted string (the string also gives a
``dynamic`` edge from the enqueuing symbol to the function). Task names are Celery's default
``module.function`` unless ``name=`` says otherwise.

Asynchronous coupling (``async`` edges, **from the symbol that hands work over to the task**):
``task.delay(...)``, ``task.apply_async(...)``, the signatures ``task.s(...)``/``.si(...)``/
``.signature(...)`` (Celery), ``actor.send(...)``/``.send_with_options(...)`` (Dramatiq) when
the receiver resolves to a task found above; ``app.send_task("name")`` by the task's name;
functions handed to RQ's ``enqueue*`` (above); FastAPI/Starlette
``background_tasks.add_task(func, ...)`` for any project callable, a method included
(``svc.method`` on a local typed by an annotation or made by ``Service(...)``, ``self.method``:
the edge goes to the class defining it, as methods are not graph nodes). The core's ``reference``
edge for the same name stays: the ``async`` edge says the call does not wait, so the proposal
can weigh it on its own (``weights.async``).

Command line (``EntryPoint(kind="cli")``): ``@click.command``/``@click.group``, ``@x.command()``
/``@x.group()`` on a click group function, a ``typer.Typer()``/``AppGroup()``/``click.Group()``
object or Flask's ``app.cli``, and Django management commands (``class Command(BaseCommand)`` in
``<app>.management.commands.<name>``). Names follow click: the given name, else the function
name in lower case with ``_`` as ``-``.

No edges are added for decorated entry points: the core already links the decorator's names.
"""

from __future__ import annotations

from typing import Any, TypedDict

from migrator.analysis.facts import ModuleFacts
from migrator.analysis.frameworks import _util as u
from migrator.analysis.lazy import cst
from migrator.graph import DependencyGraph, EntryPoint

_ENQUEUE = {
    "enqueue": (0, "f"),
    "enqueue_call": (0, "func"),
    "enqueue_in": (1, "func"),
    "enqueue_at": (1, "func"),
}
#: methods of a task object that queue it (the receiver is the task)
_ON_TASK = frozenset({"delay", "apply_async", "s", "si", "signature", "send", "send_with_options"})
_TASK_LIBS = ("celery", "huey", "dramatiq", "rq")
_CLI_LIBS = ("click", "typer", "flask.cli")
_CLI_OBJECTS = ("Typer", "AppGroup", "Group", "FlaskGroup")


class TaskObject(TypedDict):
    """A module-level ``Celery(...)`` app or click/typer group object."""

    var: str
    kind: str  # "celery" | "cli"


class TaskItem(TypedDict, total=False):
    """One fact, by ``what``: ``task``/``cli`` (a decorated function), ``command`` (a Django
    management command), ``enqueue`` (an RQ hand-over) or ``async`` (a task queued)."""

    what: str
    line: int
    func: str  # task, cli, command: the function or class
    name: str | None  # its given name; for ``async`` by ``send_task``, the task's name
    decorator: str
    group: bool
    top: bool
    target: str | None  # enqueue, async: the callable as written (or a dotted string)
    string: bool  # enqueue: ``target`` is a dotted string
    via: str  # async: the method that queues (``delay``, ``add_task``...)
    bases: list[str]  # async through ``self.method``: more classes that may define it


class TasksFacts(TypedDict):
    """What ``collect`` keeps of one module (version: ``TasksPlugin.facts_version``)."""

    objects: list[TaskObject]
    items: list[TaskItem]


class TasksPlugin:
    """See the module docstring."""

    name = "tasks"
    facts_version = 1
    markers = (
        "celery",
        "Celery",
        "shared_task",
        ".task",
        "enqueue",
        "rq.",
        "from rq",
        "@job",
        "huey",
        "dramatiq",
        "@actor",
        "click",
        "typer",
        ".command",
        "BaseCommand",
        ".delay(",
        ".apply_async(",
        ".s(",
        ".si(",
        ".signature(",
        ".send(",
        ".send_with_options(",
        "send_task(",
        "add_task(",
    )

    # -- worker half ---------------------------------------------------------------------------
    def collect(
        self, tree: cst.Module, module: str, file: str, ctx: u.WalkContext | None = None
    ) -> TasksFacts | None:
        lines = u.Lines(tree, ctx)
        found: list[tuple[cst.CSTNode, TaskItem]] = []
        objects: list[TaskObject] = []
        for stmt in tree.body:
            for small in u.small_statements([stmt]):
                names, value = u.assign_targets(small)
                kind = u.last(u.callee(value)) if value is not None else None
                if kind == "Celery" or kind in _CLI_OBJECTS:
                    objects.extend(
                        {"var": n, "kind": "celery" if kind == "Celery" else "cli"} for n in names
                    )
            if (
                isinstance(stmt, cst.ClassDef)
                and stmt.name.value == "Command"
                and any(u.last(u.dotted(b.value)) == "BaseCommand" for b in stmt.bases)
                and ".management.commands." in f".{module}"
            ):
                found.append(
                    (
                        lines.want(stmt.name),
                        {"what": "command", "func": "Command", "name": module.rsplit(".", 1)[-1]},
                    )
                )
        methods = _methods(tree)
        typed: dict[tuple[int, str], str] = {}  # (function, local name) -> class as written
        for node, scope in u.walk(tree, ctx=ctx):
            if type(node) is cst.FunctionDef and node.decorators:
                for dec in node.decorators:
                    item = self._decorator(dec, node)
                    if item:
                        item["top"] = scope is None
                        found.append((lines.want(dec.decorator), item))
            elif type(node) is cst.Param and node.annotation is not None and scope is not None:
                cls = u.dotted(node.annotation.annotation)  # ``svc: Service``
                if cls:
                    typed[(id(scope), node.name.value)] = cls
            elif type(node) is cst.Assign and scope is not None:
                names, value = u.assign_targets(node)
                cls = u.callee(value) if type(value) is cst.Call else None
                if cls and u.capital(cls):  # ``svc = Service(...)``
                    typed.update(((id(scope), n), cls) for n in names)
            elif type(node) is cst.Call and isinstance(node.func, cst.Attribute):
                item = self._handover(node)
                if item is not None:
                    if item.get("via") == "add_task":
                        _method_target(item, scope, methods, typed)
                    found.append((lines.want(node), item))
        if not (found or objects):
            return None
        items: list[TaskItem] = []
        for n, d in found:
            d["line"] = lines.of(n)
            items.append(d)
        items.sort(key=lambda d: (d["line"], repr(sorted(d.items()))))
        return {"objects": sorted(objects, key=lambda o: o["var"]), "items": items}

    @staticmethod
    def _handover(node: cst.Call) -> TaskItem | None:
        """What a ``x.attr(...)`` call hands to a queue: an RQ enqueue, a task's own
        ``delay``/``send``..., ``send_task("name")`` or ``add_task(func)``; None otherwise."""
        if type(node.func) is not cst.Attribute:
            return None
        attr = node.func.attr.value
        spec = _ENQUEUE.get(attr)
        if spec is not None:
            queued = u.arg(node, *spec)
            text = u.string(queued)
            if text is not None or u.dotted(queued):
                return {
                    "what": "enqueue",
                    "target": text if text is not None else u.dotted(queued),
                    "string": text is not None,
                }
            return None
        if attr in _ON_TASK:
            target = u.dotted(node.func.value)
        elif attr == "add_task":
            target = u.dotted(u.arg(node, 0, "func"))
        elif attr == "send_task":
            name = u.string(u.arg(node, 0, "name"))
            return {"what": "async", "name": name, "via": attr} if name else None
        else:
            return None
        return {"what": "async", "target": target, "via": attr} if target else None

    @staticmethod
    def _decorator(dec: cst.Decorator, func: cst.FunctionDef) -> TaskItem | None:
        name, call = u.decorator_call(dec)
        if not name:
            return None
        last = u.last(name)
        given = None
        if call is not None:
            given = u.string(u.arg(call, -1, "name"))
        if last in ("shared_task", "task", "periodic_task", "actor", "job"):
            what = "task"
        elif last in ("command", "group"):
            what = "cli"
            if call is not None and given is None:
                given = u.string(u.arg(call, 0))
        else:
            return None
        return {
            "what": what,
            "decorator": name,
            "func": func.name.value,
            "name": given,
            "group": last == "group",
        }

    # -- parent half ---------------------------------------------------------------------------
    def resolve(self, facts: dict[str, ModuleFacts], resolver: Any, graph: DependencyGraph) -> None:
        items = u.sorted_items(facts, self.name)
        celery: set[str] = set()
        cli: set[str] = set()
        for m, _, data in items:
            for o in data["objects"]:
                (celery if o["kind"] == "celery" else cli).add(f"{m}:{o['var']}")
        for m, _, data in items:  # click group functions accept sub-commands
            for it in data["items"]:
                if (
                    it["what"] == "cli"
                    and it["group"]
                    and self._is_cli(m, it, facts, resolver, cli)
                ):
                    cli.add(f"{m}:{it['func']}")
        for m, mf, data in items:
            for it in data["items"]:
                if it["what"] == "async":
                    continue
                if it["what"] == "enqueue":
                    self._enqueue(m, mf, it, facts, resolver, graph)
                    continue
                handler = f"{m}:{it['func']}"
                if handler not in graph.g:
                    handler = resolver.owner_of_line(m, it["line"])
                if it["what"] == "command":
                    graph.entry_points.append(
                        EntryPoint("cli", it["name"], handler, mf.file, it["line"])
                    )
                elif it["what"] == "task" and self._is_task(m, it, facts, resolver, celery):
                    name = it["name"] or f"{m}.{it['func']}"
                    graph.entry_points.append(
                        EntryPoint("task", name, handler, mf.file, it["line"])
                    )
                elif it["what"] == "cli" and self._is_cli(m, it, facts, resolver, cli):
                    name = it["name"] or it["func"].lower().replace("_", "-")
                    graph.entry_points.append(EntryPoint("cli", name, handler, mf.file, it["line"]))

        self._async(items, facts, resolver, graph)

    @staticmethod
    def _async(
        items: list[tuple[str, ModuleFacts, Any]],
        facts: dict[str, ModuleFacts],
        resolver: Any,
        graph: DependencyGraph,
    ) -> None:
        """``async`` edges from the code that queues a task to the task (after every task is
        known: a ``delay`` may sit in a module sorted before the task's)."""
        tasks = {e.name: e.handler for e in graph.entry_points if e.kind == "task"}
        handlers = set(tasks.values())
        for m, mf, data in items:
            for it in data["items"]:
                if it["what"] != "async":
                    continue
                if "name" in it:
                    target = tasks.get(it["name"])
                else:
                    names = [it["target"], *it.get("bases", ())]
                    targets = (u.resolve_name(resolver, facts, m, n) for n in names)
                    target = next(filter(None, targets), None)
                    if it["via"] == "add_task":  # any callable of the project runs in background
                        if target is None or graph.g.nodes.get(target, {}).get("kind") not in (
                            "function",
                            "class",
                            "variable",
                        ):
                            continue
                    elif target not in handlers:
                        continue
                u.add_edge(
                    graph,
                    resolver.owner_of_line(m, it["line"]),
                    target,
                    "async",
                    u.evidence(mf.file, it["line"]),
                )

    @staticmethod
    def _is_task(
        m: str, it: TaskItem, facts: dict[str, ModuleFacts], resolver: Any, celery: set[str]
    ) -> bool:
        name = it["decorator"]
        recv, _, last = name.rpartition(".")
        external = resolver.external(m, name) or ""
        if external.split(".")[0] in _TASK_LIBS:
            return True
        if not recv:  # a bare name that is not from a task library: only shared_task
            return last == "shared_task" and u.resolve_name(resolver, facts, m, name) is None
        if u.resolve_name(resolver, facts, m, recv) in celery:
            return True
        if (resolver.external(m, recv) or "").split(".")[0] in _TASK_LIBS:
            return True
        unresolved = u.resolve_name(resolver, facts, m, recv) is None
        return (
            unresolved
            and last in ("task", "periodic_task")
            and u.last(recv) in ("celery", "celery_app", "huey")
        )

    @staticmethod
    def _is_cli(
        m: str, it: TaskItem, facts: dict[str, ModuleFacts], resolver: Any, cli: set[str]
    ) -> bool:
        name = it["decorator"]
        recv = name.rpartition(".")[0]
        if not recv:
            return (resolver.external(m, name) or "").startswith(_CLI_LIBS)
        if recv.endswith(".cli") or (
            recv == "cli" and u.resolve_name(resolver, facts, m, recv) is None
        ):
            return True
        if (resolver.external(m, recv) or "").startswith(_CLI_LIBS) or recv == "click":
            return True
        return u.resolve_name(resolver, facts, m, recv) in cli

    @staticmethod
    def _enqueue(
        m: str,
        mf: ModuleFacts,
        it: TaskItem,
        facts: dict[str, ModuleFacts],
        resolver: Any,
        graph: DependencyGraph,
    ) -> None:
        if it["string"]:
            mod, _, func = (it["target"] or "").rpartition(".")
            target = f"{mod}:{func}" if f"{mod}:{func}" in graph.g else None
        else:
            target = u.resolve_name(resolver, facts, m, it["target"])
        if target is None or ":" not in target or target not in graph.g:
            return
        if graph.g.nodes[target].get("kind") != "function":
            return
        owner, where = resolver.owner_of_line(m, it["line"]), u.evidence(mf.file, it["line"])
        if it["string"]:
            u.add_edge(graph, owner, target, "dynamic", where)
        u.add_edge(graph, owner, target, "async", where)
        data = graph.g.nodes[target]
        graph.entry_points.append(
            EntryPoint(
                "task",
                target.replace(":", "."),
                target,
                data.get("file", mf.file),
                data.get("line", it["line"]),
            )
        )


def _methods(tree: cst.Module) -> dict[int, tuple[str, set[str], list[str]]]:
    """For each method of a top-level class: (class name, the class's method names, its
    bases as written), keyed by the method's node."""
    out: dict[int, tuple[str, set[str], list[str]]] = {}
    for stmt in tree.body:
        if type(stmt) is not cst.ClassDef or not isinstance(stmt.body, cst.IndentedBlock):
            continue
        defs = [s for s in stmt.body.body if type(s) is cst.FunctionDef]
        bases = [b for b in (u.dotted(a.value) for a in stmt.bases if not a.keyword) if b]
        info = (stmt.name.value, {d.name.value for d in defs}, bases)
        out.update((id(d), info) for d in defs)
    return out


def _method_target(
    item: TaskItem,
    scope: Any,
    methods: dict[int, tuple[str, set[str], list[str]]],
    typed: dict[tuple[int, str], str],
) -> None:
    """``add_task(self.method)``: the class that defines the method (this class, or else its
    bases in order, ``bases``); ``add_task(svc.method)`` on a local typed by an annotation or
    made by ``Service(...)``: ``Service.method``. Methods are not graph nodes: their class is."""
    obj, _, attr = (item["target"] or "").partition(".")
    if not attr or "." in attr or scope is None:
        return
    if obj in ("self", "cls") and id(scope) in methods:
        cls, defined, bases = methods[id(scope)]
        if attr in defined:
            item["target"] = cls
        else:
            item["target"], item["bases"] = (bases[0] if bases else cls), bases[1:]
    elif (id(scope), obj) in typed:
        item["target"] = f"{typed[(id(scope), obj)]}.{attr}"
