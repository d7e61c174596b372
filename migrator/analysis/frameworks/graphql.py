"""GraphQL (graphene, graphene-django, strawberry, ariadne): each query and mutation field is a
route ``QUERY products`` / ``MUTATION checkoutComplete`` with its resolver as handler.

A GraphQL API is one URL, so routes by URL say nothing about how to split it; its operations
do. Detected:
* graphene: the root types given to ``Schema(query=Query, mutation=Mutation)`` (or, without a
  schema, classes named ``Query``/``Mutation``) and, through their bases, the project classes
  they combine (``class Query(AccountQueries, ProductQueries)``). A field is a class attribute
  made by a graphene call (``graphene.List(...)``, ``DjangoFilterConnectionField(...)``) or
  ``SomeMutation.Field()``; its handler is the class defining ``resolve_<field>``, else the
  class declaring it, and for ``X.Field()`` the mutation class ``X``.
* strawberry: methods decorated ``@strawberry.field`` / ``@strawberry.mutation`` (handler: the
  class) and ``x: T = strawberry.field(resolver=f)`` (handler: ``f``).
* ariadne: ``q = QueryType()`` / ``MutationType()`` / ``ObjectType("Query")`` and
  ``@q.field("name")`` on a function (the handler).
Names are camel-cased as graphene and strawberry do by default unless ``name=`` is given.
Graph: ``Route(method, name, handler)``, ``EntryPoint(kind="route")`` and a ``route`` edge from
the root type (or the ariadne object) to the handler.
"""

from __future__ import annotations

from typing import Any, TypedDict

from migrator.analysis.facts import ModuleFacts
from migrator.analysis.frameworks import _util as u
from migrator.analysis.lazy import cst
from migrator.graph import DependencyGraph, EntryPoint, Route

_ARIADNE = {"QueryType": "QUERY", "MutationType": "MUTATION", "SubscriptionType": "SUBSCRIPTION"}
_ROOTS = {"query": "QUERY", "mutation": "MUTATION", "subscription": "SUBSCRIPTION"}


def camel(name: str) -> str:
    """graphene's and strawberry's default field name: ``create_user`` -> ``createUser``."""
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class GqlField(TypedDict, total=False):
    """A field of an object type: its GraphQL name and what resolves it."""

    name: str
    type: str  # ``Mutation.Field``: the mutation class as written
    resolver: str | None  # ``strawberry.field(resolver=f)``
    op: str | None  # ``MUTATION`` for a strawberry mutation, else the root's
    line: int


class GqlClass(TypedDict):
    bases: list[str]
    fields: list[GqlField]
    resolvers: list[str]  # ``resolve_<field>`` methods


class GqlAriadne(TypedDict):
    """``@query.field("name")`` on a function (ariadne)."""

    obj: str
    name: str
    func: str
    line: int


class GraphQLFacts(TypedDict):
    """What ``collect`` keeps of one module (version: ``GraphQLPlugin.facts_version``)."""

    classes: dict[str, GqlClass]
    schemas: list[dict[str, str]]  # operation -> root type as written, per ``Schema(...)``
    objects: dict[str, str]  # ariadne object variable -> operation
    ariadne: list[GqlAriadne]


def _field(name: str, value: cst.CSTNode | None) -> GqlField | None:
    """A field declared as a class attribute, None if the value is not a GraphQL field."""
    if type(value) is not cst.Call:
        return None
    callee = u.callee(value)
    if not callee:
        return None
    given = u.string(u.arg(value, -1, "name"))
    out: GqlField = {"name": given or camel(name)}
    if callee.endswith(".Field") and callee not in ("graphene.Field",):
        return {**out, "type": callee[: -len(".Field")]}
    if u.last(callee) in ("field", "mutation") and callee.startswith("strawberry"):
        resolver = u.dotted(u.arg(value, -1, "resolver"))
        op = "MUTATION" if callee.endswith("mutation") else None
        return {**out, "resolver": resolver, "op": op}
    if callee.startswith("graphene.") or callee.endswith(("ConnectionField", "Field")):
        return out
    return None


