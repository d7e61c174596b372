"""Django queryset reads that a generated read model answers, decided from the code alone.

A Django view of one service often reads another service's model through its manager:
``Model.objects.filter(Q(a=1) | Q(b=2)).exclude(c=3).values_list("id", flat=True)``,
``.order_by(...)``, ``.aggregate(total=Sum("x"))``, ``except Model.DoesNotExist``. The caller's
read model (``runtime.ReadQuery``) sends such a chain to the owner as JSON steps, and the owner's
reader runs it with its own ORM; this module says which chains can be sent so (only what the
runtime can send: ``Q`` trees of keyword lookups, field names as strings, the five standard
aggregates), so that only those count as converted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from migrator.extraction.mover import dotted

if TYPE_CHECKING:
    from migrator.extraction.convert import Classifier

#: steps whose positional arguments are field names (string literals)
FIELD_ARGS = set(
    "order_by distinct values_list values select_related prefetch_related only defer".split()
)
#: queryset methods the read model sends as steps (``runtime.ReadQuery``), beyond the reads of
#: ``rewrite.READ_CHAIN``; ``select_related`` and the like only tune the owner's query
STEPS = FIELD_ARGS | {"exclude", "none", "aggregate"}
#: writes the read model sends to the owner's endpoint (``runtime.DJANGO_WRITES``), each with
#: an idempotency key
WRITE_STEPS = {"create", "get_or_create", "update_or_create", "update", "delete"}
#: steps whose result is plain data (values, numbers), never rows of the model
PLAIN = {"values_list", "values", "aggregate", "count", "exists", "update", "delete"}
#: aggregates the owner rebuilds (``django.db.models``), each of one field name
AGGREGATES = {"Count", "Sum", "Avg", "Min", "Max"}
#: exceptions a read model raises as the model's own (``ReadModel.DoesNotExist``)
EXCEPTIONS = {"DoesNotExist", "MultipleObjectsReturned"}


def step_sendable(method: str, call: cst.Call) -> bool:
    """The arguments of ``objects.<method>(...)`` in a Django read chain can be sent: keyword
    lookups and ``Q`` trees for filters, string field names, standard aggregates."""
    if any(a.star for a in call.args):
        return False
    positional = [a.value for a in call.args if a.keyword is None]
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    if method in ("filter", "exclude", "get"):
        return all(_q_tree(v) for v in positional)
    if method in FIELD_ARGS:
        allowed = {"flat", "named"} if method == "values_list" else set()
        return all(isinstance(v, cst.SimpleString) for v in positional) and set(keywords) <= allowed
    if method == "aggregate":
        return not positional and bool(keywords) and all(map(_aggregate, keywords.values()))
    if method in ("none", "delete"):
        return not call.args
    if method in WRITE_STEPS:
        return not positional  # column values (a row for a foreign key goes as its key)
    if method in STEPS:
        return False
    return True  # a read of rewrite.READ_CHAIN, or the model's own manager method (custom_read)


def plain_result(call: cst.Call) -> bool:
    """The chain ending in ``call`` gives plain data (``values_list``, ``aggregate``, a count)
    rather than rows, so its caller cannot misuse a row."""
    node: cst.BaseExpression = call
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        if node.func.attr.value in PLAIN:
            return True
        node = node.func.value
    return False


def _q_tree(expr: cst.BaseExpression) -> bool:
    """``Q(a=1)``, ``~Q(...)``, ``Q(...) | Q(...)``, ``Q(...) & Q(...)`` of keyword lookups."""
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.BitInvert):
        return _q_tree(expr.expression)
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.BitOr, cst.BitAnd)):
        return _q_tree(expr.left) and _q_tree(expr.right)
    if isinstance(expr, cst.Call) and dotted(expr.func).split(".")[-1] == "Q":
        return all(not a.star and (a.keyword is not None or _q_tree(a.value)) for a in expr.args)
    return False


def _aggregate(expr: cst.BaseExpression) -> bool:
    """``Sum("field")`` (``Count("field", distinct=True)``): one of ``AGGREGATES``."""
    return (
        isinstance(expr, cst.Call)
        and dotted(expr.func).split(".")[-1] in AGGREGATES
        and len([a for a in expr.args if a.keyword is None]) == 1
        and isinstance(expr.args[0].value, cst.SimpleString)
        and all(a.keyword is None or a.keyword.value == "distinct" for a in expr.args)
    )


#: calls that change rows: a manager method making one is not a read
WRITES = {
    "create",
    "update",
    "delete",
    "save",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
    "add",
    "remove",
    "set",
    "clear",
}


def custom_read(classifier: Classifier, model: str, method: str) -> str:
    """Why ``Model.objects.<method>(...)``, a method of the model's own manager or queryset
    class, cannot be run by the owner for a read model ('' when it can): it must give a
    queryset of the model (every ``return`` a chain on ``self``), change nothing, and use its
    parameters only as values (filter lookups, tests), since a row crosses as its key."""
    for cls in _manager_classes(classifier, model, frozenset()):
        module, _, name = cls.partition(":")
        for stmt in getattr(classifier.tree.info(module).classes[name].node.body, "body", []):
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == method:
                return _queryset_method(stmt)
    return f"{method} is not a method of {model.partition(':')[2]}'s manager"


def _manager_classes(classifier: Classifier, model: str, seen: frozenset[str]) -> list[str]:
    """Classes of the tree that the model's ``objects`` is made of (``Manager()``,
    ``Manager.from_queryset(QuerySet)()``, ``QuerySet.as_manager()``, a manager's
    ``queryset_class``), with the classes of the tree they derive from; a model without its
    own ``objects`` has its base model's."""
    module, _, name = model.partition(":")
    info = (
        classifier.tree.info(module).classes.get(name) if module in classifier.tree.files else None
    )
    if info is None or model in seen:
        return []
    values = _assigned(info.node, "objects")
    if not values:
        return [
            c
            for base in info.bases
            if (parent := classifier.class_of(base, module)) is not None
            for c in _manager_classes(classifier, parent, seen | {model})
        ]
    out: list[str] = []
    todo = [(module, n) for v in values for n in _names(v)]
    while todo:
        mod, n = todo.pop()
        found = classifier.class_of(n, mod)
        if found is None or found in out:
            continue
        out.append(found)
        fmod, _, fname = found.partition(":")
        node = classifier.tree.info(fmod).classes[fname]
        todo += [(fmod, b) for b in node.bases]
        todo += [(fmod, x) for v in _assigned(node.node, "queryset_class") for x in _names(v)]
    return out


