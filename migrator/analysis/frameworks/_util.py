"""Small helpers shared by the framework plug-ins.

Why not libcst's visitors and metadata: a ``CSTVisitor`` pass costs about as much as parsing and
``PositionProvider`` about 2.5 times as much (measured on networkx's sources), which would blow
the analyser's time budget. So plug-ins go through the list of nodes that the core collector
made in its own pass (``walk`` with the ``WalkContext`` the analyser gives ``collect``; a tree
it did not see is walked the same way, directly over its dataclass fields) and ask for line
numbers of the few nodes they keep (``Lines``: the line table of the core collector's pass,
``WalkContext.line_of``, while the analyser runs plug-ins; otherwise, as in unit tests on bare
trees, one code-generation pass that counts newlines and stops at the last wanted node).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, TypedDict

from migrator.analysis.collect import dotted_name as dotted  # noqa: F401 - re-exported for the plug-ins
from migrator.analysis.facts import ModuleFacts
from migrator.analysis.lazy import cst
from migrator.analysis.walk import WalkContext
from migrator.analysis.walk import nodes as walk  # noqa: F401 - for the plug-ins
from migrator.graph import DependencyGraph

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")


class Constants(TypedDict, total=False):
    """What ``constants`` finds in a module, kept by a plug-in under ``"constants"``."""

    consts: dict[str, str]  # module-level name -> string
    classes: dict[str, dict[str, str]]  # class -> its string attributes
    instances: dict[str, str]  # module-level name -> the class it is an instance of


class _Done(Exception):
    pass


@lru_cache(maxsize=1)
def _line_state_class() -> type:
    """``_LineState``, defined on first use: its base class is libcst's (see ``lazy``)."""
    from libcst._nodes.internal import CodegenState

    class _LineState(CodegenState):
        """A code generator that keeps no text: it counts newlines and notes wanted nodes' lines."""

        def __init__(self, module: cst.Module, wanted: dict[int, cst.CSTNode]) -> None:
            super().__init__(
                default_indent=module.default_indent, default_newline=module.default_newline
            )
            self.line = 1
            self.wanted = wanted
            self.found: dict[int, int] = {}

        def add_indent_tokens(self) -> None:
            pass

        def add_token(self, value: str) -> None:
            self.line += value.count("\n")

        def pop_trailing_newline(self) -> None:
            pass

        def before_codegen(self, node: cst.CSTNode) -> None:
            key = id(node)
            if key in self.wanted and key not in self.found:
                self.found[key] = self.line
                if len(self.found) == len(self.wanted):
                    raise _Done

    return _LineState


class Lines:
    """Line numbers of chosen nodes of one module, computed lazily in a single pass.

    ``want(node)`` registers a node; ``of(node)`` returns its first line (computing all
    registered nodes on first use). Register the node whose first token is the one you mean:
    a decorator's expression rather than the decorator (whose leading comments come first).
    """

    def __init__(self, module: cst.Module, ctx: WalkContext | None = None) -> None:
        self.module = module
        self.ctx = ctx  # the core pass's lines of ``module``, when it walked it
        self.wanted: dict[int, cst.CSTNode] = {}
        self.found: dict[int, int] | None = None

    def want(self, node: cst.CSTNode) -> cst.CSTNode:
        self.wanted[id(node)] = node  # keeping the node alive keeps its id unique
        self.found = None
        return node

    def of(self, node: cst.CSTNode) -> int:
        line = self.ctx.line_of(node) if self.ctx is not None else 0
        if line:  # the core analyser's own pass already counted lines
            return line
        if self.found is None or id(node) not in self.found:
            if id(node) not in self.wanted:
                self.want(node)
            state = _line_state_class()(self.module, self.wanted)
            try:
                self.module._codegen(state)
            except _Done:
                pass
            self.found = state.found
        return self.found.get(id(node), 0)


# -- reading expressions -------------------------------------------------------------------------


