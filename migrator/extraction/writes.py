"""SQLAlchemy writes to another service's tables, judged statically: which of them a caller's
read model sends to the owner (``runtime.sql_write``), so that they count as converted.

Sent, each once with the call's idempotency key:

- ``Model(col=value, ...)`` added to a session (``session.add(Model(...))``, or a name bound
  to it and added): the owner creates the row when the caller makes it;
- a column the caller sets on a row its read model gave (``row.col = value``): sent at once,
  keyed by the row's id; ``session.add(row)`` / ``session.delete(row)`` of such a row
  (``ReadModel._kept``);
- ``Model.query.filter(...).update({...})`` / ``.delete()``;
- a method of the model's own code (or of a base class of the tree) that writes rows of its
  class only and names no other model: ``Model.create(...)``, ``Model.delete_all_by(...)``
  on the class, ``row.save()`` / ``row.update(data)`` / ``row.delete()`` on a row; the owner
  runs it with its own session (``runtime._own_write``).
"""

from __future__ import annotations

import libcst as cst

from migrator.extraction.mover import dotted, names_in

#: what a read model's helper map says of a method that writes (``runtime.WRITE_CLASS`` /
#: ``runtime.WRITE_ROW``)
WRITE_CLASS, WRITE_ROW = "write", "write-row"
#: query methods that write the rows a SQLAlchemy read chain selects
CHAIN_WRITES = {"update", "delete"}
#: session methods that write rows (a method that only commits or flushes ends the caller's
#: unit of work too: it is not the owner's to run)
SESSION_WRITES = {"add", "add_all", "delete", "merge"}


def write_methods(methods: dict[str, cst.FunctionDef], others: set[str]) -> dict[str, str]:
    """Methods of a model class (``methods``: its own and its bases', name -> definition) that
    write rows of the class through the session and name none of ``others`` (the other models
    of the tree), also in the methods of the class they call (``cls.x()``, ``self.x()``):
    name -> ``WRITE_CLASS`` for a class method, ``WRITE_ROW`` for a row's method."""
    out: dict[str, str] = {}
    for name, func in sorted(methods.items()):
        kinds = {decorator_name(d) for d in func.decorators}
        if name.startswith("_") or "staticmethod" in kinds or "property" in kinds:
            continue
        params = [*func.params.params, *func.params.kwonly_params]
        if any("session" in p.name.value for p in params):
            continue  # the caller's session cannot cross
        if calls_parameter(func):
            continue  # a class or function handed in (``set_links(ids, LinkTable)``)
        reached = reached_methods(name, methods)
        bodies = [methods[n].body for n in sorted(reached)]
        if any(names_in(b, strings=False) & others for b in bodies):
            continue
        if any(writes_rows(b) for b in bodies):
            out[name] = WRITE_CLASS if "classmethod" in kinds else WRITE_ROW
    return out


def calls_parameter(func: cst.FunctionDef) -> bool:
    """A parameter of ``func`` (beyond ``self``/``cls``) is called: it takes code, not data."""
    params = {p.name.value for p in func.params.params[1:]} | {
        p.name.value for p in func.params.kwonly_params
    }
    return any(isinstance(c.func, cst.Name) and c.func.value in params for c in calls_in(func))


def decorator_name(d: cst.Decorator) -> str:
    """``@a.b(...)`` and ``@a.b`` both name ``a.b``: what the decorator is, not how it is set."""
    return dotted(d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator)


def reached_methods(name: str, methods: dict[str, cst.FunctionDef]) -> set[str]:
    """``name`` and the methods of the class it calls on ``cls``/``self``, transitively."""
    seen = {name}
    todo = [name]
    while todo:
        func = methods[todo.pop()]
        first = func.params.params[0].name.value if func.params.params else ""
        for call in calls_in(func.body):
            f = call.func
            if (
                isinstance(f, cst.Attribute)
                and isinstance(f.value, cst.Name)
                and f.value.value == first
                and f.attr.value in methods
                and f.attr.value not in seen
            ):
                seen.add(f.attr.value)
                todo.append(f.attr.value)
    return seen


