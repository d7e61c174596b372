"""Business concepts from module paths: the vertical slice a module belongs to.

Real monoliths come in three shapes. *Package per feature* (``shop/cart/views.py``,
``shop/cart/models.py``): the feature is the package. *Layered* (``app/models/cart.py``,
``app/services/cart_service.py``, ``app/routes/cart.py``): the feature is the name repeated
across the layer packages. *Mixed*: both, plus central ``models`` packages and admin or front
layers that span every feature. Cutting by package is right for the first shape and the one
split every architecture book warns against for the second.

This module finds the concept of each module without knowing the app:

- *affixes*: a word in most children of one package (``*_service``, ``repository_*``,
  ``controller_*``, an app-wide ``myapp_`` prefix) says nothing about the child; it is stripped.
- *role words*: technical words (``models``, ``views``, ``schemas`` ...) and words that recur as
  children of many packages (``flows.py`` in every feature package); never a concept, unless a
  table is named after them (an on-call ``service`` table makes ``service`` a business word).
- *layers*: packages whose children's concepts recur in another package (``models/`` and
  ``services/`` both have ``task``, ``comment``, ``person``). The top package is one.
- the *concept* of a module is the first segment below its deepest layer that names one, so
  ``app.models.task``, ``app.services.tasks_service`` and ``app.blueprints.tasks.resources`` all
  share ``task``, and ``shop.cart.views`` keeps ``cart``.

- *adapters* and *families*: a vendor package under ``plugins/`` (``providers/`` ...) takes the
  concept whose interface it implements; a package of vendor modules implementing one base class
  of its own (importers ``tandoor.py``, ``paprika.py``) is one concept, named by the package.

A module without a concept (``app.utils``, ``app.config``) has none: it is kernel material or
placed by its edges alone.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from itertools import combinations

import networkx as nx

from migrator.graph import DependencyGraph, module_of
from migrator.proposal.naming import singular, words

#: words that name a technical role, never a business capability
ROLE_WORDS = frozenset(
    """
    abstract admin api apis app apps application asgi async base bases blueprint blueprints cli
    client clients command commands common compat conf config configs configuration
    constant constants contrib controller controllers core crud dao db database
    decorator decorators default defaults dependency dependencies deps dto endpoint
    endpoints enum enums error errors exception exceptions extension extensions factory
    factories field fields filter filters fixture fixtures flow flows form forms handler
    generic handlers helper helpers hook hooks init interface interfaces internal lib libs main
    manage management manager managers message messages middleware middlewares migration
    migrations misc mixin mixins model models module modules plugin plugins provider
    providers repo repos repositories repository resource resources route router routers
    routes schema schemas serializer serializers service services setting settings
    shared signal signals site src static store stores task tasks template templates
    templatetags test tests type types url urls util utils utility utilities v1 v2 v3
    validator validators view views viewsets web widget widgets worker workers wsgi www
    py pkg pkgs tool tools support front frontend ui edit list delete detail create
    update toolbar section action mass object selector part parts dashboard menu ext
    other spec specs openapi swagger all graphql gql rest rpc grpc mutation mutations query
    queries resolver resolvers dataloader dataloaders table tables
    """.split()
)
#: packages of generic plumbing: nothing below them is a business capability
UTILITY_WORDS = frozenset(
    """
    util utils utility utilities helper helpers common lib libs misc support pkg pkgs
    shared compat store stores infra infrastructure kit toolkit toolbox
    """.split()
)
#: packages of adapters to other systems (``plugins/slack``, ``providers/ldap``): an adapter
#: serves the capability whose interface it implements, not one named after the vendor
ADAPTER_WORDS = frozenset(
    """
    plugin plugins provider providers integration integrations backend backends adapter
    adapters connector connectors contrib addon addons
    """.split()
)
#: a word in at least this share of a package's children is an affix of that package
AFFIX_SHARE = 0.5


def seg_words(segment: str) -> list[str]:
    """Singular words of one path segment: ``tasks_service`` -> ``task``, ``service``."""
    ws = [w for w in words(segment) if not w.isdigit()]
    return [singular(w) for w in ([w for w in ws if len(w) > 1] or ws)]


class Concepts:
    """Concept of every module (see module docstring); plain dicts, computed once."""

    def __init__(self, modules: Iterable[str], business_words: Iterable[str] = ()) -> None:
        self.modules = sorted(set(modules))
        self.protected = set(business_words) - {"", "id"}
        children: dict[str, set[str]] = defaultdict(set)
        for m in self.modules:
            parts = m.split(".")
            for i in range(1, len(parts)):
                children[".".join(parts[:i])].add(parts[i])
        tops = {m.split(".")[0] for m in self.modules}
        #: several top packages side by side (Django apps ``blog/``, ``polls/``): they are the
        #: features, below a virtual root ""
        self.root_depth = 0 if len(tops & set(children)) >= 2 else 1
        if self.root_depth == 0:
            children[""] = tops
        #: a Django project's own package among its apps (``settings.py`` beside ``urls.py``):
        #: the composition root and the apps' base classes, no feature
        self.projects = self._project_package(tops) if self.root_depth == 0 else set()
        self.children = {p: sorted(c) for p, c in children.items()}
        self.affixes = {p: self._affixes(c) for p, c in self.children.items()}
        self.templated = Counter(
            (p.rsplit(".", 1)[-1], c) for p, cs in self.children.items() for c in cs
        )
        self.recurring: set[str] = set()
        self.roles = self._roles()
        self.layers = self._layers()
        self.spellings: dict[str, Counter[str]] = defaultdict(Counter)
        #: module below an adapter container -> its adapter package (``app.plugins.slack``)
        self.adapter_of: dict[str, str] = {}
        self.of: dict[str, str] = {m: self._concept(m) for m in self.modules}
        self._leaf_concepts()
        self._commands()

    def _commands(self) -> None:
        """A Django command's file is named by what it does (``sendalerts.py``,
        ``rebuild_campaign_caches.py``): it names a concept only when other code does too."""
        command = {m for m in self.modules if ".management.commands." in f".{m}."}
        elsewhere = {c for m, c in self.of.items() if c and m not in command}
        for m in sorted(command):
            if self.of[m] not in elsewhere:
                self.of[m] = ""

    def _project_package(self, tops: set[str]) -> set[str]:
        """The one top package with ``settings`` and ``urls`` (of several, the one that also
        has ``wsgi`` or ``asgi``); none when that is ambiguous."""
        known = set(self.modules)
        found = {t for t in tops if {f"{t}.settings", f"{t}.urls"} <= known}
        if len(found) > 1:
            found = {t for t in found if {f"{t}.wsgi", f"{t}.asgi"} & known}
        return found if len(found) == 1 else set()

    def place_adapters(self, implements: Iterable[tuple[str, str, float]]) -> None:
        """Give each adapter module the concept its classes implement (``(module, base module,
        class size)`` triples from inheritance), weighted by the size of the implementing
        classes; a module that implements none takes the votes of its nearest package that
        does, and a package that implements no concept keeps its own name, as any would."""
        votes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for module, base, size in implements:
            package, concept = self.adapter_of.get(module), self.of.get(base, "")
            container = package.rsplit(".", 1)[0] if package else ""
            if (
                package
                and concept
                and not base.startswith(package + ".")
                and concept not in seg_words(container.rsplit(".", 1)[-1])
            ):
                parts = module.split(".")
                for i in range(package.count(".") + 1, len(parts) + 1):
                    votes[".".join(parts[:i])][concept] += size
        known = {c for m, c in self.of.items() if c and m not in self.adapter_of}
        for m in sorted(self.adapter_of):
            parts = m.split(".")
            depth = next((i for i in range(len(parts), 0, -1) if ".".join(parts[:i]) in votes), 0)
            v = votes[".".join(parts[:depth])] if depth else None
            self.of[m] = self._named_part(
                m, max(depth, self.adapter_of[m].count(".") + 1), known
            ) or (min(v, key=lambda c: (-v[c], c)) if v else self._concept(m, False))

    def _named_part(self, module: str, below: int, known: set[str]) -> str:
        """The concept a package of an adapter is named after (``plugins/slack/case/``: the
        chat screens of cases), when no class deeper down says what it implements and other
        code has that concept: the adapter's part for that capability, as its ``views.py``."""
        parts = module.split(".")
        for i in range(below, len(parts)):
            if ".".join(parts[: i + 1]) not in self.children:
                break  # a module, not a package: named for what it does (``events.py``)
            concept = "_".join(self.words_of(".".join(parts[:i]), parts[i]))
            if concept in known:
                return concept
        return ""

    def place_families(self, implements: Iterable[tuple[str, str, float]]) -> None:
        """A package most of whose modules implement one base class of its own (importers
        ``tandoor.py``, ``paprika.py`` ... each a ``BaseMigrator`` of ``_migration_base.py``)
        is one concept, named by the package, not one per vendor."""
        impl: dict[str, set[str]] = defaultdict(set)  # base module -> implementing modules
        for module, base, _size in implements:
            package = base.rsplit(".", 1)[0]
            if module != base and module.rsplit(".", 1)[0] == package:
                impl[base].add(module)
        for base, members in sorted(impl.items()):
            package = base.rsplit(".", 1)[0]
            siblings = [
                m
                for m in self.modules
                if m.rsplit(".", 1)[0] == package and m != base and m not in self.adapter_of
            ]
            if len(members) < 3 or len(members) < 2 / 3 * len(siblings) or "." not in package:
                continue
            if package in self.layers:  # ``crud/person.py`` beside ``models/person.py``
                continue
            if len({self.of[m] for m in members}) == 1:
                continue  # one concept already (``xtheme/plugins/*``): nothing to gather
            parent, name = package.rsplit(".", 1)
            ws = self.words_of(parent, name) or self.words_of(parent, name, set())
            if not ws:
                continue
            concept = "_".join(ws)
            for m in self.modules:
                if m == package or m.startswith(package + "."):
                    self.of[m] = concept
            raw = [w for w in words(name) if singular(w) in ws]
            self.spellings[concept]["_".join(raw) or concept] += 1

    def join_acronyms(self) -> None:
        """A concept spelled out in words whose initials are another concept's name
        (``artificial_intelligence`` beside ``ai``) is that concept: the interface of an
        adapter package is often spelled out where the feature package is abbreviated."""
        names = {c for c in self.of.values() if c}
        short = {c for c in names if "_" not in c and 2 <= len(c) <= 5}
        for m, c in sorted(self.of.items()):
            ws = c.split("_") if c else []
            initials = "".join(w[0] for w in ws)
            if len(ws) >= 2 and initials in short:
                self.of[m] = initials

    # -- words ----------------------------------------------------------------------------
    @staticmethod
    def _affixes(children: list[str]) -> set[str]:
        if len(children) < 3:
            return set()
        count = Counter(w for c in children for w in set(seg_words(c)))
        return {w for w, n in count.items() if n >= AFFIX_SHARE * len(children) and n >= 3}

    def words_of(self, package: str, child: str, roles: set[str] | None = None) -> list[str]:
        """The concept words of ``child`` inside ``package``: affixes, the app's own name and
        role words dropped.

        A child named exactly like a table or model keeps its name against the technical
        list (``task`` where tasks are data); against the words that recur everywhere only
        when it is a package of its own (an on-call ``service/`` package beside the
        ``service.py`` of every feature)."""
        if self.templated[(package.rsplit(".", 1)[-1], child)] >= 3:
            return []  # ``views/edit.py`` in every feature: a template, not a concept
        ws = seg_words(child)
        # the app's own name says nothing of a child (``shop/templatetags/shop_front.py``)
        said = self.affixes.get(package, set()) | set(seg_words(package.split(".", 1)[0]))
        stripped = [w for w in ws if w not in said] or ws
        whole = "_".join(stripped)
        if whole in self.protected and (
            roles is not None
            or whole not in self.recurring
            or f"{package}.{child}" in self.children
        ):
            return stripped
        drop = self.roles if roles is None else roles
        return [w for w in stripped if w not in drop]

    def _roles(self) -> set[str]:
        """Technical words, and words that recur as children of many packages that are
        themselves made of such words (``flows.py`` beside ``models.py`` and ``views.py`` in
        every feature package); a word that recurs across packages of many distinct children
        is a concept across layers (``models/asset.py``, ``services/assets_service.py``,
        ``blueprints/assets/``), table or not."""
        packages = [p for p, c in self.children.items() if len(c) >= 2]
        df: Counter[str] = Counter()
        has: dict[str, list[set[str]]] = {}
        for p in packages:
            has[p] = [set(self.words_of(p, c, set())) for c in self.children[p]]
            df.update(set().union(*has[p]))
        limit = max(6, math.ceil(0.2 * len(packages)))
        frequent = {w for w, n in df.items() if n >= limit}
        templated = [
            p for p, ws in has.items() if sum(1 for w in ws if w & frequent) >= 0.5 * len(ws)
        ]
        self.recurring = {
            w
            for w in frequent
            if sum(1 for p in templated if any(w in x for x in has[p])) >= 0.5 * df[w]
        }
        return set(ROLE_WORDS) | self.recurring

    def _child_concepts(self, package: str) -> set[str]:
        """Concepts among the children of ``package`` (role and template children drop out;
        ``_layers`` tells layers from feature packages by whether the shared names are data)."""
        out = set()
        for c in self.children.get(package, ()):
            ws = self.words_of(package, c)
            if ws:
                out.add("_".join(ws))
        return out

    def _layers(self) -> set[str]:
        """Packages whose children's concepts recur in an unrelated package, and the tops."""
        concepts = {p: self._child_concepts(p) for p in self.children}
        concepts = {p: c for p, c in concepts.items() if len(c) >= 3}
        by_concept: dict[str, list[str]] = defaultdict(list)
        for p, cs in sorted(concepts.items()):
            for c in cs:
                by_concept[c].append(p)
        shared: dict[tuple[str, str], int] = Counter()
        data: dict[tuple[str, str], int] = Counter()
        for c, ps in by_concept.items():
            if len(ps) > 12:  # a word everywhere is no evidence of two layers
                continue
            for i, a in enumerate(ps):
                for b in ps[i + 1 :]:
                    if not (b.startswith(a + ".") or a.startswith(b + ".")):
                        shared[(a, b)] += 1
                        data[(a, b)] += c in self.protected
        layers = {""} if self.root_depth == 0 else {m.split(".")[0] for m in self.modules}
        for (a, b), n in shared.items():
            # the same names in two places are layers only if some of them are data
            if n >= 3 and n >= 0.25 * min(len(concepts[a]), len(concepts[b])) and data[(a, b)] >= 2:
                layers.update((a, b))
        return layers

    # -- concepts -------------------------------------------------------------------------
    def _concept(self, module: str, adapters: bool = True) -> str:
        parts = module.split(".")
        start = max(i for i in range(len(parts) + 1) if ".".join(parts[:i]) in self.layers)
        if parts[0] in self.projects:
            return ""
        for j in range(start, len(parts)):
            if set(seg_words(parts[j])) <= UTILITY_WORDS:
                return ""  # below ``utils/`` or ``common/``: plumbing, whatever its name
            if (
                j + 1 < len(parts)
                and set(seg_words(parts[j])) <= ADAPTER_WORDS
                and self.words_of(".".join(parts[: j + 1]), parts[j + 1])
            ):
                if adapters:  # ``plugins/slack/...``: the concept of what it implements
                    self.adapter_of[module] = ".".join(parts[: j + 2])
                    return ""
            ws = self.words_of(".".join(parts[:j]), parts[j])
            if (
                j == self.root_depth == len(parts) - 1
                and module not in self.children
                and "_".join(ws) not in self.protected
            ):
                return ""  # a file at the top (``seed.py``, ``factory.py``) is no feature
            if ws:
                concept = "_".join(ws)
                raw = [w for w in words(parts[j]) if singular(w) in ws]
                self.spellings[concept]["_".join(raw) or concept] += 1
                return concept
        return ""

    def _leaf_concepts(self) -> None:
        """A package in a layer whose modules are mostly named after other concepts, ones that
        other packages hold too, groups those concepts (``routes/groups/controller_labels.py``,
        ``controller_reports.py`` ... beside ``models/labels.py``: features served under the
        group's URLs); each of those modules is the concept it is named after."""
        where: dict[str, set[str]] = defaultdict(set)
        for m, c in self.of.items():
            if c:
                where[c].add(m.rsplit(".", 1)[0])
        for package, kids in sorted(self.children.items()):
            layer = package.rsplit(".", 1)[0]
            if "." not in package or "." not in layer or layer not in self.layers:
                continue  # a top package is no layer here: its children are the features
            mine = "_".join(self.words_of(layer, package.rsplit(".", 1)[-1]))
            own = {}
            for kid in kids:
                m = f"{package}.{kid}"
                c = "_".join(self.words_of(package, kid))
                if m not in self.children and c and self.of.get(m) == mine:
                    own[m] = c
            other = {m: c for m, c in own.items() if c != mine and len(where[c] - {package}) >= 2}
            if mine and len(other) >= 3 and 2 * len(other) >= len(own):
                self.of.update(other)

    def key(self, module: str) -> str:
        """The domain key of ``module``: ``<top>.<concept>`` in the code's most frequent
        spelling (``orders``, not ``order``), or its package where it has none."""
        c = self.of.get(module, "")
        top = module.split(".")[0]
        if c:
            spelled = self.spellings[c]
            return f"{top}.{min(spelled, key=lambda w: (-spelled[w], w))}"
        return module.rsplit(".", 1)[0] if "." in module else module


