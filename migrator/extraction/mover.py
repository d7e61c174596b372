"""Move code with libcst so that comments and formatting survive.

Three operations, each a pure function from source text to source text:

* ``split_module`` keeps only some top-level definitions of a module (a ``models.py`` that holds
  the entities of several services becomes one module per service), plus whatever module-level
  helpers they need, then drops the imports nothing uses any more. The module docstring stays.
* ``prune_imports`` drops unused imported names (used by ``split_module`` and by generated code).
* ``prune_unavailable`` removes every statement, at any depth, that uses a name which does not
  exist in the service (used on composition roots such as an app factory that registers the
  blueprints of every domain: each service keeps only the registrations it can satisfy).

Nothing here imports or runs the code it moves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeGuard

import libcst as cst

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _NameCollector(cst.CSTVisitor):
    """Every name a piece of code reads, binds or mentions (over-approximates on purpose)."""

    def __init__(self, strings: bool = True) -> None:
        self.names: set[str] = set()
        self.strings = strings

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # ``x.attr``: ``attr`` is not a name of this module
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)  # ``f(key=value)``: ``key`` is not a name either
        return False

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        # string annotations ("Product", "list[Order]") name things too
        if self.strings:
            value = node.evaluated_value
            if (
                isinstance(value, str)
                and len(value) < 200
                and re.fullmatch(r"[\w.\[\], |]+", value)
            ):
                self.names.update(_IDENT.findall(value))


def names_in(node: cst.CSTNode, strings: bool = True) -> set[str]:
    collector = _NameCollector(strings)
    node.visit(collector)
    return collector.names


def bound_names(stmt: cst.CSTNode) -> set[str]:
    """Top-level names a statement binds (defs, classes, assignments, imports, nested blocks)."""
    out: set[str] = set()
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        return {stmt.name.value}
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    out |= target_names(target.target)
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                out |= target_names(small.target)
            elif isinstance(small, (cst.Import, cst.ImportFrom)):
                out |= import_bindings(small)
        return out
    # compound statement at module level (if/try/with/for): what its body binds
    for child in _suite_statements(stmt):
        out |= bound_names(child)
    return out


def _suite_statements(stmt: cst.CSTNode) -> list[cst.CSTNode]:
    out: list[cst.CSTNode] = []
    for attr in ("body", "orelse", "finalbody"):
        part = getattr(stmt, attr, None)
        if part is None:
            continue
        if isinstance(part, cst.IndentedBlock):
            out.extend(part.body)
        elif isinstance(part, (cst.Else, cst.Finally, cst.If)):
            out.extend(
                _suite_statements(part)
                if isinstance(part, cst.If)
                else list(part.body.body)
                if isinstance(part.body, cst.IndentedBlock)
                else []
            )
    for handler in getattr(stmt, "handlers", ()) or ():
        if isinstance(handler.body, cst.IndentedBlock):
            out.extend(handler.body.body)
    return out


def target_names(target: cst.BaseExpression) -> set[str]:
    """The names an assignment target binds (``a``, ``a, b``, ``[a, *b]``)."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        out: set[str] = set()
        for el in target.elements:
            out |= target_names(el.value)
        return out
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    return set()


def import_bindings(node: cst.Import | cst.ImportFrom) -> set[str]:
    if isinstance(node, cst.ImportFrom) and isinstance(node.names, cst.ImportStar):
        return set()
    out = set()
    for alias in node.names:  # type: ignore[union-attr]
        if alias.asname is not None:
            out.add(cst.ensure_type(alias.asname.name, cst.Name).value)
        else:
            full = dotted(alias.name)
            out.add(full.split(".")[0] if isinstance(node, cst.Import) else full)
    return out


