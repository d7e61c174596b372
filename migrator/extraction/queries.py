"""SQLAlchemy expression queries on another service's model, judged statically: which
arguments of ``Model.query.filter(...)``, ``order_by(...)``, ``limit(...)`` a read model can
send to the owner (``runtime.ReadColumn``) and which cannot (a join with another model).

Served: ``Model.col <cmp> value`` (either side), ``Model.col.in_(...)`` / ``not_in`` /
``like`` / ``ilike`` / ``is_`` / ``is_not``, and ``Model.col`` / ``Model.col.desc()`` /
``.asc()`` in ``order_by``, where ``value`` names no model (a column of another model there
is a join, which one service's database cannot answer).
"""

from __future__ import annotations

import libcst as cst

#: comparison operators a read model sends (runtime.WHERE_OPS)
COMPARISONS = (
    cst.Equal,
    cst.NotEqual,
    cst.LessThan,
    cst.LessThanEqual,
    cst.GreaterThan,
    cst.GreaterThanEqual,
)
#: column methods that give a condition
CONDITION_METHODS = {"in_", "not_in", "notin_", "like", "ilike", "is_", "is_not", "isnot"}
#: query methods a read chain may go through (besides the reads of rewrite.READ_CHAIN)
SHAPING = {"order_by", "limit", "offset"}


def _column(node: cst.BaseExpression, binding: str) -> cst.Name | None:
    """``binding.col``: the ``binding`` name node."""
    if (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value == binding
    ):
        return node.value
    return None


def _names(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class _Find(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.add(n.value)

    node.visit(_Find())
    return found


def condition(node: cst.BaseExpression, binding: str, models: set[str]) -> cst.Name | None:
    """The ``binding`` name of a condition a read model of ``binding`` sends, else None."""
    if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
        target = node.comparisons[0]
        if not isinstance(target.operator, COMPARISONS):
            return None
        for col, value in ((node.left, target.comparator), (target.comparator, node.left)):
            name = _column(col, binding)
            if name is not None and not _names(value) & (models | {binding}):
                return name
        return None
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in CONDITION_METHODS
        and len(node.args) == 1
        and not node.args[0].star
        and node.args[0].keyword is None
        and not _names(node.args[0].value) & (models | {binding})
    ):
        return _column(node.func.value, binding)
    return None


def ordering(node: cst.BaseExpression, binding: str) -> cst.Name | None:
    """The ``binding`` name of ``binding.col`` or ``binding.col.desc()`` / ``.asc()``."""
    if (
        isinstance(node, cst.Call)
        and not node.args
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in ("desc", "asc")
    ):
        node = node.func.value
    return _column(node, binding)


def served_arguments(
    method: str, call: cst.Call, binding: str, models: set[str]
) -> list[cst.Name] | None:
    """The ``binding`` names in the arguments of one link of a read chain on ``binding``'s
    read model (``[]`` when there are none), or None when the owner cannot answer them."""
    if any(a.star for a in call.args):
        return None
    positional = [a.value for a in call.args if a.keyword is None]
    if method == "filter_by":
        return None if positional else []
    if method not in ("filter", *SHAPING):
        return []  # a read (``get(key)``, ``first()``): rewrite._rows_read judges its rows
    if method in ("limit", "offset"):
        return [] if len(call.args) == 1 and not _names(positional[0]) & models else None
    if method == "order_by":
        found = [ordering(p, binding) for p in positional]
    else:
        found = [condition(p, binding, models) for p in positional]
    return None if any(n is None for n in found) else [n for n in found if n is not None]
