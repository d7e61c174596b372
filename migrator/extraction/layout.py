"""Where every module of the monolith goes: whole into a service, split across services, into
the shared kernel library, or (composition roots such as the app factory) pruned into every
service.

Pure planning: nothing is written here. ``Layout`` answers "does service S have module M (and
symbol N in it)?", which every rewrite asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from migrator.extraction.source import SourceTree
from migrator.plan import SHARED, Plan

KERNEL = SHARED
_ROOT_MARKERS = re.compile(
    r"\.register_blueprint\(|\bFlask\(\s*__name__|\bFastAPI\(|"
    r"\.include_router\("
)


@dataclass
class Layout:
    services: list[str]
    whole: dict[str, str] = field(default_factory=dict)  # module -> owner (service or KERNEL)
    split: dict[str, dict[str, str]] = field(default_factory=dict)  # module -> symbol -> owner
    roots: list[str] = field(default_factory=list)  # composition roots (app factories)
    unassigned: list[str] = field(default_factory=list)
    namespace: dict[str, set[str]] = field(
        default_factory=dict
    )  # placement -> packages w/o __init__
    notes: list[str] = field(default_factory=list)

    def owner(self, module: str, symbol: str | None = None) -> str | None:
        if module in self.split:
            if symbol is None:
                return None
            return self.split[module].get(symbol)
        return self.whole.get(module)

    def kernel_split(self, module: str) -> bool:
        return KERNEL in self.split.get(module, {}).values()

    def modules_of(self, placement: str) -> list[str]:
        """Modules that exist in a placement (a service or the kernel library)."""
        out = {m for m, o in self.whole.items() if o == placement}
        for m, symbols in self.split.items():
            if placement == KERNEL:
                if (
                    not any(o not in (KERNEL,) for o in symbols.values())
                    and KERNEL in symbols.values()
                ):
                    out.add(m)
            elif placement in symbols.values() or KERNEL in symbols.values():
                out.add(m)
        if placement != KERNEL:
            out.update(self.roots)
        return sorted(out)

    def has(
        self,
        placement: str,
        module: str,
        symbol: str | None = None,
        defined: set[str] | None = None,
    ) -> bool:
        """Is ``module`` (and ``symbol`` in it) importable in ``placement``'s process?"""
        if placement != KERNEL and self._in(KERNEL, module, symbol, defined):
            return True
        return self._in(placement, module, symbol, defined)

    def _in(
        self, placement: str, module: str, symbol: str | None, defined: set[str] | None
    ) -> bool:
        if module in self.roots:
            return placement != KERNEL
        if module in self.split:
            if placement == KERNEL and module not in self.modules_of(KERNEL):
                return False
            if placement != KERNEL and module not in self.modules_of(placement):
                return False
            if symbol is None:
                return True
            owner = self.split[module].get(symbol)
            if owner is None:  # an unowned helper: present where something kept needs it
                return defined is not None and symbol in defined
            return owner in (placement, KERNEL)
        return self.whole.get(module) == placement


def build_layout(plan: Plan, tree: SourceTree, roots: list[str] | tuple[str, ...] = ()) -> Layout:
    """Decide the placement of every module of the tree from the plan; ``roots``: modules
    known to be composition roots (a Django project's root URLconf)."""
    layout = Layout(services=sorted(plan.services))
    assignment = plan.assignment()
    by_module: dict[str, dict[str, str]] = {}
    for node, owner in sorted(assignment.items()):
        if ":" in node:
            mod, sym = node.split(":", 1)
            by_module.setdefault(mod, {})[sym] = owner
    for module in tree.modules():
        text = tree.info(module).source if module in tree.files else ""
        if (
            module in roots
            and assignment.get(module) is not None
            or (
                _ROOT_MARKERS.search(text)
                and assignment.get(module) is not None
                and not _only_kernel_imports(tree, module, assignment)
            )
        ):
            layout.roots.append(module)
            continue
        kernel_part = (
            assignment.get(module) == KERNEL or KERNEL in by_module.get(module, {}).values()
        )
        if kernel_part and len(_services_imported(tree, module, assignment)) >= 2:
            # kernel code that wires several services together (a seed script, a job
            # runner): like the app factory, each service gets its own pruned copy
            layout.roots.append(module)
            continue
        if module in by_module:
            symbols = dict(by_module[module])
            default = assignment.get(module)
            info = tree.info(module)
            for name in sorted(set(info.functions) | set(info.classes) | set(info.variables)):
                if name not in symbols and default is not None:
                    symbols[name] = default
            if len(set(symbols.values())) == 1 and set(symbols) >= set(info.functions) | set(
                info.classes
            ):
                layout.whole[module] = next(iter(symbols.values()))
            else:
                layout.split[module] = symbols
        elif module in assignment:
            layout.whole[module] = assignment[module]
        else:
            layout.unassigned.append(module)
    _namespaces(layout, tree)
    return layout


def _services_imported(tree: SourceTree, module: str, assignment: dict[str, str]) -> set[str]:
    """Services whose code ``module`` imports at its top level."""
    out: set[str] = set()
    for imp in tree.info(module).imports:
        if imp.lazy:
            continue
        if imp.name is not None:
            tm, tn = tree.resolve(imp.module, imp.name)
            owner = assignment.get(f"{tm}:{tn}") or assignment.get(tm)
        else:
            owner = assignment.get(imp.module)
        if owner not in (None, KERNEL):
            out.add(owner)
    return out


def _only_kernel_imports(tree: SourceTree, module: str, assignment: dict[str, str]) -> bool:
    """A factory that imports only kernel code is an ordinary module, not a composition root."""
    for imp in tree.info(module).imports:
        target = imp.module if imp.name is None else f"{imp.module}"
        owner = assignment.get(target) or assignment.get(f"{imp.module}:{imp.name}")
        if owner not in (None, KERNEL):
            return False
    return True


def _namespaces(layout: Layout, tree: SourceTree) -> None:
    """Packages present both in the kernel library and in a service lose their ``__init__``.

    Both are installed into one environment, so a package that both contribute to must be a
    namespace package (PEP 420) or one would hide the other.
    """

    def packages(placement: str) -> set[str]:
        out = set()
        for m in layout.modules_of(placement):
            parts = m.split(".")
            upto = len(parts) if tree.is_package(m) else len(parts) - 1
            for i in range(1, upto + 1):
                out.add(".".join(parts[:i]))
            if not tree.is_package(m):
                for i in range(1, len(parts)):
                    out.add(".".join(parts[:i]))
        return out

    kernel = packages(KERNEL)
    union: set[str] = set()
    for svc in layout.services:
        pk = packages(svc)
        union |= pk
        layout.namespace[svc] = pk & kernel
    layout.namespace[KERNEL] = kernel & union
    for pkg in sorted(layout.namespace[KERNEL]):
        if pkg in tree.files and _has_code(tree, pkg):
            layout.notes.append(
                f"{tree.rel(pkg)}: package shared by the kernel library and services; its code "
                "is copied into every service's __init__ (the kernel's part has none)"
            )


def _has_code(tree: SourceTree, module: str) -> bool:
    from migrator.extraction.mover import is_docstring

    body = tree.info(module).module.body
    return any(not is_docstring(s) for s in body)
