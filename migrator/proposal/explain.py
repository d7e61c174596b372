"""``explain``: why a node sits in its service, from the graph's own evidence.

Given a plan and a node, list the strongest edges that tie the node to its service and to the
runner-up service (with file:line evidence), the tables it shares with other services, and the
routes it serves. The graph comes from re-analysing the source recorded in the plan (the
analyser's cache makes that cheap); without it, the placement summary stored in
``plan.meta.placements`` is shown.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from migrator.graph import DependencyGraph, module_of
from migrator.plan import SHARED, Plan
from migrator.proposal.config import DEFAULT_WEIGHTS
from migrator.proposal.metrics import UnitResolver, edge_weight

TOP = 5


def _members(node: str, plan: Plan, graph: DependencyGraph) -> list[str]:
    """Graph nodes that belong to ``node`` as the plan places it (a whole module brings its
    symbols, except those the plan carved out into their own entries)."""
    assign = plan.assignment()
    if ":" in node or node not in graph.g:
        return [node] if node in graph.g else []
    out = [node]
    for sym in graph.symbols(node):
        if sym not in assign:
            out.append(sym)
    return out


def explain(plan: Plan, node: str, graph: DependencyGraph | None = None) -> dict[str, Any]:
    """Plain data describing ``node``'s placement (see module docstring)."""
    assign = plan.assignment()
    resolver = UnitResolver(assign)
    service = resolver.group(node)
    placement = plan.meta.get("placements", {}).get(node) or plan.meta.get("placements", {}).get(
        module_of(node)
    )
    out: dict[str, Any] = {"node": node, "service": service, "placement": placement}
    carved = sorted(n for n in assign if n.startswith(node + ":"))
    if carved:
        out["carved_symbols"] = {n: assign[n] for n in carved}
    if graph is None:
        return out
    members = set(_members(node, plan, graph))
    if not members:
        out["error"] = f"{node} is not in the analysed code"
        return out
    kind_w = plan.meta.get("weights") or DEFAULT_WEIGHTS
    ties: dict[tuple[str, str], dict[str, Any]] = {}
    for s, t, data in graph.g.edges(data=True):
        if (s in members) == (t in members):
            continue
        other, direction = (t, "uses") if s in members else (s, "used by")
        svc = resolver.group(other)
        if svc is None:
            continue
        key = (other, direction)
        entry = ties.setdefault(
            key,
            {
                "node": other,
                "direction": direction,
                "service": svc,
                "count": 0.0,
                "kinds": defaultdict(int),
                "evidence": [],
            },
        )
        entry["count"] += kind_w.get(data["kind"], 0.0) * data.get("count", 1)
        entry["kinds"][data["kind"]] += data.get("count", 1)
        entry["evidence"].extend(data.get("evidence", [])[:3])
    per_service: dict[str, float] = defaultdict(float)
    edges = []
    for key in sorted(ties):
        e = ties[key]
        if e["count"] <= 0:
            continue
        e["weight"] = round(edge_weight(e["count"]), 3)
        e["kinds"] = dict(sorted(e["kinds"].items()))
        e["evidence"] = sorted(set(e["evidence"]))[:3]
        del e["count"]
        per_service[e["service"]] += e["weight"]
        edges.append(e)
    rivals = sorted(
        (s for s in per_service if s not in (service, SHARED)), key=lambda s: (-per_service[s], s)
    )
    runner_up = rivals[0] if rivals else None
    out["weight_by_service"] = {
        s: round(per_service[s], 3) for s in sorted(per_service, key=lambda s: (-per_service[s], s))
    }
    out["runner_up"] = runner_up

    def strongest(svc: str | None) -> list[dict[str, Any]]:
        chosen = [e for e in edges if e["service"] == svc]
        return sorted(chosen, key=lambda e: (-e["weight"], e["node"], e["direction"]))[:TOP]

    out["edges_to_service"] = strongest(service)
    out["edges_to_runner_up"] = strongest(runner_up)
    owner = {t: name for name, svc in plan.services.items() for t in svc.tables}
    tables = []
    for name in sorted(graph.tables):
        t = graph.tables[name]
        mode = []
        if members & set(t.writers):
            mode.append("writes")
        if members & set(t.readers):
            mode.append("reads")
        if t.model in members:
            mode.append("maps")
        if not mode:
            continue
        others = sorted(
            {g for n in [*t.writers, *t.readers] if (g := resolver.group(n))} - {service}
        )
        tables.append(
            {"table": name, "access": mode, "owner": owner.get(name), "also_used_by": others}
        )
    out["tables"] = tables
    out["routes"] = sorted(
        f"{r.method} {r.path}"
        for r in graph.routes
        if r.handler in members or module_of(r.handler) in members and r.handler not in assign
    )
    return out


def format_explanation(data: dict[str, Any]) -> str:
    """Human text for ``migrator explain``."""
    lines = [f"{data['node']}: {data['service'] or 'not in the plan'}"]
    p = data.get("placement")
    if p:
        extra = f", reason: {p['reason']}" if p.get("reason") else ""
        rival = (
            f"; runner-up {p['runner_up']} ({p['runner_up_weight']})" if p.get("runner_up") else ""
        )
        lines.append(f"  placement: weight {p.get('weight')} to {p.get('service')}{rival}{extra}")
    for sym, svc in data.get("carved_symbols", {}).items():
        lines.append(f"  carved out: {sym} -> {svc}")
    if "error" in data:
        lines.append(f"  {data['error']}")
        return "\n".join(lines) + "\n"
    if "weight_by_service" in data:
        lines.append(
            "  tie weight by service: "
            + ", ".join(f"{s} {w}" for s, w in data["weight_by_service"].items())
            if data["weight_by_service"]
            else "  no edges to other code"
        )

        def show(title: str, edges: list[dict[str, Any]]) -> None:
            if not edges:
                return
            lines.append(f"  {title}:")
            for e in edges:
                kinds = ", ".join(f"{k} x{n}" for k, n in e["kinds"].items())
                where = f"  [{'; '.join(e['evidence'])}]" if e["evidence"] else ""
                lines.append(f"    {e['direction']} {e['node']} ({kinds}; w={e['weight']}){where}")

        show(f"strongest edges to {data['service']}", data["edges_to_service"])
        if data.get("runner_up"):
            show(f"strongest edges to runner-up {data['runner_up']}", data["edges_to_runner_up"])
        for t in data.get("tables", []):
            also = f"; also used by {', '.join(t['also_used_by'])}" if t["also_used_by"] else ""
            lines.append(f"  table {t['table']}: {'/'.join(t['access'])}, owner {t['owner']}{also}")
        if data.get("routes"):
            lines.append("  routes: " + ", ".join(data["routes"]))
    return "\n".join(lines) + "\n"
