"""One pass over a libcst tree that collects everything the graph needs from one file.

The pass walks node fields directly, in source order (``walk.field_order``), instead of using ``tree.visit``: libcst's visitor rebuilds every
node and costs as much as parsing, and its metadata providers (positions, scopes, qualified names)
cost five to ten times more. Walking in source order lets the pass count newlines itself, so
every import, symbol and name use gets its line without ``PositionProvider``.

Scopes are tracked just enough to drop uses of local variables and parameters that shadow a
module-level name; everything else (what a name refers to) is left to the resolver, which sees
all modules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from migrator.analysis.facts import DynamicRef, ImportFact, ModuleFacts, NameUse, SymbolFact
from migrator.analysis.lazy import cst
from migrator.analysis.walk import KIND as _KIND
from migrator.analysis.walk import WalkContext, field_order, has_line, kept
from migrator.analysis.walk import kind as _kind
from migrator.graph import Diagnostic

_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?::[A-Za-z_]\w*)?")
_ANNOTATION_NAMES = re.compile(r"[A-Za-z_][\w.]*")
_CONSTANTS = frozenset({"None", "True", "False"})
# node type -> (whether it has ``leading_lines``, its child fields in source order, whether
# its line is noted: ``walk.has_line``, whether plug-ins see it in ``walk.nodes``: ``walk.kept``)
_INFO: dict[type, tuple[bool, tuple[str, ...], bool, bool]] = {}


def _type_info(tp: type) -> tuple[bool, tuple[str, ...], bool, bool]:
    names = field_order(tp)
    info = _INFO[tp] = ("leading_lines" in names, names, has_line(tp), kept(tp))
    return info


def dotted_name(node: Any) -> str | None:
    """``a.b.c`` for a pure Name/Attribute chain, None for anything else (exact types: libcst
    node classes are ABCs, and this runs for most names of every file)."""
    parts = []
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
    if type(node) is cst.Name:
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def absolute_import(package: str, level: int, module: str) -> str | None:
    """The absolute module of ``from <level dots><module> import ...`` written in a module of
    ``package`` (the package itself for an ``__init__``), None when the dots climb above the
    top-level package. Extraction resolves relative imports with it too."""
    if not level:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts) or (level - 1 == len(parts) and not module):
        return None
    parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts + ([module] if module else []))


def _string_body(node: cst.SimpleString) -> str | None:
    """The raw text between the quotes, or None for bytes literals."""
    value = node.value
    i = 0
    while value[i] not in "'\"":
        i += 1
    prefix = value[:i].lower()
    if "b" in prefix:
        return None
    q = 3 if value[i : i + 3] in ('"""', "'''") else 1
    return value[i + q : len(value) - q]


class _Scope:
    __slots__ = ("kind", "bound", "imported", "globals", "uses", "passed")

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "function" | "class"
        self.bound: set[str] = set()
        self.imported: set[str] = set()
        self.globals: set[str] = set()
        self.uses: list[NameUse] = []  # uses made directly in this scope
        self.passed: list[NameUse] = []  # uses passed up from nested function scopes

    def keep(self, use: NameUse) -> bool:
        head = use.name.split(".", 1)[0]
        return head not in self.bound or head in self.globals or head in self.imported


class Collector:
    """Walks one module tree and fills a ``ModuleFacts``."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        self.line = 1
        self.last_code_line = 0
        self.quiet = 0  # > 0: only count lines (names that are not uses)
        self.store = False  # walking an assignment target
        self.ctx = "body"
        self.scopes: list[_Scope] = []
        self.pending: _Scope | None = None  # scope of the function whose params are walked
        self.owner: SymbolFact | None = None
        self.type_only = False
        self.guarded = False
        self.symbols: dict[str, SymbolFact] = {}
        self.import_bound: set[str] = set()  # names bound by module-level imports
        # id(node) -> first line, for plug-ins (``WalkContext.line_of``)
        self.lines: dict[int, int] = {}
        self.nodes: list[tuple[Any, Any]] = []  # for plug-ins too (WalkContext.walked)
        self.function: Any = None  # the innermost FunctionDef or Lambda node being walked
        self.dispatch: dict[type, Callable[[Any], None]] = {
            cst.Newline: self._newline,
            cst.EmptyLine: self._empty_line,
            cst.TrailingWhitespace: self._trailing,
            cst.SimpleWhitespace: self._whitespace,
            cst.SimpleString: self._string,
            cst.FormattedStringText: self._fstring_text,
            cst.Name: self._name,
            cst.Attribute: self._attribute,
            cst.Call: self._call,
            cst.Subscript: self._load_children,
            cst.Import: self._import,
            cst.ImportFrom: self._import_from,
            cst.FunctionDef: self._def,
            cst.ClassDef: self._def,
            cst.Lambda: self._lambda,
            cst.Param: self._param,
            cst.Decorator: self._decorator,
            cst.Annotation: self._annotation,
            cst.Assign: self._assign,
            cst.AnnAssign: self._assign,
            cst.AugAssign: self._assign,
            cst.AssignTarget: self._target_field("target"),
            cst.For: self._target_field("target"),
            cst.CompFor: self._target_field("target"),
            cst.NamedExpr: self._target_field("target"),
            cst.AsName: self._target_field("name"),
            cst.Arg: self._arg,
            cst.Global: self._global,
            cst.Nonlocal: self._global,
            cst.If: self._if,
            cst.Try: self._try,
            cst.TryStar: self._try,
        }

    # -- driving ------------------------------------------------------------------------------
    def run(self, tree: cst.Module) -> ModuleFacts:
        self.walk(tree)
        facts = self.facts
        for sym in self.symbols.values():
            if sym.kind == "variable" and sym.name in self.import_bound:
                # ``try: from x import Y except ImportError: Y = None``: the import is the name
                facts.module_uses.extend(sym.uses)
                continue
            facts.symbols.append(sym)
        return facts

    def walk(self, node: Any) -> None:
        """Count ``node``'s first line, note it for the plug-ins, then hand it to its handler
        or walk its children."""
        tp = type(node)
        info = _INFO.get(tp) or _type_info(tp)
        if info[2]:
            if info[0] and node.leading_lines:
                self.lines[id(node)] = self.line + len(node.leading_lines)
            else:
                self.lines[id(node)] = self.line
            if info[3]:
                self.nodes.append((node, self.function))
        handler = self.dispatch.get(tp)
        if handler is not None:
            handler(node)
        else:
            self.children(node)

    def children(self, node: Any, skip: str | None = None) -> None:
        kinds = _KIND
        for name in (_INFO.get(type(node)) or _type_info(type(node)))[1]:
            value = getattr(node, name)
            kind = kinds.get(type(value))
            if kind is None:
                kind = _kind(type(value))
            if kind == 1:
                if name == skip:
                    self.count_only(value)
                else:
                    self.walk(value)
            elif kind == 2:
                for item in value:
                    self.walk(item)
            elif kind == 3 and "\\" in value.value:
                self._whitespace(value)

    def _field(self, value: Any) -> None:
        kind = _KIND.get(type(value))
        if kind is None:
            kind = _kind(type(value))
        if kind == 1:
            self.walk(value)
        elif kind == 2:
            for item in value:
                self.walk(item)
        elif kind == 3 and "\\" in value.value:
            self._whitespace(value)

    def count_only(self, node: Any) -> None:
        self.quiet += 1
        try:
            self.walk(node)
        finally:
            self.quiet -= 1

    # -- lines ----------------------------------------------------------------------------------
    def _newline(self, node: cst.Newline) -> None:
        self.line += 1

    def _empty_line(self, node: cst.EmptyLine) -> None:
        self.line += 1

    def _trailing(self, node: cst.TrailingWhitespace) -> None:
        self._whitespace(node.whitespace)
        self.last_code_line = self.line
        self.line += 1

    def _whitespace(self, node: cst.SimpleWhitespace) -> None:
        if "\\" in node.value:
            self.line += node.value.count("\n")

    def _fstring_text(self, node: cst.FormattedStringText) -> None:
        self.line += node.value.count("\n")

    # -- names ----------------------------------------------------------------------------------
    def use(self, name: str, line: int | None = None) -> None:
        use = NameUse(name, self.line if line is None else line, self.ctx)
        if self.scopes:
            self.scopes[-1].uses.append(use)
        elif self.owner is not None:
            self.owner.uses.append(use)
        else:
            self.facts.module_uses.append(use)

    def bind(self, name: str) -> None:
        if self.scopes:
            self.scopes[-1].bound.add(name)

    def _name(self, node: cst.Name) -> None:
        if not self.quiet and node.value not in _CONSTANTS:
            if self.store:
                self.bind(node.value)
            else:
                self.use(node.value)
        if node.lpar:
            self.children(node)

    def _attribute(self, node: cst.Attribute) -> None:
        if self.quiet:
            self.children(node)
            return
        dotted = dotted_name(node)
        store, self.store = self.store, False
        if dotted is not None:
            self.use(dotted)
            self.count_only_children(node)
        else:
            self.children(node, skip="attr")
        self.store = store

    def _load_children(self, node: Any) -> None:
        store, self.store = self.store, False
        self.children(node)
        self.store = store

    def _arg(self, node: cst.Arg) -> None:
        store, self.store = self.store, False
        self.children(node, skip="keyword")
        self.store = store

    def _string(self, node: cst.SimpleString) -> None:
        if not self.quiet:
            body = _string_body(node)
            if body is not None:
                if self.ctx == "annotation":
                    for name in _ANNOTATION_NAMES.findall(body):
                        self.use(name)
                elif _DOTTED.fullmatch(body):
                    self.facts.dynamic.append(
                        DynamicRef(
                            body, self.line, "string_ref", self.owner.name if self.owner else None
                        )
                    )
        self.line += node.value.count("\n")
        if node.lpar:
            for name in ("lpar", "rpar"):
                for item in getattr(node, name):
                    self.walk(item)

    def _global(self, node: Any) -> None:
        if self.scopes:
            self.scopes[-1].globals.update(item.name.value for item in node.names)
        self.count_only_children(node)

    def count_only_children(self, node: Any) -> None:
        self.quiet += 1
        try:
            self.children(node)
        finally:
            self.quiet -= 1

    def _target_field(self, field: str) -> Callable[[Any], None]:
        def handler(node: Any) -> None:
            for name in field_order(type(node)):
                value = getattr(node, name)
                if name == field:
                    store, self.store = self.store, True
                    self._field(value)
                    self.store = store
                else:
                    self._field(value)

        return handler

    def _call(self, node: cst.Call) -> None:
        store, self.store = self.store, False
        if not self.quiet:
            func = dotted_name(node.func)
            if func is not None and node.args:
                self._dynamic_import(func, node)
        self.children(node)
        self.store = store

    def _dynamic_import(self, func: str, node: cst.Call) -> None:
        if func == "__import__":
            kind = "__import__"
        elif func == "import_module" or func.endswith(".import_module"):
            kind = "import_module"
        else:
            return
        first = node.args[0].value
        if not isinstance(first, cst.SimpleString) or node.args[0].keyword is not None:
            return
        value = _string_body(first)
        if not value:
            return
        if value.startswith("."):
            package = None
            for arg in node.args[1:]:
                if arg.keyword is None or arg.keyword.value == "package":
                    package = arg.value
            value = self._relative_dynamic(value, package)
            if value is None:
                return
        self.facts.dynamic.append(
            DynamicRef(value, self.line, kind, self.owner.name if self.owner else None)
        )

    def _relative_dynamic(self, value: str, package: Any) -> str | None:
        if isinstance(package, cst.Name) and package.value in ("__name__", "__package__"):
            # import_module(".x", package=P) anchors at P itself, so __name__ means the module
            base = self.facts.module if package.value == "__name__" else self._package()
        elif isinstance(package, cst.SimpleString):
            base = _string_body(package) or ""
        else:
            return None
        level = len(value) - len(value.lstrip("."))
        parts = base.split(".") if base else []
        if level - 1 > len(parts):
            return None
        parts = parts[: len(parts) - (level - 1)]
        rest = value[level:]
        return ".".join(parts + ([rest] if rest else []))

    # -- imports --------------------------------------------------------------------------------
    def _package(self) -> str:
        if self.facts.is_package:
            return self.facts.module
        return self.facts.module.rpartition(".")[0]

    def _import_fact(
        self,
        line: int,
        module: str,
        name: str | None,
        alias: str | None,
        star: bool = False,
        level: int = 0,
    ) -> None:
        lazy = any(s.kind == "function" for s in self.scopes)
        fact = ImportFact(
            line=line,
            module=module,
            name=name,
            alias=alias,
            star=star,
            lazy=lazy,
            type_only=self.type_only,
            guarded=self.guarded,
            relative_level=level,
            owner=self.owner.name if self.owner else None,
        )
        self.facts.imports.append(fact)
        if star:
            return
        bound = alias or (name if name is not None else module.split(".", 1)[0])
        if self.scopes:
            self.scopes[-1].bound.add(bound)
            self.scopes[-1].imported.add(bound)
        else:
            self.import_bound.add(bound)

    def _import(self, node: cst.Import) -> None:
        line = self.line
        for alias in node.names:
            module = dotted_name(alias.name)
            asname = (
                alias.asname.name.value
                if alias.asname and isinstance(alias.asname.name, cst.Name)
                else None
            )
            if module:
                self._import_fact(line, module, None, asname)
        self.count_only_children(node)

    def _import_from(self, node: cst.ImportFrom) -> None:
        line = self.line
        level = len(node.relative)
        module = (dotted_name(node.module) if node.module is not None else "") or ""
        if level:
            absolute = absolute_import(self._package(), level, module)
            if absolute is None:
                self.facts.diagnostics.append(
                    _diag(
                        self.facts.file,
                        line,
                        "relative-import",
                        f"relative import with {level} dots climbs above the top-level package",
                    )
                )
                self.count_only_children(node)
                return
            module = absolute
        if isinstance(node.names, cst.ImportStar):
            self._import_fact(line, module, None, None, star=True, level=level)
        else:
            for alias in node.names:
                name = (
                    alias.name.value
                    if isinstance(alias.name, cst.Name)
                    else dotted_name(alias.name)
                )
                asname = (
                    alias.asname.name.value
                    if alias.asname and isinstance(alias.asname.name, cst.Name)
                    else None
                )
                if name:
                    self._import_fact(line, module, name, asname, level=level)
        self.count_only_children(node)

    # -- definitions ----------------------------------------------------------------------------
    def _symbol(self, name: str, kind: str, line: int) -> SymbolFact:
        sym = self.symbols.get(name)
        if sym is None:
            sym = SymbolFact(name=name, kind=kind, line=line, end_line=line)
            self.symbols[name] = sym
        elif kind != "variable" and sym.kind == "variable":
            sym.kind = kind
        return sym

    def _def(self, node: cst.FunctionDef | cst.ClassDef) -> None:
        top = not self.scopes and self.owner is None
        is_class = isinstance(node, cst.ClassDef)
        sym: SymbolFact | None = None
        existed = node.name.value in self.symbols
        if top:
            sym = self._symbol(node.name.value, "class" if is_class else "function", self.line)
        outer_owner, outer_ctx, outer_pending = self.owner, self.ctx, self.pending
        outer_function = self.function
        if not is_class:
            self.function = node
        if sym is not None:
            self.owner = sym
        scope = _Scope("class" if is_class else "function")
        self.pending = scope
        start: int | None = None
        for name in field_order(type(node)):
            value = getattr(node, name)
            if name == "decorators":
                for dec in value:
                    self.walk(dec)
                    if start is None:
                        start = self._decorator_line
                    if sym is not None:
                        target = (
                            dec.decorator.func
                            if isinstance(dec.decorator, cst.Call)
                            else dec.decorator
                        )
                        dotted = dotted_name(target)
                        if dotted and dotted not in sym.decorators:
                            sym.decorators.append(dotted)
            elif name == "name":
                if start is None:
                    start = self.line
                if not self.quiet:
                    self.bind(node.name.value)
                self.count_only(value)
            elif name == "bases":
                self.ctx = "base"
                for arg in value:
                    dotted = dotted_name(arg.value)
                    if sym is not None and dotted and not self.quiet:
                        sym.bases.append(dotted)
                    self.walk(arg)
                self.ctx = outer_ctx
            elif name == "returns" and value is not None:
                self.ctx = "annotation"
                self.walk(value)
                self.ctx = outer_ctx
            elif name == "body":
                self.pending = outer_pending
                self.scopes.append(scope)
                self.ctx = "body"
                self.walk(value)
                self.scopes.pop()
                self._close_scope(scope)
                self.ctx = outer_ctx
            else:
                self._field(value)
        if sym is not None:
            if start is not None:
                sym.line = min(sym.line, start) if existed else start
            sym.end_line = max(sym.end_line, self.last_code_line)
        self.owner, self.pending, self.function = outer_owner, outer_pending, outer_function

    _decorator_line = 0

    def _decorator(self, node: cst.Decorator) -> None:
        outer = self.ctx
        for name in field_order(type(node)):
            value = getattr(node, name)
            if name == "decorator":
                self._decorator_line = self.line
                self.ctx = "decorator"
                self.walk(value)
                self.ctx = outer
            else:
                self._field(value)

    def _close_scope(self, scope: _Scope) -> None:
        if scope.kind == "function":
            kept = [u for u in scope.uses + scope.passed if scope.keep(u)]
        else:  # names bound in a class body are not visible inside its methods
            kept = [u for u in scope.uses if scope.keep(u)] + scope.passed
        if self.scopes:
            self.scopes[-1].passed.extend(kept)
        elif self.owner is not None:
            self.owner.uses.extend(kept)
        else:
            self.facts.module_uses.extend(kept)

    def _lambda(self, node: cst.Lambda) -> None:
        scope = _Scope("function")
        outer_pending, self.pending = self.pending, scope
        outer_function, self.function = self.function, node
        for name in field_order(type(node)):
            value = getattr(node, name)
            if name == "body":
                self.scopes.append(scope)
                self.walk(value)
                self.scopes.pop()
                self._close_scope(scope)
            else:
                self._field(value)
        self.pending, self.function = outer_pending, outer_function

    def _param(self, node: cst.Param) -> None:
        for name in field_order(type(node)):
            value = getattr(node, name)
            if name == "name":
                if self.pending is not None and not self.quiet:
                    self.pending.bound.add(node.name.value)
                self.count_only(value)
            else:
                self._field(value)

    def _annotation(self, node: cst.Annotation) -> None:
        outer, self.ctx = self.ctx, "annotation"
        self.children(node)
        self.ctx = outer

    def _assign(self, node: Any) -> None:
        if self.scopes or self.owner is not None or self.quiet:
            self.children(node)
            return
        line = self.line
        names: list[str] = []
        targets = (
            [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
        )
        for target in targets:
            if isinstance(target, cst.Name):
                names.append(target.value)
            elif isinstance(target, (cst.Tuple, cst.List)):
                names.extend(
                    e.value.value for e in target.elements if isinstance(e.value, cst.Name)
                )
        if isinstance(node, (cst.Assign, cst.AugAssign)) and names == ["__all__"]:
            self._exports(node)
        names = [n for n in names if not (n.startswith("__") and n.endswith("__"))]
        if isinstance(node, cst.AugAssign):
            names = [n for n in names if n in self.symbols]
        if not names:
            self.children(node)
            return
        syms = [self._symbol(n, "variable", line) for n in names]
        self.owner = syms[0]
        self.children(node)
        self.owner = None
        for sym in syms:
            sym.end_line = max(sym.end_line, self.line)

    def _exports(self, node: Any) -> None:
        value = node.value
        if isinstance(value, (cst.List, cst.Tuple)):
            bodies = [
                _string_body(e.value)
                for e in value.elements
                if isinstance(e.value, cst.SimpleString)
            ]
            names = [n for n in bodies if n]
            if isinstance(node, cst.AugAssign) and self.facts.exports is not None:
                self.facts.exports.extend(names)
            else:
                self.facts.exports = names

    # -- control flow ---------------------------------------------------------------------------
    def _if(self, node: cst.If) -> None:
        test = dotted_name(node.test)
        is_tc = test is not None and (test == "TYPE_CHECKING" or test.endswith(".TYPE_CHECKING"))
        for name in field_order(type(node)):
            value = getattr(node, name)
            if name == "body" and is_tc:
                outer, self.type_only = self.type_only, True
                self.walk(value)
                self.type_only = outer
            else:
                self._field(value)

    def _try(self, node: Any) -> None:
        for name in field_order(type(node)):
            value = getattr(node, name)
            if name in ("body", "handlers"):
                outer, self.guarded = self.guarded, True
                self._field(value)
                self.guarded = outer
            else:
                self._field(value)


def _diag(file: str, line: int, code: str, message: str, severity: str = "warning") -> Diagnostic:
    return Diagnostic(file, line, code, message, severity)


def collect(tree: cst.Module, facts: ModuleFacts) -> WalkContext:
    """Fill ``facts`` from ``tree`` in one pass; return what the pass learnt about the tree
    (node lines, the nodes plug-ins look at) for the plug-ins that read it next."""
    collector = Collector(facts)
    collector.run(tree)
    # its handlers (bound methods) refer back to it: without this cycle, reference counting
    # frees the collector and the tree with the context (workers run the cyclic collector
    # once per batch only)
    collector.dispatch.clear()
    return WalkContext(tree, collector.lines, collector.nodes)
