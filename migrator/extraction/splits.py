"""Functions a service's copy of a split module lacks, called through their owner's client.

A module the plan splits keeps in each service's copy that service's part and the kernel's
part; the kernel's part may call a function another service took (a command-line module's
``main``, a request dependency calling a token check). When that function is in its owner's
interface and every call the copy makes of it can cross, the copy imports it from itself
(``from pkg.mod import name``), which the import rewriter then points at the generated
client, as it does for any other module's import of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from migrator.extraction.layout import KERNEL

if TYPE_CHECKING:
    from migrator.extraction.rewrite import Analyzer, ServiceRefs

#: entries a copy of the module can import from the client
CALLABLE = ("function", "copy")


def through_clients(
    analyzer: Analyzer,
    refs: ServiceRefs,
    service: str,
    module: str,
    code: str,
    missing: list[str],
) -> tuple[str, set[str]]:
    """The copy's ``code`` with an import of each ``missing`` function that can be called
    through its owner's client, and the names so imported."""
    info = analyzer.tree.info(module)
    copy = cst.parse_module(code)
    calls = _Calls()
    copy.visit(calls)
    taken: set[str] = set()
    for name in sorted(missing):
        owner = analyzer.owner_of(module, name)
        if name not in info.functions or owner in (None, KERNEL, service):
            continue
        known = module in refs.clients and name in refs.clients[module].entries
        analyzer.add_entry(refs, service, module, name, (module, name))
        entry = refs.clients[module].entries[name]
        key = f"{module}:{name}"
        if entry.kind in CALLABLE and all(
            analyzer.call_verdict(key, call, module).ok for call in calls.of.get(name, [])
        ):
            taken.add(name)
        elif not known:  # nothing else of this service asked for it: no stand-in either
            del refs.clients[module].entries[name]
            if not refs.clients[module].entries:
                del refs.clients[module]
    if not taken:
        return code, taken
    imports = [cst.parse_statement(f"from {module} import {n}\n") for n in sorted(taken)]
    body = list(copy.body)
    at = 0
    while at < len(body) and _preamble(body[at]):
        at += 1
    return copy.with_changes(body=[*body[:at], *imports, *body[at:]]).code, taken


def _preamble(stmt: cst.CSTNode) -> bool:
    """A docstring or ``from __future__ import ...``: what must stay first."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString):
        return True
    return (
        isinstance(small, cst.ImportFrom)
        and isinstance(small.module, cst.Name)
        and small.module.value == "__future__"
    )


class _Calls(cst.CSTVisitor):
    """Calls of plain names in a module: name -> the calls."""

    def __init__(self) -> None:
        self.of: dict[str, list[cst.Call]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name):
            self.of.setdefault(node.func.value, []).append(node)
