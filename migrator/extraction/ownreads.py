"""Methods of a model's own code that only read, which the owner runs for a read model.

A caller that reads another service's model through a read model often calls more than the
queries a read model sends: a class method of the model's base mixin that reads its rows and
gives back plain data (``Model.get_id_map(field="name")``), or a row method that builds a
dict of the row (``row.serialize()``). Their code needs the owner's database, so the copy
cannot run them; the owner can. A method is one the owner runs for a read when it and every
method of the class it calls on ``cls``/``self`` neither write through a session (nor commit,
flush or roll back the caller's unit of work), nor change ``self``, nor name another model,
take no session and no code, and its result is plain data (judged by the caller's
``Classifier``): the read model asks the owner (``runtime.reader``, op ``method``), which loads
the row by key, runs the method, refuses it if it changed a row, and answers its JSON value.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from migrator.extraction.mover import dotted, names_in
from migrator.extraction.writes import (
    calls_in,
    calls_parameter,
    decorator_name,
    reached_methods,
    writes_rows,
)

#: what a read model's helper map says of a method the owner runs for a read
#: (``runtime.OWNER_READ`` / ``runtime.OWNER_READ_ROW``): on the class, on a row
OWNER_READ, OWNER_READ_ROW = "owner-read", "owner-read-row"
#: session methods a read may call (anything else may write or end the caller's unit of work)
SESSION_READS = {"query", "get", "scalars", "scalar"}


def read_methods(
    methods: dict[str, cst.FunctionDef],
    others: set[str],
    plain: Callable[[str], bool],
    above: Callable[[str, str], cst.FunctionDef | None] = lambda name, called: None,
) -> dict[str, str]:
    """Methods of a model class (``methods``: its own and its bases', name -> definition) the
    owner runs for a read model (see the module): name -> ``OWNER_READ`` for a class method,
    ``OWNER_READ_ROW`` for a row's; ``plain(name)``: its result is plain data;
    ``above(name, called)``: what ``super().called`` in the method ``name`` runs (None: not
    known), judged by the same rules (a ``super()`` call in it is not followed again)."""
    out: dict[str, str] = {}
    for name, func in sorted(methods.items()):
        kinds = {decorator_name(d) for d in func.decorators}
        # a plain method or a class method (a property, a hybrid, a validator is no call)
        if name.startswith("_") or kinds - {"classmethod"} or not func.params.params:
            continue
        if "classmethod" in kinds and func.params.params[0].name.value not in names_in(func.body):
            continue  # it never uses its class: a helper a client copies (properties.helper)
        params = [*func.params.params, *func.params.kwonly_params]
        if any("session" in p.name.value for p in params) or calls_parameter(func):
            continue
        reached = sorted(reached_methods(name, methods))
        supers = [(n, c) for n in reached for c in _super_calls(methods[n])]
        bodies = [above(n, c) for n, c in supers]
        if None in bodies:
            continue
        judged = [(methods[n], True) for n in reached] + [(b, False) for b in bodies if b]
        if any(names_in(m.body, strings=False) & others or _changes(m, up) for m, up in judged):
            continue
        if plain(name):
            out[name] = OWNER_READ if "classmethod" in kinds else OWNER_READ_ROW
    return out


def _super_calls(func: cst.FunctionDef) -> list[str]:
    """The methods ``func`` calls on ``super()``."""
    return [
        c.func.attr.value
        for c in calls_in(func.body)
        if isinstance(c.func, cst.Attribute)
        and isinstance(c.func.value, cst.Call)
        and dotted(c.func.value.func) == "super"
    ]


def _changes(func: cst.FunctionDef, up: bool = False) -> str:
    """What ``func`` does that a read must not (a session call other than a query, a query's
    bulk write, ``self.x = ...``, ``setattr``/``delattr``, a method of ``super()``), else ''."""
    classmethod = any(decorator_name(d) == "classmethod" for d in func.decorators)
    this = func.params.params[0].name.value if func.params.params else ""
    if writes_rows(func.body):
        return "a session write"
    for call in calls_in(func.body):
        name = dotted(call.func)
        receiver, _, method = name.rpartition(".")
        if receiver.rpartition(".")[2].endswith("session") and method not in SESSION_READS:
            return name
        if name in ("setattr", "delattr", "flag_modified") or (name == "super" and not up):
            return name  # (``up``: what ``super()`` runs is judged on its own)
    if classmethod:
        return ""  # ``cls._cache = ...``: the owner's class, which no caller reads
    found: list[str] = []

    class _Sets(cst.CSTVisitor):
        def _target(self, target: cst.BaseExpression) -> None:
            if isinstance(target, cst.Attribute) and dotted(target.value) == this:
                found.append(dotted(target))

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            self._target(node.target)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            self._target(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            self._target(node.target)

        def visit_Del(self, node: cst.Del) -> None:
            self._target(node.target)

    func.body.visit(_Sets())
    return found[0] if found else ""
