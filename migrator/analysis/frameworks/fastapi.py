"""FastAPI: apps, routers, path operations, router inclusion with prefixes, dependencies.

Detected: ``FastAPI(...)`` and ``APIRouter(prefix=..., dependencies=[Depends(x)])`` objects;
``@r.get/post/put/patch/delete/head/options/trace(path)``, ``@r.api_route(path, methods=[...])``,
``@r.websocket(path)`` (method ``WEBSOCKET``) and ``r.add_api_route(path, endpoint,
methods=...)``; ``x.include_router(r, prefix=...)`` on the app or on another router. A decorator applied by
hand (``handler = router.post("/p")(handler)``, anywhere, say under an ``if`` on a setting)
is a path operation too. FastAPI
copies routes at inclusion time, so the full path is the concatenation of every inclusion
prefix and router prefix on the way down, then the operation's path (``"/api" + "/items" +
"/{id}"``), exactly as FastAPI builds it. A router that is never included keeps its own prefix.
A prefix may name a constant: a module-level string, or a string attribute of a settings class
through its module-level instance (``prefix=settings.API_V1_STR``); unknown ones count as "".
``app.mount("/v1", sub_app)`` of another ``FastAPI()`` object prefixes all of its routes.
Routers made from the project's subclasses of ``APIRouter`` (``UserAPIRouter(prefix=...)``,
checked through the class chain) are routers; prefixes may be f-strings of module constants;
path operations on methods of a controller class have that class as handler.

Every ``Depends(f)`` / ``Security(f)`` (in parameters, ``Annotated[...]``, decorator or router
``dependencies=[...]``) gives a ``reference`` edge from the enclosing top-level symbol (the
handler, the dependency function or the router variable) to ``f``.

Graph: ``Route`` + ``EntryPoint(kind="route")`` per method and a ``route`` edge **from the router
(or app) variable to the handler**, so handlers cluster with their router.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TypedDict, TypeVar

from migrator.analysis.facts import ModuleFacts
from migrator.analysis.frameworks import _util as u
from migrator.analysis.lazy import cst
from migrator.graph import DependencyGraph, EntryPoint, Route

_OBJECT_KINDS = {"FastAPI": "app", "APIRouter": "router"}
_DEPENDS = ("Depends", "Security")


class AppObject(TypedDict, total=False):
    """A ``FastAPI(...)`` / ``APIRouter(prefix=...)`` object."""

    var: str
    kind: str  # "app" | "router" | "router?" (a class named ``*Router``, checked later)
    prefix: str
    prefix_ref: str | None  # a constant the prefix names
    scope: str  # "module" | "local"
    cls: str  # kind "router?": the class as written
    line: int


class Operation(TypedDict, total=False):
    """A path operation: a decorator (``func``) or ``add_api_route`` (``endpoint``)."""

    obj: str
    path: str
    methods: list[str]
    func: str | None
    endpoint: str  # as written, when ``func`` is None
    local: str | None  # the prefix of a router made in the same function
    line: int


class Include(TypedDict, total=False):
    """``x.include_router(r, prefix=...)`` or ``app.mount(path, sub)`` (``mount``)."""

    obj: str
    router: str
    prefix: str
    prefix_ref: str | None
    mount: bool
    line: int


class Depend(TypedDict, total=False):
    target: str
    line: int


class _FastAPIShape(TypedDict):
    objects: list[AppObject]
    routes: list[Operation]
    includes: list[Include]
    depends: list[Depend]


class FastAPIFacts(_FastAPIShape, total=False):
    """What ``collect`` keeps of one module (version: ``FastAPIPlugin.facts_version``)."""

    constants: u.Constants
    classes: dict[str, list[str]]  # router/app subclasses -> their bases as written


class FastAPIPlugin:
    """See the module docstring."""

    name = "fastapi"
    facts_version = 1
    markers = (
        "fastapi",
        "FastAPI",
        "APIRouter",
        "include_router",
        "Depends",
        "api_route",
        "BaseSettings",
    )

    # -- worker half ---------------------------------------------------------------------------
    def collect(
        self, tree: cst.Module, module: str, file: str, ctx: u.WalkContext | None = None
    ) -> FastAPIFacts | None:
        lines = u.Lines(tree, ctx)
        objects: list[tuple[cst.CSTNode, AppObject]] = []
        routes: list[tuple[cst.CSTNode, Operation]] = []
        depends: list[tuple[cst.CSTNode, Depend]] = []
        includes: list[tuple[cst.CSTNode, Include]] = []
        local: dict[tuple[int, str], str] = {}  # (function, variable) -> prefix of local objects
        scoped: list[tuple[Operation, Any]] = []
        classes: dict[str, list[str]] = {}  # classes deriving from a router or app class
        literals: dict[str, str] | None = None  # module constants, read on first f-string
        for node, scope in u.walk(tree, ctx=ctx):
            if type(node) is cst.Assign or type(node) is cst.AnnAssign:
                names, value = u.assign_targets(node)
                cls = u.last(u.callee(value)) or ""
                kind = _OBJECT_KINDS.get(cls)
                if not kind and cls.endswith("Router") and cls[:1].isupper():
                    kind = "router?"  # maybe a subclass of APIRouter: checked when resolving
                if names and kind and type(value) is cst.Call:
                    _, kw = u.call_args(value)
                    prefix = u.string(kw.get("prefix"))
                    if prefix is None and isinstance(kw.get("prefix"), cst.FormattedString):
                        if literals is None:
                            literals = u.literals(tree)
                        prefix = u.fstring(kw["prefix"], literals)
                    cls_name = u.callee(value) or cls
                    for var in names:
                        objects.append(
                            (
                                lines.want(node),
                                {
                                    "var": var,
                                    "kind": kind,
                                    "prefix": prefix or "",
                                    "prefix_ref": u.dotted(kw.get("prefix")),
                                    "scope": "module" if scope is None else "local",
                                    **({"cls": cls_name} if kind == "router?" else {}),
                                },
                            )
                        )
                        if scope is not None:
                            local[(id(scope), var)] = prefix or ""
            elif (
                type(node) is cst.ClassDef
                and scope is None
                and any(
                    (u.last(u.dotted(b.value)) or "").endswith(("Router", "FastAPI"))
                    for b in node.bases
                )
            ):
                classes[node.name.value] = [d for d in (u.dotted(b.value) for b in node.bases) if d]
            elif type(node) is cst.FunctionDef and node.decorators:
                for dec in node.decorators:
                    name, call = u.decorator_call(dec)
                    route = self._operation(name, call)
                    if route and call is not None:
                        route["func"] = node.name.value
                        routes.append((lines.want(call), route))
                        scoped.append((route, scope))
            elif type(node) is cst.Call:
                name = u.callee(node)
                if type(node.func) is cst.Call:  # ``router.post("/p")(handler)``, a decorator
                    route = self._operation(u.callee(node.func), node.func)  # applied by hand
                    endpoint = u.dotted(node.args[0].value) if node.args else None
                    if route and endpoint:
                        routes.append(
                            (lines.want(node), {**route, "func": None, "endpoint": endpoint})
                        )
                if not name:
                    continue
                if u.last(name) in _DEPENDS:
                    target = u.dotted(u.arg(node, 0, "dependency"))
                    if target:
                        depends.append((lines.want(node), {"target": target}))
                elif name.endswith(".include_router"):
                    router = u.dotted(u.arg(node, 0, "router"))
                    if router:
                        includes.append(
                            (
                                lines.want(node),
                                {
                                    "obj": name.rsplit(".", 1)[0],
                                    "router": router,
                                    "prefix": u.string(u.arg(node, -1, "prefix")) or "",
                                    "prefix_ref": u.dotted(u.arg(node, -1, "prefix")),
                                },
                            )
                        )
                elif name.endswith(".mount"):  # app.mount("/v1", sub_app)
                    path = u.string(u.arg(node, 0, "path"))
                    sub = u.dotted(u.arg(node, 1, "app"))
                    if path is not None and sub:
                        includes.append(
                            (
                                lines.want(node),
                                {
                                    "obj": name.rsplit(".", 1)[0],
                                    "router": sub,
                                    "prefix": path.rstrip("/"),
                                    "mount": True,
                                },
                            )
                        )
                elif name.endswith(".add_api_route"):
                    path = u.string(u.arg(node, 0, "path"))
                    endpoint = u.dotted(u.arg(node, 1, "endpoint"))
                    if path is not None and endpoint:
                        given = u.arg(node, -1, "methods")
                        methods = (u.strings(given) if given is not None else ["GET"]) or ["ANY"]
                        routes.append(
                            (
                                lines.want(node),
                                {
                                    "obj": name.rsplit(".", 1)[0],
                                    "path": path,
                                    "methods": sorted({m.upper() for m in methods}),
                                    "func": None,
                                    "endpoint": endpoint,
                                },
                            )
                        )
        consts = u.constants(tree)
        if not (objects or routes or includes or depends or consts or classes):
            return None
        for route, scope in scoped:
            route["local"] = local.get((id(scope), route["obj"])) if scope is not None else None
        data: FastAPIFacts = {
            "objects": _lined(objects, lines),
            "routes": _lined(routes, lines),
            "includes": _lined(includes, lines),
            "depends": _lined(depends, lines),
        }
        if consts:
            data["constants"] = consts
        if classes:
            data["classes"] = dict(sorted(classes.items()))
        return data

    @staticmethod
    def _operation(name: str | None, call: cst.Call | None) -> Operation | None:
        if call is None or not name or "." not in name:
            return None
        obj, attr = name.rsplit(".", 1)
        if attr in u.HTTP_METHODS:
            methods = [attr.upper()]
        elif attr == "api_route":
            given = u.arg(call, -1, "methods")
            values = u.strings(given) if given is not None else ["GET"]
            methods = sorted({m.upper() for m in values or ["ANY"]})
        elif attr == "websocket":
            methods = ["WEBSOCKET"]
        else:
            return None
        path = u.string(u.arg(call, 0, "path"))
        if path is None:
            return None
        return {"obj": obj, "path": path, "methods": methods}

    # -- parent half ---------------------------------------------------------------------------
    def resolve(self, facts: dict[str, ModuleFacts], resolver: Any, graph: DependencyGraph) -> None:
        items: list[tuple[str, ModuleFacts, FastAPIFacts]] = u.sorted_items(facts, self.name)
        objs: dict[str, AppObject] = {}
        for m, _, data in items:
            for o in data["objects"]:
                if o["kind"] == "router?":
                    if not self._is_router(resolver, facts, m, o["cls"]):
                        continue
                    o = {**o, "kind": "router"}
                if o["scope"] == "module":
                    objs.setdefault(
                        f"{m}:{o['var']}", {**o, "prefix": self._prefix(resolver, facts, m, o)}
                    )
        incs: dict[str, list[tuple[str | None, str]]] = defaultdict(list)
        for m, _, data in items:
            for i in data["includes"]:
                child = u.resolve_name(resolver, facts, m, i["router"])
                if child not in objs or objs[child]["kind"] != (
                    "app" if i.get("mount") else "router"
                ):
                    continue
                parent = u.resolve_name(resolver, facts, m, i["obj"])
                incs[child].append(
                    (parent if parent in objs else None, self._prefix(resolver, facts, m, i))
                )

        memo: dict[str, list[str]] = {}

        def prefixes(router: str, seen: frozenset[str] = frozenset()) -> list[str]:
            if router in memo:
                return memo[router]
            own = objs[router]["prefix"]
            if not incs.get(router) or router in seen:
                return [own]
            out: set[str] = set()
            for parent, inc in incs[router]:
                outers = [""] if parent is None else prefixes(parent, seen | {router})
                out.update(outer + inc + own for outer in outers)
            memo[router] = sorted(out)
            return memo[router]

        for m, mf, data in items:
            for r in data["routes"]:
                owner = u.resolve_name(resolver, facts, m, r["obj"])
                if owner in objs:
                    paths = prefixes(owner)
                elif (local := r.get("local")) is not None:  # an app or router made inside
                    owner, paths = resolver.owner_of_line(m, r["line"]), [local]  # a function
                else:
                    continue  # ``x.get("/p")`` on something that is not a FastAPI object
                if r["func"] is not None:
                    handler = f"{m}:{r['func']}"
                    if handler not in graph.g:
                        handler = resolver.owner_of_line(m, r["line"])
                else:
                    endpoint = u.resolve_name(resolver, facts, m, r["endpoint"])
                    if endpoint is None:
                        continue
                    handler = endpoint
                where = u.evidence(mf.file, r["line"])
                u.add_edge(graph, owner, handler, "route", where)
                for prefix in paths:
                    path = _concat(prefix, r["path"])
                    for method in r["methods"]:
                        graph.routes.append(
                            Route(method, path, handler, self.name, mf.file, r["line"])
                        )
                        graph.entry_points.append(
                            EntryPoint("route", f"{method} {path}", handler, mf.file, r["line"])
                        )
            for d in data["depends"]:
                target = u.resolve_name(resolver, facts, m, d["target"])
                source = resolver.owner_of_line(m, d["line"])
                u.add_edge(graph, source, target, "reference", u.evidence(mf.file, d["line"]))

    def _is_router(
        self, resolver: Any, facts: dict[str, ModuleFacts], module: str, cls: str
    ) -> bool:
        """Whether class ``cls`` (as named in ``module``) is ``APIRouter`` or derives from it
        through classes of the project (``class UserAPIRouter(APIRouter)``)."""
        seen = set()
        todo = [(module, cls)]
        while todo:
            m, name = todo.pop()
            external = resolver.external(m, name)
            if external is not None:
                if external.startswith("fastapi.") and external.endswith("APIRouter"):
                    return True
                continue
            node = u.resolve_name(resolver, facts, m, name)
            if node is None or ":" not in node or node in seen:
                if node is None and u.last(name) == "APIRouter":
                    return True
                continue
            seen.add(node)
            mod, _, sym = node.partition(":")
            data = facts[mod].framework.get(self.name) if mod in facts else None
            todo.extend((mod, b) for b in (data or {}).get("classes", {}).get(sym, ()))
        return False

    def _prefix(
        self, resolver: Any, facts: dict[str, ModuleFacts], m: str, item: AppObject | Include
    ) -> str:
        """A literal prefix, or the value of the constant it names (``settings.API_V1_STR``)."""
        ref = item.get("prefix_ref")
        if ref:
            value = u.evaluate(resolver, facts, m, ref, self.name)
            if value is not None:
                return value
        return item["prefix"]


_F = TypeVar("_F", AppObject, Operation, Include, Depend)


def _lined(found: list[tuple[cst.CSTNode, _F]], lines: u.Lines) -> list[_F]:
    """The facts, each given the line of its node, in line order."""
    for node, fact in found:
        fact["line"] = lines.of(node)
    return sorted((f for _, f in found), key=lambda f: (f["line"], repr(sorted(f.items()))))


def _concat(prefix: str, path: str) -> str:
    """FastAPI joins by plain concatenation; avoid only the ``//`` a trailing slash would make."""
    if prefix.endswith("/") and path.startswith("/"):
        return prefix + path[1:]
    return prefix + path