def dotted(node: cst.BaseExpression) -> str:
    """The dotted names at the end of ``node``: ``a.b`` for ``a.b``, ``.b`` for ``f().b``, ""
    for anything else. Unlike ``analysis.collect.dotted_name`` (None unless the whole chain is
    names), a call's attribute keeps its trailing name, which extraction matches on
    (``get_model(...).ForeignKey``)."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{dotted(node.value)}.{node.attr.value}"
    return ""


def is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def is_import_line(stmt: cst.CSTNode) -> TypeGuard[cst.SimpleStatementLine]:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    )


@dataclass
class SplitResult:
    code: str
    kept: list[str] = field(default_factory=list)  # top-level names kept
    pulled_in: list[str] = field(default_factory=list)  # unowned helpers kept because needed
    missing: dict[str, list[str]] = field(default_factory=dict)  # dropped name -> kept users
    duplicated: list[str] = field(default_factory=list)  # values owned elsewhere, copied here
    #: dropped names that only ``__all__`` named: taken out of it, so nothing here refers to them
    unexported: list[str] = field(default_factory=list)


def split_module(
    source: str, keep: Iterable[str], drop: Iterable[str] = (), extra_uses: Iterable[str] = ()
) -> SplitResult:
    """Keep the top-level definitions named in ``keep`` (and the unowned ones they need).

    ``drop`` names definitions that belong elsewhere: a function or class goes even when a kept
    definition uses it (reported in ``missing``); a value such as a Blueprint or a constant is
    copied (reported in ``duplicated``). Names in neither set stay only when something kept needs
    them. Other top-level statements (``bp.add_url_rule(...)``, ``if __name__ ...``) stay when
    they use a kept name and nothing that was dropped.
    """
    module, binds, uses = _statement_facts(source)
    keep, drop = set(keep), set(drop)
    body = list(module.body)
    definer: dict[str, int] = {}
    for i, names in enumerate(binds):
        for n in names:
            definer.setdefault(n, i)
    kept_idx: set[int] = set()
    missing: dict[str, set[str]] = {}
    for i, s in enumerate(body):
        if i == 0 and is_docstring(s):
            kept_idx.add(i)
        elif binds[i] & keep:
            kept_idx.add(i)
    pulled: set[str] = set()
    duplicated: set[str] = set()
    changed = True
    while changed:
        changed = False
        for i in sorted(kept_idx):
            for name in uses[i]:
                j = definer.get(name)
                if j is None or j in kept_idx or j == i:
                    continue
                if binds[j] & drop and not binds[j] & keep:
                    if isinstance(body[j], (cst.FunctionDef, cst.ClassDef)):
                        missing.setdefault(name, set()).update(binds[i] & keep or {"<module>"})
                        continue
                    duplicated |= binds[j] & drop  # a value (a Blueprint, a constant): copied
                kept_idx.add(j)
                pulled |= binds[j]
                changed = True
        available = set().union(*(binds[i] for i in kept_idx)) if kept_idx else set()
        for i, s in enumerate(body):
            if i in kept_idx or binds[i] or is_import_line(s) or is_docstring(s):
                continue
            local = {n for n in uses[i] if n in definer}
            if local and local <= available:
                kept_idx.add(i)
                changed = True
    # the export list names only what the copy has (an ``import *`` of it asks for them all);
    # a dropped name nothing else here named is not referred to any more
    unexported = sorted(n for n, users in missing.items() if users == {"__all__"})
    new_body = [
        _without_exports(s, set(missing)) if missing else s
        for i, s in enumerate(body)
        if i in kept_idx or is_import_line(s)
    ]
    used = set().union(*(uses[i] for i in kept_idx)) if kept_idx else set()
    new_module = prune_imports(module.with_changes(body=new_body), extra_uses, used=used)
    kept_names = sorted(set().union(*(binds[i] for i in kept_idx)) & keep) if kept_idx else []
    return SplitResult(
        code=new_module.code,
        kept=kept_names,
        pulled_in=sorted(pulled - keep),
        duplicated=sorted(duplicated),
        missing={k: sorted(v) for k, v in sorted(missing.items()) if k not in unexported},
        unexported=unexported,
    )


def _without_exports(stmt: cst.BaseStatement, names: set[str]) -> cst.BaseStatement:
    """``__all__ = (...)`` without the strings in ``names``; any other statement as it is."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and "__all__" in bound_names(stmt)):
        return stmt
    small = stmt.body[0]
    if not (isinstance(small, cst.Assign) and isinstance(small.value, (cst.List, cst.Tuple))):
        return stmt
    kept = [
        el
        for el in small.value.elements
        if not (isinstance(el.value, cst.SimpleString) and el.value.evaluated_value in names)
    ]
    if isinstance(small.value, cst.Tuple) and len(kept) == 1:
        kept = [kept[0].with_changes(comma=cst.Comma())]  # still a tuple
    return stmt.with_changes(
        body=[small.with_changes(value=small.value.with_changes(elements=kept))]
    )


