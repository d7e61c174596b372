"""Joins across two databases turned into API composition (semi-joins on keys).

``Local.query.join(Remote, Local.remote_id == Remote.id).filter(Remote.col == v)`` asks one
database for two services' tables. Where the other model (``Remote``, a read model in the
moved code) only narrows the rows of the query, the same rows come back from

    Local.query.filter(Local.remote_id.in_([_row.id for _row in Remote.query.filter(Remote.col == v)]))

the keys read from the owner with the conditions its read model sends (``queries.condition``).
A model joined through another one (``.join(Shelf, ...).join(Store, ...)``) is a key read
of its own that narrows its parent's read. A chain on another service's model is composed
the same way (its read model sends the key conditions), and this service's models joined
to it are read here. That is sound where the join neither repeats nor drops rows: one
column equality whose joined side is the model's primary key (else only before ``.all()``
or ``.first()``, which drop repeated rows), an inner join, the joined model named nowhere
else than in its join and in conditions that can be sent, and no condition this code cannot
see. Anything else stays as written, listed with the reason (``Verdict.why``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import ParentNodeProvider

from migrator.extraction import queries
from migrator.extraction.data import _class_assignments, relationship_calls
from migrator.extraction.mover import dotted, is_docstring

#: links of a chain that join another table
JOIN_LINKS = {"join", "outerjoin"}
#: links that change the left side of the joins that follow
FROM_LINKS = {"select_from", "from_self", "select_entity_from"}
#: links that select columns (another service's, read from its owner by key: ``selected``)
SELECTING = ("add_columns", "with_entities")
#: reads of a query with another service's columns that ``runtime.JoinedQuery`` answers
#: (``__iter__``: a loop over the variable it is kept in)
SELECTED_READS = {"all", "first", "one", "one_or_none", "count", queries.ITERATED}


@dataclass(frozen=True)
class Shape:
    """What a join needs of one model: its table, primary key and foreign key columns."""

    table: str
    keys: tuple[str, ...]  # primary key columns
    foreign: dict[str, tuple[str, str]]  # column -> (table, column) of its ForeignKey
    #: ``Model.query`` exists (a Flask-SQLAlchemy ``db.Model``, or a ``query`` of its own)
    queried: bool = False
    #: relationship attribute -> its model's class name, for those joined on the foreign
    #: key between the two tables (no ``secondary``, ``primaryjoin``, ``foreign_keys``...)
    relations: dict[str, str] = field(default_factory=dict)
    #: column -> the name of its type (``Column(String(20))``: ``String``)
    types: dict[str, str] = field(default_factory=dict)


#: column types whose values PostgreSQL sorts by its collation (or an enum's declared order),
#: not as Python sorts strings: rows cannot be sorted by them outside the database
TEXT_TYPES = {"String", "Text", "Unicode", "UnicodeText", "VARCHAR", "CHAR", "CITEXT", "Enum"}


#: keywords of ``relationship(Model, ...)`` that leave its join condition SQLAlchemy's one
#: foreign key between the two tables
PLAIN_RELATION = {"back_populates", "backref", "lazy", "uselist", "cascade", "passive_deletes"}


def shape(table: str, nodes: list[cst.ClassDef]) -> Shape:
    """The shape of a model class from its node and the nodes of the classes it derives
    from (``nodes``, nearest first): ``Column(..., primary_key=True)`` and
    ``Column(..., ForeignKey("table.col"))`` assignments."""
    queried = any(
        dotted(base.value).rpartition(".")[2] == "Model" for node in nodes for base in node.bases
    )
    keys: list[str] = []
    foreign: dict[str, tuple[str, str]] = {}
    types: dict[str, str] = {}
    seen: set[str] = set()
    for node in nodes:
        for target, value in _class_assignments(node):
            if not (isinstance(target, cst.Name) and isinstance(value, cst.Call)):
                continue
            if target.value in seen:
                continue  # a nearer class redefines it
            seen.add(target.value)
            queried = queried or target.value == "query"
            kind = value.args[0].value if value.args and value.args[0].keyword is None else None
            if kind is not None:
                types[target.value] = dotted(kind.func if isinstance(kind, cst.Call) else kind)
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
    relations: dict[str, str] = {}
    for node in reversed(nodes):  # a nearer class redefines it
        for attr, (model, call) in relationship_calls(node).items():
            plain = all(
                a.keyword is not None and a.keyword.value in PLAIN_RELATION for a in call.args[1:]
            )
            relations.pop(attr, None)
            if plain:
                relations[attr] = model
    types = {c: t.rpartition(".")[2] for c, t in types.items() if t}
    return Shape(table, tuple(keys), foreign, queried, relations, types)


@dataclass
class Context:
    """The models a module's chains name, for one service: ``remote`` bindings stand for
    another service's model (a read model), ``local`` ones for this service's; ``shapes``
    by binding."""

    remote: set[str]
    local: set[str]
    shapes: dict[str, Shape]
    every: set[str] = field(default_factory=set)  # every model binding of the module
    #: alias binding -> the model binding it is ``aliased(...)`` of (``aliases``)
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def models(self) -> set[str]:
        return self.remote | self.local


#: keywords of ``aliased(Model, ...)`` that keep its rows those of ``Model``
ALIAS_KEYWORDS = {"name", "flat"}


class _Bindings(cst.CSTVisitor):
    """Every name a module binds, with the model each binding is ``aliased(...)`` of (None
    for any other binding)."""

    def __init__(self, models: set[str]) -> None:
        self.models = models
        self.bound: dict[str, set[str | None]] = {}

    def _take(self, target: cst.CSTNode, model: str | None = None) -> None:
        if isinstance(target, cst.Name):
            self.bound.setdefault(target.value, set()).add(model)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._take(element.value)
        elif isinstance(target, cst.StarredElement):
            self._take(target.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        model = alias_of(node.value, self.models)
        for t in node.targets:
            self._take(t.target, model if len(node.targets) == 1 else None)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._take(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._take(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._take(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._take(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._take(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._take(node.name)

    def visit_Param(self, node: cst.Param) -> None:
        self._take(node.name)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._take(node.name)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._take(node.name)


def alias_of(node: cst.BaseExpression, models: set[str]) -> str | None:
    """The model of ``aliased(Model)`` / ``aliased(Model, name="...")`` (an alias whose rows
    are the model's rows), else None."""
    if not (isinstance(node, cst.Call) and dotted(node.func).rpartition(".")[2] == "aliased"):
        return None
    first, *rest = node.args or [cst.Arg(cst.Name("_"), keyword=cst.Name("_"))]
    if (
        first.keyword is None
        and not first.star
        and isinstance(first.value, cst.Name)
        and first.value.value in models
        and all(a.keyword is not None and a.keyword.value in ALIAS_KEYWORDS for a in rest)
    ):
        return first.value.value
    return None


def aliases(module: cst.Module, models: set[str]) -> dict[str, str]:
    """The names a module binds only to aliases of one model (``aliased(Model)``, however
    often): each joins as one more side, read by key like ``Model`` itself."""
    visitor = _Bindings(models)
    module.visit(visitor)
    return {
        name: next(iter(bound))  # type: ignore[misc]
        for name, bound in sorted(visitor.bound.items())
        if len(bound) == 1 and None not in bound and name not in models
    }


@dataclass
class _Edge:
    parent: str  # binding on the left (the root or an earlier join)
    parent_col: str
    child_col: str  # the joined model's column the parent's must equal
    #: the parent's column has a ForeignKey to it: a row exists for each key it holds
    keyed: bool = False
    #: the joined model's column is not its primary key: several rows per parent row
    many: bool = False
    outer: bool = False  # ``outerjoin``: its parent's rows stay without a match


def listed(why: str, method: str = "join") -> str:
    """EXTRACTION.md's reason for a chain with a ``.method(...)`` join left as written."""
    return (
        f"`.{method}(...)` combines another model's table, which is in another database now, "
        f"and is not composed from key reads: {why}; read each side from its owner by key and "
        "join them in memory"
    )


@dataclass
class Verdict:
    """A chain's judgement: ``why`` it stays (empty when it is converted), else how."""

    why: str = ""
    #: the chain's model when it is another service's (its read model answers the chain)
    root: str = ""
    end: str = ""  # the read that ends a chain on another service's model
    local: str = "{}.query"  # how this service's model is queried here (its head's way)
    remote: set[str] = field(default_factory=set)  # the joined models read models stand for
    #: ``.join(Model.relationship)`` links (ids of their calls) -> the model they join
    related: dict[int, str] = field(default_factory=dict)
    #: joined remote bindings -> the edge that joins them
    edges: dict[str, _Edge] = field(default_factory=dict)
    #: remote binding -> its conditions (expressions) and keyword filters
    conditions: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    keywords: dict[str, list[cst.Arg]] = field(default_factory=dict)
    #: another service's columns selected (ids of their expressions) -> (binding, column,
    #: the name the row gives it), read from the owner by the keys the rows hold
    selected: dict[int, tuple[str, str, str]] = field(default_factory=dict)


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
    model = head.args[0].value if isinstance(head, cst.Call) and head.args else None
    if isinstance(model, cst.Name) and queries.session_query(head, model.value):
        return model.value
    return None


def joined_by(node: cst.BaseExpression) -> list[str]:
    """The join methods of a chain's links, in order (``join``, ``outerjoin``)."""
    return [m for m, _ in chain(node)[1] if m in JOIN_LINKS]


def joins_something(node: cst.BaseExpression) -> bool:
    """A query chain with a ``join``/``outerjoin`` link (whatever its models)."""
    head, links = chain(node)
    return root_of(head) is not None and any(m in JOIN_LINKS for m, _ in links)


class _Plain(cst.CSTVisitor):
    """The ``Name`` nodes of an expression outside the query chains nested in it (a read
    of another model inside a condition is a value there, judged on its own)."""

    def __init__(self) -> None:
        self.found: list[cst.Name] = []

    def visit_Call(self, node: cst.Call) -> bool:
        head, links = chain(node)
        return not (links and root_of(head) is not None)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return root_of(node) is None

    def visit_Name(self, node: cst.Name) -> None:
        self.found.append(node)


def _plain(node: cst.CSTNode) -> list[cst.Name]:
    visitor = _Plain()
    node.visit(visitor)
    return visitor.found


def chain_names(node: cst.BaseExpression) -> list[cst.Name]:
    """The ``Name`` nodes a chain's judgement covers: its head's and its links' arguments',
    outside the query chains nested in those."""
    head, links = chain(node)
    own = (
        [head.value]
        if isinstance(head, cst.Attribute) and isinstance(head.value, cst.Name)
        else _plain(head)
    )
    return own + [n for _, c in links for a in c.args for n in _plain(a)]


def _names(node: cst.CSTNode) -> set[str]:
    return {n.value for n in _plain(node)}


def _argument_names(call: cst.Call) -> set[str]:
    """The names in a link's arguments (not in the chain it is called on)."""
    return set().union(*(_names(a) for a in call.args))


def _column(node: cst.BaseExpression) -> tuple[str, str] | None:
    """``Model.col``: (binding, column)."""
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
        return node.value.value, node.attr.value
    return None


def _edge(
    target: str, call: cst.Call, joined: list[str], ctx: Context, via: str = ""
) -> _Edge | str:
    """How ``.join(target[, onclause])`` joins ``target`` to one of the ``joined`` models (to
    ``via`` for a relationship of ``via``), or why that is not one column equality (``many``
    when ``target``'s column is not its primary key: the join repeats the parent's rows)."""
    positional = [a for a in call.args if a.keyword is None and not a.star]
    flags = [a for a in call.args if a.keyword is not None and a.keyword.value == "isouter"]
    if len(positional) + len(flags) != len(call.args) or _outer(call) is None:
        return f"`.join({target}, ...)` has keyword arguments (a full join)"
    tshape = ctx.shapes.get(target)
    if tshape is None:
        return f"the table of {target} is not known"
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
        held = ctx.shapes[b].foreign.get(bcol) if b in ctx.shapes else None
        keyed = held == (tshape.table, acol)
        return _Edge(b, bcol, acol, keyed, tshape.keys != (acol,))
    if len(positional) != 1:
        return f"`.join({target}, ...)` has more than a model and a condition"
    # SQLAlchemy's rule: a foreign key between the model joined last and the target, else
    # between any model joined so far and the target; exactly one
    for among in [[via]] if via else ([joined[-1]], joined):
        paths = _paths(target, among, ctx)
        if paths:
            break
    if len(paths) != 1:
        return f"the join of {target} has no single foreign key to follow"
    parent, pcol, tcol, keyed = paths[0]
    return _Edge(parent, pcol, tcol, keyed, tcol not in tshape.keys or len(tshape.keys) != 1)


def _paths(target: str, among: list[str], ctx: Context) -> list[tuple[str, str, str, bool]]:
    """The foreign keys between ``target`` and the models ``among``, either way: (model,
    its column, the target's column, whether the model's column is the foreign key)."""
    tshape = ctx.shapes[target]
    out = []
    for name in among:
        shape = ctx.shapes.get(name)
        if shape is None:
            continue
        out += [
            (name, col, to, True)
            for col, (table, to) in sorted(shape.foreign.items())
            if table == tshape.table
        ]
        out += [
            (name, to, col, False)
            for col, (table, to) in sorted(tshape.foreign.items())
            if table == shape.table
        ]
    return out


def judge(node: cst.BaseExpression, ctx: Context, later: list[str] | None = None) -> Verdict | None:
    """Whether the query chain ``node`` (its outermost call) can be composed from key reads:
    its joined models (another service's, or any model when the chain reads another
    service's model) each become the keys their parent's column must be in. None when the
    chain names no other service's model (nothing for this module to decide). ``later``:
    the reads of the variable the chain is assigned to, where only refined and read
    (``variable``)."""
    head, links = chain(node)
    root = root_of(head)
    if root is None or not (
        root in ctx.remote or set().union(*(_argument_names(c) for _, c in links)) & ctx.remote
    ):
        return None
    if root not in ctx.models:
        return Verdict(f"the query reads {root}, which is neither a model here nor a read model")
    if root in ctx.aliases:
        return Verdict(f"the query reads {root}, an alias of {ctx.aliases[root]}")
    local = (
        "{}.query" if isinstance(head, cst.Attribute) else _code(head.func) + "({})"  # type: ignore[attr-defined]
    )
    moved = sorted({m for m, _ in links} & FROM_LINKS)
    if moved:
        return Verdict(f"`.{moved[0]}(...)` changes what the joins start from")
    verdict = Verdict(root=root if root in ctx.remote else "", local=local)
    joined = [root]
    lasts: list[str] = []  # the model each link follows (``filter_by`` filters it)
    for method, call in links:  # the joins first: a condition may name a later one
        lasts.append(joined[-1])
        if method in JOIN_LINKS:
            why = _join(method, call, joined, verdict, ctx)
            if why:
                return Verdict(why)
    kept: list[str] = []
    for (method, call), last in zip(links, lasts, strict=True):
        if method in JOIN_LINKS:
            continue
        if verdict.end:
            return Verdict(f"`.{verdict.end}()` of {root}'s read model is not the last link")
        if method == "filter":
            for arg in call.args:
                why = _condition(arg, verdict, ctx, method)
                if why:
                    return Verdict(why)
            continue
        if method == "filter_by" and (last in verdict.edges or verdict.root):
            if any(_names(a.value) & ctx.models or a.keyword is None for a in call.args):
                return Verdict(f"`.filter_by(...)` of {last} has values a read model does not send")
            if last in verdict.edges:
                verdict.keywords.setdefault(last, []).extend(call.args)
            continue
        kept.append(method)
        if verdict.root:
            why = _read_link(method, call, root, ctx)
            if why:
                return Verdict(why)
            verdict.end = method if method in queries.READS else ""
            continue
        named = _argument_names(call) & set(verdict.edges)
        if named and method in SELECTING:
            why = _selection(method, call, verdict)
            if why:
                return Verdict(why)
            continue
        text = _text_order(call, verdict, ctx) if method == "order_by" else ""
        if text:
            return Verdict(
                f"`.order_by(...)` sorts by {text}, a text column of another service's model: "
                "PostgreSQL sorts text by its collation, unlike Python, so the rows cannot be "
                "sorted outside its database"
            )
        if named:
            return Verdict(
                f"`.{method}(...)` names {sorted(named)[0]}'s columns, which are in another "
                "database now (only conditions on them can be composed)"
            )
    if verdict.root and not verdict.end and later is None:
        return Verdict(
            f"the joined query of {root}, another service's model, is not read at once nor "
            "kept in a variable that is only refined and read"
        )
    for target, edge in verdict.edges.items():
        narrowed = verdict.conditions.get(target) or verdict.keywords.get(target)
        inner = any(e.parent == target and not e.outer for e in verdict.edges.values())
        if edge.outer and (narrowed or inner):
            return Verdict(
                f"`.outerjoin({target}, ...)` keeps rows without a {target} row (only an outer "
                "join named nowhere else is left out)"
            )
    if verdict.selected and not (
        kept[-1] in SELECTED_READS
        or (later is not None and set(later) <= SELECTED_READS and kept[-1] not in queries.READS)
    ):
        return Verdict(
            "the query selects another service's columns and is not read at once with "
            "`.all()`/`.first()`/`.one()` nor kept in a variable that is only refined, read "
            "and looped over"
        )
    many = sorted(t for t, e in verdict.edges.items() if e.many)
    if verdict.root and not verdict.end and many:
        kept.append("")  # refined and read elsewhere: the repeats may count
    if many and not (kept and kept[-1] in DEDUPLICATED and set(kept[:-1]) <= {"order_by"}):
        return Verdict(
            f"the join repeats a row for each {many[0]} row that matches, and the query does "
            "more with them than `.all()` or `.first()` (which drop the repeats)"
        )
    return verdict


def _path(binding: str, verdict: Verdict) -> list[str]:
    """The composed models from the first one joined to a model of this query (not composed)
    to ``binding``."""
    path = [binding]
    while verdict.edges[path[0]].parent in verdict.edges:
        path.insert(0, verdict.edges[path[0]].parent)
    return path


def _text_order(call: cst.Call, verdict: Verdict, ctx: Context) -> str:
    """The first ``Model.col`` (or ``.desc()``/``.asc()`` of it) of a composed model that an
    ``order_by`` link sorts by and whose type is text (``TEXT_TYPES``), else ""."""
    for arg in call.args:
        node = arg.value
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and not node.args:
            if node.func.attr.value in ("desc", "asc"):
                node = node.func.value
        column = _column(node)
        if column is None or column[0] not in verdict.edges or column[0] not in ctx.shapes:
            continue
        if ctx.shapes[column[0]].types.get(column[1]) in TEXT_TYPES:
            return f"{column[0]}.{column[1]}"
    return ""


def _selected(node: cst.BaseExpression) -> tuple[str, str, str] | None:
    """``Model.col`` or ``Model.col.label("name")``: (binding, column, the row's name)."""
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "label"
        and len(node.args) == 1
        and node.args[0].keyword is None
        and isinstance(node.args[0].value, cst.SimpleString)
    ):
        column = _column(node.func.value)
        label = node.args[0].value.evaluated_value
        return (*column, str(label)) if column and isinstance(label, str) else None
    column = _column(node)
    return (*column, column[1]) if column else None


