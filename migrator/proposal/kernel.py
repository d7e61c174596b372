"""The shared kernel: small, widely used code without business logic.

A unit belongs to the kernel when (1) many groups use it (fan-in breadth: distinct domains
before clustering, distinct services after), (2) it has no business logic of its own: it
handles no route or entry point, reads or writes no table and maps none, and (3) it depends
only on other kernel units (a library every service can install must not call back into a
service). The kernel is kept small: if too many units qualify, the breadth threshold rises.
"""

from __future__ import annotations

import math
from collections import defaultdict

from migrator.graph import DependencyGraph, module_of
from migrator.proposal.config import ProposalOptions, glob_match
from migrator.proposal.units import UnitGraph


def business_units(ug: UnitGraph, graph: DependencyGraph) -> set[str]:
    """Units that handle a route or entry point, or read, write or map a table."""
    out = {u for u, rw in ug.tables_of.items() if rw["reads"] or rw["writes"]}
    handlers = [r.handler for r in graph.routes] + [e.handler for e in graph.entry_points]
    models = [t.model for t in graph.tables.values() if t.model]
    for node in handlers + models:
        u = ug.unit_of.get(node) or ug.unit_of.get(module_of(node))
        if u:
            out.add(u)
    return out


def _users(ug: UnitGraph) -> dict[str, set[str]]:
    users: dict[str, set[str]] = defaultdict(set)
    for (a, b) in ug.counts:
        users[b].add(a)
    return users


def _deps(ug: UnitGraph) -> dict[str, set[str]]:
    """Hard dependencies: lazy (in-function) and TYPE_CHECKING imports do not count, so a
    kernel ``db`` module that imports the models inside ``create_schema`` can stay a kernel."""
    deps: dict[str, set[str]] = defaultdict(set)
    for (a, b) in ug.hard:
        deps[a].add(b)
    return deps


def _close(candidates: set[str], deps: dict[str, set[str]], forced: set[str]) -> set[str]:
    """Drop candidates that depend on anything outside the set, until none does."""
    c = set(candidates) | forced
    changed = True
    while changed:
        changed = False
        for u in sorted(c - forced):
            if deps.get(u, set()) - c:
                c.discard(u)
                changed = True
    return c


def forced_kernel(ug: UnitGraph, opts: ProposalOptions) -> set[str]:
    return {u for u in ug.units if any(glob_match(p, u) for p in opts.kernel)}


def initial_kernel(ug: UnitGraph, graph: DependencyGraph, opts: ProposalOptions,
                   exclude: set[str] = frozenset()) -> set[str]:
    """Kernel before clustering, with domains (package layout) standing in for services."""
    forced = forced_kernel(ug, opts)
    business = business_units(ug, graph)
    users = _users(ug)
    deps = _deps(ug)
    domains = set(ug.domain.values())
    breadth = {u: len({ug.domain[a] for a in users.get(u, ())} - {ug.domain[u]})
               for u in ug.units}
    cap = max(1, int(opts.kernel_max_share * len(ug.units)))
    threshold = max(3, math.ceil(0.2 * len(domains)))
    leaf_threshold = 2
    while True:
        seeds = {u for u in ug.units if u not in business and u not in exclude and (
            breadth[u] >= threshold or (breadth[u] >= leaf_threshold and not deps.get(u)))}
        # what the seeds need comes along, if it has no business logic either
        cands = set(seeds)
        stack = sorted(seeds)
        while stack:
            for d in sorted(deps.get(stack.pop(), ())):
                if d not in cands and d not in business and d not in exclude:
                    cands.add(d)
                    stack.append(d)
        kernel = _close(cands, deps, forced)
        # keep only what a surviving seed (or a forced unit) actually needs
        keep = (seeds & kernel) | forced
        stack = sorted(keep)
        while stack:
            for d in sorted(deps.get(stack.pop(), ())):
                if d in kernel and d not in keep:
                    keep.add(d)
                    stack.append(d)
        if len(keep - forced) <= cap or threshold > len(domains):
            return keep
        threshold += 1
        leaf_threshold += 1


def settle_kernel(ug: UnitGraph, assignment: dict[str, str], kernel: set[str],
                  forced: set[str]) -> set[str]:
    """After clustering: a kernel unit that only one service uses moves into that service.

    ``assignment`` (unit -> service) is updated in place for the units that leave the kernel.
    """
    users = _users(ug)
    deps = _deps(ug)
    kernel = set(kernel)
    changed = True
    while changed:
        changed = False
        for u in sorted(kernel - forced):
            svc_users = sorted({assignment[a] for a in users.get(u, ()) if a in assignment})
            kernel_users = [a for a in users.get(u, ()) if a in kernel]
            if len(svc_users) == 1 and not kernel_users:
                assignment[u] = svc_users[0]
                kernel.discard(u)
                changed = True
        for u in sorted(kernel - forced):
            outside = sorted(d for d in deps.get(u, ()) if d not in kernel and d in assignment)
            if outside:
                weight: dict[str, float] = defaultdict(float)
                for d in outside:
                    weight[assignment[d]] += ug.counts.get((u, d), 0.0)
                assignment[u] = max(sorted(weight), key=lambda s: weight[s])
                kernel.discard(u)
                changed = True
    return kernel
