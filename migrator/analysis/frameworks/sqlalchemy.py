"""SQLAlchemy (and Flask-SQLAlchemy, SQLModel): models, tables, relations, reads and writes.

Models: classes deriving (directly or through other models) from a declarative base:
``Base = declarative_base()`` / ``registry().generate_base()``, a ``DeclarativeBase`` subclass,
an ``@as_declarative()`` class, ``db.Model`` where ``db = SQLAlchemy()`` (or a subclass named
``*SQLAlchemy``, or a module-level alias of it, ``BaseModel = db.Model``), or a SQLModel class
declared with ``table=True`` (``Relationship()`` and ``Field(foreign_key="t.c")`` included). The table is ``__tablename__``, a ``__table__ = Table(...)``, the
Flask-SQLAlchemy default (class name in snake_case), SQLModel's (class name lower-cased), or the
parent's table for single-table inheritance, or what a ``__tablename__`` function on a base
or mixin makes (``cls.__name__.lower()``, else snake case); ``__abstract__`` classes have none. Core tables are
``Table("name", metadata, ...)`` / ``db.Table(...)`` assigned to a module-level variable.

Relations: ``relationship("X")`` (looked up by class name like SQLAlchemy's registry, nearest
module first), ``relationship(X)``, ``relationship(lambda: X)``, and typed mappings
``x: Mapped[list["X"]] = relationship(...)`` -> ``orm`` edge model -> model;
``ForeignKey("table.col")`` / ``ForeignKey(Model.col)`` -> ``Table.foreign_keys`` and an ``orm``
edge to the model (or Core table variable) that maps the referenced table.

Access, each recorded as a ``table`` edge **from the accessing top-level symbol to the model
node** (or the Core table's variable node) plus ``Table.readers`` / ``Table.writers``:
reads: ``session.query(M, N.col)``, ``select(M)``, ``.select_from(M)``, ``.join(M)``,
``M.query...``, ``session.get(M, id)``, ``db.get_or_404(M, id)``, ``table.select()``;
writes: ``session.add(M(...))``, ``session.add_all([...])``, ``session.merge``,
``session.delete(x)``, ``insert/update/delete(M)``, ``M.query....delete()/.update()``,
``table.insert()``, ``parent.children.append(M(...))`` (saved by cascade), and ``x.attr = v``
(or ``+=``) on an instance. Instances are tracked per function, by name: ``x = M(...)``,
``x = session.get(M, id)``, ``x = session.execute(select(M)...).scalar_one()``, ``x = M.query...``,
``for x in session.execute(select(M)).scalars()``, comprehensions of ``M(...)``, parameters
annotated ``x: M``, and ``x = get_m(...)`` where ``get_m`` is a top-level function annotated
``-> M`` / ``-> M | None`` / ``-> Optional[M]`` (looked up across modules in the parent half),
or ``x = M.get(...)`` where ``M`` is a model; the parent half keeps only names that resolve to
models.
ActiveRecord style: a class's method that writes its own rows (``session.add(self)``,
``session.delete(self)``, ``session.add(x)`` with ``x = cls(...)``, ``cls.query....delete()``,
or a call of such a method on ``self``/``cls`` or such an ``x``) makes ``M.create(...)`` and
``m.update(...)`` writes of ``M``'s table when ``M`` or one of its bases (a mixin) has that
method; one that reads them (``cls.query``, ``select(cls)``, ``session.get(cls, id)``) makes
``M.get(id)`` a read.
A commit or flush of the session in such a method writes too (``def approve(self): self.state
= ...; db.session.commit()``).
Generic repositories (``_repositories``): a class whose methods use ``self.model`` as a model
(``select(self.model)``, ``self.model(**data)`` added to the session) reads and writes the rows
of the model it is bound to when constructed (``RecipeRepository(session, "slug", Recipe)``,
``user = CRUDUser(User)``, ``model = User`` on the class), wherever it is used:
``crud.user.create(db, ...)``, ``self.repos.recipes.update(...)``, ``self.repo.get_one(...)``.
Helpers: a function that writes its parameter (``def create(model): session.add(model)``,
``row.x = v`` on it, a writing method called on it, or handing it to such a function) makes
``create(cert)`` with ``cert = Certificate(...)`` (or ``create(Certificate(...))``) a write of
the model's table. Reads through such helpers (``get(Certificate, id)``) are not followed yet:
the proposal's merges for the service count proved too sensitive to them (docs/analyze.md).
Raw SQL is read cheaply and only inside ``text("...")``, ``.execute("...")`` and
``.exec_driver_sql("...")``: table names after ``FROM``/``JOIN`` are reads, after
``INSERT INTO``/``UPDATE``/``DELETE FROM`` writes, and only names of known tables count.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TypedDict, cast

from migrator.analysis.facts import ModuleFacts
from migrator.analysis.frameworks import _repositories
from migrator.analysis.frameworks import _util as u
from migrator.analysis.lazy import cst
from migrator.graph import DependencyGraph, Table

_BASE_FACTORIES = ("declarative_base", "generate_base")
_ROOT_BASES = {
    "sqlalchemy.orm.DeclarativeBase",
    "sqlalchemy.orm.DeclarativeBaseNoMeta",
    "sqlalchemy.orm.decl_api.DeclarativeBase",
    "sqlalchemy.orm.decl_api.DeclarativeBaseNoMeta",
}
_WRITE_FUNCS = ("insert", "update", "delete")
_SESSION_WRITES = ("add", "add_all", "merge", "delete")
_READ_CHAIN = ("select_from", "join", "outerjoin")
_RELATION_FUNCS = ("relationship", "relation", "Relationship")
_COLUMN_FUNCS = ("Column", "mapped_column", "Field")
# calls that a class body is searched for; a module that makes none has nothing to find
_MAPPING_CALLS = frozenset((*_RELATION_FUNCS, "ForeignKey", *_COLUMN_FUNCS))
_COLLECTION_WRITES = ("append", "extend", "add", "insert")
_SELF = ("self", "cls")
# calls whose arguments are never a model handed to a helper of the project's (the session's
# own methods are left out by their receiver: ``database.delete(cert)`` may be a helper)
_NOT_HELPERS = frozenset(
    (
        *_READ_CHAIN,
        "query",
        "select",
        "get",
        "get_or_404",
        "isinstance",
        "issubclass",
        "getattr",
        "setattr",
        "hasattr",
        "super",
        "type",
        "len",
        "str",
        "repr",
        "print",
    )
)
_OWN_READS = ("select", "query", "get")  # select(cls), session.query(cls), session.get(cls, id)
_SQL_WRITE = re.compile(
    r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+[\"`\[]?"
    r"([A-Za-z_][\w.]*)",
    re.I,
)
_SQL_READ = re.compile(r"\b(?:FROM|JOIN)\s+[\"`\[]?([A-Za-z_][\w.]*)", re.I)
_SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.I)


def sql_tables(sql: str) -> list[tuple[str, str]]:
    """(table, "read"|"write") named by a SQL statement; empty for text that is not SQL."""
    if not _SQL_START.match(sql):
        return []
    writes = [(m.group(1), m.start()) for m in _SQL_WRITE.finditer(sql)]
    write_spans = {start for _, start in writes}
    out = [(name, "write") for name, _ in writes]
    for m in _SQL_READ.finditer(sql):
        # "DELETE FROM t" is a write, not a read: skip the FROM that belongs to it
        if any(
            sql[s : m.start() + 1].upper().startswith("DELETE")
            for s in write_spans
            if s <= m.start() < s + 12
        ):
            continue
        out.append((m.group(1), "read"))
    return out


def _tablename_rule(func: cst.FunctionDef) -> str:
    """How a ``__tablename__`` function names a class's table: ``"lower"`` for
    ``cls.__name__.lower()``, else ``"snake"`` (``OrderItem`` -> ``order_item``, what the
    helpers such functions call usually do)."""
    for node, _ in u.walk(func.body, func):
        if type(node) is cst.Return and node.value is not None:
            return "lower" if u.callee(node.value) == "cls.__name__.lower" else "snake"
    return "snake"


def _chain_models(expr: cst.CSTNode) -> list[str]:
    """The model(s) a query chain starts from: ``M.query...`` or ``session.query(M)...``."""
    node = expr
    while True:
        if isinstance(node, cst.Call):
            name = u.callee(node)
            if name and (name == "query" or name.endswith(".query")) and "." in name:
                return [d for d in (u.dotted(a.value) for a in node.args) if d]
            if name and u.last(name) == "get" and (name.rsplit(".", 1)[0].endswith("session")):
                first = u.dotted(u.arg(node, 0))
                return [first] if first else []
            node = node.func
        elif isinstance(node, cst.Attribute):
            name = u.dotted(node)
            if name is not None:
                parts = name.split(".")
                if "query" in parts[1:]:  # M.query / M.query.filter_by
                    return [".".join(parts[: parts.index("query", 1)])]
                return []
            node = node.value
        else:
            return []


def _select_model(expr: cst.CSTNode, lookup: Any) -> str | None:
    """``M`` for ``session.execute(select(M).where(...)).scalar_one()`` and the like
    (``lookup`` maps a variable holding a statement to its model)."""
    node = expr
    while True:
        if isinstance(node, cst.Call):
            name = u.callee(node)
            last = u.last(name)
            if last == "select" and node.args:
                return u.dotted(node.args[0].value)
            if last in ("execute", "scalars", "scalar") and node.args:
                first = node.args[0].value
                if isinstance(first, cst.Name):
                    return lookup(first.value)
                return _select_model(first, lookup)
            node = node.func
        elif isinstance(node, cst.Attribute):
            node = node.value
        else:
            return None


def _collection_model(expr: cst.CSTNode) -> str | None:
    """``M`` for ``[M(...) for ...]``, ``{k: M(...) ...}`` or a literal list of ``M(...)``."""
    if isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
        return _constructed(expr.elt)
    if isinstance(expr, cst.DictComp):
        return _constructed(expr.value)
    if isinstance(expr, (cst.List, cst.Set, cst.Tuple)) and expr.elements:
        return _constructed(expr.elements[0].value)
    return None


def _annotation_model(expr: cst.CSTNode) -> str | None:
    """The class a return annotation names: ``M``, ``"M"``, ``M | None``, ``Optional[M]``."""
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
        return _annotation_model(expr.left) or _annotation_model(expr.right)
    if (
        isinstance(expr, cst.Subscript)
        and u.last(u.dotted(expr.value)) == "Optional"
        and expr.slice
        and isinstance(expr.slice[0].slice, cst.Index)
    ):
        return _annotation_model(expr.slice[0].slice.value)
    name = u.string(expr)
    if name is not None:  # "M", "M | None", "Optional[M]"
        for word in re.findall(r"[A-Za-z_][\w.]*", name):
            if u.capital(word) and word not in ("None", "Optional"):
                return word
        return None
    name = u.dotted(expr)
    return name if name and u.capital(name) and name != "None" else None


_CONTAINERS = {
    "Mapped",
    "WriteOnlyMapped",
    "DynamicMapped",
    "List",
    "list",
    "Set",
    "set",
    "Optional",
    "Union",
    "Dict",
    "dict",
    "Sequence",
    "Collection",
    "Tuple",
    "tuple",
    "None",
    "Any",
}


def _annotation_target(expr: cst.CSTNode) -> SaRef | None:
    """The related class named by a typed mapping's annotation (``Mapped[List["Post"]]``)."""
    if isinstance(expr, cst.Subscript):
        for element in reversed(expr.slice):
            if isinstance(element.slice, cst.Index):
                found = _annotation_target(element.slice.value)
                if found:
                    return found
        return None
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
        return _annotation_target(expr.left) or _annotation_target(expr.right)
    text = u.string(expr)
    if text is not None:
        words = [
            w
            for w in re.findall(r"[A-Za-z_][\w.]*", text)
            if u.last(w) not in _CONTAINERS and u.capital(w)
        ]
        return {"target": words[-1], "string": True} if words else None
    name = u.dotted(expr)
    if name and u.last(name) not in _CONTAINERS and u.capital(name):
        return {"target": name, "string": False}
    return None


