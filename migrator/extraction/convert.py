"""Can this call cross a network? Decided statically, from annotations, ORM model names and the
expressions at the call site, never by running anything.

A value can cross when it is JSON data (str, int, float, bool, None, lists, tuples, dicts), a
``Decimal``/``datetime``/``date``/``UUID`` (sent as strings), or a dataclass/TypedDict made of
those. ORM model instances, sessions, engines, requests, files and unknown classes cannot: the
call stays as it is and a data-transfer shape is suggested instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

from migrator.extraction.mappings import MAPPING_REASON, bindings, mapping_param
from migrator.extraction.mover import dotted as _dotted
from migrator.extraction.mover import import_bindings
from migrator.extraction.ownreads import read_methods
from migrator.extraction.source import FunctionInfo, SourceTree
from migrator.extraction.writes import write_methods

JSON_NAMES = {"int", "float", "str", "bool", "None", "NoneType", "Any", "object", "bytes"}
CODEC_NAMES = {"Decimal", "datetime", "date", "time", "UUID", "timedelta"}
CONTAINERS = set(
    """
    list List Sequence Iterable Collection tuple Tuple set Set frozenset FrozenSet dict
    Dict Mapping MutableMapping Optional Union Annotated Final Literal
    """.split()
)
UNSERIALISABLE = set(
    """
    Session scoped_session sessionmaker Engine Connection Request Response Query Select
    Flask Blueprint IO TextIO BinaryIO Callable Iterator Generator Awaitable Coroutine
    Thread
    """.split()
)
SESSION_NAMES = set(
    """
    session db_session db sess conn connection engine request app Session
    """.split()
)
WRITE_CALLS = set(
    """
    add add_all delete commit flush merge execute bulk_save_objects insert update send
    enqueue delay apply_async write post put
    """.split()
)
READ_VERBS = (
    "get",
    "list",
    "find",
    "search",
    "count",
    "is",
    "has",
    "quote",
    "calculate",
    "compute",
    "describe",
    "lookup",
    "available",
    "check",
    "price",
    "render",
    "format",
    "validate",
    "estimate",
    "fetch",
    "load",
    "read",
    "show",
    "summar",
    "total",
)


#: methods of builtin types: ``x.name()`` may be one of those, whatever the monolith defines
BUILTIN_METHODS = {
    m for t in (dict, list, str, bytes, set, tuple, int, float, object) for m in dir(t)
}

#: a parameter that is the caller's database session: the owner opens its own instead
INJECTED_NAMES = {"session", "db_session", "dbsession"}
INJECTED_TYPES = {"Session", "orm.Session", "sqlalchemy.orm.Session"}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""  # why not, for MIGRATION.md
    model: str | None = None  # the ORM model ("module:Class") involved, for a suggested DTO
    injected: bool = False  # a database session the owner supplies (never sent)
    #: the models of an alias of several (``TypeVar("S", Case, Incident)``, ``A | B``)
    models: tuple[str, ...] = ()
    #: the result is what the call gives for this parameter (``return rows`` of a parameter
    #: the function changes in place): judged at each call site
    param: str = ""


OK = Verdict(True)


#: library functions documented to return a string or a number (or a UUID, sent as one)
LIBRARY_RESULTS = set(
    """
    flask_jwt_extended.create_access_token flask_jwt_extended.create_refresh_token
    flask_jwt_extended.get_jti json.dumps uuid.uuid4 uuid.uuid1 secrets.token_hex
    secrets.token_urlsafe time.time os.getenv werkzeug.security.generate_password_hash
    urllib.parse.quote urllib.parse.urlencode
    """.split()
)

#: calls that give the rows of a query (one, or a list)
ROW_RESULTS = set(
    """
    get get_or_404 first first_or_404 one one_or_none scalar scalar_one
    scalar_one_or_none all
    """.split()
)


def _members(value: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The types of ``A | B | C`` or ``Union[A, B]``."""
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.BitOr):
        return [*_members(value.left), *_members(value.right)]
    if isinstance(value, cst.Subscript):
        return [el.slice.value for el in value.slice if isinstance(el.slice, cst.Index)]
    return [value]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Classifier:
    """Classifies annotations and expressions of one service boundary."""

    def __init__(self, tree: SourceTree, session_factory: str | None = None) -> None:
        self.tree = tree
        #: ``module:name`` of a session factory every service can import: with one, a session
        #: parameter is supplied by the owner (its own unit of work) instead of sent
        self.session_factory = session_factory
        self._returns: dict[str, Verdict] = {}  # module:function -> what a call returns
        #: method name -> (module, definition) of every class of the monolith, built once
        self._methods: dict[str, list[tuple[str, cst.FunctionDef]]] | None = None
        self._helpers: dict[str, dict[str, str]] = {}  # model -> read_helpers (cached)
        self._mappings: dict[str, bool] = {}  # module:function(param) -> read as a mapping
        #: (module, names the function being judged imports itself) while its returns are
        self._scopes: list[tuple[str, set[str]]] = []
        self.models = tree.models  # module:Class -> info
        self.model_names = {k.split(":")[1]: k for k in self.models}
        self.model_vars = {_snake(n): k for n, k in self.model_names.items()}
        self.model_vars.update({n.lower(): k for n, k in self.model_names.items()})

    # -- annotations --------------------------------------------------------------------------
    def annotation(
        self, text: str | None, module: str, seen: frozenset[str] = frozenset()
    ) -> Verdict:
        if text is None:
            return Verdict(False, "not annotated")
        try:
            expr = cst.parse_expression(text.strip("\"'") if text[:1] in "\"'" else text)
        except cst.ParserSyntaxError:
            return Verdict(False, f"cannot read annotation {text!r}")
        return self._expr(expr, module, seen)

    def _expr(self, expr: cst.BaseExpression, module: str, seen: frozenset[str]) -> Verdict:
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
            return self._all([expr.left, expr.right], module, seen)
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
            value = expr.evaluated_value if isinstance(expr, cst.SimpleString) else None
            if isinstance(value, str):
                return self.annotation(value, module, seen)
            return OK  # Literal["a", "b"] members
        if isinstance(expr, (cst.Integer, cst.Float)):
            return OK
        if isinstance(expr, cst.Subscript):
            head = _dotted(expr.value).split(".")[-1]
            if head in ("Literal",):
                return OK
            if head == "Mapped":
                return Verdict(False, "an ORM mapped attribute")
            if head not in CONTAINERS:
                return self._name(head, _dotted(expr.value), module, seen)
            parts = [el.slice.value for el in expr.slice if isinstance(el.slice, cst.Index)]
            if head == "Annotated":  # Annotated[T, metadata...]: the value is a T
                parts = parts[:1]
            return self._all(parts, module, seen)
        if isinstance(expr, (cst.Name, cst.Attribute)):
            dotted = _dotted(expr)
            return self._name(dotted.split(".")[-1], dotted, module, seen)
        if isinstance(expr, (cst.List, cst.Tuple)):
            return self._all([e.value for e in expr.elements], module, seen)
        if isinstance(expr, cst.Ellipsis):
            return OK
        return Verdict(False, f"cannot read annotation {cst.Module([]).code_for_node(expr)!r}")

    def _all(self, parts: list[cst.BaseExpression], module: str, seen: frozenset[str]) -> Verdict:
        for p in parts:
            v = self._expr(p, module, seen)
            if not v.ok:
                return v
        return OK

    def _name(self, last: str, dotted: str, module: str, seen: frozenset[str]) -> Verdict:
        if last in JSON_NAMES or last in CODEC_NAMES or last in CONTAINERS:
            return OK
        if last in UNSERIALISABLE:
            return Verdict(False, f"a {last} cannot cross a network")
        target = self.class_of(dotted, module)
        if target is None:
            alias = self._alias(dotted, module)
            if alias is not None and f"{alias[0]}:{dotted}" not in seen:
                return self._aliased(last, alias, seen | {f"{alias[0]}:{dotted}"})
            if last in self.model_names:
                return Verdict(False, f"{last} is an ORM model", self.model_names[last])
            return Verdict(False, f"{dotted} is not known to be serialisable")
        if target in self.models:
            return Verdict(False, f"{last} is an ORM model", target)
        if target in seen:
            return OK
        cls = self.tree.info(target.split(":")[0]).classes[target.split(":")[1]]
        if (
            any(d.split(".")[-1] == "dataclass" for d in cls.decorators)
            or any(b.split(".")[-1] in ("TypedDict", "NamedTuple") for b in cls.bases)
            or self._pydantic(target, frozenset())
        ):
            for field_ann in _field_annotations(cls.node):
                v = self.annotation(field_ann, target.split(":")[0], seen | {target})
                if not v.ok:
                    return Verdict(False, f"field of {last}: {v.reason}", v.model)
            return OK
        if any(b.split(".")[-1] in ("Enum", "IntEnum", "StrEnum") for b in cls.bases):
            return OK
        return Verdict(False, f"{last} is a class that is not a dataclass")

    def _alias(self, name: str, module: str) -> tuple[str, cst.BaseExpression] | None:
        """(module, value) of the module-level ``name = <value>`` that ``name`` in ``module``
        refers to (a type alias such as ``Key = Annotated[int, ...]``), if in the tree."""
        if "." in name or module not in self.tree.files:
            return None
        info = self.tree.info(module)
        if name not in info.variables:
            imp = next((i for i in info.imports if i.binding == name and i.name), None)
            if imp is None:
                return None
            m, n = self.tree.resolve(imp.module, imp.name or "")
            return self._alias(n, m) if n and m and (m, n) != (module, name) else None
        for stmt in info.module.body:
            for small in (
                getattr(stmt, "body", []) if isinstance(stmt, cst.SimpleStatementLine) else []
            ):
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and small.targets[0].target.value == name
                ):
                    return module, small.value
        return None

    def _aliased(
        self, last: str, alias: tuple[str, cst.BaseExpression], seen: frozenset[str]
    ) -> Verdict:
        """A type alias judged by what it names: ``TypeVar("T", A, B)`` and ``NewType("T",
        A)`` by A (and B). An alias of several types that is not data names no single model, so
        no row of it can cross."""
        module, value = alias
        parts = [value]
        if isinstance(value, cst.Call) and _dotted(value.func).split(".")[-1] in (
            "TypeVar",
            "NewType",
        ):
            parts = [
                a.value for a in value.args[1:] if a.keyword is None or a.keyword.value == "bound"
            ]
            if not parts:
                return Verdict(False, f"{last} is a type variable of any type")
        verdict = self._all(parts, module, seen)
        several = (
            len(parts) > 1
            or isinstance(value, cst.BinaryOperation)
            or (isinstance(value, cst.Subscript) and _dotted(value.value).split(".")[-1] == "Union")
        )
        if verdict.ok:
            return OK
        if not several:
            return Verdict(False, f"{last}: {verdict.reason}", verdict.model)
        # rows of several models: each may cross on its own terms (Analyzer.row_verdict)
        models = []
        for part in parts if len(parts) > 1 else _members(value):
            v = self._expr(part, module, seen)
            if not v.ok and (v.model is None or not v.reason.endswith("is an ORM model")):
                return Verdict(False, f"{last}: {verdict.reason}")
            models += [] if v.ok or v.model is None else [v.model]
        return Verdict(False, f"{last}: {verdict.reason}", models=tuple(models))

    def read_helpers(self, model: str, seen: frozenset[str] = frozenset()) -> dict[str, str]:
        """Class methods of ``model`` (or of the classes it derives from) that only read rows of
        the class by key or by keyword filters, such as ``get(cls, id): return
        db.session.get(cls, id)`` or ``get_by(cls, **kw): return
        cls.query.filter_by(**kw).first()``: method name -> the read (``READ_OPS``) a read
        model answers them with."""
        if not seen and model in self._helpers:  # the same for every service
            return dict(self._helpers[model])
        module, _, name = model.partition(":")
        info = self.tree.info(module).classes.get(name) if module in self.tree.files else None
        if info is None or model in seen:
            return {}
        out: dict[str, str] = {}
        for base in info.bases:
            parent = self.class_of(base, module)
            if parent is not None:
                out.update(self.read_helpers(parent, seen | {model}))
        for stmt in getattr(info.node.body, "body", []):
            if isinstance(stmt, cst.FunctionDef):
                op = _helper_read(stmt)
                if op:
                    out[stmt.name.value] = op
                else:
                    out.pop(stmt.name.value, None)  # overridden by something else
        if not seen:  # methods of its own code that write its rows: the owner runs them
            methods = self.class_methods(model, frozenset())
            others = set(self.model_names) - {k.rpartition(":")[2] for k in methods.values()}
            nodes = {n: self.method_node(k, n) for n, k in methods.items()}
            for name, op in write_methods(nodes, others).items():
                out.setdefault(name, op)
            # methods that only read and give plain data: the owner runs them for a read
            plain = lambda n: self.method_result(nodes[n], methods[n].partition(":")[0]).ok  # noqa: E731
            for name, op in read_methods(nodes, others, plain, self._above(methods)).items():
                out.setdefault(name, op)
            self._helpers[model] = dict(out)
        return out

    def _above(self, methods: dict[str, str]) -> Callable[[str, str], cst.FunctionDef | None]:
        """``above(name, called)``: the definition ``super().called`` reaches in the method
        ``name`` (``methods``: name -> the class defining it), from that class's bases."""

        def above(name: str, called: str) -> cst.FunctionDef | None:
            module, _, cls = methods[name].partition(":")
            for base in self.tree.info(module).classes[cls].bases:
                parent = self.class_of(base, module)
                found = self.class_methods(parent).get(called) if parent else None
                if found is not None:
                    return self.method_node(found, called)
            return None

        return above

    def class_methods(self, model: str, seen: frozenset[str] = frozenset()) -> dict[str, str]:
        """Methods of ``model`` and of the classes of the tree it derives from: name -> the
        class (``module:Class``) whose definition wins."""
        module, _, name = model.partition(":")
        info = self.tree.info(module).classes.get(name) if module in self.tree.files else None
        if info is None or model in seen:
            return {}
        out: dict[str, str] = {}
        for base in reversed(info.bases):
            parent = self.class_of(base, module)
            if parent is not None:
                out.update(self.class_methods(parent, seen | {model}))
        for stmt in getattr(info.node.body, "body", []):
            if isinstance(stmt, cst.FunctionDef):
                out[stmt.name.value] = model
        return out

    def method_node(self, cls: str, name: str) -> cst.FunctionDef:
        module, _, cname = cls.partition(":")
        body = getattr(self.tree.info(module).classes[cname].node.body, "body", [])
        return next(s for s in body if isinstance(s, cst.FunctionDef) and s.name.value == name)

    def _pydantic(self, target: str, seen: frozenset[str]) -> bool:
        """A pydantic model: a class of the tree whose bases lead to ``BaseModel``."""
        module, name = target.split(":")
        cls = self.tree.info(module).classes[name]
        for base in cls.bases:
            if base.split(".")[-1] == "BaseModel":
                return True
            parent = self.class_of(base, module)
            if (
                parent is not None
                and parent not in seen
                and parent not in self.models
                and self._pydantic(parent, seen | {target})
            ):
                return True
        return False

    def class_nodes(self, model: str, seen: frozenset[str] = frozenset()) -> list[cst.ClassDef]:
        """The class node of ``model`` (``module:Class``) and of the classes of the tree it
        derives from, nearest first."""
        module, _, name = model.partition(":")
        info = self.models.get(model) or (
            self.tree.info(module).classes.get(name) if module in self.tree.files else None
        )
        if info is None or model in seen:
            return []
        out = [info.node]
        for base in info.bases:
            parent = self.class_of(base, module)
            if parent is not None:
                out += self.class_nodes(parent, seen | {model})
        return out

    def defines(self, model: str, methods: set[str]) -> bool:
        """Does ``model`` or a class of the tree it derives from define one of ``methods``?"""
        return any(
            isinstance(f, cst.FunctionDef) and f.name.value in methods
            for node in self.class_nodes(model)
            for f in getattr(node.body, "body", [])
        )

    def class_of(self, dotted: str, module: str) -> str | None:
        """``module:Class`` that a (dotted) name in ``module`` refers to, if it is in the tree."""
        if module not in self.tree.files:
            return None
        head, _, rest = dotted.partition(".")
        info = self.tree.info(module)
        m: str | None
        n: str | None
        if not rest:
            if head in info.classes:
                return f"{module}:{head}"
            for imp in info.imports:
                if imp.binding == head and imp.name is not None:
                    m, n = self.tree.resolve(imp.module, imp.name)
                    if n and m in self.tree.files and n in self.tree.info(m).classes:
                        return f"{m}:{n}"
            return None
        for imp in info.imports:
            if imp.binding == head:
                mod = imp.module if imp.name is None else self.tree.resolve(imp.module, imp.name)[0]
                if imp.name is not None and self.tree.resolve(imp.module, imp.name)[1] is not None:
                    return None
                m, n = self.tree.resolve(mod, rest) if "." not in rest else (None, None)
                if m and n and m in self.tree.files and n in self.tree.info(m).classes:
                    return f"{m}:{n}"
        return None

    def model_var(self, name: str) -> str | None:
        """The model (``module:Class``) a name of a value looks like a row of, by its name
        only (``entity``, ``task_type``), if any."""
        return self.model_vars.get(name) or self.model_vars.get(_snake(name))

    def mapping(self, module: str, func: cst.FunctionDef, param: str, model: str) -> bool:
        """``param`` of ``func`` is read as a mapping (``mappings.mapping_param``), which a
        row of ``model`` cannot be (it answers no subscript)."""
        key = f"{module}:{func.name.value}({param})"
        if key not in self._mappings:
            self._mappings[key] = not self.defines(model, {"__getitem__"}) and mapping_param(
                self, module, func, param
            )
        return self._mappings[key]

    # -- functions and call sites ------------------------------------------------------------
    def signature(self, func: FunctionInfo, module: str) -> dict[str, Verdict]:
        """Verdict per parameter name and for ``return``; unannotated ones are judged later."""
        out: dict[str, Verdict] = {}
        for p in func.params:
            if (
                self.session_factory
                and p.kind in ("pos", "kw")
                and (
                    p.annotation in INJECTED_TYPES
                    if p.annotation is not None
                    else p.name in INJECTED_NAMES
                )
            ):
                out[p.name] = Verdict(
                    True, "database session: the owner opens its own", injected=True
                )
            elif p.annotation is not None:
                out[p.name] = self.annotation(p.annotation, module)
            elif self.model_var(p.name):
                key = self.model_var(p.name) or ""
                out[p.name] = (
                    Verdict(True, MAPPING_REASON)
                    if self.mapping(module, func.node, p.name, key)
                    else Verdict(
                        False,
                        f"parameter {p.name!r} looks like a {key.split(':')[1]} (ORM model)",
                        key,
                    )
                )
            elif p.name in SESSION_NAMES:
                out[p.name] = Verdict(False, f"parameter {p.name!r} is a session or connection")
            else:
                out[p.name] = Verdict(True, "unannotated")
        if func.returns is not None:
            out["return"] = self.annotation(func.returns, module)
        else:
            out["return"] = self.returns(func, module)
        return out

    def returns(self, func: FunctionInfo, module: str, strict: bool = True) -> Verdict:
        """Judge an unannotated return value from the function's return statements
        (``strict=False``: as they would be judged written inside a literal)."""
        collector = _Returns()
        func.node.body.visit(collector)
        if not collector.values:
            return OK  # returns None
        self._scopes.append((module, _local_imports(func.node)))
        try:
            return self._judge_returns(func, module, collector.values, strict)
        finally:
            self._scopes.pop()

    def _judge_returns(
        self, func: FunctionInfo, module: str, values: list[cst.BaseExpression], strict: bool
    ) -> Verdict:
        assigned = _assignments(func.node)
        bound: dict[str, list[cst.BaseExpression] | None] | None = None
        param = ""
        for value in values:
            if isinstance(value, cst.Name) and self.model_var(value.value):
                # named like a row: judged by what the function binds it to, when all is known
                bound = bindings(func.node) if bound is None else bound
                known = bound.get(value.value)
                others = {k: v for k, v in assigned.items() if k != value.value}
                if known and all(
                    self.expression(b, module, dict(others), strict, literal=not strict).ok
                    for b in known
                ):
                    continue
            v = self.expression(value, module, assigned, strict, literal=not strict)
            given = self._given_back(value, module)
            if (
                given in {p.name for p in func.params}
                and v.reason == f"cannot tell what {given!r} holds"
                and given not in assigned
                and param in ("", given)
            ):
                param = given  # the argument itself, as the call site gives it
            elif not v.ok:
                return Verdict(False, f"return value: {v.reason}", v.model)
        if param:
            return Verdict(False, f"return value: the argument given for {param!r}", param=param)
        return OK

    def _given_back(self, value: cst.BaseExpression, module: str) -> str:
        """The name a return value gives back as it is: ``return rows``, or ``return
        helper(rows)`` of a helper that returns its argument (``_passed_back``); ''."""
        if isinstance(value, cst.Call):
            callee = self.callee(_dotted(value.func), module)
            value = (self._passed_back(value, *callee) if callee else None) or value
        return value.value if isinstance(value, cst.Name) else ""

    def callee(self, name: str, module: str) -> tuple[str, str] | None:
        """The monolith's top-level function that ``name(...)`` calls in ``module`` (a local
        function, an imported one, or ``module_alias.function``), if it is one."""
        if module not in self.tree.files:
            return None
        info = self.tree.info(module)
        head, _, rest = name.partition(".")
        local = self._scopes[-1][1] if self._scopes and self._scopes[-1][0] == module else set()
        if not rest and head in info.functions and head not in local:
            if any(i.lazy and i.binding == head for i in info.imports):
                return None  # a function's own import shadows the module's function there
            return module, head
        lazy = {(i.module, i.name) for i in info.imports if i.lazy and i.binding == head}
        if head in local and len(lazy) != 1:
            return None  # imported differently in different functions: which one is unknown
        for imp in info.imports:
            if imp.binding != head or "." in rest or (head in local and not imp.lazy):
                continue
            if imp.name is None:
                mod, fn = imp.module, rest
            else:
                mod, sym = self.tree.resolve(imp.module, imp.name)
                mod, fn = (mod, rest) if sym is None else (mod, sym if not rest else "")
            if mod in self.tree.files and fn in self.tree.info(mod).functions:
                return mod, fn
        return None

    def _returns_of(self, module: str, name: str, strict: bool = True) -> Verdict:
        """What a call of the monolith's function returns: its annotation, else its return
        statements; called inside a literal (``strict=False``), as those statements would be
        judged written there. A function that reaches itself again (``serialize_value`` of
        a list's items) returns what its other return statements do."""
        key = f"{module}:{name}" + ("" if strict else "~")
        if key not in self._returns:
            before = set(self._returns)
            self._returns[key] = OK
            func = self.tree.info(module).functions[name]
            if func.is_async:
                verdict = Verdict(False, f"{name}() is a coroutine function")
            elif func.returns is not None:
                verdict = self.annotation(func.returns, module)
            else:
                verdict = self.returns(func, module, strict)
            if not verdict.ok:
                self._forget(before)
            self._returns[key] = (
                verdict
                if verdict.ok
                else Verdict(False, f"{name}() returns {verdict.reason}", verdict.model)
            )
        return self._returns[key]

    def _forget(self, before: set[str]) -> None:
        """Drop the verdicts made since ``before``: they assumed that a call which turned out
        not to return plain data (judged while it was being judged) did."""
        for k in set(self._returns) - before:
            del self._returns[k]

    def _passed_back(self, call: cst.Call, module: str, name: str) -> cst.BaseExpression | None:
        """The argument of ``call`` that the monolith's function ``name`` returns as it was
        given (every ``return`` names that parameter, as a helper ``create(model)`` that adds
        the row to the session and returns it does), else None."""
        func = self.tree.info(module).functions[name]
        collector = _Returns()
        func.node.body.visit(collector)
        names = {v.value if isinstance(v, cst.Name) else "" for v in collector.values}
        params = [p.name for p in func.params]
        if len(names) != 1 or not names <= set(params) or func.returns is not None:
            return None
        (param,) = names
        for i, arg in enumerate(call.args):
            if arg.star:
                return None
            if (
                arg.keyword.value if arg.keyword else params[i] if i < len(params) else ""
            ) == param:
                return arg.value
        return None

    def methods_named(self, name: str) -> list[tuple[str, cst.FunctionDef]]:
        """Every method ``name`` of the monolith's classes, with its module (built once)."""
        if self._methods is None:
            self._methods = {}
            for mod in sorted(self.tree.files):
                for cls in self.tree.info(mod).classes.values():
                    for stmt in getattr(cls.node.body, "body", []):
                        if isinstance(stmt, cst.FunctionDef):
                            self._methods.setdefault(stmt.name.value, []).append((mod, stmt))
        return self._methods.get(name, [])

    def _method_returns(self, name: str) -> Verdict | None:
        """What ``obj.name()`` returns when the monolith's classes define methods ``name``
        (``serialize``, ``to_json``) and every one of them is judged to return plain data;
        None when no class defines it or a builtin type has a method of that name."""
        key = f".{name}"
        if key not in self._returns:
            found = self.methods_named(name)
            if not found or name.startswith("__") or name in BUILTIN_METHODS:
                return None
            # a method that reaches itself again (``super().serialize()``) returns what its
            # other return statements do
            before = set(self._returns)
            self._returns[key] = OK
            verdict = OK
            for mod, stmt in found:
                v = self.method_result(stmt, mod)
                if not v.ok:
                    verdict = Verdict(False, f".{name}() returns {v.reason}", v.model)
                    self._forget(before)
                    break
            self._returns[key] = verdict
        return self._returns[key]

    def method_result(self, stmt: cst.FunctionDef, module: str) -> Verdict:
        """Whether what the method ``stmt`` of a class in ``module`` returns is plain data,
        from its annotation, else from its return statements."""
        info = FunctionInfo(stmt.name.value, 0, [], None, stmt.asynchronous is not None, stmt, "")
        if info.is_async:
            return Verdict(False, "a coroutine function")
        if stmt.returns is not None:
            return self.annotation(cst.Module([]).code_for_node(stmt.returns.annotation), module)
        return self.returns(info, module)

    def expression(
        self,
        expr: cst.BaseExpression,
        module: str,
        assigned: dict[str, cst.BaseExpression] | None = None,
        strict: bool = True,
        literal: bool = False,
    ) -> Verdict:
        """Is a value expression plain data? ``strict``: unknown calls count as not plain;
        ``literal``: inside a literal, where a monolith function's call is judged as its
        return statements would be (an argument, not strict, still judges such calls strictly)."""
        assigned = assigned or {}
        if isinstance(
            expr,
            (
                cst.Integer,
                cst.Float,
                cst.SimpleString,
                cst.FormattedString,
                cst.ConcatenatedString,
                cst.Imaginary,
            ),
        ):
            return OK
        if isinstance(expr, cst.Name):
            if expr.value in ("None", "True", "False"):
                return OK
            if expr.value in self.model_names:
                return Verdict(
                    False, f"passes the class {expr.value}", self.model_names[expr.value]
                )
            if expr.value in self.model_vars or _snake(expr.value) in self.model_vars:
                key = self.model_vars.get(expr.value) or self.model_vars[_snake(expr.value)]
                return Verdict(
                    False,
                    f"{expr.value!r} looks like a {key.split(':')[1]} (ORM model instance)",
                    key,
                )
            if expr.value in SESSION_NAMES:
                return Verdict(False, f"{expr.value!r} is a session or connection")
            if expr.value in assigned and assigned[expr.value] is not expr:
                return self.expression(assigned.pop(expr.value), module, assigned, strict, literal)
            return OK if not strict else Verdict(False, f"cannot tell what {expr.value!r} holds")
        if isinstance(expr, cst.Attribute):
            attr = expr.attr.value
            stored = _dotted(expr)  # a private attribute the function itself stores
            if stored in assigned and assigned[stored] is not expr:
                return self.expression(assigned.pop(stored), module, assigned, strict, literal)
            if attr in self.model_vars:
                key = self.model_vars[attr]
                return Verdict(
                    False, f"'.{attr}' looks like a {key.split(':')[1]} (ORM relationship)", key
                )
            return OK if not strict else Verdict(False, "cannot tell what an attribute holds")
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            for el in expr.elements:  # inside a literal, names are judged by their names only
                v = self.expression(el.value, module, assigned, strict=False, literal=True)
                if not v.ok:
                    return v
            return OK
        if isinstance(expr, cst.Dict):
            for item in expr.elements:
                if isinstance(item, cst.DictElement):
                    v = self.expression(item.value, module, assigned, strict=False, literal=True)
                    if not v.ok:
                        return v
            return OK
        if isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            return self.expression(expr.elt, module, {}, strict=False, literal=True)
        if isinstance(expr, cst.DictComp):
            return self.expression(expr.value, module, {}, strict=False, literal=True)
        if isinstance(
            expr, (cst.BinaryOperation, cst.UnaryOperation, cst.Comparison, cst.BooleanOperation)
        ):
            return OK
        if isinstance(expr, cst.IfExp):
            v = self.expression(expr.body, module, assigned, strict, literal)
            if not v.ok:
                return v
            return self.expression(expr.orelse, module, assigned, strict, literal)
        if isinstance(expr, cst.Call):
            name = _dotted(expr.func)
            last = name.split(".")[-1]
            stored = _stored(expr)  # ``getattr(obj, "_cache", None)`` of what it stores
            if stored in assigned and assigned[stored] is not expr:
                return self.expression(assigned.pop(stored), module, assigned, strict, literal)
            if last in self.model_names:
                return Verdict(False, f"builds a {last} (ORM model)", self.model_names[last])
            queried = self._queried_model(expr) if last in ROW_RESULTS else None
            if queried is not None:
                return Verdict(
                    False, f"{last}() gives {queried.split(':')[1]} rows (ORM query)", queried
                )
            first = expr.args[0].value if expr.args else None
            model_arg = isinstance(first, cst.Name) and first.value in self.model_names
            if last in ("get", "get_or_404") and not model_arg:
                pass  # ``session.get("key")`` on a dict-like (Flask's cookie session)
            elif last in (
                "get",
                "first",
                "one",
                "one_or_none",
                "scalar",
                "scalars",
                "all",
                "get_or_404",
                "first_or_404",
                "scalar_one",
                "scalar_one_or_none",
            ) and any(m in name for m in ("session", "query", "Session", "db")):
                return Verdict(False, "an ORM query result")
            if last in (
                "int",
                "float",
                "str",
                "bool",
                "round",
                "len",
                "sum",
                "dict",
                "list",
                "sorted",
                "min",
                "max",
                "any",
                "all",
                "asdict",
                "to_dict",
                "as_dict",
                "isoformat",
                "format",
                "join",
                "lower",
                "upper",
                "strip",
                "Decimal",
                "jsonify",
                "tuple",
                "set",
                "abs",
                "quantize",
            ):
                return OK
            callee = self.callee(name, module)
            if callee is not None:
                given = self._passed_back(expr, *callee)
                if given is not None:  # ``return model`` of ``create(model)``: the argument
                    return self.expression(given, module, assigned, strict, literal)
                # judged as its returns would be in the literal, unless it is handed what is
                # no data there (a model class: ``get_instance(Model, key)`` gives its row)
                lenient = literal and all(
                    self.expression(a.value, module, dict(assigned), strict=False).ok
                    for a in expr.args
                )
                return self._returns_of(*callee, strict=not lenient)
            if self._library(name, module) in LIBRARY_RESULTS:
                return OK
            if strict and isinstance(expr.func, cst.Attribute):
                method = self._method_returns(last)
                if method is not None:
                    return method
            return OK if not strict else Verdict(False, f"cannot tell what {name}() returns")
        if isinstance(expr, cst.Subscript):
            return OK if not strict else Verdict(False, "cannot tell what an item holds")
        return OK if not strict else Verdict(False, "cannot tell what the value is")

    def _library(self, name: str, module: str) -> str:
        """The full name (``package.module.function``) of a library function that ``name``
        calls in ``module``, through the module's imports; '' for anything else."""
        if module not in self.tree.files:
            return ""
        head, _, rest = name.partition(".")
        tops = {m.split(".")[0] for m in self.tree.files}
        found = {
            ".".join(p for p in (i.module, i.name, rest) if p)
            for i in self.tree.info(module).imports
            if i.binding == head and i.module.split(".")[0] not in tops
        }
        return found.pop() if len(found) == 1 else ""

    def _queried_model(self, call: cst.Call) -> str | None:
        """The model a query call reads (``session.get(M, k)``, ``M.query.filter_by(..).first()``,
        ``session.query(M)...all()``, a helper called as ``get(M, k)``): the first model
        class named along the call chain."""
        node: cst.BaseExpression = call
        while True:
            if isinstance(node, cst.Call):
                first = node.args[0].value if node.args else None
                if isinstance(first, cst.Name) and first.value in self.model_names:
                    return self.model_names[first.value]
                node = node.func
            elif isinstance(node, cst.Attribute):
                node = node.value
            elif isinstance(node, cst.Name):
                return self.model_names.get(node.value)
            else:
                return None

    def idempotent(self, func: FunctionInfo, graph_writers: set[str], node_id: str) -> bool:
        """Safe to retry: reads nothing but never writes (by name and by body)."""
        if node_id in graph_writers:
            return False
        finder = _Calls()
        func.node.body.visit(finder)
        if finder.names & WRITE_CALLS or finder.assigns_attribute:
            return False
        return func.name.lstrip("_").lower().startswith(READ_VERBS)


