"""What construct a use of another service's model is, for the report's data-coupling rows
that no read model serves: a person reading EXTRACTION.md learns what stopped the use (a
column expression handed back as a condition, the class passed to a helper, an alias, a class
method the read model does not answer) instead of a generic "read it from the owner"."""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from migrator.extraction.mover import dotted

Parent = Callable[[cst.CSTNode], "cst.CSTNode | None"]

#: calls that only wrap a column expression (``~M.col.in_(x)``, ``and_(...)``, ``func.max``)
WRAPPERS = set(
    """
    in_ not_in notin_ like ilike is_ is_not isnot contains any has desc asc label cast between
    startswith endswith and_ or_ not_ coalesce max min sum count distinct lower upper
    """.split()
)


def describe(node: cst.Name, parent: Parent, function: str | None) -> str:
    """The construct around ``node`` (a model's name) that a read model does not serve, as a
    clause for the report ('' when there is nothing more specific to say); ``function``: the
    name of the function it is in."""
    model = node.value
    above = parent(node)
    if isinstance(above, cst.Attribute) and above.value is node:
        call = parent(above)
        if isinstance(call, cst.Call) and call.func is above:
            return (
                f"`{model}.{above.attr.value}(...)` is a method a read model of {model} does "
                "not answer (only its reads by key or keyword filters, and methods of its own "
                "code the owner runs)"
            )
        if above.attr.value in ("query", "objects"):
            return (
                f"a query of {model} the read model does not send (it is joined, kept or handed on)"
            )
        return _column(above, parent, model, function)
    if isinstance(above, cst.Arg):
        call = parent(above)
        if isinstance(call, cst.Call) and call.func is not node:
            name = dotted(call.func) or "a call"
            last = name.rpartition(".")[2]
            if last == "aliased":
                return f"`aliased({model})` makes an alias of {model} for a join, which one database cannot answer now"
            if last in ("join", "outerjoin", "select_from", "with_entities", "add_entity", "query"):
                return f"`.{last}({model})` combines {model}'s table with another query's, which is in another database now"
            return f"the class {model} itself is handed to `{name}()`, which a read model cannot stand in for"
    if isinstance(above, cst.Call) and above.func is node:
        return (
            f"`{model}(...)` makes a row that this function does not add to a session (a read "
            f"model creates only `{model}(col=value, ...)` added to one)"
        )
    if isinstance(above, (cst.DictElement, cst.Element)):
        return f"the class {model} is kept in a collection and looked up at run time"
    return ""


def _column(attr: cst.Attribute, parent: Parent, model: str, function: str | None) -> str:
    """Where the column expression ``attr`` (``Model.col``) ends up."""
    column = f"{model}.{attr.attr.value}"
    current: cst.CSTNode = attr
    while True:
        above = parent(current)
        if above is None:
            return ""
        if isinstance(above, cst.Arg):
            call = parent(above)
            if not isinstance(call, cst.Call):
                return ""
            name = dotted(call.func)
            last = name.rpartition(".")[2]
            if last in WRAPPERS or name.startswith("func."):
                current = call
                continue
            if last == "query":
                return (
                    f"the column `{column}` is selected by `{name}(...)`, which the read model "
                    "does not send (it sends queries of whole rows of one model)"
                )
            if isinstance(call.func, cst.Attribute) and not isinstance(call.func.value, cst.Name):
                return f"the column `{column}` is in `.{last}(...)` of {_query(call.func.value, model)}"
            if isinstance(call.func, cst.Attribute):
                held = call.func.value.value  # type: ignore[attr-defined]
                return (
                    f"the column `{column}` is in `{held}.{last}(...)`: a query kept in a "
                    "variable that is not only refined and read, or of another model"
                )
            return f"the column `{column}` is handed to `{name}()`"
        if isinstance(above, cst.Return):
            where = f" by {function}()" if function else ""
            return (
                f"a column expression of {model} (`{column}`) is returned{where}, to be used "
                f"in another query: a read model sends only conditions it can see"
            )
        if isinstance(above, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
            return (
                f"a column expression of {model} (`{column}`) is kept in a variable, to be "
                "used in a query later: a read model sends only conditions it can see"
            )
        if isinstance(above, (cst.BaseStatement, cst.BaseSmallStatement)):
            return ""
        current = above


#: query methods that combine several models' tables
JOINING = {"join", "outerjoin", "select_from", "add_columns", "add_entity", "with_entities"}


def _query(chain: cst.BaseExpression, model: str) -> str:
    """What the query ``chain`` is, for a column of ``model`` used in one of its links."""
    links: list[str] = []
    current = chain
    called = False  # the chain starts with a function's call: ``helper(...).filter(...)``
    while isinstance(current, (cst.Call, cst.Attribute)):
        if isinstance(current, cst.Call):
            called, current = isinstance(current.func, cst.Name), current.func
            continue
        called = False
        links.append(current.attr.value)
        current = current.value
    root = current.value if isinstance(current, cst.Name) else ""
    if root and called:
        return (
            f"the query `{root}(...)` gives: a query built by other code, which the read "
            "model does not see"
        )
    joined = sorted(JOINING & set(links))
    if links and links[-1] == "query" and root and root != model:
        return (
            f"a query of {root}: a condition on {model}'s columns there is a join across two "
            "databases"
        )
    if joined:
        return f"a query that combines tables (`.{joined[0]}(...)`), which are in two databases now"
    if "query" in links:
        return "a session's query that the read model does not send (several models or columns)"
    return f"a query the read model of {model} does not send (see the rows of its other names)"