def _selection(method: str, call: cst.Call, verdict: Verdict) -> str:
    """Note the other services' columns a ``.add_columns(...)``/``.with_entities(...)`` link
    selects (``verdict.selected``), or say why they cannot be read by key: each is a plain
    column of a composed model (joined on its primary key, directly or through other composed
    ones, from a foreign key of this service's model: one row at most for each row here)."""
    for arg in call.args:
        names = _names(arg.value) & set(verdict.edges)
        if not names:
            continue
        picked = _selected(arg.value) if arg.keyword is None and not arg.star else None
        if picked is None or picked[0] not in verdict.remote:
            return (
                f"`.{method}(...)` selects an expression of {min(names)}'s columns, which are "
                "in another database now (only its plain columns can be read by key)"
            )
        verdict.selected[id(arg.value)] = picked
    return ""


def _join(method: str, call: cst.Call, joined: list[str], verdict: Verdict, ctx: Context) -> str:
    """Note how one join link composes (``verdict.edges``) and the model it joins
    (``joined``), or say why it cannot."""
    target, via = _target(call), ""
    if target is None:
        related = _relation(call, joined, ctx)
        if related.startswith("`"):
            return related
        target, via = related, _column(call.args[0].value)[0]  # type: ignore[index]
        verdict.related[id(call)] = target
    if target not in ctx.models or target in joined:
        return (
            f"`.{method}(...)` joins something other than a model once "
            "(a relationship, an alias or the same model again)"
        )
    if target in ctx.remote or verdict.root:
        edge = _edge(target, call, joined, ctx, via)
        if isinstance(edge, str):
            return edge
        edge.outer = method == "outerjoin" or bool(_outer(call))
        if target in ctx.local and verdict.local == "{}.query" and not ctx.shapes[target].queried:
            return f"{target}, this service's model, has no `{target}.query` to read its keys with"
        verdict.edges[target] = edge
        if target in ctx.remote:
            verdict.remote.add(target)
    elif _argument_names(call) & set(verdict.edges):
        return f"`.{method}({target}, ...)` joins a model through another service's"
    elif len([a for a in call.args if a.keyword is None]) == 1 and verdict.edges and not via:
        return f"`.{method}({target})` could join through another service's model"
    joined.append(target)
    return ""


