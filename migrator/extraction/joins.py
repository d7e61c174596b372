"""Joins across two databases turned into API composition (semi-joins on keys).

``Local.query.join(Remote, Local.remote_id == Remote.id).filter(Remote.col == v)`` asks one
database for two services' tables. Where the other model (``Remote``, a read model in the
moved code) only narrows the rows of this service's query, the same rows come back from

    Local.query.filter(Local.remote_id.in_([r.id for r in Remote.query.filter(Remote.col == v)]))

the keys read from the owner with the conditions its read model sends (``queries.condition``).
That holds only for a join that keeps at most one ``Remote`` row per row on its left (the
condition is a key equality whose ``Remote`` side is its primary key), so no row is repeated
or dropped; ``Remote`` must appear nowhere else in the chain (not selected, ordered, grouped
or outer-joined), and every condition must be one this code can see. A model joined through
another one (``.join(Project, ...).join(ProjectStatus, ...)``) is a key read of its own that
narrows its parent's read. Anything else stays as written, listed with the reason
(``Verdict.why``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from migrator.extraction import queries
from migrator.extraction.data import _class_assignments
from migrator.extraction.mover import dotted

#: links of a chain that join another table
JOIN_LINKS = {"join", "outerjoin"}


@dataclass(frozen=True)
class Shape:
    """What a join needs of one model: its table, primary key and foreign key columns."""

    table: str
    keys: tuple[str, ...]  # primary key columns
    foreign: dict[str, tuple[str, str]]  # column -> (table, column) of its ForeignKey


def shape(table: str, nodes: list[cst.ClassDef]) -> Shape:
    """The shape of a model class from its node and the nodes of the classes it derives
    from (``nodes``, nearest first): ``Column(..., primary_key=True)`` and
    ``Column(..., ForeignKey("table.col"))`` assignments."""
    keys: list[str] = []
    foreign: dict[str, tuple[str, str]] = {}
    seen: set[str] = set()
    for node in nodes:
        for target, value in _class_assignments(node):
            if not (isinstance(target, cst.Name) and isinstance(value, cst.Call)):
                continue
            if target.value in seen:
                continue  # a nearer class redefines it
            seen.add(target.value)
            for arg in value.args:
                if (
                    arg.keyword is not None
                    and arg.keyword.value == "primary_key"
                    and isinstance(arg.value, cst.Name)
                    and arg.value.value == "True"
                ):
                    keys.append(target.value)
                fk = arg.value
                if (
                    arg.keyword is None
                    and isinstance(fk, cst.Call)
                    and dotted(fk.func).split(".")[-1] == "ForeignKey"
                    and fk.args
                    and isinstance(fk.args[0].value, cst.SimpleString)
                ):
                    ref = str(fk.args[0].value.evaluated_value)
                    if ref.count(".") == 1:
                        to_table, _, to_col = ref.partition(".")
                        foreign[target.value] = (to_table, to_col)
    return Shape(table, tuple(keys), foreign)


@dataclass
class Context:
    """The models a module's chains name, for one service: ``remote`` bindings stand for
    another service's model (a read model), ``local`` ones for this service's; ``shapes``
    by binding."""

    remote: set[str]
    local: set[str]
    shapes: dict[str, Shape]

    @property
    def models(self) -> set[str]:
        return self.remote | self.local


@dataclass
class _Edge:
    parent: str  # binding on the left (the root or an earlier join)
    parent_col: str
    child_col: str  # the joined model's key column
    #: the parent's column has a ForeignKey to it: a row exists for each key it holds
    keyed: bool = False


@dataclass
class Verdict:
    """A chain's judgement: ``why`` it stays (empty when it is converted), else how."""

    why: str = ""
    #: joined remote bindings -> the edge that joins them
    edges: dict[str, _Edge] = field(default_factory=dict)
    #: remote binding -> its conditions (expressions) and keyword filters
    conditions: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    keywords: dict[str, list[cst.Arg]] = field(default_factory=dict)


def chain(node: cst.BaseExpression) -> tuple[cst.BaseExpression, list[tuple[str, cst.Call]]]:
    """The head of a method chain and its links (method, call), first link first."""
    links: list[tuple[str, cst.Call]] = []
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        if node.func.attr.value == "query" and isinstance(
            node.func.value, (cst.Name, cst.Attribute)
        ):
            if len(node.args) == 1 and isinstance(node.args[0].value, cst.Name):
                break  # ``session.query(Model)``: a head
        links.append((node.func.attr.value, node))
        node = node.func.value
    return node, links[::-1]


