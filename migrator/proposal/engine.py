"""``propose(graph) -> Plan``: units, kernel, clustering, constraints, ownership, names, reasons.

The steps, each in its own module: ``units`` (modules, split where they mix domains, and the
weighted graph), ``kernel`` (shared, logic-free code), ``cluster`` (Louvain / greedy / label
propagation under pins), then here: fit the service count, settle the kernel, give every table
one owner, name the services, and write down why each service and each unit is where it is.
"""

from __future__ import annotations

import copy
import math
from collections import Counter, defaultdict
from typing import Any

import networkx as nx

from migrator.graph import DependencyGraph, module_of
from migrator.plan import (
    DNS1123_LABEL,
    META_VERSION,
    SHARED,
    Plan,
    PlanError,
    PlanMeta,
    Service,
    SharedKernel,
)
from migrator.proposal import cluster as cl
from migrator.proposal.compare import covering_nodes, resolve_node
from migrator.proposal.concepts import ROLE_WORDS, head_families, seg_words
from migrator.proposal.concerns import Concerns
from migrator.proposal.config import ProposalOptions, build_options, glob_match
from migrator.proposal.history import History, add_history
from migrator.proposal.kernel import (
    aggregators,
    business_units,
    composition_root,
    forced_kernel,
    hubs,
    infrastructure,
    initial_kernel,
    kernel_only,
    plumbing_packages,
    request_plumbing,
    settle_kernel,
)
from migrator.proposal.metrics import (
    UnitResolver,
    compute_metrics,
    modularity,
    table_owners,
    weighted,
)
from migrator.proposal.naming import GENERIC, assign_names, candidates
from migrator.proposal.units import UnitGraph, build_units, first_segment, is_virtual

SWEEP = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
BIG = 4000  # above this many active nodes, one resolution only (speed)
NAME_LINES = 25  # lines of a concept's code that weigh like one module in naming
TEAM_SHARE = 0.01  # a service holds at least this share of the clustered code
TEAM_FACTOR = 1.8  # services, at most: this times the square root of the business concepts
DATA_FACTOR = 2.6  # ... or this times the square root of the tables the code writes
TEAM_BIG = 0.05  # ... or as many as there are clusters holding this share of the code
TABLE_RULE = (
    "owner = the service with the most nodes writing the table (bulk loaders such as "
    "seed scripts do not count); ties: the service holding its model, then "
    "alphabetical; no writer: the owner of most tables with a foreign key to it, else "
    "the model's service, else the service reading it most"
)


def propose(
    graph: DependencyGraph,
    *,
    options: ProposalOptions | None = None,
    config: dict[str, Any] | None = None,
    base_plan: Plan | None = None,
    source: str | None = None,
    history: History | None = None,
    **overrides: Any,
) -> Plan:
    """Partition ``graph`` into services, a shared kernel and table owners.

    ``config`` is the project's ``propose`` settings; ``overrides`` (algorithm, services, seed,
    weights, pin, together, apart, kernel, resolution ...) win over it. With ``base_plan`` every
    decision of that (edited) plan is kept and only nodes it does not cover are placed.
    ``history`` (``proposal.history.read_history``) adds what changes together and who
    changes it to the structural ties.
    """
    opts = options or build_options(config, **overrides)
    return _Proposer(graph, opts, base_plan, source, history).run()