#: reads of a one-model query that drop the rows a join repeats (SQLAlchemy's ``Query``)
DEDUPLICATED = ("all", "first")


def _read_link(method: str, call: cst.Call, root: str, ctx: Context) -> str:
    """Why a link of a chain on ``root``'s read model is not sent (empty when it is): its
    own ordering, limits and a read."""
    if method == "order_by" and all(
        a.keyword is None and not a.star and queries.ordering(a.value, root) for a in call.args
    ):
        return ""
    if (
        method in ("limit", "offset")
        and len(call.args) == 1
        and not _argument_names(call) & ctx.models
    ):
        return ""
    if method in queries.READS and not _argument_names(call) & ctx.models:
        return ""
    if method == "order_by":
        return f"`.order_by(...)` of {root}'s read model names other columns than its own"
    return queries.why_stopped(method)


def _relation(call: cst.Call, joined: list[str], ctx: Context) -> str:
    """The model ``.join(Model.relationship)`` joins (a binding of this module), else why it
    is not composed (starting with a backquote)."""
    link = _column(call.args[0].value) if len(call.args) == 1 and not call.args[0].keyword else None
    if link is None or link[0] not in joined:
        return (
            "`.join(...)` joins something other than a model once "
            "(a relationship, an alias or the same model again)"
        )
    owner, attr = link
    shape = ctx.shapes.get(owner)
    model = shape.relations.get(attr) if shape else None
    if model is None or model not in ctx.shapes:
        return (
            f"`.join({owner}.{attr})` joins a relationship that is not one foreign key to a "
            "model named in this module (`secondary`, `primaryjoin`, or its model not imported)"
        )
    return model