@lru_cache(maxsize=512)
def _statement_facts(source: str) -> tuple[cst.Module, list[set[str]], list[set[str]]]:
    """Parse once per source text: each top-level statement's bound and used names."""
    module = cst.parse_module(source)
    binds = [bound_names(s) if not is_import_line(s) else set() for s in module.body]
    uses = [names_in(s) if not is_import_line(s) else set() for s in module.body]
    return module, binds, uses


def prune_imports(
    module: cst.Module, extra_uses: Iterable[str] = (), used: set[str] | None = None
) -> cst.Module:
    """Drop top-level imported names that the rest of the module never uses.

    ``from __future__`` and star imports always stay; a line whose names all go disappears
    with its leading comments. ``used``: the names the non-import statements use, when the
    caller already knows them.
    """
    if used is None:
        used = set()
        for s in module.body:
            if not is_import_line(s):
                used |= names_in(s)
    used = used | set(extra_uses)
    used |= _dunder_all(module)
    new_body: list[cst.BaseStatement] = []
    gap = False  # a dropped line had a blank line above it: keep the spacing
    for s in module.body:
        if is_import_line(s):
            smalls = [k for k in (_filter_import(small, used) for small in s.body) if k is not None]
            if not smalls:
                gap = gap or any(line.comment is None for line in s.leading_lines)
                continue
            smalls[-1] = smalls[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
            s = s.with_changes(body=smalls)
        if gap and not s.leading_lines and new_body:
            s = s.with_changes(leading_lines=[cst.EmptyLine()])
        gap = False
        new_body.append(s)
    return module.with_changes(body=new_body)


def _dunder_all(module: cst.Module) -> set[str]:
    out: set[str] = set()
    for s in module.body:
        if isinstance(s, cst.SimpleStatementLine):
            for small in s.body:
                if isinstance(small, cst.Assign) and any(
                    isinstance(t.target, cst.Name) and t.target.value == "__all__"
                    for t in small.targets
                ):
                    for node in _strings(small.value):
                        out.add(node)
    return out


def _strings(node: cst.BaseExpression) -> list[str]:
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return [v for el in node.elements for v in _strings(el.value)]
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        return [node.evaluated_value]
    return []


def _filter_import(small: cst.BaseSmallStatement, used: set[str]) -> cst.BaseSmallStatement | None:
    if isinstance(small, cst.ImportFrom):
        if isinstance(small.names, cst.ImportStar):
            return small
        if small.module is not None and dotted(small.module) == "__future__" and not small.relative:
            return small
        aliases = [a for a in small.names if _alias_binding(a, small) in used]
        if not aliases:
            return None
        if len(aliases) == len(small.names):
            return small
        aliases[-1] = aliases[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        lpar = small.lpar if len(aliases) > 1 else None
        rpar = small.rpar if len(aliases) > 1 else None
        return small.with_changes(names=aliases, lpar=lpar, rpar=rpar)
    if isinstance(small, cst.Import):
        aliases = [a for a in small.names if _alias_binding(a, small) in used]
        if not aliases:
            return None
        aliases[-1] = aliases[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return small.with_changes(names=aliases)
    return small


def _alias_binding(alias: cst.ImportAlias, node: cst.Import | cst.ImportFrom) -> str:
    if alias.asname is not None:
        return cst.ensure_type(alias.asname.name, cst.Name).value
    full = dotted(alias.name)
    return full.split(".")[0] if isinstance(node, cst.Import) else full


# -- pruning statements that need what a service does not have ------------------------------
class _Pruner(cst.CSTTransformer):
    def __init__(self, unavailable: set[str]) -> None:
        self.unavailable = unavailable
        self.removed: list[int] = []  # indexes into nothing; we count
        self.count = 0

    def _bad(self, node: cst.CSTNode) -> bool:
        return bool(_reads(node) & self.unavailable)

    def _header_bad(self, node: cst.CSTNode) -> bool:
        parts: list[cst.CSTNode] = []
        if isinstance(node, (cst.If, cst.While)):
            parts = [node.test]
        elif isinstance(node, cst.For):
            parts = [node.iter]
        elif isinstance(node, cst.With):
            parts = [item.item for item in node.items]
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            parts = [d.decorator for d in node.decorators]
            if isinstance(node, cst.ClassDef):
                parts += [a.value for a in node.bases]
        return any(self._bad(p) for p in parts)

    def _filter(self, stmts: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement]:
        out: list[cst.BaseStatement] = []
        for s in stmts:
            if isinstance(s, cst.SimpleStatementLine):
                if is_import_line(s):
                    out.append(s)
                    continue
                if self._bad(s):
                    self.count += 1
                    # what it would have assigned is missing too: ``p = Product(); add(p)``
                    self.unavailable |= bound_names(s) - {"_"}
                    continue
            elif self._header_bad(s):
                self.count += 1
                self.unavailable |= (
                    bound_names(s) if isinstance(s, (cst.FunctionDef, cst.ClassDef)) else set()
                )
                continue
            out.append(s)
        return out

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        # names tainted inside a block stay tainted after it (loops assign in their bodies)
        for s in node.body:
            if isinstance(s, cst.SimpleStatementLine) and not is_import_line(s) and self._bad(s):
                self.unavailable |= bound_names(s) - {"_"}

    def leave_IndentedBlock(
        self, original: cst.IndentedBlock, updated: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        body = self._filter(updated.body)
        if not body:
            body = [cst.SimpleStatementLine([cst.Pass()])]
        return updated.with_changes(body=body)

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        return updated.with_changes(body=self._filter(updated.body))


class _CompTargets(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.names |= target_names(node.target)


def _expr_reads(node: cst.CSTNode) -> set[str]:
    """Names an expression reads, without the loop variables of its own comprehensions."""
    comps = _CompTargets()
    node.visit(comps)
    return names_in(node, strings=False) - comps.names


def _reads(node: cst.CSTNode) -> set[str]:
    """Names a statement reads: assignment targets that are plain names are written, not read."""
    if not isinstance(node, cst.SimpleStatementLine):
        return _expr_reads(node)
    out: set[str] = set()
    for small in node.body:
        if isinstance(small, cst.Assign):
            out |= _expr_reads(small.value)
            for t in small.targets:
                if not isinstance(t.target, (cst.Name, cst.Tuple, cst.List)):
                    out |= _expr_reads(t.target)
        elif isinstance(small, cst.AnnAssign):
            out |= _expr_reads(small.annotation)
            if small.value is not None:
                out |= _expr_reads(small.value)
            if not isinstance(small.target, cst.Name):
                out |= _expr_reads(small.target)
        else:
            out |= _expr_reads(small)
    return out


def prune_unavailable(module: cst.Module, unavailable: Iterable[str]) -> tuple[cst.Module, int]:
    """Remove every statement (at any depth) that uses one of ``unavailable``; count them."""
    pruner = _Pruner(set(unavailable))
    new = module.visit(pruner)
    return new, pruner.count