def root_of(head: cst.BaseExpression) -> str | None:
    """The model binding a chain's head queries: ``Model.query`` or ``<session>.query(Model)``."""
    if (
        isinstance(head, cst.Attribute)
        and head.attr.value == "query"
        and isinstance(head.value, cst.Name)
    ):
        return head.value.value
    if (
        isinstance(head, cst.Call)
        and isinstance(head.func, cst.Attribute)
        and head.func.attr.value == "query"
        and len(head.args) == 1
        and head.args[0].keyword is None
        and isinstance(head.args[0].value, cst.Name)
    ):
        return head.args[0].value.value
    return None


def joins_something(node: cst.BaseExpression) -> bool:
    """A query chain with a ``join``/``outerjoin`` link (whatever its models)."""
    head, links = chain(node)
    return root_of(head) is not None and any(m in JOIN_LINKS for m, _ in links)


def _names(node: cst.CSTNode) -> set[str]:
    return queries._names(node)


def _argument_names(call: cst.Call) -> set[str]:
    """The names in a link's arguments (not in the chain it is called on)."""
    return set().union(*(_names(a) for a in call.args))


def _column(node: cst.BaseExpression) -> tuple[str, str] | None:
    """``Model.col``: (binding, column)."""
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
        return node.value.value, node.attr.value
    return None


def _edge(target: str, call: cst.Call, joined: list[str], ctx: Context) -> _Edge | str:
    """How ``.join(target[, onclause])`` joins ``target`` to one of the ``joined`` models, or
    why that is not a key equality with ``target``'s primary key on its side."""
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if len(positional) != len(call.args):
        return f"`.join({target}, ...)` has keyword arguments (an outer or full join)"
    tshape = ctx.shapes.get(target)
    if tshape is None or len(tshape.keys) != 1:
        return f"the primary key of {target} is not known"
    if len(positional) == 2:
        on = positional[1].value
        if not (
            isinstance(on, cst.Comparison)
            and len(on.comparisons) == 1
            and isinstance(on.comparisons[0].operator, cst.Equal)
        ):
            return f"the condition that joins {target} is not one key equality"
        sides = [_column(on.left), _column(on.comparisons[0].comparator)]
        if None in sides:
            return f"the condition that joins {target} is not one key equality"
        (a, acol), (b, bcol) = sides  # type: ignore[misc]
        if b == target:
            (a, acol), (b, bcol) = (b, bcol), (a, acol)
        if a != target or b not in joined:
            return f"the condition that joins {target} does not name it and an earlier model"
        if acol not in tshape.keys:
            return (
                f"the join can give several {target} rows per row ({target}.{acol} is not "
                "its primary key)"
            )
        return _Edge(b, bcol, acol, ctx.shapes[b].foreign.get(bcol) == (tshape.table, acol))
    if len(positional) != 1:
        return f"`.join({target}, ...)` has more than a model and a condition"
    found = [
        (name, col, to)
        for name in joined
        if name in ctx.shapes
        for col, (table, to) in sorted(ctx.shapes[name].foreign.items())
        if table == tshape.table
    ]
    back = [
        name
        for name in joined
        if name in ctx.shapes
        and any(t == ctx.shapes[name].table for t, _ in tshape.foreign.values())
    ]
    if len(found) != 1 or back or found[0][2] not in tshape.keys:
        return f"the join of {target} has no single foreign key to its primary key to follow"
    return _Edge(found[0][0], found[0][1], found[0][2], True)


def judge(node: cst.BaseExpression, ctx: Context) -> Verdict | None:
    """Whether the query chain ``node`` (its outermost call) can become a local query
    narrowed by keys read from the owners of the models it joins; None when it joins no
    other service's model (nothing for this module to decide)."""
    head, links = chain(node)
    root = root_of(head)
    if root is None or not (
        root in ctx.remote or set().union(*(_argument_names(c) for _, c in links)) & ctx.remote
    ):
        return None
    if root not in ctx.local:
        return Verdict(
            f"the query reads {root}, another service's model, joined with other tables "
            "(only a query of this service's model narrowed by another's keys is composed)"
        )
    verdict = Verdict()
    joined = [root]
    last = root
    for method, call in links:
        target = _target(call) if method in JOIN_LINKS else None
        if method in JOIN_LINKS:
            if target is None or target not in ctx.models or target in joined:
                return Verdict(
                    f"`.{method}(...)` joins something other than a model once "
                    "(a relationship, an alias or the same model again)"
                )
            if target in ctx.remote:
                if method == "outerjoin":
                    return Verdict(f"`.outerjoin({target}, ...)` keeps rows without a {target} row")
                edge = _edge(target, call, joined, ctx)
                if isinstance(edge, str):
                    return Verdict(edge)
                verdict.edges[target] = edge
            elif _argument_names(call) & set(verdict.edges):
                return Verdict(
                    f"`.{method}({target}, ...)` joins a model through another service's"
                )
            elif len([a for a in call.args if a.keyword is None]) == 1 and verdict.edges:
                return Verdict(f"`.{method}({target})` could join through another service's model")
            joined.append(target)
            last = target
            continue
        if method == "filter":
            for arg in call.args:
                why = _condition(arg, verdict, ctx, method)
                if why:
                    return Verdict(why)
            continue
        if method == "filter_by" and last in verdict.edges:
            if any(_names(a.value) & ctx.models or a.keyword is None for a in call.args):
                return Verdict(f"`.filter_by(...)` of {last} has values a read model does not send")
            verdict.keywords.setdefault(last, []).extend(call.args)
            continue
        named = _argument_names(call) & set(verdict.edges)
        if named:
            return Verdict(
                f"`.{method}(...)` names {sorted(named)[0]}'s columns, which are in another "
                "database now (only conditions on them can be composed)"
            )
    return verdict