def _outer(call: cst.Call) -> bool | None:
    """``.join(..., isouter=True)``: an outer join like ``.outerjoin(...)`` (None: not said
    with a literal)."""
    flags = [a.value for a in call.args if a.keyword is not None and a.keyword.value == "isouter"]
    if any(not (isinstance(f, cst.Name) and f.value in ("True", "False")) for f in flags):
        return None
    return any(f.value == "True" for f in flags)  # type: ignore[attr-defined]


def _target(call: cst.Call) -> str | None:
    if call.args and call.args[0].keyword is None and isinstance(call.args[0].value, cst.Name):
        return call.args[0].value.value
    return None


def _condition(arg: cst.Arg, verdict: Verdict, ctx: Context, method: str) -> str:
    """Sort one ``filter`` argument: a condition on this service's models stays (on a query of
    this service's model), one on a composed model goes to its key read (sent by its read
    model, or any SQL condition for this service's model); anything else is the reason the
    chain stays."""
    if arg.keyword is not None or arg.star:
        return f"`.{method}(...)` has arguments that are not conditions"
    names = _names(arg.value) & ctx.models
    if not names:
        return (
            f"`.{method}(...)` gets a condition built by other code, which may name a "
            "joined model of another service"
        )
    if not verdict.root and not names & ctx.remote:
        return ""  # this service's SQL
    if len(names) == 1:
        (binding,) = names
        served = binding in ctx.local or queries.condition(arg.value, binding, ctx.models)
        if binding == verdict.root and served:
            return ""  # sent by the read model the chain is on
        if binding in verdict.edges and served:
            verdict.conditions.setdefault(binding, []).append(arg.value)
            return ""
    if len(names) > 1:
        return f"`.{method}(...)` has a condition on the columns of {' and '.join(sorted(names))}"
    return f"`.{method}(...)` has a condition on {min(names)}'s columns that a read model does not send"


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


