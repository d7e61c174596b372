"""The shared kernel: small, widely used code without business logic.

Business logic, here: handling an HTTP route (other than infrastructure endpoints such as
``/healthz``, ``/readyz``, ``/metrics``, ``/static``, also under an API prefix such as
``/api/v1/healthcheck``) or declaring the routes of its own package's handlers, a background
task, and reading, writing
or mapping a table (bulk loaders such as seed scripts excepted: see ``units.bulk_writers``).

A unit belongs to the kernel when it has no business logic and either
(1) it is part of the composition root: modules outside the domain packages that nothing but
    other composition-root modules depends on and that wire two or more domains together (the
    app factory, ``__main__``, the project package itself); these may read tables (maintenance
    commands); the app factory carved out of a module that others import for something else
    (``create_app`` beside a ``db``) is part of it, or
(2) two or more groups use it (fan-in breadth: distinct domains before clustering, distinct
    services after) and it depends only on other kernel units (a library every service can
    install must not call back into a service; lazy and TYPE_CHECKING imports do not count).
The kernel is kept small: if too many units qualify, the breadth thresholds rise.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Set

from migrator.graph import DependencyGraph, Route, module_of
from migrator.proposal.concepts import ADAPTER_WORDS, UTILITY_WORDS, seg_words
from migrator.proposal.config import ProposalOptions, glob_match
from migrator.proposal.naming import GENERIC, stems
from migrator.proposal.units import UnitGraph, first_segment

INFRA_ROUTE = re.compile(  # at the root or under an API prefix: /healthz, /api/v1/healthcheck
    r"^/*(?:api/+)?(?:v\d+/+)?"
    r"(healthz?|health[-_]?check|readyz|livez|ready|live|ping|status|metrics|static)"
    r"(/|$)",
    re.IGNORECASE,
)

#: a carved-out symbol of the composition root that puts this share of its uses into one
#: domain is that domain's command, not wiring
COMMAND_SHARE = 2 / 3
#: a carved-out symbol that code of this share of all domains uses is plumbing
WIDE = 0.15
#: code that route handlers of this share of all services go through is request plumbing
ROUTE_WIDE = 0.2
#: packages holding a framework's own plumbing (``app/core/security.py``, ``config.py``)
CORE_WORDS = frozenset({"core", "kernel"})


def business_units(ug: UnitGraph, graph: DependencyGraph, reads: bool = True) -> set[str]:
    """Units with business logic (see module docstring); ``reads=False`` lets table reads
    pass (the composition root's maintenance commands may count rows)."""
    out = {
        u
        for u, rw in ug.tables_of.items()
        if ((reads and rw["reads"]) or rw["writes"]) and u not in ug.bulk
    }
    routes = [r for r in graph.routes if not INFRA_ROUTE.match(r.path)]
    handlers = [r.handler for r in routes]
    handlers += [e.handler for e in graph.entry_points if e.kind == "task"]
    models = [t.model for t in graph.tables.values() if t.model]
    for node in handlers + models + _feature_routers(graph, routes):
        u = ug.unit_of.get(node) or ug.unit_of.get(module_of(node))
        if u:
            out.add(u)
    return out


def _feature_routers(graph: DependencyGraph, routes: list[Route]) -> list[str]:
    """Modules that declare routes for handlers of their own package (a blueprint's
    ``__init__`` listing its resources' URLs, a Django app's ``urls.py``, an admin module's
    ``get_urls``): the feature's routing table, as much its business as the handlers. A
    project's root ``urls.py`` that includes every app's declares none of theirs itself."""
    modules = {
        data["file"]: node
        for node, data in graph.g.nodes(data=True)
        if data.get("kind", "module") == "module" and data.get("file")
    }
    out = set()
    for r in routes:
        decl = modules.get(r.file)
        if decl is None or decl == module_of(r.handler):
            continue
        package = decl if r.file.endswith("__init__.py") else decl.rsplit(".", 1)[0]
        if module_of(r.handler).startswith(package + "."):
            out.add(decl)
    return sorted(out)


def _users(ug: UnitGraph) -> dict[str, set[str]]:
    users: dict[str, set[str]] = defaultdict(set)
    for a, b in ug.counts:
        users[b].add(a)
    return users


def _deps(ug: UnitGraph) -> dict[str, set[str]]:
    """Hard dependencies: lazy (in-function) and TYPE_CHECKING imports do not count, so a
    kernel ``db`` module that imports the models inside ``create_schema`` can stay a kernel."""
    deps: dict[str, set[str]] = defaultdict(set)
    for a, b in ug.hard:
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


def composition_root(ug: UnitGraph, graph: DependencyGraph) -> set[str]:
    """Units of the modules that wire the application together (see module docstring)."""
    if ug.shell is None:
        ug.shell = _composition_root(ug, graph)
    return set(ug.shell)


def _composition_root(ug: UnitGraph, graph: DependencyGraph) -> set[str]:
    business = business_units(ug, graph, reads=False)
    modules = sorted(ug.module_units)
    mod_deps: dict[str, set[str]] = defaultdict(set)  # hard: who may depend on the root
    mod_uses: dict[str, set[str]] = defaultdict(set)  # any, lazy included: what it wires
    for a, b in ug.counts:
        ma, mb = module_of(a), module_of(b)
        if ma != mb:
            mod_uses[ma].add(mb)
            if (a, b) in ug.hard:
                mod_deps[ma].add(mb)
    root = {
        m
        for m in modules
        if not any(u in business for u in ug.module_units[m])
        and ug.domain[m] not in ug.package_domains
    }
    users: dict[str, set[str]] = defaultdict(set)
    for a, targets in mod_deps.items():
        for b in targets:
            users[b].add(a)
    changed = True
    while changed:  # nothing outside the root may depend on it
        changed = False
        for m in sorted(root):
            if users.get(m, set()) - root:
                root.discard(m)
                changed = True
    roots_keys = {d for d in ug.domain.values() if d not in ug.package_domains}

    def wires(m: str) -> bool:
        seen, stack, domains = {m}, [m], set()
        while stack:
            for d in sorted(mod_uses.get(stack.pop(), ())):
                if ug.domain[d] in ug.package_domains:
                    domains.add(ug.domain[d])
                elif d in root and d not in seen:
                    seen.add(d)
                    stack.append(d)
        return len(domains) >= 2

    keep = {
        m
        for m in root
        if wires(m)
        or (m in roots_keys and not mod_uses.get(m) and any(k.startswith(m + ".") for k in modules))
    }
    # a module that serves routes is an app of its own (an event server), not a factory
    handlers = [r.handler for r in graph.routes if not INFRA_ROUTE.match(r.path)]
    serving = {module_of(h) for h in handlers}
    # a command attaching itself to the root's command group is registration, not a
    # dependency (``@cli.command()`` in ``cli/users.py`` on the group of ``cli/main.py``)
    commands = {module_of(e.handler) for e in graph.entry_points if e.kind == "cli"}
    # ... though it may build its app with the factory (``app = create_app()``)
    apps = {
        u
        for m in serving
        for u in ug.module_units.get(m, ())[1:]
        if graph.g.nodes[u].get("kind") == "variable"
    }
    factory = _factories(ug, business, root, root | serving, commands, apps)
    # a loader's data named after a domain's tables goes to that domain, not the shell, and
    # so does a carved-out command that mostly uses one domain and no wiring of its module
    # (``sync_users`` of a ``manage.py``, not ``create_app`` calling ``_register_routes``)
    uses: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    siblings: dict[str, set[str]] = defaultdict(set)
    for (a, b), c in ug.counts.items():
        if module_of(a) == module_of(b):
            siblings[a].add(b)
        elif ug.domain[module_of(b)] in ug.package_domains:  # concept code, not plumbing
            uses[a][ug.domain[b]] += c

    def one_domain(u: str) -> bool:
        return max(uses[u].values()) >= COMMAND_SHARE * sum(uses[u].values())

    wiring = {u for u in uses if not one_domain(u)}
    grown = True
    while grown:
        more = {u for u, sib in siblings.items() if sib & wiring} - wiring
        wiring |= more
        grown = bool(more)
    return factory | {
        u
        for m in sorted(keep)
        for u in ug.module_units[m]
        if not _names_concept(ug, u)
        and not (u != m and u in uses and u not in wiring and one_domain(u))
    }


def _factories(
    ug: UnitGraph,
    business: set[str],
    root: set[str],
    skip: set[str],
    commands: set[str],
    apps: set[str],
) -> set[str]:
    """The app factory carved out of a module that others import for something else
    (``create_app`` and its ``configure_*`` helpers beside a ``db`` every module uses): the
    module's plain symbols that only the root, commands, other apps built by it (``apps``:
    an event server's ``app = create_app()``) and each other use, and that together wire two
    or more domains."""
    users: dict[str, set[str]] = defaultdict(set)
    uses: dict[str, set[str]] = defaultdict(set)
    for a, b in ug.counts:
        uses[a].add(b)
        if (a, b) in ug.hard:
            users[b].add(a)
    allowed = root | commands
    out: set[str] = set()
    for m in sorted(ug.split):
        if m in skip or ug.domain[m] in ug.package_domains:
            continue
        mine = {
            s for s in ug.module_units[m][1:] if s not in business and not _names_concept(ug, s)
        }
        changed = True
        while changed:
            changed = False
            for s in sorted(mine):
                if any(
                    module_of(a) not in allowed and a not in apps and a not in mine
                    for a in users[s]
                ):
                    mine.discard(s)
                    changed = True
        domains = {
            ug.domain[module_of(d)]
            for s in mine
            for d in uses[s]
            if ug.domain[module_of(d)] in ug.package_domains
        }
        if len(domains) >= 2:
            out |= mine
    return out


def _names_concept(ug: UnitGraph, unit: str) -> bool:
    """The unit leans to its concept by its name (``ug.named``), by more than a generic word:
    ``create_app`` leaning to ``slack_app`` by ``app`` names no capability, so it may still
    be the app factory."""
    if unit not in ug.named:
        return False
    shared = stems(unit.split(":", 1)[1]) & stems(ug.domain[unit].rsplit(".", 1)[-1])
    return not (shared and shared <= GENERIC)


def infrastructure(ug: UnitGraph, business: set[str]) -> set[str]:
    """Units that name no business concept and have no business logic: configuration,
    database plumbing, stores, generic utilities, base classes, the layer packages' own
    modules. They are kernel even when they import a model (a query helper, a cascade
    delete): the kernel is where a team looks for shared plumbing, and nothing here is a
    capability of its own. ``business``: ``business_units`` of ``ug``."""
    return {
        u
        for u in ug.units
        if (ug.domain[module_of(u)] not in ug.package_domains or u in ug.layers)
        and u not in business
        and u not in ug.named
        and module_of(u) not in ug.split
    }


def forced_kernel(ug: UnitGraph, opts: ProposalOptions) -> set[str]:
    return {u for u in ug.units if any(glob_match(p, u) for p in opts.kernel)}


def initial_kernel(
    ug: UnitGraph, graph: DependencyGraph, opts: ProposalOptions, exclude: Set[str] = frozenset()
) -> set[str]:
    """Kernel before clustering, with domains (business concepts) standing in for services."""
    forced = forced_kernel(ug, opts)
    business = business_units(ug, graph)
    users = _users(ug)
    deps = _deps(ug)
    domains = set(ug.domain.values())
    # a carved-out symbol's own domain is its module's (its lean comes from these very users)
    breadth = {
        u: len({ug.domain[a] for a in users.get(u, ())} - {ug.domain[module_of(u)]})
        for u in ug.units
    }
    shell = composition_root(ug, graph) - exclude
    cap = max(1, int(opts.kernel_max_share * len(ug.units)))
    threshold = 2
    # code inside a domain package is that domain's by its authors' layout: it joins the
    # kernel only when a quarter of all domains (at least three) use it
    strong = max(3, math.ceil(0.25 * len(domains)))
    # ... unless that domain has no business logic anywhere (``security/``, ``scheduler/``):
    # then its package is the authors' plumbing and needs no more breadth than any other code
    lively = {ug.domain[module_of(u)] for u in business}
    in_package = {
        u
        for u in ug.units
        if ug.domain[module_of(u)] in ug.package_domains and ug.domain[module_of(u)] in lively
    }
    while True:
        seeds = {
            u
            for u in ug.units
            if u not in business
            and u not in exclude
            and u not in shell
            and u not in ug.named
            and breadth[u] >= (max(strong, threshold) if u in in_package else threshold)
        }
        # what the seeds need comes along, if it has no business logic either
        cands = set(seeds)
        stack = sorted(seeds)
        while stack:
            u = stack.pop()
            for d in sorted(deps.get(u, ())):
                # a layer's ``__init__`` re-exporting its children does not drag them along
                if (
                    d not in cands
                    and d not in business
                    and d not in exclude
                    and not (u in ug.layers and d in in_package)
                ):
                    cands.add(d)
                    stack.append(d)
        kernel = _close(cands, deps, forced | shell)
        # keep only what a surviving seed (or a forced unit) actually needs
        keep = (seeds & kernel) | forced
        stack = sorted(keep)
        while stack:
            for d in sorted(deps.get(stack.pop(), ())):
                if d in kernel and d not in keep:
                    keep.add(d)
                    stack.append(d)
        keep |= shell  # the composition root does not drag what it wires into the kernel
        keep |= infrastructure(ug, business) - exclude
        if len(keep - forced - shell) <= cap or threshold > len(domains):
            return keep
        threshold += 1


def settle_kernel(
    ug: UnitGraph,
    assignment: dict[str, str],
    kernel: set[str],
    forced: set[str],
    infra: Set[str] = frozenset(),
) -> set[str]:
    """After clustering: a kernel unit that only one service uses moves into that service,
    unless its authors put it in a toolbox package (``utils/``, ``common/``); one that depends
    on a service moves there too, unless it is ``infra`` (plumbing that imports a model stays
    plumbing).

    ``assignment`` (unit -> service) is updated in place for the units that leave the kernel.
    """
    users = _users(ug)
    deps = _deps(ug)
    kernel = set(kernel)
    toolbox = {
        u
        for u in infra
        if any(set(seg_words(part)) <= UTILITY_WORDS for part in module_of(u).split(".")[:-1])
    }
    changed = True
    while changed:
        changed = False
        for u in sorted(kernel - forced - toolbox):
            svc_users = sorted({assignment[a] for a in users.get(u, ()) if a in assignment})
            kernel_users = [a for a in users.get(u, ()) if a in kernel]
            if len(svc_users) == 1 and not kernel_users:
                assignment[u] = svc_users[0]
                kernel.discard(u)
                changed = True
        for u in sorted(kernel - forced - infra):
            outside = sorted(d for d in deps.get(u, ()) if d not in kernel and d in assignment)
            if outside:
                weight: dict[str, float] = defaultdict(float)
                for d in outside:
                    weight[assignment[d]] += ug.counts.get((u, d), 0.0)
                assignment[u] = max(sorted(weight), key=lambda s: weight[s])
                kernel.discard(u)
                changed = True
    return kernel


def hubs(ug: UnitGraph, graph: DependencyGraph, business: Set[str]) -> set[str]:
    """Functions and classes carved out of a mixed module that code of many domains goes
    through (the registry of every repository, the list views' base class, the paging
    helper) and that have no business logic: plumbing, though they call into services. Not
    variables: a blueprint or router that handlers of several domains register on is where
    routes live, not plumbing."""
    users = _users(ug)
    wide = max(3, math.ceil(WIDE * len(set(ug.domain.values()))))
    nodes = graph.g.nodes
    return {
        u
        for u in ug.units
        if u != module_of(u)
        and u in nodes
        and nodes[u].get("kind") in ("function", "class")
        and u not in business
        and u not in ug.named
        and len({ug.domain[a] for a in users.get(u, ())}) >= wide
    }


def request_plumbing(ug: UnitGraph, graph: DependencyGraph, assignment: dict[str, str]) -> set[str]:
    """Code that requests to many services go through: the route handlers of ROUTE_WIDE of
    all services (at least three, besides its own) use it, under as many distinct route
    prefixes, and it handles no route and writes no table itself (the current user's
    dependency, a permission check, the base controller, the column helpers of an admin's
    list views). It may read a table (who is logged in) and call into a service. The base of
    one feature's handlers (every ``/import/...`` resource) serves one prefix: that feature's;
    a blueprint or router handlers register on is where routes live (as for ``hubs``).
    Found once the services exist, so that it changes no merge."""
    prefixes: dict[str, set[str]] = defaultdict(set)  # handler unit -> its routes' prefixes
    for r in graph.routes:
        unit = ug.unit_of.get(r.handler) or ug.unit_of.get(module_of(r.handler))
        if unit and not INFRA_ROUTE.match(r.path):
            prefixes[unit].add(first_segment(r.path))
    business = business_units(ug, graph, reads=False)
    wide = max(3, math.ceil(ROUTE_WIDE * len(set(assignment.values()))))
    services: dict[str, set[str]] = defaultdict(set)
    served: dict[str, set[str]] = defaultdict(set)  # unit -> prefixes of the routes using it
    for a, b in ug.counts:
        if a in prefixes and a in assignment:
            services[b].add(assignment[a])
            served[b] |= prefixes[a]
    nodes = graph.g.nodes
    return {
        u
        for u, using in services.items()
        if u not in prefixes
        and u not in business
        and (u == module_of(u) or (u in nodes and nodes[u].get("kind") in ("function", "class")))
        and len(using - {assignment.get(u)}) >= wide
        and len(served[u]) >= wide
    }


def aggregators(ug: UnitGraph, assignment: dict[str, str], business: Set[str]) -> set[str]:
    """Package ``__init__`` modules with no code of their own whose child modules went to two
    or more services, none holding most of them: a mixed re-export aggregator is shared, not
    the service of whichever child it was clustered with."""
    children: dict[str, list[str]] = defaultdict(list)
    for m in ug.module_units:
        if "." in m:
            children[m.rsplit(".", 1)[0]].append(m)
    out = set()
    for m, kids in sorted(children.items()):
        if m not in assignment or m in business or len(ug.module_units.get(m, ())) != 1:
            continue
        placed = Counter(assignment[k] for k in kids if k in assignment)
        if len(placed) >= 2 and 2 * max(placed.values()) <= sum(placed.values()):
            out.add(m)
    return out


def plumbing_packages(ug: UnitGraph, assignment: dict[str, str], business: Set[str]) -> set[str]:
    """A concept package under ``core/`` with no business logic anywhere (``core/security/``:
    password hashing, tokens) whose code several services use (15% of them, at least three)
    is the framework's plumbing, though it calls the users' code to log them in. Its adapters
    (``core/security/providers/ldap.py``) serve the users they log in and stay with them.
    Found once the services exist, so that it changes no merge. What its adapters do (an
    LDAP provider creating the users it logs in) does not make the package's own code
    business logic."""
    lively = {
        ug.domain[module_of(u)]
        for u in business
        if not ADAPTER_WORDS & set(module_of(u).split("."))
    }
    members: dict[str, list[str]] = defaultdict(list)
    for u in ug.units:
        d = ug.domain[module_of(u)]
        if d in ug.package_domains and d not in lively and module_of(u) not in ug.split:
            members[d].append(u)
    users = _users(ug)
    wide = max(3, math.ceil(WIDE * len(set(assignment.values()))))
    out: set[str] = set()
    for _domain, us in sorted(members.items()):
        paths = [module_of(u).split(".") for u in us]
        if not all(CORE_WORDS & set(p[:-1]) for p in paths):
            continue
        own = [u for u, p in zip(us, paths, strict=True) if not ADAPTER_WORDS & set(p)]
        inside = set(us)
        services = {
            assignment[a]
            for u in own
            for a in users.get(u, ())
            if a in assignment and a not in inside
        }
        if len(services) >= wide:
            out.update(own)
    return out


def kernel_only(
    ug: UnitGraph, graph: DependencyGraph, assignment: dict[str, str], kernel: Set[str]
) -> set[str]:
    """Constants carved out of a module that only the kernel uses and that use only the
    kernel (``PK_ID = "id"`` beside the registry of every repository): the kernel's own
    pieces, wherever clustering first put them. Not a seed loader's ``PRODUCTS``, named after
    a domain; nor functions and classes: what only the kernel calls may still be a service's
    (an enrichment plug-in's base)."""
    users, deps = _users(ug), _deps(ug)
    nodes = graph.g.nodes
    out: set[str] = set()
    inside = set(kernel)
    changed = True
    while changed:
        changed = False
        for u in sorted(assignment):
            if u in inside or u in ug.named or nodes.get(u, {}).get("kind") != "variable":
                continue
            if users.get(u) and users[u] <= inside and deps.get(u, set()) <= inside:
                out.add(u)
                inside.add(u)
                changed = True
    return out