def _assigned(cls: cst.ClassDef, attr: str) -> list[cst.BaseExpression]:
    """Values of ``attr = ...`` at the top of a class body."""
    return [
        small.value
        for stmt in getattr(cls.body, "body", [])
        if isinstance(stmt, cst.SimpleStatementLine)
        for small in stmt.body
        if isinstance(small, cst.Assign)
        and any(isinstance(t.target, cst.Name) and t.target.value == attr for t in small.targets)
    ]


def _names(expr: cst.CSTNode) -> list[str]:
    class _All(cst.CSTVisitor):
        def __init__(self) -> None:
            self.names: list[str] = []

        def visit_Name(self, node: cst.Name) -> None:
            self.names.append(node.value)

    finder = _All()
    expr.visit(finder)
    return finder.names


def _queryset_method(func: cst.FunctionDef) -> str:
    params = [p.name.value for p in func.params.params[1:]] + [
        p.name.value for p in func.params.kwonly_params
    ]
    if func.params.star_arg not in (cst.MaybeSentinel.DEFAULT, None) or func.params.star_kwarg:
        return f"{func.name.value} takes *args/**kwargs"
    facts = _Body(set(params))
    func.body.visit(facts)
    if facts.writes:
        return f"{func.name.value} changes rows ({', '.join(sorted(facts.writes))})"
    if facts.used_as_row:
        return f"{func.name.value} reads attributes of {', '.join(sorted(facts.used_as_row))}"
    local = {"self"}
    changed = True
    while changed:  # names bound to a queryset made from self
        changed = False
        for name, value in facts.assigned:
            if name not in local and _rooted(value, local):
                local.add(name)
                changed = True
    if not facts.returns or not all(_rooted(v, local) for v in facts.returns):
        return f"{func.name.value} does not return a queryset of the model"
    return ""


def _rooted(expr: cst.BaseExpression, roots: set[str]) -> bool:
    """A call/attribute chain that starts at one of ``roots`` (both arms of an ``x if c else
    y``)."""
    while True:
        if isinstance(expr, cst.Call):
            expr = expr.func
        elif isinstance(expr, (cst.Attribute, cst.Subscript)):
            expr = expr.value
        elif isinstance(expr, cst.IfExp):
            return _rooted(expr.body, roots) and _rooted(expr.orelse, roots)
        else:
            return isinstance(expr, cst.Name) and expr.value in roots


class _Body(cst.CSTVisitor):
    """Writes, returns, assignments and row-like uses of the parameters in a method body."""

    def __init__(self, params: set[str]) -> None:
        self.params = params
        self.writes: set[str] = set()
        self.returns: list[cst.BaseExpression] = []
        self.assigned: list[tuple[str, cst.BaseExpression]] = []
        self.used_as_row: set[str] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # a nested function is judged where it is called

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in WRITES:
            self.writes.add(node.func.attr.value)
        name = dotted(node.func)
        if name in self.params:
            self.used_as_row.add(name)
        if name in ("getattr", "hasattr", "setattr") and node.args:
            first = node.args[0].value
            if isinstance(first, cst.Name) and first.value in self.params:
                self.used_as_row.add(first.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name) and node.value.value in self.params:
            self.used_as_row.add(node.value.value)

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self.returns.append(node.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for t in node.targets:
            if isinstance(t.target, cst.Name):
                self.assigned.append((t.target.value, node.value))