def string(node: cst.CSTNode | None) -> str | None:
    """The value of a plain or concatenated string literal (no f-strings, no bytes)."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        try:
            value = node.evaluated_value
        except Exception:  # noqa: BLE001 - odd literals are simply not strings we know
            return None
        return value if isinstance(value, str) else None
    return None


def strings(node: cst.CSTNode | None) -> list[str] | None:
    """The strings of a list/tuple/set literal of string literals (None if it is not one)."""
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        out = []
        for el in node.elements:
            value = string(el.value)
            if value is None:
                return None
            out.append(value)
        return out
    value = string(node)
    return [value] if value is not None else None


def call_args(call: cst.Call) -> tuple[list[cst.CSTNode], dict[str, cst.CSTNode]]:
    """Positional argument values and keyword argument values of a call (``*a``/``**k`` dropped)."""
    pos: list[cst.CSTNode] = []
    kw: dict[str, cst.CSTNode] = {}
    for arg in call.args:
        if arg.star:
            continue
        if arg.keyword is not None:
            kw[arg.keyword.value] = arg.value
        else:
            pos.append(arg.value)
    return pos, kw


def arg(call: cst.Call, index: int, keyword: str | None = None) -> cst.CSTNode | None:
    """The argument at position ``index`` or named ``keyword``."""
    pos, kw = call_args(call)
    if keyword is not None and keyword in kw:
        return kw[keyword]
    return pos[index] if 0 <= index < len(pos) else None


def callee(node: cst.CSTNode | None) -> str | None:
    """The dotted name called by a Call node, None otherwise."""
    return dotted(node.func) if type(node) is cst.Call else None


def last(name: str | None) -> str | None:
    return name.rsplit(".", 1)[-1] if name else None


def capital(name: str | None) -> bool:
    """Whether the last part of a dotted name starts with a capital: a class, by convention."""
    return bool(name and name.rsplit(".", 1)[-1][:1].isupper())


def decorator_call(dec: cst.Decorator) -> tuple[str | None, cst.Call | None]:
    """(dotted name, Call or None) for ``@name`` and ``@name(...)``."""
    expr = dec.decorator
    if type(expr) is cst.Call:
        return dotted(expr.func), expr
    return dotted(expr), None


def assign_targets(stmt: cst.CSTNode) -> tuple[list[str], cst.CSTNode | None]:
    """Simple name targets and the value of an ``x = ...`` / ``x: T = ...`` statement."""
    if type(stmt) is cst.Assign:
        names = [t.target.value for t in stmt.targets if type(t.target) is cst.Name]
        return names, stmt.value
    if type(stmt) is cst.AnnAssign and type(stmt.target) is cst.Name:
        return [stmt.target.value], stmt.value
    return [], None


def small_statements(body: Any) -> Iterator[cst.BaseSmallStatement]:
    """The small statements of a block's direct statements (``a = 1; b = 2`` gives two)."""
    for stmt in getattr(body, "body", body):
        if type(stmt) is cst.SimpleStatementLine:
            yield from stmt.body


def snake_case(name: str) -> str:
    """Flask-SQLAlchemy's default table name for a class name (``OrderItem`` -> ``order_item``)."""
    s = re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"_\1", name)
    return s.lower().lstrip("_")


# -- resolving -----------------------------------------------------------------------------------


def resolve_name(
    resolver: Any, facts: dict[str, ModuleFacts], module: str, name: str | None, depth: int = 0
) -> str | None:
    """The graph node ``name`` (as used in ``module``) refers to.

    Asks the core resolver first; falls back to a top-level symbol of ``module`` itself, then
    to shorter prefixes of a dotted name (``models.Product.query`` -> ``pkg.models:Product``).
    """
    if not name:
        return None
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        node = resolver.resolve(module, candidate)
        if node:
            return node
        if n == 1 and module in facts:
            if any(s.name == candidate for s in facts[module].symbols):
                return f"{module}:{candidate}"
    return _via_import(resolver, facts, module, parts, depth) if depth < 8 else None


def _via_import(
    resolver: Any, facts: dict[str, ModuleFacts], module: str, parts: list[str], depth: int
) -> str | None:
    """Resolve through an import the module-level resolver may not bind: one inside a function
    (``def register(app): from .admin import bp as admin_bp; app.register_blueprint(admin_bp)``).
    """
    mf = facts.get(module)
    if mf is None:
        return None
    for imp in mf.imports:
        if imp.star:
            continue
        if imp.name is not None and (imp.alias or imp.name) == parts[0]:
            sub = f"{imp.module}.{imp.name}"
            if sub in facts:
                return resolve_module_path(resolver, facts, sub, parts[1:], depth + 1)
            if imp.module in facts and imp.module != module:
                return resolve_name(
                    resolver, facts, imp.module, ".".join([imp.name, *parts[1:]]), depth + 1
                )
        elif imp.name is None and (imp.alias or imp.module.split(".")[0]) == parts[0]:
            base = imp.module if imp.alias else parts[0]
            return resolve_module_path(resolver, facts, base, parts[1:], depth + 1)
    return None


def resolve_module_path(
    resolver: Any, facts: dict[str, ModuleFacts], base: str, rest: list[str], depth: int = 0
) -> str | None:
    """``base`` (a module) followed by attribute ``rest``: a submodule or a symbol in it."""
    current = base
    for i, part in enumerate(rest):
        if f"{current}.{part}" in facts:
            current = f"{current}.{part}"
            continue
        return (
            resolve_name(resolver, facts, current, ".".join(rest[i:]), depth + 1)
            if current in facts
            else None
        )
    return current if current in facts else None


def evidence(file: str, line: int) -> str:
    return f"{file}:{line}"