def calls_in(node: cst.CSTNode) -> list[cst.Call]:
    """Every call inside ``node``, nested ones too, in source order."""
    found: list[cst.Call] = []

    class _Find(cst.CSTVisitor):
        def visit_Call(self, n: cst.Call) -> None:
            found.append(n)

    node.visit(_Find())
    return found


def writes_rows(body: cst.CSTNode) -> bool:
    """A session write (``db.session.add(x)``, ``session.commit()``) or a query's bulk
    ``.update(...)`` / ``.delete()`` (``cls.query.filter_by(**kw).delete()``)."""
    for call in calls_in(body):
        f = call.func
        if not isinstance(f, cst.Attribute):
            continue
        receiver = dotted(f.value)
        if f.attr.value in SESSION_WRITES and receiver.rpartition(".")[2].endswith("session"):
            return True
        if f.attr.value in CHAIN_WRITES and ".query" in cst.Module([]).code_for_node(f.value):
            return True
    return False


def served_update(call: cst.Call, binding: str, models: set[str]) -> list[cst.Name] | None:
    """``query.update({Model.col: value, "col": value})`` or ``.delete()`` of a read chain on
    ``binding``: the ``binding`` names of its keys, or None when the owner cannot apply it
    (values that name a model are SQL, not data)."""
    args = [a for a in call.args if a.keyword is None or a.keyword.value != "synchronize_session"]
    if any(a.star or a.keyword is not None for a in args):
        return None
    if not args:
        return []
    if len(args) != 1 or not isinstance(args[0].value, cst.Dict):
        return None
    names: list[cst.Name] = []
    for element in args[0].value.elements:
        if not isinstance(element, cst.DictElement):
            return None
        if names_in(element.value, strings=False) & (models | {binding}):
            return None
        key = element.key
        if (
            isinstance(key, cst.Attribute)
            and isinstance(key.value, cst.Name)
            and key.value.value == binding
        ):
            names.append(key.value)
        elif not isinstance(key, cst.SimpleString):
            return None
    return names


def created(call: cst.Call, parent: cst.CSTNode | None, added: set[str]) -> bool:
    """``Model(col=value, ...)`` that the caller adds to a session: the call is the argument
    of ``<session>.add(...)``, or assigned to a name that ``added`` holds (names the
    enclosing function hands to ``<session>.add``)."""
    if any(a.keyword is None and a.star != "**" for a in call.args):
        return False
    if isinstance(parent, cst.Arg):
        return True  # judged by the caller of ``created``: the argument of an add
    return (
        isinstance(parent, cst.Assign)
        and len(parent.targets) == 1
        and isinstance(parent.targets[0].target, cst.Name)
        and parent.targets[0].target.value in added
    )


def added_names(func: cst.FunctionDef) -> set[str]:
    """Names ``func`` hands to ``<session>.add(name)``."""
    return {
        c.args[0].value.value
        for c in calls_in(func.body)
        if _session_call(c, "add") and isinstance(c.args[0].value, cst.Name)
    }


def _session_call(call: cst.Call, *ops: str) -> bool:
    """``<...session>.<op>(one argument)``."""
    f = call.func
    return (
        isinstance(f, cst.Attribute)
        and f.attr.value in ops
        and dotted(f.value).rpartition(".")[2].endswith("session")
        and len(call.args) == 1
        and call.args[0].keyword is None
        and not call.args[0].star
    )


def add_argument(call: cst.Call) -> bool:
    """``call`` is ``<session>.add(x)``."""
    return _session_call(call, "add")


class SessionWrites(cst.CSTTransformer):
    """``<session>.add(x)`` / ``<session>.delete(x)`` -> ``Model._kept(<session>, op, x)`` in
    a module where read models stand in for other services' models: a copy of their row is
    written by its owner (``runtime.ReadModel._kept``); anything else goes to the session."""

    def __init__(self, binding: str) -> None:
        self.binding = binding

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if not _session_call(updated, "add", "delete"):
            return updated
        assert isinstance(updated.func, cst.Attribute)
        return cst.Call(
            cst.Attribute(cst.Name(self.binding), cst.Name("_kept")),
            [
                cst.Arg(updated.func.value),
                cst.Arg(cst.SimpleString(repr(updated.func.attr.value))),
                cst.Arg(updated.args[0].value),
            ],
        )