class _Renamed(cst.CSTTransformer):
    """An alias's name replaced by its model's (its key read is a query of its own)."""

    def __init__(self, alias: str, model: str) -> None:
        self.alias, self.model = alias, model
        self.kept: set[int] = set()  # attribute and keyword names (not the alias)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.kept.add(id(node.attr))

    def visit_Arg(self, node: cst.Arg) -> None:
        self.kept.add(id(node.keyword))

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node.value != self.alias or id(original_node) in self.kept:
            return updated_node
        return updated_node.with_changes(value=self.model)


def _keys(binding: str, verdict: Verdict, aliases: dict[str, str]) -> str | None:
    """The expression of the keys of ``binding`` a parent's column must be in, or None when
    nothing narrows it and its parent's foreign key already says the row exists. An alias
    (``aliases``) is read as its model."""
    edge = verdict.edges[binding]
    children = [(n, c) for n, c in verdict.edges.items() if c.parent == binding and not c.outer]
    if edge.keyed and not (
        children or verdict.conditions.get(binding) or verdict.keywords.get(binding)
    ):
        return None
    model = aliases.get(binding, binding)
    parts = [f"{model}.query" if binding in verdict.remote else verdict.local.format(model)]
    rename = _Renamed(binding, model)
    conditions = [
        _code(c.visit(rename))  # type: ignore[arg-type]
        for c in verdict.conditions.get(binding, [])
    ]
    conditions += [
        f"{model}.{child.parent_col}.in_({keys})"
        if (keys := _keys(name, verdict, aliases)) is not None
        else f"{model}.{child.parent_col}.isnot(None)"
        for name, child in children
    ]
    if conditions:
        parts.append(f".filter({', '.join(conditions)})")
    keywords = [_code(a).rstrip(", ") for a in verdict.keywords.get(binding, [])]
    if keywords:
        parts.append(f".filter_by({', '.join(keywords)})")
    return f"[_row.{edge.child_col} for _row in {''.join(parts)}]"