def concept_domains(
    graph: DependencyGraph, modules: list[str]
) -> tuple[dict[str, str], set[str], set[str]]:
    """Module -> its domain key (``<top>.<concept>``, or its package where it has none), the
    keys that are business concepts, and the layer packages. Tables and models name the
    business words."""
    business: set[str] = set()
    for name, table in graph.tables.items():
        business.add("_".join(seg_words(name)))
        if table.model:
            business.add("_".join(seg_words(table.model.split(":", 1)[-1])))
    concepts = Concepts(modules, business)
    nodes = graph.g.nodes
    implements = [
        (module_of(s), module_of(t), float(nodes[s].get("size") or 1))
        for s, t, kind in graph.g.edges(data="kind")
        if kind == "inherit"
    ]
    concepts.place_adapters(implements)
    concepts.place_families(implements)
    concepts.join_acronyms()
    keys = {m: concepts.key(m) for m in modules}
    return keys, {keys[m] for m in modules if concepts.of[m]}, set(concepts.layers)


def head_of(key: str) -> tuple[str, list[str]]:
    """The head word of a concept's name and the words before it: ``incident_cost_type`` ->
    (``cost``, [``incident``]). Role words (``type``, ``model``, ``templates``) describe the
    head rather than name it, so the head is the last word that is not one."""
    ws = seg_words(key.rsplit(".", 1)[-1])
    content = [i for i, w in enumerate(ws) if w not in ROLE_WORDS]
    if not content:
        return ws[-1] if ws else "", ws[:-1]
    return ws[content[-1]], ws[: content[-1]]


