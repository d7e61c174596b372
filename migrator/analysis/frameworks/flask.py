"""Flask: blueprints, routes, URL rules and blueprint registration with their prefixes.

Detected: ``Flask(...)`` and ``Blueprint("name", __name__, url_prefix=...)`` objects;
``@x.route(rule, methods=[...])`` and the ``@x.get/post/put/patch/delete`` shortcuts;
``x.add_url_rule(rule, endpoint, view_func, methods=...)`` including ``View.as_view(...)``
(methods of a ``MethodView`` are the HTTP verbs it defines); Flask-RESTful/RESTX
``api = Api(app_or_bp, prefix=...)`` with ``api.add_resource(Resource, "/url", ...)``; ``x.register_blueprint(bp,
url_prefix=...)`` on the app or on another blueprint (nested blueprints), with Flask's rules:
a registration prefix replaces the blueprint's own one, a parent's prefix is prepended, and a
blueprint registered twice yields its routes under both prefixes. A blueprint never registered
keeps its own prefix. Registration tables are read too: ``for bp, prefix in [(a, "/a"), ...]``
and ``for module, attr, prefix in TABLE: bp = getattr(importlib.import_module(module), attr)``
(which also gives a ``dynamic`` edge from the registering function to the blueprint). A prefix
may name a string constant of a module the plug-in read (``url_prefix=API_PREFIX``, or a class
attribute through a module-level instance); an unknown one is treated as absent.

Graph: one ``Route`` and one ``EntryPoint(kind="route")`` per HTTP method (``ANY`` when ``methods=``
is not a literal list), and a ``route`` edge
**from the object that owns the rule to the handler**: the blueprint variable (``pkg.views:bp``)
or the app variable, or the registering function (``pkg.app:create_app``) for an app created
inside a factory. Handlers cluster with the blueprint they belong to, which is what a service
partition wants. Rules and prefixes that are not string literals are left out (no guessing).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from migrator.analysis.facts import ModuleFacts
from migrator.analysis.frameworks import _util as u
from migrator.analysis.lazy import cst
from migrator.graph import DependencyGraph, EntryPoint, Route

_OBJECT_KINDS = {"Flask": "app", "Blueprint": "blueprint", "APIFlask": "app",
                 "APIBlueprint": "blueprint", "Api": "api"}
_RESOURCE_BASES = ("MethodView", "View", "Resource", "MethodResource")


def _methods(node: cst.CSTNode | None) -> list[str] | None:
    """Methods of a ``methods=[...]`` argument; ``["ANY"]`` when it is not a literal list."""
    if node is None:
        return None
    values = u.strings(node)
    return sorted({m.upper() for m in values}) if values else ["ANY"]


class FlaskPlugin:
    """See the module docstring."""

    name = "flask"
    markers = ("flask", "Flask", "Blueprint", ".route(", "add_url_rule", "register_blueprint",
               "MethodView", "add_resource") + tuple(f'.{m}({q}/' for m in ("get", "post", "put", "patch",
                                                             "delete") for q in "\"'")

    # -- worker half ---------------------------------------------------------------------------
    def collect(self, tree: cst.Module, module: str, file: str) -> dict[str, Any] | None:
        lines = u.Lines(tree)
        objects: list[tuple[cst.CSTNode, dict[str, Any], Any]] = []
        routes: list[tuple[cst.CSTNode, dict[str, Any], Any]] = []
        rules: list[tuple[cst.CSTNode, dict[str, Any]]] = []
        regs: list[tuple[cst.CSTNode, dict[str, Any]]] = []
        views: dict[str, list[str] | None] = {}
        consts = {}  # module-level names bound to list/tuple literals (registration tables)
        for small in u.small_statements(tree):
            names, value = u.assign_targets(small)
            if isinstance(value, (cst.List, cst.Tuple)):
                consts.update((n, value) for n in names)
        handled: set[int] = set()  # register_blueprint calls read with their loop
        for node, scope in u.walk(tree):
            if type(node) in (cst.Assign, cst.AnnAssign):
                names, value = u.assign_targets(node)
                kind = _OBJECT_KINDS.get(u.last(u.callee(value)) or "")
                if names and kind:
                    pos, kw = u.call_args(value)
                    prefix_arg = kw.get("prefix" if kind == "api" else "url_prefix")
                    prefix = u.string(prefix_arg)
                    bp_name = u.string(pos[0]) if pos else u.string(kw.get("name"))
                    extra = {"target": u.dotted(u.arg(value, 0, "app"))} if kind == "api" else {}
                    for var in names:
                        objects.append((lines.want(node), {
                            "var": var, "kind": kind, "name": bp_name, "prefix": prefix,
                            "prefix_ref": u.dotted(prefix_arg),
                            "scope": "module" if scope is None else "local", **extra}, scope))
            elif type(node) is cst.FunctionDef and node.decorators:
                for dec in node.decorators:
                    self._route(dec, node, scope, lines, routes)
            elif type(node) is cst.For:
                self._loop_registrations(node, consts, lines, regs, handled)
            elif type(node) is cst.ClassDef and scope is None:
                methods = self._view_methods(node)
                if methods is not False:
                    views[node.name.value] = methods
            elif type(node) is cst.Call:
                name = u.callee(node)
                if not name or "." not in name:
                    continue
                obj, attr = name.rsplit(".", 1)
                if attr == "add_url_rule":
                    self._rule(node, obj, lines, rules)
                elif attr == "add_resource":  # Flask-RESTful / Flask-RESTX
                    pos, kw = u.call_args(node)
                    view = u.dotted(pos[0]) if pos else None
                    for url in (u.string(p) for p in pos[1:]):
                        if view and url is not None:
                            rules.append((lines.want(node), {
                                "obj": obj, "rule": url, "view": view, "as_view": True,
                                "methods": None}))
                elif attr == "register_blueprint" and id(node) not in handled:
                    bp = u.dotted(u.arg(node, 0, "blueprint"))
                    if bp:
                        _, kw = u.call_args(node)
                        prefix = kw.get("url_prefix")
                        value = u.string(prefix)
                        regs.append((lines.want(node), {
                            "obj": obj, "bp": bp, "prefix": value,
                            "has_prefix": value is not None, "prefix_ref": u.dotted(prefix)}))
        consts = u.constants(tree)
        if not (objects or routes or rules or regs or views):
            return None
        local: dict[tuple[int, str], str] = {}
        for _, o, scope in objects:
            if o["scope"] == "local":
                local[(id(scope), o["var"])] = o["kind"]
        out_routes = []
        for n, r, scope in routes:
            r["local"] = local.get((id(scope), r["obj"])) if scope is not None else None
            r["line"] = lines.of(n)
            out_routes.append(r)
        data = {
            "objects": [dict(o, line=lines.of(n)) for n, o, _ in objects],
            "routes": out_routes,
            "rules": [dict(r, line=lines.of(n)) for n, r in rules],
            "registrations": [dict(r, line=lines.of(n)) for n, r in regs],
            "views": dict(sorted(views.items())),
        }
        if consts:
            data["constants"] = consts
        for key in ("objects", "routes", "rules", "registrations"):
            data[key].sort(key=lambda d: d["line"])
        return data

    @staticmethod
    def _route(dec: cst.Decorator, func: cst.FunctionDef, scope: Any, lines: u.Lines,
               routes: list) -> None:
        name, call = u.decorator_call(dec)
        if call is None or not name or "." not in name:
            return
        obj, attr = name.rsplit(".", 1)
        if attr == "route":
            methods, shortcut = _methods(u.arg(call, -1, "methods")), False
        elif attr in u.HTTP_METHODS[:5]:
            methods, shortcut = [attr.upper()], True
        else:
            return
        rule = u.string(u.arg(call, 0, "rule"))
        if rule is None:
            return
        routes.append((lines.want(call), {
            "obj": obj, "rule": rule, "methods": methods, "shortcut": shortcut,
            "func": func.name.value, "top": scope is None}, scope))

    @staticmethod
    def _loop_registrations(loop: cst.For, consts: dict[str, cst.CSTNode], lines: u.Lines,
                            regs: list, handled: set[int]) -> None:
        """Blueprints registered from a table, one registration per row::

            for module, attr, prefix in BLUEPRINTS:     # or: for bp, prefix in [(a, "/a")]
                bp = getattr(importlib.import_module(module), attr)
                app.register_blueprint(bp, url_prefix=prefix)
        """
        target = loop.target
        if isinstance(target, cst.Name):
            names = [target.value]
        elif isinstance(target, (cst.Tuple, cst.List)) and all(
                isinstance(e.value, cst.Name) for e in target.elements):
            names = [e.value.value for e in target.elements]
        else:
            return
        table = consts.get(loop.iter.value) if isinstance(loop.iter, cst.Name) else loop.iter
        if not isinstance(table, (cst.List, cst.Tuple)):
            return
        rows = []
        for el in table.elements:
            row = ([e.value for e in el.value.elements]
                   if len(names) > 1 and isinstance(el.value, (cst.Tuple, cst.List))
                   else [el.value])
            if len(row) != len(names):
                return
            rows.append(dict(zip(names, row, strict=True)))
        fetched: dict[str, tuple[cst.CSTNode, cst.CSTNode]] = {}  # getattr(import_module(m), a)
        calls = []
        for small in u.small_statements(loop.body):
            assigned, value = u.assign_targets(small)
            if assigned and u.callee(value) == "getattr":
                pos, _ = u.call_args(value)
                if len(pos) >= 2 and u.last(u.callee(pos[0])) == "import_module":
                    for var in assigned:
                        fetched[var] = (u.arg(pos[0], 0, "name"), pos[1])
            if isinstance(small, cst.Expr) and \
                    (u.callee(small.value) or "").endswith(".register_blueprint"):
                calls.append(small.value)

        def value(expr: cst.CSTNode | None, env: dict[str, cst.CSTNode]) -> cst.CSTNode | None:
            return env.get(expr.value, expr) if isinstance(expr, cst.Name) else expr

        for call in calls:
            handled.add(id(call))
            obj = u.callee(call).rsplit(".", 1)[0]
            bp_expr = u.arg(call, 0, "blueprint")
            _, kw = u.call_args(call)
            for env in rows:
                reg: dict[str, Any] = {"obj": obj, "bp": None, "prefix": None,
                                       "has_prefix": False}
                if isinstance(bp_expr, cst.Name) and bp_expr.value in fetched:
                    mod_expr, attr_expr = fetched[bp_expr.value]
                    mod, attr = u.string(value(mod_expr, env)), u.string(value(attr_expr, env))
                    if not (mod and attr):
                        continue
                    reg["bp_node"] = f"{mod}:{attr}"
                else:
                    reg["bp"] = u.dotted(value(bp_expr, env))
                    if not reg["bp"]:
                        continue
                if "url_prefix" in kw:
                    reg["prefix"] = u.string(value(kw["url_prefix"], env))
                    reg["has_prefix"] = reg["prefix"] is not None
                regs.append((lines.want(call), reg))

    @staticmethod
    def _rule(call: cst.Call, obj: str, lines: u.Lines, rules: list) -> None:
        rule = u.string(u.arg(call, 0, "rule"))
        view = u.arg(call, 2, "view_func")
        if rule is None or view is None:
            return
        as_view = False
        if isinstance(view, cst.Call) and (u.callee(view) or "").endswith(".as_view"):
            view_name, as_view = u.callee(view)[: -len(".as_view")], True
        else:
            view_name = u.dotted(view)
        if not view_name:
            return
        rules.append((lines.want(call), {
            "obj": obj, "rule": rule, "view": view_name, "as_view": as_view,
            "methods": _methods(u.arg(call, -1, "methods"))}))

    @staticmethod
    def _view_methods(node: cst.ClassDef) -> list[str] | None | bool:
        """HTTP methods of a class-based view, None if unknown, False if not a view."""
        bases = [u.last(u.dotted(b.value)) for b in node.bases]
        if not any(b in _RESOURCE_BASES for b in bases):
            return False
        declared: list[str] | None = None
        verbs = set()
        for stmt in node.body.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value in u.HTTP_METHODS:
                verbs.add(stmt.name.value.upper())
            for small in u.small_statements([stmt]):
                names, value = u.assign_targets(small)
                if "methods" in names:
                    declared = _methods(value)
        if declared:
            return declared
        return sorted(verbs) or None

    # -- parent half ---------------------------------------------------------------------------
    def resolve(self, facts: dict[str, ModuleFacts], resolver: Any,
                graph: DependencyGraph) -> None:
        items = u.sorted_items(facts, self.name)
        objs: dict[str, dict[str, Any]] = {}
        for m, _, data in items:
            for o in data["objects"]:
                if o["scope"] == "module":
                    prefix = o["prefix"]
                    if o.get("prefix_ref"):
                        prefix = u.evaluate(resolver, facts, m, o["prefix_ref"], self.name)
                    objs.setdefault(f"{m}:{o['var']}", dict(o, module=m, prefix=prefix))
        regs: dict[str, list[tuple[str | None, str | None, bool]]] = defaultdict(list)
        for m, _, data in items:
            for r in data["registrations"]:
                child = r.get("bp_node") or u.resolve_name(resolver, facts, m, r["bp"])
                if child not in objs or objs[child]["kind"] != "blueprint":
                    continue
                if r.get("bp_node"):  # fetched by name at run time: a string reference
                    u.add_edge(graph, resolver.owner_of_line(m, r["line"]), child, "dynamic",
                               u.evidence(facts[m].file, r["line"]))
                parent = u.resolve_name(resolver, facts, m, r["obj"])
                if parent not in objs or objs[parent]["kind"] != "blueprint":
                    parent = None
                prefix, has = r["prefix"], r["has_prefix"]
                if r.get("prefix_ref"):
                    prefix = u.evaluate(resolver, facts, m, r["prefix_ref"], self.name)
                    has = prefix is not None
                regs[child].append((parent, prefix, has))

        memo: dict[str, list[str | None]] = {}

        def prefixes(bp: str, seen: frozenset[str] = frozenset()) -> list[str | None]:
            if bp in memo:
                return memo[bp]
            own = objs[bp]["prefix"]
            if not regs.get(bp) or bp in seen:
                return [own]
            out: set[str | None] = set()
            for parent, opt, has in regs[bp]:
                mine = opt if has else own
                if parent is None:
                    out.add(mine)
                    continue
                for outer in prefixes(parent, seen | {bp}):
                    if outer is not None and mine is not None:
                        out.add(outer.rstrip("/") + "/" + mine.lstrip("/"))
                    else:
                        out.add(mine if mine is not None else outer)
            memo[bp] = sorted(out, key=lambda p: (p is not None, p or ""))
            return memo[bp]

        def owner_prefixes(m: str, obj: str, local: str | None,
                           strict: bool) -> tuple[str | None, list[str | None]] | None:
            node = u.resolve_name(resolver, facts, m, obj)
            if node in objs:
                kind = objs[node]["kind"]
                if kind == "api":  # Api(bp, prefix=...): the blueprint's prefixes, then its own
                    o = objs[node]
                    target = u.resolve_name(resolver, facts, o["module"], o.get("target"))
                    outer = (prefixes(target) if target in objs and
                             objs[target]["kind"] == "blueprint" else [None])
                    return node, [u.join_path(p, o["prefix"] or "") or None for p in outer]
                return node, (prefixes(node) if kind == "blueprint" else [None])
            if local or not strict:
                return None, [None]
            return None

        for m, mf, data in items:
            for r in data["routes"]:
                found = owner_prefixes(m, r["obj"], r["local"], r["shortcut"])
                if found is None:
                    continue
                handler = self._handler(m, r["func"], r["line"], resolver, graph)
                self._add(graph, resolver, m, mf.file, r["line"], found, r["rule"],
                          r["methods"] or ["GET"], handler)
            for r in data["rules"]:
                found = owner_prefixes(m, r["obj"], None, False)
                handler = u.resolve_name(resolver, facts, m, r["view"])
                if found is None or handler is None:
                    continue
                methods = r["methods"]
                if methods is None and r["as_view"]:
                    methods = self._class_methods(handler, facts)
                self._add(graph, resolver, m, mf.file, r["line"], found, r["rule"],
                          methods or ["GET"], handler)

    @staticmethod
    def _handler(module: str, func: str, line: int, resolver: Any,
                 graph: DependencyGraph) -> str:
        node = f"{module}:{func}"
        return node if node in graph.g else resolver.owner_of_line(module, line)

    def _class_methods(self, handler: str, facts: dict[str, ModuleFacts]) -> list[str] | None:
        module, _, cls = handler.partition(":")
        data = facts[module].framework.get(self.name) if module in facts else None
        return (data or {}).get("views", {}).get(cls)

    def _add(self, graph: DependencyGraph, resolver: Any, module: str, file: str, line: int,
             found: tuple[str | None, list[str | None]], rule: str, methods: list[str],
             handler: str) -> None:
        owner, prefixes = found
        source = owner or resolver.owner_of_line(module, line)
        u.add_edge(graph, source, handler, "route", u.evidence(file, line))
        for prefix in prefixes:
            path = u.join_path(prefix, rule) or "/"
            for method in methods:
                graph.routes.append(Route(method, path, handler, self.name, file, line))
                graph.entry_points.append(
                    EntryPoint("route", f"{method} {path}", handler, file, line))
