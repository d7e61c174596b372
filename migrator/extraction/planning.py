"""A complete plan from a hand-written decomposition file (the authors' intended services).

``decomposition.yaml`` names only what goes where; extraction also needs each service's tables,
routes, interface and dependencies. They are derived here from the graph and the source: a
table belongs to the service of its model class, a route to the service of its handler, and a
function is in its service's interface when code of another service imports it.
"""

from __future__ import annotations

from pathlib import Path

from migrator.extraction.layout import KERNEL, build_layout
from migrator.extraction.source import SourceTree
from migrator.graph import DependencyGraph
from migrator.plan import Plan, PlanError, SharedKernel, plan_from_dict, read_document


def plan_from_decomposition(
    path: str | Path, graph: DependencyGraph, source_root: str | Path
) -> Plan:
    """Read ``path`` (``kind: decomposition``) and complete it into a validated plan."""
    path = Path(path)
    data = read_document(path)
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        raise PlanError(str(path), ["services: expected a mapping of service -> nodes"])
    services: dict[str, dict] = {}
    for name, nodes in sorted(data["services"].items()):
        nodes = list(nodes or [])
        services[name] = {
            "modules": sorted(n for n in nodes if ":" not in n),
            "symbols": sorted(n for n in nodes if ":" in n),
        }
    kernel_nodes = data.get("shared_kernel") or []
    if isinstance(kernel_nodes, dict):
        kernel_nodes = [*kernel_nodes.get("modules", []), *kernel_nodes.get("symbols", [])]
    kernel = SharedKernel(
        modules=sorted(n for n in kernel_nodes if ":" not in n),
        symbols=sorted(n for n in kernel_nodes if ":" in n),
    )
    base = plan_from_dict(
        {
            "version": 1,
            "services": services,
            "shared_kernel": {"modules": kernel.modules, "symbols": kernel.symbols},
        },
        source=str(path),
    )
    packages = sorted({n.split(":")[0].split(".")[0] for n in base.assignment()})
    tree = SourceTree(source_root, packages)
    layout = build_layout(base, tree)

    def owner(node: str) -> str | None:
        module, _, name = node.partition(":")
        return layout.owner(module, name or None) if name else layout.whole.get(module)

    for table in graph.tables.values():
        who = owner(table.model) if table.model else None
        if who not in (None, KERNEL):
            services[who].setdefault("tables", []).append(table.name)
    for route in graph.routes:
        who = owner(route.handler)
        if who not in (None, KERNEL):
            services[who].setdefault("routes", []).append(f"{route.method} {route.path}")
    interface: dict[str, set[str]] = {}
    depends: dict[str, set[str]] = {}
    user: str | None  # a service, or None for code no service holds
    for module in tree.modules():
        for imp in tree.info(module).imports:
            if imp.name is None or imp.module.split(".")[0] not in packages:
                continue
            tm, tn = tree.resolve(imp.module, imp.name)
            if tn is None or tm not in tree.files or tn not in tree.info(tm).functions:
                continue
            target = owner(f"{tm}:{tn}")
            users = (
                {layout.whole[module]}
                if module in layout.whole
                else set(layout.split.get(module, {}).values())
            )
            for user in users:
                if target not in (None, KERNEL) and user not in (None, KERNEL, target):
                    interface.setdefault(target, set()).add(f"{tm}:{tn}")
                    depends.setdefault(user, set()).add(target)
    for source, target, data in graph.edges():  # attribute uses: ``services.get_order(...)``
        if data["kind"] not in ("reference", "dynamic", "signal") or ":" not in target:
            continue
        if graph.g.nodes.get(target, {}).get("kind") != "function":
            continue
        who, user = owner(target), owner(source) if ":" in source else None
        if user is None and ":" not in source:
            user = layout.whole.get(source)
        if who not in (None, KERNEL) and user not in (None, KERNEL, who):
            interface.setdefault(who, set()).add(target)
            depends.setdefault(user, set()).add(who)
    for name, body in services.items():
        body["tables"] = sorted(set(body.get("tables", [])))
        body["routes"] = sorted(set(body.get("routes", [])))
        body["interface"] = sorted(interface.get(name, set()))
        body["depends_on"] = sorted(depends.get(name, set()))
        body["why"] = [f"as intended by the authors in {path.name}"]
    return plan_from_dict(
        {
            "version": 1,
            "services": services,
            "shared_kernel": {"modules": kernel.modules, "symbols": kernel.symbols},
            "meta": {"source": path.name},
        },
        source=str(path),
    )
