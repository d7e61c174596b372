"""SQLAlchemy expression queries on another service's model, judged statically: which
arguments of ``Model.query.filter(...)``, ``order_by(...)``, ``limit(...)`` a read model can
send to the owner (``runtime.ReadColumn``) and which cannot (a join with another model).

Served: ``Model.col <cmp> value`` (either side), ``Model.col.in_(...)`` / ``not_in`` /
``like`` / ``ilike`` / ``is_`` / ``is_not``, and ``Model.col`` / ``Model.col.desc()`` /
``.asc()`` in ``order_by``, where ``value`` names no model (a column of another model there
is a join, which one service's database cannot answer).
"""

from __future__ import annotations

from collections.abc import Callable

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
#: SQL constructs a value may be built with (``true()``, ``func.now()``, ``select(...)``):
#: the read model sends JSON values only
SQL_NAMES = set(
    """
    true false null func text literal literal_column select and_ or_ not_ case cast exists
    aliased column tuple_ any_ all_ distinct
    """.split()
)
#: query methods a read chain may go through (besides the reads of rewrite.READ_CHAIN)
SHAPING = {"order_by", "limit", "offset"}
#: the reads that end a read chain (``Model.query...first()``), as ``runtime.READ_OPS``
READS = set("get get_or_404 first first_or_404 one one_or_none all count exists".split())


#: SQL constants a read model sends as JSON (``Model.flag == true()``): the same condition
CONSTANTS = {"true", "false", "null"}


def _constant(node: cst.BaseExpression) -> bool:
    """``true()`` / ``false()`` / ``null()`` (or ``sqlalchemy.true()``), without arguments."""
    return (
        isinstance(node, cst.Call)
        and not node.args
        and isinstance(node.func, (cst.Name, cst.Attribute))
        and (node.func.value if isinstance(node.func, cst.Name) else node.func.attr.value)
        in CONSTANTS
    )


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
            if name is not None and (
                _constant(value) or not _names(value) & (models | SQL_NAMES | {binding})
            ):
                return name
        return None
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in CONDITION_METHODS
        and len(node.args) == 1
        and not node.args[0].star
        and node.args[0].keyword is None
        and (
            _constant(node.args[0].value)
            or not _names(node.args[0].value) & (models | SQL_NAMES | {binding})
        )
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