class _Proposer:
    def __init__(
        self,
        graph: DependencyGraph,
        opts: ProposalOptions,
        base: Plan | None,
        source: str | None,
        history: History | None = None,
    ) -> None:
        self.graph = graph
        self.opts = opts
        self.base = base
        self.source = source
        self.ug: UnitGraph = build_units(graph, opts)
        if history is not None:
            add_history(self.ug, history, opts.weights)
        self.business = business_units(self.ug, graph)
        self.pins: dict[str, str] = {}
        self.reason: dict[str, str] = {}
        self.concepts = 0  # business concepts the service count was sized from
        #: tables some code writes (bulk loaders aside): the data the services divide
        self.written = len(written_entities(graph, self.ug))
        self.families: dict[str, str] = {}  # concept key -> head of its family (see run)

    # -- constraints ----------------------------------------------------------------------
    def _pins(self) -> None:
        problems = []
        for pattern, svc in sorted(self.opts.pin.items()):
            if not DNS1123_LABEL.match(svc) or svc == SHARED:
                problems.append(f"pin.{pattern}: {svc!r} is not a valid service name")
        if problems:
            raise PlanError("propose options", problems)
        for u in self.ug.units:
            for pattern in sorted(self.opts.pin, key=lambda p: (-len(p), p)):
                if glob_match(pattern, u):
                    self.pins[u] = self.opts.pin[pattern]
                    self.reason[u] = f"pinned by config ({pattern})"
                    break

    def _base(self) -> tuple[set[str], list[str]]:
        """Keep the edited plan: its units become pins (or kernel); return kernel, new units."""
        assert self.base is not None
        assign = self.base.assignment()
        covering = covering_nodes(assign)
        kernel: set[str] = set()
        new: list[str] = []
        for u in self.ug.units:
            group = resolve_node(u, assign, covering)
            if group is None:
                new.append(u)
            elif group == SHARED:
                kernel.add(u)
                self.reason[u] = "kept from the edited plan"
            else:
                self.pins[u] = group
                self.reason[u] = "kept from the edited plan"
        return kernel, new

    def _units_matching(self, globs: list[str]) -> list[str]:
        return [u for u in self.ug.units if any(glob_match(p, u) for p in globs)]

    # -- main -----------------------------------------------------------------------------
    def run(self) -> Plan:
        ug, opts = self.ug, self.opts
        self._pins()
        new_units: list[str] = []
        forced = forced_kernel(ug, opts)
        if self.base is not None:
            base_kernel, new_units = self._base()
            kernel = base_kernel | forced | (initial_kernel(ug, self.graph, opts) & set(new_units))
        else:
            kernel = initial_kernel(ug, self.graph, opts, exclude=set(self.pins))
        kernel -= set(self.pins)
        for u, port in sorted(ug.adapters.items()):
            domain = ug.domain[u].rsplit(".", 1)[-1]
            self.reason.setdefault(
                u,
                f"an adapter of the {domain} interface: it goes with the service owning the port"
                if port
                else f"a helper of a vendor module split by port: stays with its {domain} part",
            )
        for u in sorted(ug.named):
            domain = ug.domain[u].rsplit(".", 1)[-1]
            self.reason.setdefault(u, f"its name points to the {domain} domain")
        for u in sorted(composition_root(ug, self.graph) & kernel):
            self.reason.setdefault(
                u,
                "composition root: wires the services together "
                "(app factory, entry script), no business logic",
            )
        followers = self._followers(kernel)
        active = [u for u in ug.units if u not in kernel and u not in followers]
        together = [self._units_matching(group) for group in opts.together]
        act = set(active)
        keys = {u: cl.SVC + svc for u, svc in self.pins.items() if u in act}
        keys.update({u: d for u, d in self._domain_pins(act).items() if u not in keys})
        con = cl.Contraction(active, keys, together)
        if con.conflicts:
            raise PlanError("propose options", con.conflicts)
        g = cl.build_graph(ug, active, con)
        # compounds on several concepts that share a head (``incident_cost``, ``case_cost``)
        # are one capability: they start together in ``_fit``, named by their head
        self.families = head_families(
            (n[len(cl.PIN + cl.DOM) :] for n in g if n.startswith(cl.PIN + cl.DOM)),
            lambda a, b: g.has_edge(cl.PIN + cl.DOM + a, cl.PIN + cl.DOM + b),
        )
        labels, resolution, notes = self._choose(g, con, active)
        assignment = {u: labels[u] for u in active}
        self._apart(g, con, assignment)
        names = self._names(assignment)
        service = {u: names[lab] for u, lab in assignment.items()}
        kernel = settle_kernel(
            ug,
            service,
            kernel,
            forced | {u for u in kernel if u in self.reason},
            infra=infrastructure(ug, self.business),
        )
        # found once the services exist; placed last so that they change no merge
        late = dict.fromkeys(
            hubs(ug, self.graph, self.business), "code of many services goes through it"
        )
        late.update(
            dict.fromkeys(
                aggregators(ug, service, self.business),
                "a package re-exporting the code of several services",
            )
        )
        late.update(
            dict.fromkeys(
                plumbing_packages(ug, service, self.business),
                "a package of plumbing that several services use, no business logic",
            )
        )
        late.update(
            dict.fromkeys(
                request_plumbing(ug, self.graph, service),
                "the routes of many services go through it (authentication, permissions, a "
                "base controller), no business logic of its own",
            )
        )
        self._into_kernel(late, service, kernel)
        constants = kernel_only(ug, self.graph, service, kernel)
        self._into_kernel(
            dict.fromkeys(constants, "only the kernel uses it, no business logic"), service, kernel
        )
        for u in kernel:
            self.reason.setdefault(u, "shared kernel: used by many services, no business logic")
        self._place_followers(followers, service, kernel)
        for u, why in sorted(notes.items()):  # the merges for the count, of what stayed there
            if u in service:
                self.reason.setdefault(u, why)
        owners = self._own_tables(service, kernel, g, labels, names)
        full = dict(service)
        full.update({u: SHARED for u in kernel})
        return self._plan(full, owners, resolution, new_units)

    def _into_kernel(
        self, moves: dict[str, str], service: dict[str, str], kernel: set[str]
    ) -> None:
        """Move units (unit -> why) out of their services into the kernel, pins excepted."""
        for u, why in sorted(moves.items()):
            if u not in self.pins and u not in kernel:
                service.pop(u, None)
                kernel.add(u)
                self.reason[u] = f"shared kernel: {why}"

    def _domain_pins(self, active: set[str]) -> dict[str, str]:
        """The authors' layout: whole modules of one domain package stay together (``dom:``
        pins). In an edited plan, new modules of a package whose modules all went to one
        service join that service."""
        if not self.opts.respect_packages:
            return {}
        ug = self.ug
        split_symbols = {s for m in ug.split for s in ug.module_units[m][1:]}
        placed: dict[str, set[str]] = defaultdict(set)
        for u, svc in self.pins.items():
            placed[ug.domain[u]].add(svc)
        out = {}
        for u in sorted(active):
            d = ug.domain[u]
            if (
                d not in ug.package_domains
                or (u in split_symbols and u not in ug.adapters)
                or u in self.pins
            ):
                continue
            if len(placed.get(d, ())) == 1:
                out[u] = cl.SVC + next(iter(placed[d]))
            else:
                out[u] = cl.DOM + d
        return out

    def _followers(self, kernel: set[str]) -> set[str]:
        """Units placed after clustering: split modules' own nodes, and split symbols with no
        edges at all (constants); both follow where the module's other symbols go."""
        connected = {a for pair in self.ug.weights for a in pair}
        connected |= {u for (u, _v) in self.ug.virtual}
        out = set()
        for m in self.ug.split:
            if m not in self.pins and m not in kernel:
                out.add(m)
            for s in self.ug.module_units[m][1:]:
                if s not in connected and s not in self.pins and s not in kernel:
                    out.add(s)
        return out

    # -- clustering and the service count --------------------------------------------------
    def _choose(
        self, g: nx.Graph, con: cl.Contraction, active: list[str]
    ) -> tuple[dict[str, int], float, dict[str, str]]:
        """The clustering of the resolution whose result has the best modularity, and the
        reasons ``_fit`` noted for its merges."""
        opts = self.opts
        if opts.resolution is not None:
            sweep: tuple[float, ...] = (opts.resolution,)
        elif len(active) > BIG:
            sweep = (1.0,)
        else:
            sweep = SWEEP
        # Q of the metrics (every kind weighs 1) over the active units, from counts at hand
        act = set(active)
        metric_w = (
            weighted(
                {
                    pair: float(sum(k.values()))
                    for pair, k in self.ug.kinds.items()
                    if pair[0] in act and pair[1] in act
                }
            )
            if len(sweep) > 1
            else {}
        )
        best: tuple[tuple[float, float], dict[str, int], float, dict[str, str]] | None = None
        seen: set[tuple] = set()
        for gamma in sweep:
            labels = self._cluster(g, con, gamma)
            notes: dict[str, str] = {}
            labels = self._fit(g, con, labels, notes)
            units = {u: labels[con.node(u)] for u in active}
            signature = tuple(sorted(units.items()))
            if signature in seen:
                continue
            seen.add(signature)
            if len(sweep) == 1:
                return units, gamma, notes
            q = modularity(metric_w, {u: str(lab) for u, lab in units.items()})
            score = (round(q, 6), -abs(gamma - 1.0))
            if best is None or score > best[0]:
                best = (score, units, gamma, notes)
        assert best is not None
        return best[1], best[2], best[3]

    def _cluster(self, g: nx.Graph, con: cl.Contraction, gamma: float) -> dict[str, int]:
        opts = self.opts
        if opts.algorithm == "greedy":
            low, high = opts.services or (None, None)
            labels = cl.greedy(g, gamma, low, high)
        else:
            labels = cl.louvain(g, gamma, opts.seed)
        if opts.algorithm == "label-propagation":
            cl.refine(g, labels, fixed=set(con.pin_of))
        labels = cl.separate_pins(g, labels, con)
        return self._merge_dependent_domains(g, labels, con)

    def _merge_dependent_domains(
        self, g: nx.Graph, labels: dict[str, int], con: cl.Contraction
    ) -> dict[str, int]:
        """A package-domain cluster that is dominated by one other cluster (its weight to it is
        more than twice its internal weight and more than half of all its weight) joins that
        cluster: the code overrules the layout. Largest excess first, until none is left."""
        ug = self.ug
        internal_dom: dict[str, float] = defaultdict(float)
        dom_of = {n: key for n, key in con.pin_of.items() if key.startswith(cl.DOM)}
        rep = con.rep
        for (a, b), w in ug.weights.items():
            ra, rb = rep.get(a), rep.get(b)
            if ra is not None and ra == rb and ra in dom_of:
                internal_dom[ra] += w
        labels = dict(labels)
        for _ in range(len(dom_of)):
            inside: dict[int, float] = defaultdict(float)
            cross: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
            for n, lab in labels.items():
                inside[lab] += internal_dom.get(n, 0.0)
            for x, y, data in g.edges(data=True):
                lx, ly = labels[x], labels[y]
                w = data.get("weight", 1.0)
                if lx == ly:
                    inside[lx] += w
                else:
                    cross[lx][ly] += w
                    cross[ly][lx] += w
            user = {labels[n] for n, key in con.pin_of.items() if key.startswith(cl.SVC)}
            domain_labels = sorted({labels[n] for n in dom_of} - user)
            best: tuple[float, int, int] | None = None
            for lab in domain_labels:
                if not cross[lab]:
                    continue
                target = max(sorted(cross[lab]), key=lambda k: cross[lab][k])
                total = inside[lab] + sum(cross[lab].values())
                excess = cross[lab][target] - 2 * inside[lab]
                if (
                    excess > 0
                    and cross[lab][target] > 0.5 * total
                    and (best is None or excess > best[0])
                ):
                    best = (excess, lab, target)
            if best is None:
                break
            _, lab, target = best
            for n in labels:
                if labels[n] == lab:
                    labels[n] = target
        return labels

    def _real(self, labels: dict[str, int]) -> dict[int, list[str]]:
        members: dict[int, list[str]] = defaultdict(list)
        for n in sorted(labels):
            if not is_virtual(n) or n.startswith((cl.PIN, cl.GROUP)):
                members[labels[n]].append(n)
        return members

    def _fit(
        self,
        g: nx.Graph,
        con: cl.Contraction,
        labels: dict[str, int],
        notes: dict[str, str] | None = None,
    ) -> dict[str, int]:
        """Dissolve tiny clusters, then merge or split until the service count is in range.
        ``notes`` gets, per unit, why a merge for the service count took it where it went."""
        labels = dict(labels)
        notes = {} if notes is None else notes
        concerns: Concerns | None = None  # the clusters' vocabularies, from step 1 on
        vocabulary = self.opts.weights.get("vocabulary", 0.0)
        weight_of = Counter(con.rep.values())

        def pinned_labels() -> set[int]:  # clusters holding a user-named service
            return {
                labels[n] for n, key in con.pin_of.items() if n in labels and key.startswith(cl.SVC)
            }

        def size(nodes: list[str]) -> int:
            return sum(weight_of.get(n, 1) for n in nodes)

        def ties(lab: int) -> dict[int, float]:
            out: dict[int, float] = defaultdict(float)
            for n in sorted(x for x in labels if labels[x] == lab):
                for nb, data in g[n].items():
                    if labels.get(nb, lab) != lab:
                        out[labels[nb]] += data.get("weight", 1.0)
            return out

        family = self.families  # a family of concepts starts as one cluster
        pinned_now = pinned_labels()
        start: dict[str, int] = {}
        fresh = max(labels.values(), default=0) + 1
        for n in sorted(labels):
            head = family.get(n[len(cl.PIN + cl.DOM) :]) if n.startswith(cl.PIN + cl.DOM) else None
            if head is None or labels[n] in pinned_now:
                continue
            if head not in start:
                start[head], fresh = fresh, fresh + 1
            labels[n] = start[head]

        def named(lab: int) -> frozenset[str]:
            """The words of the cluster's main concept (the one with most units); a family's
            head word for a family."""
            keys = Counter(
                {
                    n[len(cl.PIN + cl.DOM) :]: weight_of.get(n, 1)
                    for n, lb in labels.items()
                    if lb == lab and n.startswith(cl.PIN + cl.DOM)
                }
            )
            if not keys:
                return frozenset()
            key = min(keys, key=lambda k: (-keys[k], k))
            if key in family:
                return frozenset({family[key]})
            return frozenset(seg_words(key.rsplit(".", 1)[-1]))

        def merge_into_best(
            lab: int, allow_pinned: bool, why: str = "merged to fit the service count"
        ) -> bool:
            t = ties(lab)
            pinned = pinned_labels()
            options = sorted(k for k in t if allow_pinned or k not in pinned or lab not in pinned)
            if lab in pinned:
                options = [k for k in options if k not in pinned]
            mine = named(lab)
            words = (
                {
                    k: named(k)
                    for k in sorted(set(options or labels.values()))
                    if k != lab and (lab not in pinned or k not in pinned)
                }
                if mine
                else {}
            )
            wider = [k for k, w in words.items() if w and w < mine]
            if wider:
                # a compound concept joins the concept it extends (``task_type`` -> ``task``):
                # the surest merge there is, names agreeing across layers
                target = max(wider, key=lambda k: (len(words[k]), t.get(k, 0.0), -k))
            elif not options:
                # no ties at all: follow the rest of the same modules, else the biggest
                members = self._real(labels)
                others = [k for k in members if k != lab and (lab not in pinned or k not in pinned)]
                if not others:
                    return False
                mine = frozenset(module_of(u) for n in members[lab] for u in self._expand(con, n))
                kin: Counter[int] = Counter()
                for k in others:
                    kin[k] = sum(
                        1 for n in members[k] for u in self._expand(con, n) if module_of(u) in mine
                    )
                target = min(others, key=lambda k: (-kin[k], -size(members[k]), k))
            else:
                # affinity, not raw weight: a hub that everything calls is no one's home
                vol: dict[int, float] = defaultdict(float)
                for n, lb in labels.items():
                    if (lb in t or lb == lab) and n in g:
                        vol[lb] += g.degree(n, weight="weight")

                def affinity(k: int) -> float:  # the weight between them, as a cosine
                    return t[k] / math.sqrt(max(vol[k], 1.0) * max(vol[lab], 1.0))

                if concerns is None:
                    target = max(options, key=affinity)
                else:  # whole capabilities merge: what the code is about weighs in too
                    alike = concerns.similarities(lab, options)
                    target = max(options, key=lambda k: affinity(k) + vocabulary * alike[k])
                    spoken = concerns.shared(lab, target)
                    about = f"; both speak of {', '.join(spoken)}" if spoken else ""
                    for n in sorted(x for x in labels if labels[x] == lab):
                        for u in self._expand(con, n):
                            notes.setdefault(
                                u,
                                f"{why} into the capability closest by use and vocabulary{about}",
                            )
            if concerns is not None:
                concerns.merge(lab, target)
            for n in labels:
                if labels[n] == lab:
                    labels[n] = target
            return True

        low, high = self.opts.services or (1, None)
        # 0. a cluster without business logic (no route, task or table of its own: helpers
        #    left over from a carved-out module, a settings package) is not a service
        #    (a domain package only when the analysis sees business logic in most domains:
        #    when it finds no routes or tables, layout is all there is to go on)
        dom_nodes = [n for n in labels if n.startswith(cl.PIN + cl.DOM)]
        dom_business = [
            n for n in dom_nodes if any(u in self.business for u in self._expand(con, n))
        ]
        trust = len(dom_business) * 2 >= len(dom_nodes)
        changed = True
        while changed:
            changed = False
            members = self._real(labels)
            if len(members) <= low:
                break
            for lab in sorted(members):
                units = [u for n in members[lab] for u in self._expand(con, n)]
                has_dom = any(n.startswith(cl.PIN + cl.DOM) for n in members[lab])
                if (
                    lab not in pinned_labels()
                    and (trust or not has_dom)
                    and not any(u in self.business for u in units)
                ):
                    if merge_into_best(lab, allow_pinned=True):
                        changed = True
                        break
        # 1. tiny clusters join their closest neighbour (pinned ones stay): fewer units
        #    than min_service_size, or less code than a team would own (TEAM_SHARE of all)
        loc = self.ug.size

        def code(nodes: list[str]) -> int:
            return sum(loc.get(u, 1) for n in nodes for u in self._expand(con, n))

        floor = TEAM_SHARE * code([n for ns in self._real(labels).values() for n in ns])
        if vocabulary > 0:  # from here on whole capabilities merge: vocabulary weighs in
            concerns = Concerns(
                {
                    k: [u for n in ns for u in self._expand(con, n)]
                    for k, ns in self._real(labels).items()
                },
                self.ug.words,
            )
        changed = True
        while changed:
            changed = False
            members = self._real(labels)
            if high is None and len(members) <= low:
                break
            for lab in sorted(members, key=lambda k: (code(members[k]), k)):
                if (
                    (
                        size(members[lab]) < self.opts.min_service_size
                        or (high is None and code(members[lab]) < floor)
                    )
                    and lab not in pinned_labels()
                    and len(members) > low
                ):
                    if merge_into_best(
                        lab, allow_pinned=True, why="too small for a team of its own: merged"
                    ):
                        changed = True
                        break
        # 2. too many: merge the smallest into its strongest neighbour. Without a count from
        #    the user, two estimates of how many teams the code needs, the larger wins (see
        #    _caps): a merge the evidence does not support costs more than one service too many
        if self.opts.services is None:
            concepts = len({n for n in labels if n.startswith(cl.PIN + cl.DOM)})
            self.concepts = concepts
            members = self._real(labels)
            big = sum(1 for k in members if code(members[k]) >= TEAM_BIG * floor / TEAM_SHARE)
            high = max(low, big, *self._caps().values()) if concepts or self.written else None
        guard = 0
        while high is not None and len(self._real(labels)) > high and guard < 10000:
            guard += 1
            members = self._real(labels)
            order = sorted(members, key=lambda k: (k in pinned_labels(), code(members[k]), k))
            if not any(merge_into_best(lab, allow_pinned=False) for lab in order[:1]) and not any(
                merge_into_best(lab, allow_pinned=True) for lab in order[1:2]
            ):
                break
        # 3. too few: split the biggest
        guard = 0
        while len(self._real(labels)) < low and guard < 100:
            guard += 1
            members = self._real(labels)
            for lab in sorted(members, key=lambda k: (-size(members[k]), k)):
                if self._split(g, labels, lab, members[lab]):
                    break
            else:
                break
        # renumber densely in order of first member
        by_first = sorted(self._real(labels).items(), key=lambda kv: kv[1][0])
        renum = {old: i for i, (old, _) in enumerate(by_first)}
        return {n: renum.get(lab, -1) for n, lab in labels.items()}

    @staticmethod
    def _expand(con: cl.Contraction, node: str) -> list[str]:
        return con.members.get(node, [node])

    def _split(self, g: nx.Graph, labels: dict[str, int], lab: int, members: list[str]) -> bool:
        nodes = sorted(n for n in labels if labels[n] == lab)
        pins = [n for n in nodes if n.startswith(cl.PIN + cl.SVC)]
        if len(members) < 2 or pins:
            return False
        sub = g.subgraph(nodes).copy()
        for gamma in (1.0, 1.5, 2.0, 3.0, 5.0, 10.0):
            parts = cl.louvain(sub, gamma, self.opts.seed)
            if len(set(parts[n] for n in members)) >= 2:
                break
        else:
            comps = list(nx.connected_components(sub))
            if len(comps) < 2:
                half = len(members) // 2
                parts = {n: (0 if n in members[:half] else 1) for n in nodes}
            else:
                parts = cl._communities_to_labels(comps)
        top = max(labels.values()) + 1
        first = parts[members[0]]
        for n in nodes:
            if parts[n] != first:
                labels[n] = top + parts[n]
        return True

    def _apart(self, g: nx.Graph, con: cl.Contraction, assignment: dict[str, int]) -> None:
        """Units that must be apart: all but the most attached leave for their next-best service
        (or a new one)."""
        for group in self.opts.apart:
            members = [self._units_matching([p]) for p in group]
            seen: dict[int, int] = {}
            for i, units in enumerate(members):
                for u in units:
                    if u not in assignment:
                        continue
                    lab = assignment[u]
                    if lab in seen and seen[lab] != i:
                        if u in self.pins:
                            raise PlanError(
                                "propose options",
                                [
                                    f"apart: {u} is pinned into the same service as "
                                    f"another member of {group}"
                                ],
                            )
                        tie: dict[int, float] = defaultdict(float)
                        for nb, data in g[con.node(u)].items():
                            nl = assignment.get(nb)
                            if nl is not None and nl not in seen:
                                tie[nl] += data.get("weight", 1.0)
                        target = (
                            max(sorted(tie), key=lambda k: tie[k])
                            if tie
                            else max(assignment.values()) + 1
                        )
                        for v in units:
                            if assignment.get(v) == lab:
                                assignment[v] = target
                                self.reason[v] = f"kept apart from {group[seen[lab]]} by config"
                        seen[target] = i
                    else:
                        seen.setdefault(lab, i)

    # -- naming, followers, tables ---------------------------------------------------------
    def _names(self, assignment: dict[str, int]) -> dict[int, str]:
        ug, graph = self.ug, self.graph
        members: dict[int, list[str]] = defaultdict(list)
        for u in sorted(assignment):
            members[assignment[u]].append(u)
        fixed: dict[int, str] = {}
        for u, svc in sorted(self.pins.items()):
            if u in assignment:
                fixed.setdefault(assignment[u], svc)
        handler_unit: dict[str, list[str]] = {}
        for r in graph.routes:
            unit = ug.unit_of.get(r.handler) or ug.unit_of.get(module_of(r.handler))
            if unit:
                handler_unit.setdefault(unit, []).append(first_segment(r.path))
        scores: dict[int, dict[str, float]] = {}
        roots = {d for d in ug.domain.values() if d not in ug.package_domains}
        # a concept named by a technical word (a family of importers under ``migrations/``)
        # gets no say unless the app's data is named so (a ``signal`` table)
        data = {"_".join(seg_words(t)) for t in graph.tables} | {
            "_".join(seg_words(t.model.split(":")[-1])) for t in graph.tables.values() if t.model
        }
        roots |= {
            d
            for d in ug.package_domains
            if set(seg_words(d.rsplit(".", 1)[-1])) <= ROLE_WORDS | GENERIC
            and "_".join(seg_words(d.rsplit(".", 1)[-1])) not in data
        }
        owned: dict[str, list[str]] = defaultdict(list)  # provisional owners, by cluster
        provisional = UnitResolver({u: str(lab) for u, lab in assignment.items()})
        for table, owner in table_owners(graph, provisional, ignore_writers=ug.bulk).items():
            if owner is not None:
                owned[owner].append(table)
        for lab, units in members.items():
            if lab in fixed:
                continue
            doms: Counter[str] = Counter()  # a concept's say grows with its code
            for u in units:
                d = ug.domain[u]
                if d in self.families:  # a family is named by its head
                    d = f"{d.rsplit('.', 1)[0]}.{self.families[d]}"
                doms[d] += max(1, round(ug.size[u] / NAME_LINES))
            segs = [s for u in units for s in handler_unit.get(u, [])]
            tables = owned.get(str(lab), [])
            classes = [
                u.split(":", 1)[1]
                for u in units
                if ":" in u and graph.g.nodes[u].get("kind") == "class"
            ]
            scores[lab] = candidates(sorted(doms.items()), segs, tables, classes, roots)
            for kind in ("writes", "reads"):  # nothing of its own: named by the data it uses
                if not scores[lab]:
                    used = [t for u in units for t in ug.tables_of.get(u, {}).get(kind, ())]
                    scores[lab] = candidates([], [], used, [], roots)
        sizes = {lab: sum(ug.size[u] for u in units) for lab, units in members.items()}
        named = assign_names(scores, sizes, taken=set(fixed.values()))
        named.update(fixed)
        return named

    def _place_followers(
        self, followers: set[str], service: dict[str, str], kernel: set[str]
    ) -> None:
        """A split module's own node and its unconnected symbols go where most of the
        module's (sized) symbols went; a module whose symbols are mostly kernel joins it."""
        ug = self.ug
        for m in ug.split:
            placed: Counter[str] = Counter()
            for s in ug.module_units[m][1:]:
                if s in service:
                    placed[service[s]] += ug.size[s]
                elif s in kernel:
                    placed[SHARED] += ug.size[s]
            target = (
                max(sorted(placed), key=lambda k: placed[k]) if placed else self._largest(service)
            )
            if SHARED in placed and 2 * placed[target] <= sum(placed.values()):
                # no service holds most of it: the file that several services carve pieces
                # from is shared, like the symbols of it the kernel already holds
                target = SHARED
            for u in ug.module_units[m]:
                if u in followers:
                    if target == SHARED:
                        kernel.add(u)
                    else:
                        service[u] = target
                    self.reason[u] = f"follows most of {m}'s code"

    @staticmethod
    def _largest(service: dict[str, str]) -> str:
        counts = Counter(service.values())
        return max(sorted(counts), key=lambda k: counts[k]) if counts else "app"

    def _own_tables(
        self,
        service: dict[str, str],
        kernel: set[str],
        g: nx.Graph,
        labels: dict[str, int],
        names: dict[int, str],
    ) -> dict[str, str]:
        """Every table gets exactly one owner; model classes split out of a shared module move
        to the service that owns their table."""
        full = dict(service)
        full.update({u: SHARED for u in kernel})
        resolver = UnitResolver(full)
        owners = table_owners(self.graph, resolver, ignore_writers=self.ug.bulk)
        split_symbols = {s for m in self.ug.split for s in self.ug.module_units[m][1:]}
        for name, owner in sorted(owners.items()):
            t = self.graph.tables[name]
            if owner is None:
                owner = self._fallback_owner(name, service)
                owners[name] = owner
            if t.model:
                u = self.ug.unit_of.get(t.model)
                if (
                    u in split_symbols
                    and u in service
                    and service[u] != owner
                    and u not in self.pins
                ):
                    service[u] = owner
                    self.reason[u] = f"model of table {name}, owned by {owner}"
        return {k: v for k, v in owners.items() if v is not None}

    def _fallback_owner(self, table: str, service: dict[str, str]) -> str:
        """No service writes, maps or reads the table: the one most tied to its users."""
        t = self.graph.tables[table]
        votes: Counter[str] = Counter()
        for node in [*t.writers, *t.readers] + ([t.model] if t.model else []):
            u = self.ug.unit_of.get(node) or self.ug.unit_of.get(module_of(node))
            for a, b in self.ug.counts:
                if a == u and b in service:
                    votes[service[b]] += 1
        if votes:
            return max(sorted(votes), key=lambda k: votes[k])
        return self._largest(service)

    # -- the plan ---------------------------------------------------------------------------
    def _plan(
        self, full: dict[str, str], owners: dict[str, str], resolution: float, new_units: list[str]
    ) -> Plan:
        ug, graph = self.ug, self.graph
        split = set(ug.split)
        services: dict[str, Service] = {}
        kernel = SharedKernel()
        for u in sorted(full):
            svc = full[u]
            if svc == SHARED:
                (kernel.symbols if ":" in u else kernel.modules).append(u)
                continue
            s = services.setdefault(svc, Service(name=svc))
            (s.symbols if ":" in u else s.modules).append(u)
        for table, owner in sorted(owners.items()):
            if owner in services:
                services[owner].tables.append(table)
        resolver = UnitResolver(full)
        for r in graph.routes:
            home = resolver.group(r.handler)
            if home is not None and home in services:
                services[home].routes.append(f"{r.method} {r.path}")
        deps: dict[str, Counter[str]] = defaultdict(Counter)
        interface: dict[str, set[str]] = defaultdict(set)
        #: split modules with symbols in a service: each service gets a copy of the module
        hosted = {module_of(u) for s in services.values() for u in s.symbols} & split
        handlers = {r.handler for r in graph.routes}
        for s_node, t_node, data in graph.g.edges(data=True):
            if data.get("kind") == "route":  # URL wiring, not a call between services
                continue
            a, b = resolver.group(s_node), resolver.group(t_node)
            if a in services and b in services and a != b:
                deps[a][b] += data.get("count", 1)
                if data.get("kind") != "import" or ":" in t_node:
                    interface[b].add(t_node)  # the names called; module imports add nothing
            elif (
                a == SHARED
                and b in services
                and ":" in t_node
                and module_of(s_node) in hosted
                and t_node not in handlers
            ):
                # the kernel's part of a module split across services runs in each service's
                # copy of it (the kernel library never holds it): its calls cross services;
                # a route handler it names is wiring (the gateway serves it), not a call
                interface[b].add(t_node)
        for name, service in services.items():
            service.depends_on = sorted(deps[name])
            service.interface = sorted(interface[name])
            service.routes = sorted(set(service.routes))
        if self.base is not None:
            for name, old in self.base.services.items():
                if name in services:
                    services[name].interface = sorted(
                        set(services[name].interface) | set(old.interface)
                    )
                    # the traffic switch is an operator's decision: a re-run keeps it
                    services[name].cutover = old.cutover
                    services[name].cutover_percent = old.cutover_percent
        metrics = compute_metrics(graph, full, owners=owners)
        for name, service in services.items():
            service.why = self._why(name, service, full, split)
        placements = self._placements(full)
        meta = PlanMeta(version=META_VERSION, generator="migrator propose")
        if self.source is not None:
            meta["source"] = self.source
        meta.update(
            PlanMeta(algorithm=self.opts.algorithm, seed=self.opts.seed, resolution=resolution)
        )
        if self.opts.services:
            meta["services_range"] = list(self.opts.services)
        meta.update(
            PlanMeta(
                weights=dict(sorted(self.opts.weights.items())),
                split_modules=sorted(split),
                service_count=self._count_reason(len(services)),
                table_owner_rule=TABLE_RULE,
                data_coupling=copy.deepcopy(
                    {
                        "shared_writes": metrics["data_coupling"]["shared_write_tables"],
                        "cross_reads": metrics["data_coupling"]["cross_read_tables"],
                    }
                ),
                placements=placements,
            )
        )
        if self.base is not None:
            covered = set(self.base.assignment())
            meta["new_nodes"] = sorted(new_units)
            meta["removed_nodes"] = sorted(
                n for n in covered if _resolve_any(n, set(ug.units)) is None
            )
        return Plan(services=services, shared_kernel=kernel, metrics=metrics, meta=meta)

    def _caps(self) -> dict[str, int]:
        """The most services the code supports, by its concepts (a team owns a handful of
        related ones) and by its data (each written table has one owner; a team owns a
        handful of them). Measured on real apps against architects' splits, the written
        tables predict the count more closely; the concepts stand in where the analysis
        sees no writes."""
        caps = {}
        if self.concepts:
            caps["concepts"] = math.ceil(TEAM_FACTOR * math.sqrt(self.concepts))
        if self.written:
            caps["tables"] = math.ceil(DATA_FACTOR * math.sqrt(self.written))
        return caps

    def _count_reason(self, n: int) -> str:
        """Why the plan has ``n`` services, for the plan's readers."""
        if self.opts.services:
            low, high = self.opts.services
            return f"{n} services: asked for {low}-{high}"
        caps = self._caps()
        if not caps:
            return f"{n} services: the clusters of the code (no business concepts found)"
        c, w = self.concepts, self.written
        by = {
            "concepts": f"ceil({TEAM_FACTOR} x sqrt({c} business concepts))",
            "tables": f"ceil({DATA_FACTOR} x sqrt({w} tables written))",
        }
        law = " and ".join(f"{by[k]} = {v}" for k, v in sorted(caps.items()))
        if len(caps) > 1:
            law = f"the larger of {law}"
        return (
            f"{n} services from {c} business concepts and {w} tables written: a team owns a "
            f"handful of related concepts and their data, so at most {max(caps.values())}: "
            f"{law} (more only where more clusters each hold {TEAM_BIG:.0%} of the code); "
            f"fragments under {TEAM_SHARE:.0%} of the code joined their closest concept"
        )

    def _why(self, name: str, svc: Service, full: dict[str, str], split: set[str]) -> list[str]:
        ug = self.ug
        units = [*svc.modules, *svc.symbols]
        why: list[str] = []
        pinned = sorted(
            {
                self.reason[u]
                for u in units
                if self.reason.get(u, "").startswith(("pinned", "kept from"))
            }
        )
        why += pinned
        doms = Counter(ug.domain[u] for u in svc.modules if u not in split)
        pkgs = [
            f"{d.rsplit('.', 1)[-1]} ({n} modules)"
            for d, n in sorted(doms.items(), key=lambda kv: (-kv[1], kv[0]))
            if d in ug.package_domains
        ]
        if pkgs:
            why.append(
                "business concepts, each named alike across its packages and layers: "
                + ", ".join(pkgs[:5])
                + (f" and {len(pkgs) - 5} more" if len(pkgs) > 5 else "")
            )
        heads = sorted({self.families[d] for d in doms if d in self.families})
        for head in heads:
            members = sorted(d.rsplit(".", 1)[-1] for d in doms if self.families.get(d) == head)
            why.append(
                f"one capability: {', '.join(members)} share the head '{head}' across concepts"
                " and use each other"
            )
        carved: dict[str, list[str]] = defaultdict(list)
        for s in svc.symbols:
            carved[module_of(s)].append(s.split(":", 1)[1])
        for m, names in sorted(carved.items()):
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            why.append(f"carved out of {m} (mixes domains): {shown}")
        if svc.tables:
            why.append("owns tables: " + ", ".join(svc.tables[:10]))
        if svc.routes:
            prefixes = sorted({"/" + first_segment(r.split(" ", 1)[1]) for r in svc.routes})
            n = len(svc.routes)
            why.append(f"serves {n} route{'s' if n > 1 else ''} under " + ", ".join(prefixes[:6]))
        inside, cross = self._cohesion(full).get(name, (0.0, 0.0))
        if inside + cross > 0:
            why.append(
                f"cohesion: {inside / (inside + cross):.0%} of its dependency weight stays inside"
            )
        return why

    def _cohesion(self, full: dict[str, str]) -> dict[str, tuple[float, float]]:
        """Service -> (weight inside, weight crossing its boundary), kernel left out."""
        if getattr(self, "_cohesion_cache", None) is None:
            inside: dict[str, float] = defaultdict(float)
            cross: dict[str, float] = defaultdict(float)
            for (a, b), w in self.ug.weights.items():
                ga, gb = full.get(a), full.get(b)
                if ga is None or gb is None or SHARED in (ga, gb):
                    continue
                if ga == gb:
                    inside[ga] += w
                else:
                    cross[ga] += w
                    cross[gb] += w
            self._cohesion_cache = {s: (inside[s], cross[s]) for s in set(inside) | set(cross)}
        return self._cohesion_cache

    def _placements(self, full: dict[str, str]) -> dict[str, dict[str, Any]]:
        adj = self.ug.neighbours()
        out: dict[str, dict[str, Any]] = {}
        for u in sorted(full):
            ties: dict[str, float] = defaultdict(float)
            for nb, w in adj.get(u, {}).items():
                if nb in full:
                    ties[full[nb]] += w
            own = full[u]
            rivals = sorted(
                (s for s in ties if s not in (own, SHARED)), key=lambda s: (-ties[s], s)
            )
            entry: dict[str, Any] = {"service": own, "weight": round(ties.get(own, 0.0), 3)}
            if rivals:
                entry["runner_up"] = rivals[0]
                entry["runner_up_weight"] = round(ties[rivals[0]], 3)
            if u in self.reason:
                entry["reason"] = self.reason[u]
            out[u] = entry
        return out


