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

import libcst as cst

from migrator.extraction.mover import _dotted

#: queryset methods the read model sends as steps (``runtime.ReadQuery``), beyond the reads of
#: ``rewrite.READ_CHAIN``; ``select_related`` and the like only tune the owner's query
STEPS = {
    "exclude",
    "order_by",
    "distinct",
    "values_list",
    "values",
    "select_related",
    "prefetch_related",
    "only",
    "defer",
    "none",
    "aggregate",
}
#: steps whose result is plain data (values, numbers), never rows of the model
PLAIN = {"values_list", "values", "aggregate", "count", "exists"}
#: aggregates the owner rebuilds (``django.db.models``), each of one field name
AGGREGATES = {"Count", "Sum", "Avg", "Min", "Max"}
#: exceptions a read model raises as the model's own (``ReadModel.DoesNotExist``)
EXCEPTIONS = {"DoesNotExist", "MultipleObjectsReturned"}
#: steps whose positional arguments are field names (string literals)
FIELD_ARGS = {
    "order_by",
    "distinct",
    "values_list",
    "values",
    "select_related",
    "prefetch_related",
    "only",
    "defer",
}


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
    if method == "none":
        return not call.args
    return method not in STEPS and not positional  # a read of rewrite.READ_CHAIN


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
    if isinstance(expr, cst.Call) and _dotted(expr.func).split(".")[-1] == "Q":
        return all(not a.star and (a.keyword is not None or _q_tree(a.value)) for a in expr.args)
    return False


def _aggregate(expr: cst.BaseExpression) -> bool:
    """``Sum("field")`` (``Count("field", distinct=True)``): one of ``AGGREGATES``."""
    return (
        isinstance(expr, cst.Call)
        and _dotted(expr.func).split(".")[-1] in AGGREGATES
        and len([a for a in expr.args if a.keyword is None]) == 1
        and isinstance(expr.args[0].value, cst.SimpleString)
        and all(a.keyword is None or a.keyword.value == "distinct" for a in expr.args)
    )