def _target(call: cst.Call) -> str | None:
    if call.args and call.args[0].keyword is None and isinstance(call.args[0].value, cst.Name):
        return call.args[0].value.value
    return None


def _condition(arg: cst.Arg, verdict: Verdict, ctx: Context, method: str) -> str:
    """Sort one ``filter`` argument: a condition on this service's models stays, one a read
    model of a joined model sends goes to it; anything else is the reason it stays."""
    if arg.keyword is not None or arg.star:
        return f"`.{method}(...)` has arguments that are not conditions"
    names = _names(arg.value)
    remote = names & ctx.remote
    if not remote:
        if names & ctx.local:
            return ""
        return (
            f"`.{method}(...)` gets a condition built by other code, which may name a "
            "joined model of another service"
        )
    if len(remote) == 1:
        binding = remote.pop()
        if binding in verdict.edges and queries.condition(arg.value, binding, ctx.models):
            verdict.conditions.setdefault(binding, []).append(arg.value)
            return ""
    return (
        f"`.{method}(...)` has a condition on {sorted(names & ctx.remote)[0]}'s columns that "
        "a read model does not send"
    )


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _keys(binding: str, verdict: Verdict) -> str | None:
    """The expression of the keys of ``binding`` a parent's column must be in, or None when
    nothing narrows it and its parent's foreign key already says the row exists."""
    edge = verdict.edges[binding]
    children = [(n, c) for n, c in verdict.edges.items() if c.parent == binding]
    if edge.keyed and not (
        children or verdict.conditions.get(binding) or verdict.keywords.get(binding)
    ):
        return None
    parts = [f"{binding}.query"]
    conditions = [_code(c) for c in verdict.conditions.get(binding, [])]
    conditions += [
        f"{binding}.{child.parent_col}.in_({keys})"
        if (keys := _keys(name, verdict)) is not None
        else f"{binding}.{child.parent_col}.is_not(None)"
        for name, child in children
    ]
    if conditions:
        parts.append(f".filter({', '.join(conditions)})")
    keywords = [_code(a).rstrip(", ") for a in verdict.keywords.get(binding, [])]
    if keywords:
        parts.append(f".filter_by({', '.join(keywords)})")
    return f"[_row.{edge.child_col} for _row in {''.join(parts)}]"


def rewrite(node: cst.BaseExpression, verdict: Verdict) -> cst.BaseExpression:
    """The chain ``node`` without its joins of other services' models: each becomes a
    ``filter`` of its parent's key column by the keys its owner reads."""
    head, links = chain(node)
    remote = set(verdict.edges)
    moved = {id(c) for cs in verdict.conditions.values() for c in cs}
    out: cst.BaseExpression = head
    for method, call in links:
        args = list(call.args)
        if method in JOIN_LINKS and _target(call) in remote:
            target = _target(call) or ""
            edge = verdict.edges[target]
            if edge.parent in remote:
                continue  # narrows its parent's read instead
            keys = _keys(target, verdict)
            text = (
                f"{edge.parent}.{edge.parent_col}.in_({keys})"
                if keys is not None
                else f"{edge.parent}.{edge.parent_col}.is_not(None)"
            )
            method, args = "filter", [cst.Arg(cst.parse_expression(text))]
        elif method == "filter":
            args = [a for a in args if id(a.value) not in moved]
            if not args:
                continue
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        elif method == "filter_by" and any(
            a in verdict.keywords.get(n, []) for n in remote for a in args
        ):
            continue
        attr = call.func
        assert isinstance(attr, cst.Attribute)
        out = call.with_changes(func=attr.with_changes(value=out, attr=cst.Name(method)), args=args)
    return out


class Joins(cst.CSTTransformer):
    """Compose the joins of other services' models a module's chains make (``judge``)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.inner: set[int] = set()  # calls inside a chain (not its outermost link)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Call):
            self.inner.add(id(node.func.value))

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if id(original) in self.inner:
            return updated
        verdict = judge(updated, self.ctx)
        if verdict is None or verdict.why:
            return updated
        return rewrite(updated, verdict)