def written_entities(graph: DependencyGraph, ug: UnitGraph) -> set[str]:
    """The tables some code writes (bulk loaders aside), a subclass model's table counted
    as its parent's (multi-table inheritance: a ``Payment`` and its ``CardPayment`` and
    ``BankTransfer`` kinds are one aggregate with one owner, however many tables hold it)."""
    table_of = {t.model: name for name, t in graph.tables.items() if t.model}
    parent = {
        table_of[s]: table_of[t]
        for s, t, kind in graph.g.edges(data="kind")
        if kind == "inherit" and s in table_of and t in table_of and table_of[s] != table_of[t]
    }

    def root(table: str) -> str:
        seen = {table}
        while table in parent and parent[table] not in seen:
            table = parent[table]
            seen.add(table)
        return table

    return {
        root(t) for u, rw in sorted(ug.tables_of.items()) if u not in ug.bulk for t in rw["writes"]
    }


def _resolve_any(node: str, units: set[str]) -> str | None:
    if node in units:
        return node
    prefix = node + "."
    return next((u for u in units if u.startswith(prefix) or u.startswith(node + ":")), None)


def summarize(plan: Plan) -> str:
    """The few lines ``migrator propose`` prints: services, sizes, metrics, kernel."""
    m = plan.metrics
    lines = [
        f"{len(plan.services)} services, shared kernel of "
        f"{len(plan.shared_kernel.modules) + len(plan.shared_kernel.symbols)} nodes"
    ]
    width = max((len(n) for n in plan.services), default=0)
    for name, svc in sorted(plan.services.items()):
        lines.append(
            f"  {name:<{width}}  {len(svc.modules):>3} modules {len(svc.symbols):>3} "
            f"symbols {len(svc.tables):>3} tables {len(svc.routes):>3} routes"
        )
    kernel = [*plan.shared_kernel.modules, *plan.shared_kernel.symbols]
    if kernel:
        shown = ", ".join(kernel[:8]) + (f" and {len(kernel) - 8} more" if len(kernel) > 8 else "")
        lines.append(f"  kernel: {shown}")
    if m:
        dc = m.get("data_coupling", {})
        lines.append(
            f"metrics: Q {m.get('modularity')}  ICP {m.get('icp')}  SM {m.get('sm')}  "
            f"IFN {m.get('ifn')}  NED {m.get('ned')}  BCP {m.get('bcp')}  "
            f"shared writes {dc.get('shared_writes', 0)}  "
            f"cross reads {dc.get('cross_reads', 0)}  (definitions: docs/metrics.md)"
        )
    if plan.meta.get("service_count"):
        lines.append(str(plan.meta["service_count"]))
    split = plan.meta.get("split_modules") or []
    if split:
        lines.append("split into symbols: " + ", ".join(split))
    return "\n".join(lines) + "\n"
