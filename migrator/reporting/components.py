"""Which component every graph node belongs to: a plan's services, or the package tree.

With a plan, a node belongs to the service that lists it (``module:Symbol`` first, then its
module, then the nearest listed parent package, so ``pkg.catalog`` covers ``pkg.catalog.views``).
Without one, the component is the first ``level`` parts of the module name; level ``None``
picks the shallowest level that yields more than one component (a project with one top-level
package is reported by its subpackages rather than as a single box).
"""

from __future__ import annotations

from dataclasses import dataclass

from migrator.graph import DependencyGraph, module_of
from migrator.plan import SHARED, Plan

UNASSIGNED = "(unassigned)"


@dataclass
class Partition:
    level: str  # "service" | "package:N"
    of: dict[str, str]  # node id -> component
    kinds: dict[str, str]  # component -> "service" | "shared_kernel" | "package" | "unassigned"
    interfaces: dict[str, list[str]]  # service -> interface entries (plan only)
    depends_on: dict[str, list[str]]  # service -> declared dependencies (plan only)
    table_owner: dict[str, str]  # table -> owning service (plan only)

    def assignment(self) -> dict[str, str]:
        """Node -> service/kernel for ``compute_metrics`` (unassigned nodes left out)."""
        return {n: c for n, c in self.of.items() if c != UNASSIGNED}


def _owner(node: str, table: dict[str, str]) -> str | None:
    if node in table:
        return table[node]
    module = module_of(node)
    while module:
        if module in table:
            return table[module]
        module = module.rpartition(".")[0]
    return None


def by_plan(graph: DependencyGraph, plan: Plan) -> Partition:
    assigned = plan.assignment()
    of: dict[str, str] = {}
    for node in graph.g.nodes:
        of[node] = _owner(node, assigned) or UNASSIGNED
    kinds = {name: "service" for name in plan.services}
    kinds[SHARED] = "shared_kernel"
    if UNASSIGNED in of.values():
        kinds[UNASSIGNED] = "unassigned"
    return Partition(
        level="service",
        of=of,
        kinds=dict(sorted(kinds.items())),
        interfaces={n: sorted(s.interface) for n, s in sorted(plan.services.items())},
        depends_on={n: sorted(s.depends_on) for n, s in sorted(plan.services.items())},
        table_owner={t: n for n, s in sorted(plan.services.items()) for t in s.tables},
    )


def _prefix(module: str, level: int) -> str:
    return ".".join(module.split(".")[:level])


def auto_level(graph: DependencyGraph, max_level: int = 6) -> int:
    modules = graph.modules()
    for level in range(1, max_level + 1):
        if len({_prefix(m, level) for m in modules}) > 1:
            return level
    return 1


def by_package(graph: DependencyGraph, level: int | None = None) -> Partition:
    if level is None:
        level = auto_level(graph)
    if level < 1:
        raise ValueError(f"--level must be at least 1, got {level}")
    of = {node: _prefix(module_of(node), level) for node in graph.g.nodes}
    return Partition(
        level=f"package:{level}",
        of=of,
        kinds={c: "package" for c in sorted(set(of.values()))},
        interfaces={},
        depends_on={},
        table_owner={},
    )


def interface_allows(entries: list[str], target: str) -> bool:
    """True when ``target`` (a node id) is part of a service interface.

    An entry may name a symbol (``pkg.api:get``), a whole module (``pkg.api``: all of it is
    public, and so is importing it), or a glob (``pkg.api:get_*``). Importing a module that
    holds at least one interface symbol is allowed; using its other symbols is not.
    """
    from fnmatch import fnmatchcase

    module = module_of(target)
    for entry in entries:
        if entry == target or entry == module or fnmatchcase(target, entry):
            return True
        if target == module and module_of(entry) == module:
            return True
    return False