def head_families(keys: Iterable[str], linked: Callable[[str, str], bool]) -> dict[str, str]:
    """Concepts that share a head across other concepts, and use each other, form one
    capability: ``incident_cost`` and ``case_cost`` are both costs, compounded on two concepts
    each named on its own (``incident``, ``case``), and one cost model prices both; costs are
    a capability of their own, not a part of incidents and a part of cases. Statuses of tasks
    and of files that never meet stay with their tasks and files. A family is a connected
    group (``linked``) of the concepts with one head that spans at least two other concepts.
    Returns concept key -> head of its family."""
    keys = sorted(set(keys))
    names = {"_".join(seg_words(k.rsplit(".", 1)[-1])) for k in keys}
    by_head: dict[str, list[str]] = defaultdict(list)
    on: dict[str, str] = {}  # compound -> the concept it is compounded on (its first words)
    for k in keys:
        head, before = head_of(k)
        by_head[head].append(k)
        prefixes = ("_".join(before[: i + 1]) for i in range(len(before)))
        on[k] = next((p for p in prefixes if p in names), "")
    out: dict[str, str] = {}
    for head, members in sorted(by_head.items()):
        if len({on[k] for k in members} - {""}) < 2:
            continue
        links = nx.Graph()
        links.add_nodes_from(members)
        links.add_edges_from((a, b) for a, b in combinations(members, 2) if linked(a, b))
        for group in nx.connected_components(links):
            if len({on[k] for k in group} - {""}) >= 2:
                out.update(dict.fromkeys(sorted(group), head))
    return out