def session_query(node: cst.BaseExpression, binding: str) -> bool:
    """``<session>.query(binding)``: the moved code asks the read model instead
    (``SessionQueries`` rewrites it to ``binding.query``)."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "query"
        and len(node.args) == 1
        and node.args[0].keyword is None
        and not node.args[0].star
        and isinstance(node.args[0].value, cst.Name)
        and node.args[0].value.value == binding
    )


class SessionQueries(cst.CSTTransformer):
    """``<session>.query(Model)`` -> ``Model.query`` for the read models of a module: the
    owner answers what a read model can send, anything else fails loudly where used."""

    def __init__(self, bindings: set[str]) -> None:
        self.bindings = bindings

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        for binding in self.bindings:
            if session_query(updated, binding):
                return cst.Attribute(cst.Name(binding), cst.Name("query"))
        return updated


def served_arguments(
    method: str, call: cst.Call, binding: str, models: set[str]
) -> list[cst.Name] | None:
    """The ``binding`` names in the arguments of one link of a read chain on ``binding``'s
    read model (``[]`` when there are none), or None when the owner cannot answer them."""
    if any(a.star == "*" or (a.star and method != "filter_by") for a in call.args):
        return None
    positional = [a.value for a in call.args if a.keyword is None and not a.star]
    if method == "filter_by":  # ``**filters`` too: keyword filters the owner applies as given
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


#: query methods that give another query (the rest of a read chain gives rows or a number)
REFINING = {"filter", "filter_by", *SHAPING}

#: one terminal read of a query variable: (its method, "", the call, attribute read at once);
#: a loop over the variable itself is an ``ITERATED`` read of every row, the name in its place
End = tuple[str, str, cst.BaseExpression, "str | None"]
#: the method of a terminal read that is a loop over the query (``for row in query``)
ITERATED = "__iter__"


def _links(
    value: cst.BaseExpression, binding: str
) -> tuple[cst.BaseExpression, list[tuple[str, cst.Call]]]:
    """The head of a method chain and its links (method, call), first link first; a
    ``<session>.query(binding)`` is a head."""
    links = []
    while (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and not session_query(value, binding)
    ):
        links.append((value.func.attr.value, value))
        value = value.func.value
    return value, links[::-1]


def query_variable(
    name: str,
    func: cst.FunctionDef,
    binding: str,
    models: set[str],
    chain: set[str],
    parent: Callable[[cst.CSTNode], cst.CSTNode | None],
    skip: cst.CSTNode | None = None,
) -> tuple[list[End], list[cst.Name]] | None:
    """``name`` in ``func`` holds only a read query of ``binding``'s read model, built step by
    step (``q = Model.query.filter(...)``, ``q = q.filter(Model.col == x)``, ``q.all()``):
    its terminal reads (a loop over it reads every row) and the model's names in the
    conditions it sends; None when it is anything else (a parameter, passed on, joined,
    assigned from elsewhere).
    ``chain``: the methods a read chain may use; ``parent``: the parent of a node; ``skip``:
    an assignment whose value is judged elsewhere (a join composed from key reads)."""
    found: list[cst.Name] = []

    class _Find(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                found.append(node)

    func.visit(_Find())
    ends: list[End] = []
    served: list[cst.Name] = []
    for node in found:
        above = parent(node)
        if isinstance(above, cst.Attribute) and above.attr is node:
            continue  # ``x.name``: another thing's attribute
        if isinstance(above, cst.Arg) and above.keyword is node:
            continue
        if isinstance(above, (cst.For, cst.CompFor)) and above.iter is node:
            ends.append((ITERATED, "", node, None))
            continue
        if isinstance(above, cst.AssignTarget):
            assign = parent(above)
            if assign is skip and skip is not None:
                continue
            if not (isinstance(assign, cst.Assign) and len(assign.targets) == 1):
                return None
            head, links = _links(assign.value, binding)
            own = isinstance(head, cst.Name) and head.value == name
            model = session_query(head, binding) or (
                isinstance(head, cst.Attribute)
                and isinstance(head.value, cst.Name)
                and head.value.value == binding
                and head.attr.value in ("query", "objects")
            )
            if not (own or model) or (links and links[-1][0] not in REFINING):
                return None
            for method, call in links:
                names = served_arguments(method, call, binding, models)
                if method not in chain or names is None:
                    return None
                served += names
            continue
        current: cst.CSTNode = node
        method = ""
        while True:  # a chain on the variable: refined again, or read
            attr = parent(current)
            link = parent(attr) if isinstance(attr, cst.Attribute) else None
            if not (
                isinstance(attr, cst.Attribute)
                and attr.value is current
                and attr.attr.value in chain
                and isinstance(link, cst.Call)
                and link.func is attr
            ):
                break
            method, current = attr.attr.value, link
        if not isinstance(current, cst.Call):
            return None
        if method in REFINING:
            target = parent(current)
            if not (
                isinstance(target, cst.Assign)
                and len(target.targets) == 1
                and isinstance(target.targets[0].target, cst.Name)
                and target.targets[0].target.value == name
            ):
                return None
            continue  # its links are judged with the assignment
        after = parent(current)
        read = after.attr.value if isinstance(after, cst.Attribute) else None
        ends.append((method, "", current, read))
    return ends, served


def kept_in(
    assign: cst.CSTNode | None,
    func: cst.FunctionDef | None,
    binding: str,
    models: set[str],
    chain: set[str],
    parent: Callable[[cst.CSTNode], cst.CSTNode | None],
    skip: cst.CSTNode | None = None,
) -> tuple[list[End], list[cst.Name]] | None:
    """``assign`` (``name = <query of binding>``) binds a variable of ``func`` that holds
    only that query: ``query_variable`` of that name (None when it is anything else)."""
    if not (
        func is not None
        and isinstance(assign, cst.Assign)
        and len(assign.targets) == 1
        and isinstance(assign.targets[0].target, cst.Name)
    ):
        return None
    name = assign.targets[0].target.value
    return query_variable(name, func, binding, models, chain, parent, skip)


#: query methods that combine several models (a join across two databases)
JOINS = {"join", "outerjoin", "select_from", "add_columns", "add_entity", "with_entities"}


def why_stopped(method: str) -> str:
    """Why a read chain that goes on with ``.method(...)`` is not sent to the owner."""
    if method in JOINS:
        return (
            f"`.{method}(...)` combines another model's table, which is in another database "
            "now: read each side from its owner by key and join them in memory"
        )
    return (
        f"`.{method}(...)` is not sent by a read model (it sends keyword filters, column "
        "conditions, order_by, limit, offset and a read)"
    )


def why_refused(method: str, call: cst.Call, binding: str, models: set[str]) -> str:
    """Why the arguments of ``.method(...)`` of a read chain on ``binding`` cannot be sent
    (``served_arguments`` gave None)."""
    for arg in call.args:
        names = _names(arg.value)
        if names & (models - {binding}):
            other = sorted(names & (models - {binding}))[0]
            return (
                f"`.{method}(...)` names {other}'s columns (a join across two databases): "
                "read each side from its owner by key and join them in memory"
            )
        if names & SQL_NAMES:
            return (
                f"`.{method}(...)` uses a SQL construct ({', '.join(sorted(names & SQL_NAMES))}) "
                "that a read model does not send"
            )
        if isinstance(arg.value, cst.Call) and not (
            condition(arg.value, binding, models) or ordering(arg.value, binding)
        ):
            return (
                f"`.{method}(...)` gets a condition built by other code: a read model sends "
                f"only `{binding}.col <op> value` conditions it can see"
            )
    return f"`.{method}(...)` has arguments a read model does not send"