def _field_annotations(node: cst.ClassDef) -> list[str]:
    out = []
    for stmt in node.body.body if isinstance(node.body, cst.IndentedBlock) else []:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.AnnAssign):
                    out.append(cst.Module([]).code_for_node(small.annotation.annotation))
    return out


class _Returns(cst.CSTVisitor):
    def __init__(self) -> None:
        self.values: list[cst.BaseExpression] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # nested functions return for themselves

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None and not (
            isinstance(node.value, cst.Name) and node.value.value == "None"
        ):
            self.values.append(node.value)


class _Calls(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()
        self.assigns_attribute = False

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute):
            self.names.add(node.func.attr.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        if isinstance(node.target, cst.Attribute):
            self.assigns_attribute = True

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Attribute):
            self.assigns_attribute = True


def _assignments(func: cst.FunctionDef) -> dict[str, cst.BaseExpression]:
    """Last simple assignment ``name = expr`` per name in a function body (for return values),
    and of private attributes the function stores on an object (``obj._cache = expr``,
    ``setattr(obj, "_cache", expr)``) under ``obj._cache``."""
    out: dict[str, cst.BaseExpression] = {}

    class V(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            for t in node.targets:
                if isinstance(t.target, cst.Name):
                    out[t.target.value] = node.value
                elif _private(t.target):
                    out[_dotted(t.target)] = node.value

        def visit_Call(self, node: cst.Call) -> None:
            if _dotted(node.func) == "setattr" and len(node.args) == 3:
                stored = _stored(node.with_changes(args=node.args[:2]))
                if stored:
                    out[stored] = node.args[2].value

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            if isinstance(node.target, cst.Name) and node.value is not None:
                out[node.target.value] = node.value

    func.body.visit(V())
    return out


def _local_imports(func: cst.FunctionDef) -> set[str]:
    """Names a function's own import statements bind (nested functions aside)."""
    out: set[str] = set()

    class V(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Import(self, node: cst.Import) -> None:
            out.update(import_bindings(node))

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            out.update(import_bindings(node))

    func.body.visit(V())
    return out


def _private(target: cst.BaseExpression) -> bool:
    """``name._attr``: a private attribute of a plain name (a cache the code keeps on it)."""
    return (
        isinstance(target, cst.Attribute)
        and isinstance(target.value, cst.Name)
        and target.attr.value.startswith("_")
    )


def _stored(call: cst.Call) -> str:
    """``obj._attr`` for ``getattr(obj, "_attr"[, default])``; '' for any other call."""
    args = call.args
    if _dotted(call.func) != "getattr" or not 2 <= len(args) <= 3:
        return ""
    obj, attr = args[0].value, args[1].value
    if not (isinstance(obj, cst.Name) and isinstance(attr, cst.SimpleString)):
        return ""
    name = str(attr.evaluated_value)
    return f"{obj.value}.{name}" if name.startswith("_") and name[1:].isidentifier() else ""


def suggest_dto(tree: SourceTree, model: str) -> str:
    """A dataclass with the model's columns, to send instead of the ORM object."""
    info = tree.models.get(model)
    name = model.split(":")[1]
    lines = ["@dataclass(frozen=True)", f"class {name}Data:"]
    for col, typ in info.columns.items() if info else []:
        if (
            typ.startswith(("list[", "List[", 'Optional["', "set["))
            or typ[:1].isupper()
            and typ not in CODEC_NAMES
        ):
            continue  # relationships are not columns
        lines.append(f"    {col}: {typ}")
    if len(lines) == 2:
        lines.append("    id: int")
    return "\n".join(lines)


#: reads a read model answers for a helper; "get" takes the key, the others keyword filters
HELPER_READS = {"get", "first", "one", "one_or_none", "all", "count"}


def _helper_read(func: cst.FunctionDef) -> str:
    """The read a class method does when its body only returns ``cls.query`` with its
    ``**kwargs`` as keyword filters (``filter(*args)`` too: a call without positional
    arguments filters by keywords only) and a terminal read, or ``<x>.session.get(cls, key)``
    / ``cls.query.get(key)`` with its one parameter; "" for anything else."""
    if not any(_dotted(d.decorator) == "classmethod" for d in func.decorators):
        return ""
    body = [s for s in getattr(func.body, "body", []) if not _docstring(s)]
    if not (
        len(body) == 1
        and isinstance(body[0], cst.SimpleStatementLine)
        and isinstance(body[0].body[0], cst.Return)
        and isinstance(body[0].body[0].value, cst.Call)
    ):
        return ""
    params = func.params
    if not params.params or params.kwonly_params or params.posonly_params:
        return ""
    cls = params.params[0].name.value
    keys = [p.name.value for p in params.params[1:]]
    star = params.star_arg.name.value if isinstance(params.star_arg, cst.Param) else "-"
    kwargs = params.star_kwarg.name.value if params.star_kwarg else "-"
    code = re.sub(r"\s+", "", cst.Module([]).code_for_node(body[0].body[0].value))
    if len(keys) == 1 and star == kwargs == "-":
        by_key = rf"({cls}\.query\.get|[\w.]*session\.get\({cls},)\(?{keys[0]}\)"
        return "get" if re.fullmatch(by_key, code) else ""
    steps = re.fullmatch(rf"{cls}\.query((?:\.\w+\([^()]*\))*)\.(\w+)\(\)", code)
    if keys or steps is None or steps.group(2) not in HELPER_READS - {"get"}:
        return ""
    for step in re.findall(r"\.(\w+)\(([^()]*)\)", steps.group(1)):
        if step not in (("filter_by", f"**{kwargs}"), ("filter", f"*{star}")):
            return ""
    return steps.group(2)


def _docstring(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )
