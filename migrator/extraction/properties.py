"""Model properties a read-only copy of a row evaluates itself.

A caller that reads ``row.instance`` of another service's row, where ``instance`` is a
``@property`` (or ``@hybrid_property``) of the model, gets no column for it from the owner.
When the getter only reads the row's columns, columns of its related rows, other such
properties, and names the caller's service can import (or module constants built from them),
the client gets a copy of the getter (``runtime.compute``) that runs on the copy
(``runtime.ReadRow``), as it ran on the row in the monolith.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider, ScopeProvider

from migrator.extraction.mover import dotted, names_in
from migrator.extraction.source import ClassInfo, ImportInfo, ModuleInfo

#: decorators of a getter a copy can run
GETTERS = {"property", "hybrid_property"}
#: bases outside the monolith that give a row no attribute a getter could read
ORM_BASES = {"object", "DeclarativeBase", "db.Model"}
#: the relation kinds (``Analyzer._related``) that mark a copied getter or class helper, not a
#: relationship
KIND = "computed"
HELPER = "helper"


def getters(node: cst.ClassDef) -> dict[str, cst.FunctionDef]:
    """The ``@property`` / ``@hybrid_property`` getters of a class body (one parameter)."""
    found: dict[str, cst.FunctionDef] = {}
    for stmt in node.body.body:
        if (
            isinstance(stmt, cst.FunctionDef)
            and len(stmt.decorators) == 1
            and dotted(stmt.decorators[0].decorator).rpartition(".")[2] in GETTERS
            and len(stmt.params.params) == 1
            and not isinstance(stmt.params.star_arg, cst.Param)
            and not stmt.params.kwonly_params
            and not stmt.params.star_kwarg
            and not isinstance(stmt.asynchronous, cst.Asynchronous)
        ):
            found[stmt.name.value] = stmt
    return found


def defined(node: cst.ClassDef) -> set[str]:
    """Every name a class body binds (columns, methods, constants, annotations)."""
    names: set[str] = set()
    for stmt in node.body.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            names.add(stmt.name.value)
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                targets = (
                    [t.target for t in small.targets]
                    if isinstance(small, cst.Assign)
                    else [small.target]
                    if isinstance(small, (cst.AnnAssign, cst.AugAssign))
                    else []
                )
                names |= {t.value for t in targets if isinstance(t, cst.Name)}
    return names


@dataclass
class Reads:
    """What a getter does with ``self``, and the names it takes from its module."""

    attrs: list[tuple[str, str | None]] = field(default_factory=list)  # (attr, attr of it)
    misuse: str = ""
    free: set[str] = field(default_factory=set)


@functools.lru_cache(maxsize=4096)
def reads(func: cst.FunctionDef) -> Reads:
    """``self.attr`` and ``self.rel.col`` reads of a getter; ``misuse`` when ``self`` is
    used any other way (handed on, changed, called) or the getter binds a global (cached per
    function node: a run asks again for each row that reads the property; do not change
    what it gives)."""
    out = Reads()
    this = func.params.params[0].name.value if func.params.params else None
    wrapper = MetadataWrapper(cst.Module([func.with_changes(decorators=[])]))
    parents = wrapper.resolve(ParentNodeProvider)
    scopes = wrapper.resolve(ScopeProvider)

    class _Self(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value != this or isinstance(parents[node], cst.Param):
                return
            attr = parents[node]
            if not (isinstance(attr, cst.Attribute) and attr.value is node):
                out.misuse = out.misuse or f"uses {this} other than reading an attribute"
                return
            above = parents[attr]
            if isinstance(above, (cst.AssignTarget, cst.AugAssign, cst.Del)) or (
                isinstance(above, cst.Call) and above.func is attr
            ):
                out.misuse = out.misuse or f"calls or changes {this}.{attr.attr.value}"
                return
            inner = above.attr.value if isinstance(above, cst.Attribute) else None
            out.attrs.append((attr.attr.value, inner))

        def visit_Global(self, node: cst.Global) -> None:
            out.misuse = "binds a global"

    wrapper.module.visit(_Self())
    names = set(dir(builtins))
    for scope in {s for s in scopes.values() if s is not None}:
        out.free |= {  # names no scope of the getter binds: its module's
            a.node.value
            for a in scope.accesses
            if isinstance(a.node, cst.Name) and not a.referents and a.node.value not in names
        }
    out.free.discard(func.name.value)
    return out


def import_line(imp: ImportInfo) -> str:
    """The statement that binds ``imp`` (absolute)."""
    if imp.name is None:
        if imp.binding == imp.module.split(".")[0]:
            return f"import {imp.module}"
        return f"import {imp.module} as {imp.binding}"
    alias = f" as {imp.binding}" if imp.binding != imp.name else ""
    return f"from {imp.module} import {imp.name}{alias}"


def constants(info: ModuleInfo) -> dict[str, cst.Assign]:
    """Module-level ``NAME = value`` statements of a module, by name."""
    found: dict[str, cst.Assign] = {}
    for stmt in info.module.body:
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) else None
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
        ):
            found[small.targets[0].target.value] = small
    return found


def module_names(
    info: ModuleInfo, free: set[str], importable: Callable[[ImportInfo], bool]
) -> list[str] | None:
    """The statements that bind ``free`` in a copy (imports first, then constants built from
    imports), or None when one of them is neither an import the caller can have nor such a
    constant."""
    imports = {i.binding: i for i in info.imports if not i.lazy}
    consts = constants(info)
    lines: list[str] = []
    wanted = set(free)
    for name in sorted(free):
        if name in consts:
            wanted |= names_in(consts[name].value, strings=False) - set(dir(builtins))
    for name in sorted(wanted):
        imp = imports.get(name)
        if imp is not None:
            if not importable(imp):
                return None
            lines.append(import_line(imp))
        elif name not in consts or name not in free:
            return None  # a function or class of the module, or a constant of a constant
    for name in sorted(free):
        if name in consts:
            lines.append(cst.Module([]).code_for_node(consts[name]).strip().rstrip(";"))
    return lines


def factory(model: str, lines: list[str], funcs: list[cst.FunctionDef], kind: str = KIND) -> str:
    """Client code that registers copies of ``funcs`` (getters of ``model``, or its class
    helpers) with the runtime; ``lines``: the imports and constants they need, bound in the
    factory's scope so that they never shadow the client's own names."""
    name = f"_{model}_{'properties' if kind == KIND else 'helpers'}"
    what = "Getters of the model, run on read-only copies" if kind == KIND else "Class helpers"
    head = [f"def {name}():", f'    """{what} (copied by migrator)."""']
    head += [f"    {line}" for line in lines]
    pairs = ", ".join(f"{f.name.value!r}: {f.name.value}" for f in funcs)
    outer = cst.ensure_type(cst.parse_statement("\n".join(head) + "\n"), cst.FunctionDef)
    nested = [plain(f).with_changes(leading_lines=[cst.EmptyLine(indent=False)]) for f in funcs]
    done = cst.parse_statement(f"return {{{pairs}}}\n").with_changes(
        leading_lines=[cst.EmptyLine(indent=False)]
    )
    outer = outer.with_changes(body=outer.body.with_changes(body=[*outer.body.body, *nested, done]))
    code = cst.Module([outer]).code.rstrip("\n")
    register = "compute" if kind == KIND else "share"
    return code + f"\n\n\nruntime.{register}({model!r}, {name}())"


@dataclass
class Judged:
    """The getters a copy needs for one property, the relationships they read (attribute ->
    (target ``module:Class``, key column, kind)) and the statements binding their names."""

    getters: dict[str, cst.FunctionDef]
    relations: dict[str, tuple[str, str, str]]
    lines: list[str]


def judge(
    getters_of: dict[str, cst.FunctionDef],
    module: ModuleInfo,
    attr: str,
    known: set[str] | None,
    columns: Callable[[str | None], set[str]],
    relations: dict[str, tuple[str, str, str]],
    importable: Callable[[ImportInfo], bool],
) -> Judged | None:
    """Whether a copy can run the getter ``attr`` (of a model whose own getters are
    ``getters_of``, defined in ``module``): it reads only columns (``columns(None)``), related
    rows (copies) or their columns (``columns(target)``), other such getters, and attributes no
    class of the model defines (``known``: every name the model and its bases define, None
    when a base is unknown), which fail on the copy as they did on the row."""
    if attr not in getters_of:
        return None
    needed: dict[str, cst.FunctionDef] = {}
    rels: dict[str, tuple[str, str, str]] = {}
    free: set[str] = set()
    todo = [attr]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed[name] = getters_of[name]
        found = reads(needed[name])
        if found.misuse:
            return None
        free |= found.free
        for read, inner in found.attrs:
            rel = relations.get(read)
            if read in columns(None):
                continue
            if rel is not None:
                if inner is not None and inner not in columns(rel[0]):
                    return None  # a method or relationship of the related row
                rels[read] = rel
            elif read in getters_of:
                todo.append(read)
            elif known is None or read in known:
                return None
    lines = module_names(module, free, importable)
    if lines is None:
        return None
    return Judged(dict(sorted(needed.items())), rels, lines)


def hierarchy(
    model: str,
    class_info: Callable[[str], ClassInfo | None],
    class_of: Callable[[str, str], str | None],
) -> list[tuple[str, ClassInfo]] | None:
    """``model`` (``module:Class``) and the classes of the monolith it derives from, nearest
    first, or None when one of its bases is outside the monolith and not a plain ORM base."""
    found: list[tuple[str, ClassInfo]] = []
    todo, seen = [model], set()
    while todo:
        key = todo.pop(0)
        info = class_info(key)
        if info is None or key in seen:
            continue
        seen.add(key)
        found.append((key, info))
        module = key.partition(":")[0]
        for base in info.bases:
            parent = class_of(base, module)
            if parent is None and base not in ORM_BASES:
                return None
            if parent is not None:
                todo.append(parent)
    return found


def known_names(classes: list[tuple[str, ClassInfo]] | None) -> set[str] | None:
    """Every name the classes of a model's ``hierarchy`` define (None: not all are known)."""
    return None if classes is None else set().union(*(defined(i.node) for _k, i in classes))