def _model_of(value: cst.CSTNode | None, lookup: Any) -> str | None:
    """The model an expression's value is an instance (or collection) of, when it shows."""
    if value is None:
        return None
    return (
        _constructed(value)
        or next(iter(_chain_models(value)), None)
        or _select_model(value, lookup)
        or _collection_model(value)
    )


def _constructed(expr: cst.CSTNode | None) -> str | None:
    """``M`` for ``M(...)`` where the callee's last part is capitalised (a class)."""
    name = u.callee(expr) if expr is not None else None
    if name and u.capital(name):
        return name
    return None


def _may_return_model(called: str) -> bool:
    """Whether ``x = called(...)`` may give a model instance: a function (``get_order``, its
    return hint read in the parent half) or a class's method (``Order.get``); not a method of
    a module or object (``requests.get``)."""
    return "." not in called or u.capital(called.rsplit(".", 1)[0])


def _unsubscripted(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``Repository[Recipe, RecipeModel]`` -> ``Repository``: a generic base as a class."""
    return expr.value if isinstance(expr, cst.Subscript) else expr


def _sessionish(recv: str) -> bool:
    """A receiver that is a session: ``session``, ``db.session``, ``self.session``, or ``db``
    (the usual name of a session parameter, ``db: Session``)."""
    return recv.lower().endswith("session") or u.last(recv) == "db"


if TYPE_CHECKING:  # libcst loads lazily, in the parser processes only
    #: a class's methods, each with the nodes of its body (walked once, read by three passes)
    Methods = list[tuple[cst.FunctionDef, list[cst.CSTNode]]]


def _methods(node: cst.ClassDef) -> Methods:
    return [
        (stmt, [sub for sub, _ in u.walk(stmt.body)])
        for stmt in node.body.body
        if type(stmt) is cst.FunctionDef
    ]


def _model_attributes(methods: Methods) -> set[str]:
    """Attributes of ``self`` that a class's methods use as a model: ``select(self.model)``,
    ``session.query(self.model)``, ``delete(self.model)``, ``self.model.query`` (a generic
    repository, bound to its model when constructed)."""
    found: set[str] = set()
    for sub in (sub for _, body in methods for sub in body):
        if type(sub) is cst.Attribute and sub.attr.value == "query":
            name = u.dotted(sub.value) or ""  # self.model.query, not self.session.query(...)
        elif type(sub) is cst.Call and sub.args:
            called = u.callee(sub) or ""
            recv, _, last = called.rpartition(".")
            if not (
                (last in ("select", "query") and recv not in _SELF)
                or (last == "get" and _sessionish(recv))
                or (last in _WRITE_FUNCS and recv in ("", "sa", "sqlalchemy", "sqlmodel"))
            ):
                continue
            name = u.dotted(sub.args[0].value) or ""
        else:
            continue
        if name.startswith("self.") and name.count(".") == 1 and not _sessionish(name):
            found.add(name[5:])
    return found


def _own_row_methods(
    methods: Methods, attrs: set[str]
) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """The methods of a class that write its own rows and those that read them; a generic
    repository's rows are those of the model it is bound to (``self.model``).
    Writes: ``session.add(self)``, ``session.delete(self)``, ``session.add(x)`` where
    ``x = cls(...)``, ``x = self`` or ``x = self.model(...)``, ``cls.query....delete()``,
    ``delete(self.model)``, a commit or flush of the session. Reads: ``cls.query``,
    ``select(cls)``, ``session.query(self.model)``, ``session.get(cls, id)``. And a call of
    such a method on ``self``/``cls`` or on such an ``x`` (``create`` -> ``create_no_commit``
    -> ``session.add``; ``x = cls(...)`` then ``x.save()``; ``get_or_404`` -> ``cls.get``).
    Third: per class name, the methods that read it by name (``db.query(User)`` in a
    repository's ``get_by_email``): the parent half counts them when that is the class the
    repository is bound to."""
    rows = set(_SELF) | {f"self.{a}" for a in attrs}
    direct: set[str] = set()
    reads: set[str] = set()
    named: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    for stmt, body in methods:
        name, own, called = stmt.name.value, set(rows), set()
        for sub in body:  # x = cls(...), x = self: another name for the row
            names, value = u.assign_targets(sub)
            if names and (u.callee(value) in rows or u.dotted(value) in _SELF):
                own.update(names)
        for sub in body:
            if (
                type(sub) is cst.Attribute
                and sub.attr.value == "query"
                and u.dotted(sub.value) in rows
            ):
                reads.add(name)
            if type(sub) is not cst.Call:
                continue
            if u.last(u.callee(sub)) in _OWN_READS and sub.args:
                if any(u.dotted(a.value) in rows for a in sub.args):
                    reads.add(name)
                first = u.dotted(sub.args[0].value)
                if first and u.capital(first) and first not in rows:
                    named.setdefault(first, set()).add(name)
            if u.callee(sub) in _WRITE_FUNCS and sub.args:  # delete(self.model), bare
                if u.dotted(sub.args[0].value) in rows:
                    direct.add(name)
            if not isinstance(sub.func, cst.Attribute):
                continue
            last, recv = sub.func.attr.value, u.dotted(sub.func.value) or ""
            if last in _SESSION_WRITES and _sessionish(recv):
                if any(u.dotted(a.value) in own for a in sub.args):
                    direct.add(name)
            elif last in ("commit", "flush") and _sessionish(recv):
                direct.add(name)
            elif last in _WRITE_FUNCS and any(m in rows for m in _chain_models(sub.func.value)):
                direct.add(name)
            elif recv in own:  # self.save(), or row.save() after row = cls(...)
                called.add(last)
        calls[name] = called

    def closed(found: set[str]) -> list[str]:
        grown = True
        while grown:
            more = {m for m, c in calls.items() if c & found} - found
            found |= more
            grown = bool(more)
        return sorted(found)

    writers = closed(direct)
    by_name = {
        model: [m for m in closed(found) if m not in writers]
        for model, found in sorted(named.items())
    }
    return (
        writers,
        [m for m in closed(reads) if m not in writers],
        {model: found for model, found in by_name.items() if found},
    )


class SaRef(TypedDict, total=False):
    """A relationship's or a foreign key's target: a class or table as written or a string."""

    target: str
    string: bool
    line: int
    _node: Any  # in ``collect`` only: the node whose line becomes ``line``


class SaTable(TypedDict, total=False):
    """A Core ``x = Table("name", metadata, ...)``."""

    name: str
    fks: list[SaRef]
    var: str
    line: int
    _node: Any  # in ``collect`` only


class SaClass(TypedDict, total=False):
    """What a class says about mapping (see ``_class``)."""

    name: str
    bases: list[str]
    keywords: list[str]  # class keywords set to ``True`` (``table=True``)
    writers: list[str]  # methods that write the class's own rows (ActiveRecord style)
    readers: list[str]  # methods that read them and write none
    # a generic repository (``_repositories``): attributes of ``self`` used as a model, the
    # ``__init__`` parameter stored in one ([attribute, parameter]), ``__init__``'s positional
    # parameters after ``self``, and class attributes naming a class
    model_attrs: list[str]
    slot: list[str]
    init: list[str]
    attrs: dict[str, str]
    named_reads: dict[str, list[str]]  # class name -> methods reading it by name
    holds: dict[str, str]  # a wrapper: ``self.attribute = parameter`` of ``__init__``
    wraps: dict[str, list[str]]  # ... method -> ["attribute.method"] it calls on those
    decorators: list[str]
    tablename: str | None
    tablename_rule: str  # ``@declared_attr __tablename__``: "lower" | "snake"
    abstract: bool
    table_var: str | None  # ``__table__ = users`` (a Core table)
    table_name: str | None  # ``__table__ = Table("users", ...)``
    has_pk: bool
    relations: list[SaRef]
    fks: list[SaRef]
    line: int
    _node: Any  # in ``collect`` only


class SaBase(TypedDict, total=False):
    """A declarative base, a Flask-SQLAlchemy object or an alias of ``db.Model``."""

    var: str
    kind: str  # "declarative" | "flask" | "alias"
    of: str  # alias: what it names
    line: int


class SaAccess(TypedDict, total=False):
    """A read or write: of a model or table as written (``target``), of a table an SQL string
    names (``table``), or of what a call returns (``call``, settled in the parent half)."""

    target: str
    table: str
    call: str
    op: str  # "read" | "write" | "call" (of ``via``) | "arg" (handed to ``via``)
    via: str  # "call": a method of the model's; "arg": the function the model is handed to
    arg: int  # "arg": the position it is handed at
    line: int


class SQLAlchemyFacts(TypedDict):
    """What ``collect`` keeps of one module (version: ``SQLAlchemyPlugin.facts_version``).
    ``_node`` keys are removed before the facts leave the worker."""

    classes: list[SaClass]
    bases: list[SaBase]
    tables: list[SaTable]
    access: list[SaAccess]
    returns: dict[str, str]  # top-level function -> model its return annotation names
    # top-level function -> [[position, ops]]: what it does to a parameter ("write",
    # "call:<method>"), and [function, position, callee, position]: a parameter handed on
    helpers: dict[str, list[list[Any]]]
    forwards: list[list[Any]]
    # generic repositories (``_repositories``): where one is bound to a model, and calls of
    # methods on a receiver that may be one
    bindings: list[_repositories.RepoBinding]
    uses: list[_repositories.RepoUse]


class SQLAlchemyPlugin:
    """See the module docstring."""

    name = "sqlalchemy"
    facts_version = 3
    # markers: a cheap text filter; files that use the ORM import it or touch a session/query,
    # call the usual methods of an ActiveRecord-style mixin (``Task.create(...)``) or use a
    # repository
    markers = (
        "sqlalchemy",
        "sqlmodel",
        "SQLModel",
        "__tablename__",
        "db.Model",
        ".query",
        "session",
        "relationship(",
        "Column(",
        "mapped_column(",
        "Table(",
        ".create(",
        ".save(",
        ".update(",
        ".delete(",
        "repo",  # generic repositories: self.repos.recipes.create(...), self.repo.get_one(...)
        "Repo",
    )

    # -- worker half ---------------------------------------------------------------------------
    def collect(
        self, tree: cst.Module, module: str, file: str, ctx: u.WalkContext | None = None
    ) -> SQLAlchemyFacts | None:
        lines = u.Lines(tree, ctx)
        bases: list[tuple[cst.CSTNode, SaBase]] = []
        tables: list[SaTable] = []
        access: list[tuple[cst.CSTNode, SaAccess]] = []
        var_models: dict[tuple[int, str], str] = {}
        var_calls: dict[tuple[int, str], str] = {}  # x = some_function(...)
        returns: dict[str, str] = {}  # top-level function -> model named by its return hint
        top_defs = {id(s) for s in tree.body if type(s) is cst.FunctionDef}
        # (node, scope, variable, op, method: a write through this method, if it writes)
        pending: list[tuple[cst.CSTNode, Any, cst.Name, str, str | None]] = []
        # (call, scope, variable, helper, position): a model instance handed to a function
        arg_pending: list[tuple[cst.CSTNode, Any, str, str, int]] = []
        sql: list[tuple[cst.CSTNode, str]] = []

        params: dict[int, tuple[str, list[str]]] = {}  # top-level function -> name, parameters
        helpers: dict[str, dict[int, set[str]]] = {}  # function -> parameter -> ops on it
        forwards: list[tuple[str, int, str, int]] = []  # (function, parameter, callee, position)

        def param_of(scope: Any, name: str | None) -> tuple[str, int] | None:
            """(function, position) when ``name`` is a positional parameter of the top-level
            function ``scope``: what it does with it, a caller's argument has done to it."""
            found = params.get(id(scope)) if scope is not None else None
            if found is None or not name or name not in found[1]:
                return None
            return found[0], found[1].index(name)

        def note(
            scope: Any,
            node: cst.CSTNode,
            target: str | None,
            op: str,
            via: str | None = None,
            arg: int | None = None,
        ) -> None:
            param = param_of(scope, target)
            if param is not None:  # def create(model): session.add(model)
                if op != "read":  # reads through helpers are not followed (see the docstring)
                    helpers.setdefault(param[0], {}).setdefault(param[1], set()).add(
                        f"call:{via}" if via else op
                    )
                return
            if target:
                found: SaAccess = {"target": target, "op": op}
                if via:
                    found["via"] = via
                if arg is not None:
                    found["arg"] = arg
                access.append((lines.want(node), found))

        class_nodes: list[cst.ClassDef] = []
        mapping = False  # any call to relationship(), ForeignKey(), Column() etc.
        # this loop visits every node of each file with a marker: exact types, bound once
        classdef_t, attribute_t, call_t, for_t, function_t = (
            cst.ClassDef,
            cst.Attribute,
            cst.Call,
            cst.For,
            cst.FunctionDef,
        )
        assigns = (cst.Assign, cst.AnnAssign, cst.AugAssign)
        for node, scope in u.walk(tree, ctx=ctx):
            tp = type(node)
            if tp is classdef_t:
                if scope is None:
                    class_nodes.append(cast(cst.ClassDef, node))
            elif tp in assigns:
                # ``obj.attr = value`` on an instance of a model: an UPDATE at flush
                if tp is cst.Assign:
                    targets = [t.target for t in cast(cst.Assign, node).targets]
                else:
                    targets = [cast("cst.AnnAssign | cst.AugAssign", node).target]
                for t in targets:
                    if isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name):
                        pending.append((node, scope, t.value, "write", None))
                if tp is cst.AugAssign:
                    continue
                names, value = u.assign_targets(node)
                if not names or value is None:
                    continue
                factory = u.last(u.callee(value))
                alias = u.dotted(value) if scope is None else None
                if alias and alias.endswith(".Model"):  # ``BaseModel = db.Model``
                    for var in names:
                        bases.append((lines.want(node), {"var": var, "kind": "alias", "of": alias}))
                elif factory in _BASE_FACTORIES or (factory or "").endswith("SQLAlchemy"):
                    # ``db = SQLAlchemy()``, or of a subclass (``db = RedashSQLAlchemy()``)
                    kind = "declarative" if factory in _BASE_FACTORIES else "flask"
                    for var in names:
                        bases.append((lines.want(node), {"var": var, "kind": kind}))
                elif factory == "Table" and scope is None and type(value) is cst.Call:
                    table = self._core_table(value, lines)
                    if table:
                        tables.extend({**table, "var": var} for var in names)
                model = _model_of(value, lambda v, sc=scope: var_models.get((id(sc), v)))
                if model:
                    for var in names:
                        var_models[(id(scope), var)] = model
                elif called := u.callee(value):
                    for var in names:
                        var_calls[(id(scope), var)] = called
            elif tp is attribute_t and cast(cst.Attribute, node).attr.value == "query":
                base = u.dotted(cast(cst.Attribute, node).value)
                if base and not base.lower().endswith("session"):  # session.query(...) is a call
                    note(scope, node, base, "read")
            elif tp is for_t and type(cast(cst.For, node).target) is cst.Name:
                loop = cast(cst.For, node)
                model = _model_of(loop.iter, lambda v, sc=scope: var_models.get((id(sc), v)))
                if model:
                    var_models[(id(scope), cast(cst.Name, loop.target).value)] = model
            elif tp is function_t:
                func_def = cast(cst.FunctionDef, node)
                if id(node) in top_defs:
                    positional = (*func_def.params.posonly_params, *func_def.params.params)
                    params[id(node)] = (func_def.name.value, [p.name.value for p in positional])
                if id(node) in top_defs and func_def.returns is not None:
                    hint = _annotation_model(func_def.returns.annotation)
                    if hint:
                        returns[func_def.name.value] = hint
                for param in (*func_def.params.params, *func_def.params.kwonly_params):
                    hint = (
                        _annotation_model(param.annotation.annotation) if param.annotation else None
                    )
                    if hint:
                        var_models[(id(node), param.name.value)] = hint
            elif tp is call_t:
                call = cast(cst.Call, node)
                func = call.func
                last = (
                    func.attr.value
                    if type(func) is attribute_t
                    else func.value
                    if type(func) is cst.Name
                    else None
                )
                if last is None:
                    continue
                mapping = mapping or last in _MAPPING_CALLS
                self._call(call, last, scope, note, pending)
                if last not in _NOT_HELPERS and call.args:
                    self._helper_call(call, scope, param_of, note, forwards, arg_pending)
                if last in ("text", "execute", "exec_driver_sql"):
                    self._raw_sql(call, lines, sql)
        classes = [self._class(node, lines, mapping) for node in class_nodes]
        repos = _repositories.collect(tree, ctx, lines)
        calls: list[tuple[cst.CSTNode, SaAccess]] = []
        for node, scope, value, op, via in pending:
            key = (id(scope), value.value)
            if key in var_models:
                note(scope, node, var_models[key], op, via)
            elif param_of(scope, value.value) is not None:  # def save(row): row.x = 1
                note(scope, node, value.value, op, via)
            elif key in var_calls and (not via or _may_return_model(var_calls[key])):
                # x = get_order(...); x.status = ...: settled in the parent half
                found: SaAccess = {"call": var_calls[key], "op": op}
                if via:
                    found["via"] = via
                calls.append((lines.want(node), found))

        for node, scope, var, helper, at in arg_pending:
            model = var_models.get((id(scope), var))
            if model:
                note(None, node, model, "arg", helper, at)
        if not (
            classes or bases or tables or access or sql or calls or returns or helpers or repos
        ):
            return None
        out_access: list[SaAccess] = [{**a, "line": lines.of(n)} for n, a in access + calls]
        out_access += [
            {"table": table, "op": op, "line": lines.of(n)}
            for n, text in sql
            for table, op in sql_tables(text)
        ]
        out_access.sort(
            key=lambda a: (
                a["line"],
                a["op"],
                a.get("target", ""),
                a.get("table", ""),
                a.get("call", ""),
                a.get("via", ""),
            )
        )
        for c in classes:
            c["line"] = lines.of(c.pop("_node"))
            for rel in c["relations"] + c["fks"]:
                rel["line"] = lines.of(rel.pop("_node"))
            c["relations"].sort(key=lambda r: (r["line"], r["target"]))
            c["fks"].sort(key=lambda r: (r["line"], r["target"]))
        for table in tables:
            table["line"] = lines.of(table["_node"])
            for fk in table["fks"]:
                fk["line"] = lines.of(fk.pop("_node"))
            table["fks"].sort(key=lambda r: (r["line"], r["target"]))
        for table in tables:
            table.pop("_node")
        return {
            "classes": sorted(classes, key=lambda c: c["line"]),
            "bases": sorted(
                ({**b, "line": lines.of(n)} for n, b in bases), key=lambda b: (b["line"], b["var"])
            ),
            "tables": sorted(tables, key=lambda t: (t["line"], t["var"])),
            "access": out_access,
            "returns": dict(sorted(returns.items())),
            "helpers": {
                f: [[at, sorted(ops)] for at, ops in sorted(by.items())]
                for f, by in sorted(helpers.items())
            },
            "forwards": sorted([f, at, callee, to] for f, at, callee, to in forwards),
            "bindings": repos["bindings"] if repos else [],
            "uses": repos["uses"] if repos else [],
        }

    @staticmethod
    def _call(node: cst.Call, last: str, scope: Any, note: Any, pending: list) -> None:
        """A call to ``last`` (the name after the last dot of what is called)."""
        func = node.func
        name = u.dotted(func)  # None when the receiver is itself a call chain
        recv = name.rsplit(".", 1)[0] if name and "." in name else ""
        args = [a.value for a in node.args if not a.star and a.keyword is None]
        if last == "query" and recv:
            for a in args:
                note(scope, node, u.dotted(a), "read")
        elif last == "select" and name is not None:
            for a in args:  # select(M), sa.select(M.id)
                note(scope, node, u.dotted(a), "read")
            if not args and recv:  # core: users.select()
                note(scope, node, recv, "read")
        elif last in _READ_CHAIN and args:
            target = u.dotted(args[0])
            if target and u.capital(target):
                note(scope, node, target, "read")
        elif args and ((last == "get" and recv.endswith("session")) or last == "get_or_404"):
            note(scope, node, u.dotted(args[0]), "read")
        if last in _SESSION_WRITES and recv.lower().endswith("session"):
            values: list[cst.BaseExpression] = []
            for a in args:
                if isinstance(a, (cst.List, cst.Tuple)):
                    values.extend(el.value for el in a.elements)
                else:
                    values.append(a)
            for value in values:
                model = _constructed(value)
                if model:
                    note(scope, node, model, "write")
                elif isinstance(value, cst.Name):
                    pending.append((node, scope, value, "write", None))
                elif (
                    isinstance(value, cst.Call)
                    and isinstance(value.func, cst.Attribute)
                    and isinstance(value.func.value, cst.Name)
                ):  # add_all(rows.values())
                    pending.append((node, scope, value.func.value, "write", None))
                else:
                    for m in _chain_models(value):
                        note(scope, node, m, "write")
        elif (
            last in _COLLECTION_WRITES
            and isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Attribute)
        ):
            # order.lines.append(OrderLine(...)): saved with its parent (cascade)
            for a in args:
                values = (
                    [el.value for el in a.elements] if isinstance(a, (cst.List, cst.Tuple)) else [a]
                )
                for value in values:
                    model = _constructed(value)
                    if model:
                        note(scope, node, model, "write")
                    elif isinstance(value, cst.Name):
                        pending.append((node, scope, value, "write", None))
        elif last in _WRITE_FUNCS:
            if name is None and isinstance(func, cst.Attribute):
                # M.query.filter(...).delete() / session.query(M).filter(...).update({...})
                for m in _chain_models(func.value):
                    note(scope, node, m, "write")
            elif args:  # insert(M), sa.delete(M)
                note(scope, node, u.dotted(args[0]), "write")
            elif recv:  # core: users.insert()
                note(scope, node, recv, "write")
        if isinstance(func, cst.Attribute) and last not in _SESSION_WRITES + _WRITE_FUNCS:
            # M.create(...) / order.save() / M.get(id): a write or a read if M's class or a
            # mixin has ``last`` as a method that writes or reads its own rows (the parent half)
            if isinstance(func.value, cst.Name) and func.value.value not in _SELF:
                if u.capital(recv):
                    note(scope, node, recv, "call", last)
                else:
                    pending.append((node, scope, func.value, "call", last))
            elif recv and u.capital(recv):
                note(scope, node, recv, "call", last)

    @staticmethod
    def _helper_call(
        node: cst.Call, scope: Any, param_of: Any, note: Any, forwards: list, arg_pending: list
    ) -> None:
        """A call handing a model to a function (``database.create(cert)``,
        ``database.get(Certificate, id)``: settled in the parent half by what that function
        does to the parameter), or a function handing its own parameter on (``get(model)``
        calling ``session_query(model)``)."""
        helper = u.dotted(node.func)
        if (
            helper is None
            or helper in _WRITE_FUNCS  # SQLAlchemy's own insert(M), update(M), delete(M)
            or helper.rsplit(".", 1)[0].lower().endswith("session")
        ):
            return
        for at, arg in enumerate(node.args):
            if arg.star or arg.keyword is not None:
                return  # the positions after a *args are unknown
            value = arg.value
            if isinstance(value, cst.Name) and not u.capital(value.value):
                param = param_of(scope, value.value)
                if param is not None:
                    forwards.append((param[0], param[1], helper, at))
                else:
                    arg_pending.append((node, scope, value.value, helper, at))
                continue
            name = u.dotted(value)
            model = _constructed(value) or (name if u.capital(name) else None)
            if model:
                note(scope, node, model, "arg", helper, at)

    @staticmethod
    def _raw_sql(node: cst.Call, lines: u.Lines, found: list) -> None:
        """``text("...")``, ``execute("...")``: the tables its SQL names."""
        if node.args:
            text = u.string(node.args[0].value)
            if text and sql_tables(text):
                found.append((lines.want(node), text))

    @staticmethod
    def _fk(call: cst.Call) -> SaRef | None:
        target = u.arg(call, 0, "column")
        text = u.string(target)
        if text is not None:
            return {"target": text, "string": True, "_node": call}
        name = u.dotted(target)
        return {"target": name, "string": False, "_node": call} if name else None

    def _core_table(self, call: cst.Call, lines: u.Lines) -> SaTable | None:
        name = u.string(u.arg(call, 0, "name"))
        if not name:
            return None
        fks = []
        for node, _ in u.walk(call):
            if type(node) is cst.Call and u.last(u.callee(node)) == "ForeignKey":
                fk = self._fk(node)
                if fk:
                    lines.want(node)
                    fks.append(fk)
        return {"name": name, "fks": fks, "_node": lines.want(call)}

    def _class(self, node: cst.ClassDef, lines: u.Lines, mapping: bool) -> SaClass:
        """What a class says about mapping; its body is searched for relationships, foreign
        keys and columns only when the module calls any (``mapping``)."""
        info: SaClass = {
            "name": node.name.value,
            "_node": lines.want(node.name),
            "bases": [d for d in (u.dotted(_unsubscripted(b.value)) for b in node.bases) if d],
            "keywords": sorted(
                k.keyword.value for k in node.keywords if k.keyword and u.dotted(k.value) == "True"
            ),
            "decorators": [d for d in (u.decorator_call(dec)[0] for dec in node.decorators) if d],
            "tablename": None,
            "abstract": False,
            "table_var": None,
            "table_name": None,
            "has_pk": False,
            "relations": [],
            "fks": [],
            "writers": [],
            "readers": [],
        }
        methods = _methods(node)
        attrs = _model_attributes(methods)
        info["writers"], info["readers"], named = _own_row_methods(methods, attrs)
        if named:
            info["named_reads"] = named
        self._repository(node.body, methods, attrs, info)
        for stmt in node.body.body:  # ``@declared_attr def __tablename__(cls): ...``
            if type(stmt) is cst.FunctionDef and stmt.name.value == "__tablename__":
                info["tablename_rule"] = _tablename_rule(stmt)
        for small in u.small_statements(node.body):
            names, value = u.assign_targets(small)
            if "__tablename__" in names:
                info["tablename"] = u.string(value)
            elif "__abstract__" in names:
                info["abstract"] = u.dotted(value) == "True"
            elif "__table__" in names:
                if type(value) is cst.Call and u.last(u.callee(value)) == "Table":
                    info["table_name"] = u.string(u.arg(value, 0, "name"))
                else:
                    info["table_var"] = u.dotted(value)
        for small in u.small_statements(node.body):
            # ``posts: Mapped[list["Post"]] = relationship(back_populates=...)``: the target
            # is in the annotation (SQLAlchemy 2.0 typed mappings)
            if (
                isinstance(small, cst.AnnAssign)
                and isinstance(small.value, cst.Call)
                and u.last(u.callee(small.value)) in _RELATION_FUNCS
                and u.arg(small.value, 0, "argument") is None
            ):
                target = _annotation_target(small.annotation.annotation)
                if target:
                    lines.want(small.value)
                    info["relations"].append({**target, "_node": small.value})
        for sub, _ in u.walk(node.body) if mapping else ():
            if type(sub) is not cst.Call:
                continue
            last = u.last(u.callee(sub))
            if last in _RELATION_FUNCS:
                rel = self._relation(sub)
                if rel:
                    lines.want(sub)
                    info["relations"].append(rel)
            elif last == "ForeignKey":
                fk = self._fk(sub)
                if fk:
                    lines.want(sub)
                    info["fks"].append(fk)
            elif last in _COLUMN_FUNCS:
                pk = u.arg(sub, -1, "primary_key")
                if pk is not None and u.dotted(pk) == "True":
                    info["has_pk"] = True
                foreign = u.string(u.arg(sub, -1, "foreign_key")) if last == "Field" else None
                if foreign:  # SQLModel: Field(foreign_key="user.id")
                    lines.want(sub)
                    info["fks"].append({"target": foreign, "string": True, "_node": sub})
        return info

    @staticmethod
    def _repository(body: cst.BaseSuite, methods: Methods, attrs: set[str], info: SaClass) -> None:
        """What binds a generic repository to its model: the attributes its methods use as a
        model, the ``__init__`` parameter stored in one (``self.model = sql_model``), the
        ``__init__``'s positional parameters, and class attributes naming a class
        (``model = User``); for a wrapper handed a repository (``HttpRepo(repo, logger)``),
        the parameters it keeps and the methods it calls on them (``create_one`` calls
        ``self.repo.create``)."""
        if attrs:
            info["model_attrs"] = sorted(attrs)
        for small in u.small_statements(body):
            names, value = u.assign_targets(small)
            name = u.dotted(value) if value is not None else None
            if name and u.capital(name):
                info.setdefault("attrs", {}).update(dict.fromkeys(names, name))
        init, init_body = next(
            ((f, nodes) for f, nodes in methods if f.name.value == "__init__"), (None, [])
        )
        if init is None:
            return
        positional = [p.name.value for p in (*init.params.posonly_params, *init.params.params)]
        info["init"] = positional[1:]
        params = set(positional) | {p.name.value for p in init.params.kwonly_params}
        held: dict[str, str] = {}  # self.attribute = parameter
        for sub in init_body:
            if type(sub) is not cst.Assign or type(sub.value) is not cst.Name:
                continue
            for t in sub.targets:
                target = t.target
                if (
                    type(target) is cst.Attribute
                    and u.dotted(target.value) == "self"
                    and sub.value.value in params
                ):
                    held.setdefault(target.attr.value, sub.value.value)
        slot = next((a for a in held if a in attrs), None)
        if slot is not None:
            info["slot"] = [slot, held[slot]]
        # a wrapper of a repository handed to it: its methods call the repository's
        wraps: dict[str, set[str]] = {}
        for stmt, nodes in methods:
            if stmt is init:
                continue
            for sub in nodes:
                if type(sub) is cst.Call and type(sub.func) is cst.Attribute:
                    recv = u.dotted(sub.func.value) or ""
                    if recv.startswith("self.") and recv[5:] in held and recv[5:] != slot:
                        wraps.setdefault(stmt.name.value, set()).add(
                            f"{recv[5:]}.{sub.func.attr.value}"
                        )
        if wraps:
            info["wraps"] = {m: sorted(calls) for m, calls in sorted(wraps.items())}
            used = {c.split(".", 1)[0] for calls in wraps.values() for c in calls}
            info["holds"] = {a: p for a, p in sorted(held.items()) if a in used}

    @staticmethod
    def _relation(call: cst.Call) -> SaRef | None:
        target = u.arg(call, 0, "argument")
        if isinstance(target, cst.Lambda):
            target = target.body
        text = u.string(target)
        if text is not None:
            return {"target": text, "string": True, "_node": call}
        name = u.dotted(target)
        return {"target": name, "string": False, "_node": call} if name else None

    # -- parent half ---------------------------------------------------------------------------
    def resolve(self, facts: dict[str, ModuleFacts], resolver: Any, graph: DependencyGraph) -> None:
        items: list[tuple[str, ModuleFacts, SQLAlchemyFacts]] = u.sorted_items(facts, self.name)
        roots: dict[str, str] = {}  # base variable/class node -> "declarative" | "flask"
        core: dict[str, tuple[str, SaTable]] = {}  # Core table variable node -> (module, table)
        classes: dict[str, tuple[str, SaClass]] = {}
        for m, _, data in items:
            for b in data["bases"]:
                if b["kind"] != "alias":
                    roots.setdefault(f"{m}:{b['var']}", b["kind"])
            for t in data["tables"]:
                core.setdefault(f"{m}:{t['var']}", (m, t))
            for c in data["classes"]:
                classes.setdefault(f"{m}:{c['name']}", (m, c))

        for m, _, data in items:  # ``BaseModel = db.Model``: another name for a root
            for b in data["bases"]:
                if b["kind"] == "alias":
                    db = u.resolve_name(resolver, facts, m, b["of"][: -len(".Model")])
                    if db and roots.get(db) == "flask":
                        roots.setdefault(f"{m}:{b['var']}", "flask")

        models: dict[str, dict[str, Any]] = {}  # node -> {"flavour", "parent"}

        def classify(node: str, m: str, c: SaClass) -> dict[str, Any] | None:
            if any(u.last(d) == "mapped" for d in c["decorators"]):
                return {"flavour": "declarative", "parent": None}
            if any(u.last(d) == "as_declarative" for d in c["decorators"]):
                roots[node] = "declarative"
                return None
            for base in c["bases"]:
                if base.endswith(".Model"):
                    db = u.resolve_name(resolver, facts, m, base[: -len(".Model")])
                    if (db and roots.get(db) == "flask") or (db is None and base == "db.Model"):
                        return {"flavour": "flask", "parent": None}
                if "table" in c["keywords"]:  # SQLModel: class X(SomeSQLModel, table=True)
                    return {"flavour": "sqlmodel", "parent": None}
                target = u.resolve_name(resolver, facts, m, base)
                if target in models:
                    return {"flavour": models[target]["flavour"], "parent": target}
                if target in roots:
                    return {"flavour": roots[target], "parent": None}
                external = resolver.external(m, base)
                if external in _ROOT_BASES or (
                    target is None
                    and external is None
                    and u.last(base) in ("DeclarativeBase", "DeclarativeBaseNoMeta")
                ):
                    roots[node] = "declarative"
                    return None
            return None

        changed = True
        while changed:
            changed = False
            for node in sorted(classes):
                if node in models or node in roots:
                    continue
                m, c = classes[node]
                found = classify(node, m, c)
                if found is not None or node in roots:
                    if found is not None:
                        models[node] = found
                    changed = True

        # -- tables ---------------------------------------------------------------------------
        model_table: dict[str, str] = {}
        by_var = {node: t["name"] for node, (_, t) in core.items()}

        def lineage(node: str) -> list[str]:
            """The class and its bases (as far as they are known), nearest first."""
            out, todo = [], [node]
            while todo:
                current = todo.pop(0)
                if current in out or current not in classes:
                    continue
                out.append(current)
                m, c = classes[current]
                todo.extend(
                    filter(None, (u.resolve_name(resolver, facts, m, b) for b in c["bases"]))
                )
            return out

        def inherited_rule(node: str) -> str | None:
            """How a ``__tablename__`` function on the class or a base names its table."""
            rules = (classes[c][1].get("tablename_rule") for c in lineage(node))
            return next((r for r in rules if r), None)

        def table_of(node: str, seen: frozenset[str] = frozenset()) -> str | None:
            if node in model_table or node in seen:
                return model_table.get(node)
            m, c = classes[node]
            info = models[node]
            name = None
            if c["abstract"]:
                return None
            if c["tablename"]:
                name = c["tablename"]
            elif c["table_name"]:
                name = c["table_name"]
            elif c["table_var"]:
                name = by_var.get(u.resolve_name(resolver, facts, m, c["table_var"]) or "")
            elif (rule := inherited_rule(node)) and (info["parent"] is None or c["has_pk"]):
                name = c["name"].lower() if rule == "lower" else u.snake_case(c["name"])
            elif info["parent"] is not None and not (info["flavour"] == "flask" and c["has_pk"]):
                name = table_of(info["parent"], seen | {node})
            elif info["flavour"] == "flask":
                name = u.snake_case(c["name"])
            elif info["flavour"] == "sqlmodel":
                name = c["name"].lower()
            if name:
                model_table[node] = name
            return name

        for node in sorted(models):
            table_of(node)
        table_node: dict[str, str] = {}  # table name -> node that stands for it
        for node in sorted(core):
            m, t = core[node]
            table_node.setdefault(t["name"], node)
            if t["name"] not in graph.tables:
                graph.tables[t["name"]] = Table(t["name"], None, facts[m].file, t["line"])
        by_table: dict[str, list[str]] = {}
        for node in sorted(model_table):
            by_table.setdefault(model_table[node], []).append(node)
        for name, owners in sorted(by_table.items()):
            # single-table inheritance: the root of the hierarchy owns the shared table
            owner = ([n for n in owners if models[n]["parent"] not in owners] or owners)[0]
            m, c = classes[owner]
            table = graph.tables.get(name)
            if table is None:
                graph.tables[name] = Table(name, owner, facts[m].file, c["line"])
            elif table.model is None:
                table.model, table.file, table.line = owner, facts[m].file, c["line"]
            table_node[name] = owner

        # -- relations and foreign keys -------------------------------------------------------
        names: dict[str, list[str]] = {}
        for node in sorted(models):
            names.setdefault(node.split(":", 1)[1], []).append(node)

        def model_by_string(m: str, text: str) -> str | None:
            if "." in text:  # a fully qualified "pkg.models.Address"
                mod, _, text = text.rpartition(".")
                if f"{mod}:{text}" in models:
                    return f"{mod}:{text}"
            candidates = names.get(text, [])
            if not candidates:
                return None
            return sorted(candidates, key=lambda n: (-_common(n.split(":")[0], m), n))[0]

        for m, mf, data in items:
            for c in data["classes"]:
                node = f"{m}:{c['name']}"
                if node not in models:
                    continue
                for rel in c["relations"]:
                    target = (
                        model_by_string(m, rel["target"])
                        if rel["string"]
                        else u.resolve_name(resolver, facts, m, rel["target"])
                    )
                    if target in models:
                        u.add_edge(graph, node, target, "orm", u.evidence(mf.file, rel["line"]))
                own = model_table.get(node)
                for fk in c["fks"]:
                    self._foreign_key(
                        graph,
                        resolver,
                        facts,
                        m,
                        mf.file,
                        node,
                        own,
                        fk,
                        table_node,
                        model_table,
                        by_var,
                    )
            for t in data["tables"]:
                node = f"{m}:{t['var']}"
                for fk in t["fks"]:
                    self._foreign_key(
                        graph,
                        resolver,
                        facts,
                        m,
                        mf.file,
                        node,
                        t["name"],
                        fk,
                        table_node,
                        model_table,
                        by_var,
                    )

        # -- reads and writes -----------------------------------------------------------------
        row_methods: dict[str, dict[str, str]] = {}

        def row_ops(node: str) -> dict[str, str]:
            """Method -> "write" or "read" for the methods that touch a class's own rows: its
            own and its bases' (mixins), the class's own first."""
            if node not in classes:
                return {}
            if node not in row_methods:
                row_methods[node] = {}  # a cycle of bases ends here
                m, c = classes[node]
                found: dict[str, str] = {}
                for b in reversed(c["bases"]):
                    base = u.resolve_name(resolver, facts, m, b)
                    if base in classes:
                        found.update(row_ops(base))
                found.update({name: "read" for name in c.get("readers", ())})
                found.update({name: "write" for name in c.get("writers", ())})
                row_methods[node] = found
            return row_methods[node]

        # what a function does to its parameters, itself or through the functions it hands them to
        param_ops: dict[str, dict[int, set[str]]] = {}
        for m, _, data in items:
            for f, by in data.get("helpers", {}).items():
                param_ops[f"{m}:{f}"] = {at: set(ops) for at, ops in by}
        links = []
        for m, _, data in items:
            for f, at, callee, to in data.get("forwards", ()):
                callee_node = u.resolve_name(resolver, facts, m, callee)
                if callee_node:
                    links.append((f"{m}:{f}", at, callee_node, to))
        changed = True
        while changed:
            changed = False
            for f, at, callee_node, to in links:
                have = param_ops.setdefault(f, {}).setdefault(at, set())
                more = param_ops.get(callee_node, {}).get(to, set()) - have
                if more:
                    have |= more
                    changed = True

        def settled(m: str, a: SaAccess, target: str) -> str | None:
            """ "read", "write" or None: what the access does to ``target``'s rows."""
            if a["op"] == "call":  # Task.create(...): by what the model's method does
                return row_ops(target).get(a["via"])
            if a["op"] == "arg":  # database.create(cert): a write if the function writes it
                helper = u.resolve_name(resolver, facts, m, a["via"])
                ops = param_ops.get(helper or "", {}).get(a["arg"], set())
                writes = "write" in ops or any(
                    row_ops(target).get(o[5:]) == "write" for o in ops if o.startswith("call:")
                )
                return "write" if writes else None
            return a["op"]

        def record(m: str, line: int, name: str, target: str | None, op: str) -> None:
            """``op`` ("read" or "write") of table ``name`` by the code at ``line`` of ``m``,
            with a ``table`` edge to ``target`` (its model or Core table node) if known."""
            accessor = resolver.owner_of_line(m, line)
            table = graph.tables[name]
            (table.writers if op == "write" else table.readers).append(accessor)
            u.add_edge(graph, accessor, target, "table", u.evidence(facts[m].file, line))

        for m, _, data in items:
            for a in data["access"]:
                if "table" in a:
                    name = a["table"]
                    if name not in table_node:
                        name = name.rsplit(".", 1)[-1]  # schema-qualified
                    if name not in table_node:
                        continue
                    target = table_node[name]
                    op: str = a["op"]
                else:
                    target = (
                        self._returned(resolver, facts, m, a["call"])
                        if "call" in a
                        else u.resolve_name(resolver, facts, m, a["target"])
                    )
                    known = model_table.get(target or "") or by_var.get(target or "")
                    if not known or not target or not (done := settled(m, a, target)):
                        continue
                    name, op = known, done
                    target = target if target in models or target in core else None
                record(m, a["line"], name, target, op)

        def record_model(m: str, line: int, model: str, op: str) -> None:
            if model in model_table:
                record(m, line, model_table[model], model, op)

        _repositories.resolve(
            items, facts, resolver, classes, lineage, models, row_ops, record_model
        )

    def _returned(
        self, resolver: Any, facts: dict[str, ModuleFacts], m: str, call: str
    ) -> str | None:
        """The node of the model that function ``call`` (as named in ``m``) is annotated to
        return (``def get_order(n) -> Order | None``), or the class of ``Order.get``."""
        if "." in call and u.capital(call.rsplit(".", 1)[0]):
            # Order.get(...): what a model's class method gives is taken to be a model
            return u.resolve_name(resolver, facts, m, call.rsplit(".", 1)[0])
        func = u.resolve_name(resolver, facts, m, call)
        if not func or ":" not in func:
            return None
        mod, _, name = func.partition(":")
        data = facts[mod].framework.get(self.name) if mod in facts else None
        hint = (data or {}).get("returns", {}).get(name)
        return u.resolve_name(resolver, facts, mod, hint) if hint else None

    @staticmethod
    def _foreign_key(
        graph: DependencyGraph,
        resolver: Any,
        facts: dict[str, ModuleFacts],
        m: str,
        file: str,
        source: str,
        own: str | None,
        fk: SaRef,
        table_node: dict[str, str],
        model_table: dict[str, str],
        by_var: dict[str, str],
    ) -> None:
        if fk["string"]:
            ref = fk["target"].rsplit(".", 1)[0] if "." in fk["target"] else None
            if ref is not None and ref not in table_node and "." in ref:
                ref = ref.rsplit(".", 1)[-1]  # schema-qualified "schema.table.col"
        else:
            target = u.resolve_name(resolver, facts, m, fk["target"])
            ref = model_table.get(target or "") or by_var.get(target or "")
        if not ref:
            return
        if own and own in graph.tables:
            graph.tables[own].foreign_keys.append(ref)
        u.add_edge(graph, source, table_node.get(ref), "orm", u.evidence(file, fk["line"]))


def _common(a: str, b: str) -> int:
    """Number of leading dotted components two module names share."""
    n = 0
    for x, y in zip(a.split("."), b.split("."), strict=False):
        if x != y:
            break
        n += 1
    return n