def rewrite(
    node: cst.BaseExpression, verdict: Verdict, aliases: dict[str, str] | None = None
) -> cst.BaseExpression:
    """The chain ``node`` without its joins of other services' models: each becomes a
    ``filter`` of its parent's key column by the keys its owner reads (an alias's, by the
    keys its model's owner reads)."""
    head, links = chain(node)
    composed = set(verdict.edges)
    moved = {id(c) for cs in verdict.conditions.values() for c in cs}
    picks = [
        i for i, (m, c) in enumerate(links) if any(id(a.value) in verdict.selected for a in c.args)
    ]
    columns: list[str] = []  # the placeholders' entries of ``runtime.joined_columns``
    out: cst.BaseExpression = head
    for index, (method, call) in enumerate(links):
        args = list(call.args)
        if index in picks:
            args = [_placeholder(a, verdict, columns) for a in args]
        target = verdict.related.get(id(call)) or _target(call) or ""
        if method in JOIN_LINKS and target in composed:
            edge = verdict.edges[target]
            if edge.parent in composed or edge.outer:
                continue  # narrows its parent's read instead, or keeps every row
            keys = _keys(target, verdict, aliases or {})
            text = (
                f"{edge.parent}.{edge.parent_col}.in_({keys})"
                if keys is not None
                else f"{edge.parent}.{edge.parent_col}.isnot(None)"
            )
            method, args = "filter", [cst.Arg(cst.parse_expression(text))]
        elif method == "filter":
            args = [a for a in args if id(a.value) not in moved]
            if not args:
                continue
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        elif method == "filter_by" and any(
            a in verdict.keywords.get(n, []) for n in composed for a in args
        ):
            continue
        attr = call.func
        assert isinstance(attr, cst.Attribute)
        out = call.with_changes(func=attr.with_changes(value=out, attr=cst.Name(method)), args=args)
        if picks and index == picks[-1]:  # its rows take the other columns from here on
            spec = cst.parse_expression("{" + ", ".join(columns) + "}")
            out = cst.Call(
                cst.Name(JOINED),
                [cst.Arg(out.with_changes(lpar=[], rpar=[])), cst.Arg(spec)],
            )
    # a dropped last link may have held the chain's parentheses, which its line breaks need
    if isinstance(out, cst.Call) and not out.lpar and (node.lpar or "\n" in _code(out)):
        out = out.with_changes(
            lpar=node.lpar or [cst.LeftParen()], rpar=node.rpar or [cst.RightParen()]
        )
    return out


