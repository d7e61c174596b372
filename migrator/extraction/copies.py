"""Helpers of another service that the caller runs as a copy, decided from the code alone.

A call whose arguments or result cannot cross a network (a URL pattern object, a model class
made by a factory) need not cross at all when the function is plain code the caller can run
itself: it is copied into the caller's client module with the definitions of its module it
needs. That is only the monolith's behaviour when everything the copy uses is in the caller's
process too: each name it imports from the monolith is one the caller has (its own code or the
kernel's), it defines no model with a table (the table is the owner's), it reaches no database
but through the models it imports (no session, connection or raw SQL), and neither it nor the
modules it imports load code by a name known only at run time (a settings value may name the
owner's code). A model it makes at run time (``type(name, (AbstractBase,), ...)`` with the
caller's model) is the caller's; module-level state (a registry, a cache) is the caller's own.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from migrator.extraction.mover import names_in, split_module
from migrator.extraction.source import SourceTree

#: calls that import code by a name known only at run time (a settings value): a copy that
#: reaches one may load the owner's code, which the caller does not have
LOADERS = ("import_module", "import_string", "__import__", "load_backend")


#: names through which code reaches a database other than by a model class it imports (a
#: session, a connection, raw SQL): in the caller that would be the caller's database
DATABASE_WORDS = set(
    """
    session db_session dbsession sess conn connection connections cursor engine execute
    executemany raw query scalar scalars commit flush rollback
    """.split()
)


def _loads_by_name(code: str) -> bool:
    return any(f"{name}(" in code or f"import {name}" in code for name in LOADERS)


def _module_loads(tree: SourceTree, module: str, seen: set[str]) -> bool:
    """``module``, or a monolith module it imports (at any depth), loads code by name."""
    if module in seen:
        return False
    seen.add(module)
    info = tree.info(module)
    if _loads_by_name(info.source):
        return True
    return any(
        _module_loads(tree, target, seen)
        for imp in info.imports
        if (target := _imported_module(tree, imp.module, imp.name)) in tree.files
    )


def _imported_module(tree: SourceTree, module: str, name: str | None) -> str:
    """The monolith module that ``from module import name`` (or ``import module``) needs."""
    if name is None or module not in tree.files:
        return module
    target, _symbol = tree.resolve(module, name)
    return target


def copy_closure(
    tree: SourceTree, module: str, name: str, has: Callable[[str, str | None], bool]
) -> tuple[tuple[str, ...], str]:
    """The other definitions of ``module`` that a copy of ``name`` needs, and why it cannot be
    copied into a caller whose importable names ``has`` tells ('' when it can)."""
    info = tree.info(module)
    split = split_module(info.source, {name})
    needed = sorted(set(split.pulled_in) - {name})
    for other in [name, *needed]:
        model = tree.models.get(f"{module}:{other}")
        if other in info.classes and model is not None and model.table:
            return (), f"its copy would define {other}, a model with a table of the owner"
    if _loads_by_name(split.code):
        return (), "it loads code by name at run time, which the caller may not have"
    used = names_in(cst.parse_module(split.code))
    reached = sorted(used & DATABASE_WORDS)
    if reached:
        return (), f"it reaches a database through {reached[0]}, which in the caller is its own"
    tops = {m.split(".")[0] for m in tree.files}
    for imp in sorted(info.imports, key=lambda i: (i.line, i.binding)):
        if imp.binding not in used or imp.module.split(".")[0] not in tops:
            continue
        target, symbol = (
            tree.resolve(imp.module, imp.name) if imp.name is not None else (imp.module, None)
        )
        if target not in tree.files:  # a third-party name the module re-exports
            target, symbol = imp.module, None
        what = f"{target}:{symbol}" if symbol else target
        if not has(target, symbol):
            return (), f"its copy needs {what}, which the caller does not have"
        if target in tree.files and _module_loads(tree, target, set()):
            return (), f"its copy uses {what}, whose module loads code by name at run time"
    return tuple(needed), ""
