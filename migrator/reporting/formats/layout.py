"""A deterministic picture of the component graph: what to draw and where.

Components become coloured groups placed on a circle (sized by their number of modules), their
modules on a smaller circle inside each group. Nothing random, so the same report always gives
the same picture. Above ``MAX_MODULES`` modules only the components are drawn (module-level
pictures of big trees are unreadable; the tables still list every module).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from migrator.reporting.model import Report

MAX_MODULES = 150
PALETTE = [
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#aec7e8",
    "#98df8a",
    "#c5b0d5",
    "#ffbb78",
    "#c49c94",
]
CROSS = "#d62728"


@dataclass
class Group:
    name: str
    kind: str
    color: str
    x: float
    y: float
    r: float
    members: list[str] = field(default_factory=list)


@dataclass
class Node:
    id: str
    label: str
    group: str
    x: float
    y: float
    r: float


@dataclass
class Edge:
    source: str
    target: str
    weight: float
    count: int
    cross: bool
    allowed: bool = False


@dataclass
class Picture:
    width: float
    height: float
    detail: str  # "module" | "component"
    groups: list[Group]
    nodes: list[Node]
    edges: list[Edge]


def colors(report: Report) -> dict[str, str]:
    names = sorted(c.name for c in report.components)
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


def picture(report: Report, max_modules: int = MAX_MODULES) -> Picture:
    color = colors(report)
    kinds = {c.name: c.kind for c in report.components}
    members: dict[str, list[str]] = {c: [] for c in sorted(color)}
    for module, comp in sorted(report.module_component.items()):
        members.setdefault(comp, []).append(module)
    detail = "module" if len(report.module_component) <= max_modules else "component"
    names = [n for n in sorted(members) if members[n] or detail == "component"]
    radius = {
        n: 28
        + (
            14 * math.sqrt(len(members[n]))
            if detail == "module"
            else 6 * math.sqrt(len(members[n]))
        )
        for n in names
    }
    biggest = max(radius.values(), default=30)
    # each group gets an arc of the ring proportional to its diameter plus a gap, so that big
    # neighbours do not overlap
    span = {n: 2 * radius[n] + 40 for n in names}
    circumference = sum(span.values())
    ring = max(120.0, circumference / (2 * math.pi))
    if len(names) == 1:
        ring = 0.0
    margin = biggest + 40
    size = 2 * (ring + margin)
    cx = cy = size / 2
    groups: list[Group] = []
    nodes: list[Node] = []
    travelled = 0.0
    for name in names:
        centre = travelled + span[name] / 2
        travelled += span[name]
        angle = -math.pi / 2 + 2 * math.pi * centre / circumference if circumference else 0.0
        gx, gy = cx + ring * math.cos(angle), cy + ring * math.sin(angle)
        group = Group(
            name,
            kinds.get(name, "package"),
            color.get(name, "#7f7f7f"),
            round(gx, 1),
            round(gy, 1),
            round(radius[name], 1),
            members[name],
        )
        groups.append(group)
        if detail == "component":
            nodes.append(Node(name, name, name, group.x, group.y, round(radius[name] - 8, 1)))
            continue
        mods = members[name]
        inner = radius[name] - 14
        for k, module in enumerate(mods):
            a = -math.pi / 2 + 2 * math.pi * k / len(mods)
            r = inner if len(mods) > 1 else 0.0
            nodes.append(
                Node(
                    module,
                    module.rsplit(".", 1)[-1],
                    name,
                    round(gx + r * math.cos(a), 1),
                    round(gy + r * math.sin(a), 1),
                    5.0,
                )
            )
    if detail == "module":
        edges = [
            Edge(e["source"], e["target"], e["weight"], e["count"], e["crossing"], e["allowed"])
            for e in report.module_edges
        ]
    else:
        edges = [
            Edge(e["source"], e["target"], e["weight"], e["count"], True, e["allowed"])
            for e in report.component_edges
        ]
    return Picture(round(size, 1), round(size, 1), detail, groups, nodes, edges)


def stroke(weight: float) -> float:
    """Edge thickness grows with the log of the weight (sum of 1 + ln c), capped."""
    return round(min(10.0, 0.8 + 1.2 * math.log1p(weight)), 2)