#: the name ``runtime.joined_columns`` is imported as where a chain selects another
#: service's columns
JOINED = "_joined_columns"


def _placeholder(arg: cst.Arg, verdict: Verdict, columns: list[str]) -> cst.Arg:
    """A selected column of another service's model as the key its row is read by (this
    model's foreign key, labelled ``_joined_<n>``), noted in ``columns``."""
    picked = verdict.selected.get(id(arg.value))
    if picked is None:
        return arg
    binding, column, name = picked
    path = _path(binding, verdict)
    reads = [verdict.edges[b].parent_col for b in path[1:]] + [column]
    hops = ", ".join(
        f"({b}, {verdict.edges[b].child_col!r}, {verdict.edges[b].outer}, {read!r})"
        for b, read in zip(path, reads, strict=True)
    )
    label = f"_joined_{len(columns)}"
    columns.append(f"{label!r}: (({hops},), {name!r})")
    first = verdict.edges[path[0]]
    key = cst.parse_expression(f"{first.parent}.{first.parent_col}.label({label!r})")
    return arg.with_changes(value=key)


def _future(statement: cst.CSTNode) -> bool:
    """``from __future__ import ...``."""
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(s, cst.ImportFrom) and s.module is not None and dotted(s.module) == "__future__"
        for s in statement.body
    )