#: methods of builtin values (``s.lower()``, ``d.items()``): what a pure helper may call on
#: the values it is given (a row's own methods would not run on a read-only copy)
VALUE_METHODS = set().union(*(dir(t) for t in (str, bytes, int, float, list, dict, set, tuple)))


def helper(
    classes: list[tuple[str, ClassInfo]], name: str, row_methods: frozenset[str] = frozenset()
) -> tuple[str, cst.FunctionDef] | None:
    """The class that defines ``name`` as a ``@staticmethod``, or a ``@classmethod`` that
    never uses its class, with that function: a copy runs it without the model
    (``row_methods``: methods it may call on what it is given, which a row's copy answers)."""
    for key, info in classes:
        for stmt in info.node.body.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
                kinds = [dotted(d.decorator) for d in stmt.decorators]
                first = stmt.params.params[0].name.value if stmt.params.params else None
                if kinds == ["staticmethod"] or (
                    kinds == ["classmethod"] and first and first not in names_in(stmt.body)
                ):
                    return (key, stmt) if _pure(stmt, row_methods) else None
                return None
    return None


def _pure(func: cst.FunctionDef, row_methods: frozenset[str] = frozenset()) -> bool:
    """Every method the helper calls is one of a builtin value's, one of ``row_methods``, or
    of a name it does not bind itself (such as an imported library), and it binds no global."""
    bound = names_in(func.params) | {
        cst.ensure_type(n, cst.Name).value
        for node in _all(func.body, (cst.AssignTarget, cst.For, cst.CompFor, cst.WithItem))
        for n in _all(node, (cst.Name,))
    }
    for call in _all(func.body, (cst.Call,)):
        f = cst.ensure_type(call, cst.Call).func
        if isinstance(f, cst.Attribute) and f.attr.value not in VALUE_METHODS | row_methods:
            head = f.value
            while isinstance(head, cst.Attribute):
                head = head.value
            if not isinstance(head, cst.Name) or head.value in bound:
                return False  # a method of a value it was given or made (a row's?)
    return not _all(func.body, (cst.Global, cst.Nonlocal))


def _all(node: cst.CSTNode, kinds: tuple[type[cst.CSTNode], ...]) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []

    class _Find(cst.CSTVisitor):
        def on_visit(self, n: cst.CSTNode) -> bool:
            if isinstance(n, kinds):
                found.append(n)
            return True

    node.visit(_Find())
    return found


def plain(func: cst.FunctionDef) -> cst.FunctionDef:
    """A static or class method as a plain function (a class method's unused class dropped)."""
    params = func.params
    if [dotted(d.decorator) for d in func.decorators] == ["classmethod"]:
        params = params.with_changes(params=params.params[1:])
    return func.with_changes(decorators=[], params=params, leading_lines=[])