class GraphQLPlugin:
    """See the module docstring."""

    name = "graphql"
    facts_version = 1
    markers = ("graphene", "strawberry", "ariadne")

    def collect(
        self, tree: cst.Module, module: str, file: str, ctx: u.WalkContext | None = None
    ) -> GraphQLFacts | None:
        lines = u.Lines(tree, ctx)
        classes: dict[str, GqlClass] = {}
        schemas: list[dict[str, str]] = []
        objects: dict[str, str] = {}
        ariadne: list[GqlAriadne] = []
        at: list[tuple[cst.CSTNode, GqlField | GqlAriadne]] = []  # facts that need a "line"
        for stmt in tree.body:
            if type(stmt) is cst.ClassDef:
                fields: list[GqlField] = []
                resolvers: list[str] = []
                for item in stmt.body.body:
                    if type(item) is cst.FunctionDef:
                        if item.name.value.startswith("resolve_"):
                            resolvers.append(item.name.value[len("resolve_") :])
                        for dec in item.decorators:
                            name, call = u.decorator_call(dec)
                            name = name or u.dotted(dec.decorator)
                            if (
                                name
                                and name.startswith("strawberry")
                                and u.last(name) in ("field", "mutation")
                            ):
                                given = u.string(u.arg(call, -1, "name")) if call else None
                                field: GqlField = {
                                    "name": given or camel(item.name.value),
                                    "op": "MUTATION" if name.endswith("mutation") else None,
                                }
                                fields.append(field)
                                at.append((lines.want(item.name), field))
                    for small in u.small_statements([item]):
                        names, value = u.assign_targets(small)
                        found = _field(names[0], value) if names else None
                        if found:
                            fields.append(found)
                            at.append((lines.want(small), found))
                if fields or resolvers:
                    classes[stmt.name.value] = {
                        "bases": [d for d in (u.dotted(b.value) for b in stmt.bases) if d],
                        "fields": fields,
                        "resolvers": sorted(resolvers),
                    }
            elif type(stmt) is cst.FunctionDef:
                for dec in stmt.decorators:
                    name, call = u.decorator_call(dec)
                    given = u.string(u.arg(call, 0, "name")) if call else None
                    if name and name.endswith(".field") and given and call:
                        one: GqlAriadne = {
                            "obj": name[: -len(".field")],
                            "name": given,
                            "func": stmt.name.value,
                            "line": 0,
                        }
                        ariadne.append(one)
                        at.append((lines.want(call), one))
        for node, _ in u.walk(tree, ctx=ctx):
            if type(node) is not cst.Call:
                continue
            callee = u.last(u.callee(node)) or ""
            if callee == "Schema":
                roots = {op: u.dotted(u.arg(node, -1, kw)) for kw, op in _ROOTS.items()}
                schemas.append({op: r for op, r in roots.items() if r})
        for small in u.small_statements(tree):
            names, value = u.assign_targets(small)
            last = u.last(u.callee(value)) if type(value) is cst.Call else None
            op = _ARIADNE.get(last or "")
            if last == "ObjectType" and type(value) is cst.Call:
                op = {"Query": "QUERY", "Mutation": "MUTATION"}.get(
                    u.string(u.arg(value, 0, "name")) or ""
                )
            if op:
                objects.update((n, op) for n in names)
        if not (classes or ariadne):
            return None
        for n, fact in at:
            fact["line"] = lines.of(n)
        return {
            "classes": classes,
            "schemas": [s for s in schemas if s],
            "objects": dict(sorted(objects.items())),
            "ariadne": ariadne,
        }

    def resolve(self, facts: dict[str, ModuleFacts], resolver: Any, graph: DependencyGraph) -> None:
        items: list[tuple[str, ModuleFacts, GraphQLFacts]] = u.sorted_items(facts, self.name)
        classes = {
            f"{m}:{name}": (m, mf, c)
            for m, mf, data in items
            for name, c in data["classes"].items()
        }
        roots: set[tuple[str, str]] = set()
        for m, _, data in items:
            for schema in data["schemas"]:
                for op, name in sorted(schema.items()):
                    node = u.resolve_name(resolver, facts, m, name)
                    if node in classes:
                        roots.add((op, node))
        if not roots:  # no schema in the tree: the conventional root type names
            roots = {
                ({"Query": "QUERY", "Mutation": "MUTATION"}[n.split(":")[1]], n)
                for n in classes
                if n.split(":")[1] in ("Query", "Mutation")
            }
        for op, root in sorted(roots):
            chain, todo = [], [root]
            while todo:
                node = todo.pop(0)
                if node in chain or node not in classes:
                    continue
                chain.append(node)
                m, _, c = classes[node]
                todo.extend(
                    filter(None, (u.resolve_name(resolver, facts, m, b) for b in c["bases"]))
                )
            resolvers = {r: node for node in reversed(chain) for r in classes[node][2]["resolvers"]}
            for node in chain:
                m, mf, c = classes[node]
                for f in c["fields"]:
                    if f.get("type"):
                        handler = u.resolve_name(resolver, facts, m, f["type"])
                    elif f.get("resolver"):
                        handler = u.resolve_name(resolver, facts, m, f["resolver"])
                    else:
                        handler = resolvers.get(f["name"]) or next(
                            (n for r, n in resolvers.items() if camel(r) == f["name"]), node
                        )
                    self._add(
                        graph, root, handler, f.get("op") or op, f["name"], mf.file, f["line"]
                    )
        for m, mf, data in items:
            for a in data["ariadne"]:
                obj = u.resolve_name(resolver, facts, m, a["obj"])
                omod, _, var = (obj or "").partition(":")
                kind = (
                    (facts[omod].framework.get(self.name) or {}).get("objects", {}).get(var)
                    if omod in facts
                    else None
                )
                if obj and kind:
                    self._add(graph, obj, f"{m}:{a['func']}", kind, a["name"], mf.file, a["line"])

    def _add(
        self,
        graph: DependencyGraph,
        source: str,
        handler: str | None,
        op: str,
        name: str,
        file: str,
        line: int,
    ) -> None:
        if not handler or handler not in graph.g:
            return
        u.add_edge(graph, source, handler, "route", u.evidence(file, line))
        graph.routes.append(Route(op, name, handler, self.name, file, line))
        graph.entry_points.append(EntryPoint("route", f"{op} {name}", handler, file, line))