def variable(
    call: cst.Call,
    func: cst.FunctionDef | None,
    models: set[str],
    parent: Callable[[cst.CSTNode], cst.CSTNode | None],
) -> tuple[list[queries.End], list[cst.Name]] | None:
    """A chain on a model assigned to a variable of ``func`` that is then only refined and
    read (``queries.query_variable``): its reads and the model's names in the refinements."""
    assign, root = parent(call), root_of(chain(call)[0])
    if root is None:
        return None
    chained = queries.READS | queries.REFINING
    return queries.kept_in(assign, func, root, models, chained, parent, skip=assign)


class Joins(cst.CSTTransformer):
    """Compose the joins of other services' models a module's chains make (``judge``); run
    through a ``MetadataWrapper`` (a chain kept in a variable is judged with its reads)."""

    METADATA_DEPENDENCIES = (ParentNodeProvider,)

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.inner: set[int] = set()  # calls inside a chain (not its outermost link)
        self.selecting = False  # a chain selects another service's columns (``JOINED``)
        self.funcs: list[cst.FunctionDef] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.funcs.append(node)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.funcs.pop()
        return updated_node

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Call):
            self.inner.add(id(node.func.value))

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if id(original) in self.inner or not joins_something(original):
            return updated
        func = self.funcs[-1] if self.funcs else None
        kept = variable(
            original, func, self.ctx.every, lambda n: self.get_metadata(ParentNodeProvider, n, None)
        )
        verdict = judge(updated, self.ctx, None if kept is None else [e[0] for e in kept[0]])
        if verdict is None or verdict.why:
            return updated
        self.selecting = self.selecting or bool(verdict.selected)
        return rewrite(updated, verdict, self.ctx.aliases)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        """``runtime.joined_columns`` imported where a chain selects another service's columns,
        after the docstring and ``from __future__`` imports."""
        if not self.selecting:
            return updated_node
        body = list(updated_node.body)
        at = 1 if body and is_docstring(body[0]) else 0
        while at < len(body) and _future(body[at]):
            at += 1
        line = cst.parse_statement(f"from interservice.runtime import joined_columns as {JOINED}")
        return updated_node.with_changes(body=[*body[:at], line, *body[at:]])

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        """``Alias = aliased(Model)`` of a read model: the read model itself (an alias of a
        read model reads the same rows; SQLAlchemy cannot alias it)."""
        model = alias_of(updated_node.value, self.ctx.remote)
        targets = updated_node.targets
        if model is None or not all(
            isinstance(t.target, cst.Name) and self.ctx.aliases.get(t.target.value) == model
            for t in targets
        ):
            return updated_node
        return updated_node.with_changes(value=cst.Name(model))