def add_edge(
    graph: DependencyGraph, source: str | None, target: str | None, kind: str, where: str
) -> bool:
    """Add a ``kind`` edge between two existing nodes, once per evidence location.

    The core may already have recorded the same occurrence (a ``reference`` edge for a name it
    saw); counting it twice would inflate the weight, so an edge that already lists ``where``
    is left alone. Edges to nodes the core did not create are dropped (they would be nodes
    without a kind).
    """
    if not source or not target or source == target:
        return False
    if source not in graph.g or target not in graph.g:
        return False
    if graph.g.has_edge(source, target, key=kind):
        if where in graph.g.edges[source, target, kind]["evidence"]:
            return False
    graph.add_edge(source, target, kind, evidence=[where])
    return True


def join_path(prefix: str | None, rule: str) -> str:
    """Join a URL prefix and rule the way Flask does (one slash between them)."""
    if not prefix:
        return rule
    if not rule:
        return prefix
    return prefix.rstrip("/") + "/" + rule.lstrip("/")


def sorted_items(facts: dict[str, ModuleFacts], plugin: str) -> list[tuple[str, ModuleFacts, Any]]:
    """(module, facts, plug-in data) for modules that have data from ``plugin``, sorted by name."""
    return [
        (m, facts[m], facts[m].framework[plugin])
        for m in sorted(facts)
        if facts[m].framework.get(plugin)
    ]


# -- constants -----------------------------------------------------------------------------------


def constants(tree: cst.Module) -> Constants:
    """Module-level string constants, string attributes of module-level classes and
    module-level instances: enough to evaluate ``url_prefix=API_PREFIX`` or
    ``prefix=settings.API_V1_STR`` (with ``class Settings: API_V1_STR: str = "/api/v1"`` and
    ``settings = Settings()``). Empty parts are left out."""
    consts: dict[str, str] = {}
    classes: dict[str, dict[str, str]] = {}
    instances: dict[str, str] = {}
    for stmt in tree.body:
        if isinstance(stmt, cst.ClassDef):
            attrs: dict[str, str] = {}
            for small in small_statements(stmt.body):
                names, value = assign_targets(small)
                text = string(value)
                if text is not None:
                    attrs.update((n, text) for n in names)
            if attrs:
                classes[stmt.name.value] = attrs
            continue
        for small in small_statements([stmt]):
            names, value = assign_targets(small)
            text = string(value)
            cls = callee(value) if value is not None else None
            if text is not None:
                consts.update((n, text) for n in names)
            elif cls and capital(cls):
                instances.update((n, cls) for n in names)
    out = Constants()  # empty parts are left out
    if consts:
        out["consts"] = consts
    if classes:
        out["classes"] = classes
    if instances:
        out["instances"] = instances
    return out


def literals(tree: cst.Module) -> dict[str, str]:
    """Module-level names bound to a string or integer literal, as text (the values an
    f-string of constants can use)."""
    out: dict[str, str] = {}
    for small in small_statements(tree):
        names, value = assign_targets(small)
        text = string(value)
        if text is None and isinstance(value, cst.Integer):
            text = value.value
        if text is not None:
            out.update((n, text) for n in names)
    return out


def fstring(node: cst.CSTNode | None, values: dict[str, str]) -> str | None:
    """The value of an f-string whose fields are names in ``values`` (``f"/api/{VERSION}"``),
    None when it is not one or a field is anything else."""
    if not isinstance(node, cst.FormattedString):
        return None
    out = []
    for part in node.parts:
        if isinstance(part, cst.FormattedStringText):
            out.append(part.value)
        elif (
            isinstance(part, cst.FormattedStringExpression)
            and isinstance(part.expression, cst.Name)
            and part.expression.value in values
            and part.format_spec is None
            and part.conversion is None
        ):
            out.append(values[part.expression.value])
        else:
            return None
    return "".join(out)


def evaluate(
    resolver: Any, facts: dict[str, ModuleFacts], module: str, name: str, plugin: str
) -> str | None:
    """The string value of constant ``name`` as used in ``module`` (see ``constants``, whose
    result each plug-in keeps under ``"constants"`` in its facts), None when unknown."""
    parts = name.split(".")
    node = resolve_name(resolver, facts, module, name)
    if node is not None and ":" in node:
        mod, _, sym = node.partition(":")
        # the resolver answers with the symbol a prefix of the name stands for
        rest = parts[len(parts) - parts[::-1].index(sym) :] if sym in parts else parts[1:]
        data = (facts[mod].framework.get(plugin) or {}).get("constants", {}) if mod in facts else {}
        if not rest:
            return data.get("consts", {}).get(sym)
        if len(rest) != 1:
            return None
        if sym in data.get("classes", {}):
            return data["classes"][sym].get(rest[0])
        cls = data.get("instances", {}).get(sym)
        target = resolve_name(resolver, facts, mod, cls) if cls else None
        if target and ":" in target:
            cmod, _, cname = target.partition(":")
            cdata = (
                (facts[cmod].framework.get(plugin) or {}).get("constants", {})
                if cmod in facts
                else {}
            )
            return cdata.get("classes", {}).get(cname, {}).get(rest[0])
    return None
