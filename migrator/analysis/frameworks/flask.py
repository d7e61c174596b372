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
attribute through a module-level instance); an unknown one is treated as absent. A prefix read
from configuration (``app.config["USER_URL_PREFIX"]``, ``config.get("KEY")``) is kept as the
placeholder ``{USER_URL_PREFIX}``; any other non-literal registration prefix inside a function
becomes ``{url_prefix}`` (so routes of different blueprints do not collapse onto one path).

Registration helpers (FlaskBB's ``register_view(bp, routes=[...], view_func=V.as_view("v"))``):
a module-level function calling ``<param>.add_url_rule(...)`` or ``<param>.route(...)(view)``
whose rule and/or view come from its parameters (directly or through ``for r in <param>``).
Calls of it (found through imports) that pass a literal rule (list) or a ``View.as_view(...)``
give routes on the object passed; ``methods=`` passed on through ``**kwargs`` counts. Blueprints
and apps created inside a function are matched by name within that function; their routes'
edges start at that function.

Registration data and wrappers: a helper looping over a ``(path, Resource)`` table parameter
(``for path, resource in routes: bp.add_url_rule(path, view_func=resource.as_view(...))``)
gives one route per row of each table passed to it (a module-level list or inline); blueprints
listed in a module-level tuple that a function passes on get the prefix of the project's one
function registering every blueprint of a parameter (``for bp in blueprints:
app.register_blueprint(bp, url_prefix=f"/api/{API_VERSION}")``, f-strings of module constants
evaluated); an ``XxxApi(...)`` object whose class has a method calling
``self.add_resource(resource, *urls)`` gives routes at each ``api.method(Resource, "/url")``;
``@api.resource("/url")`` / ``@ns.route("/url")`` on a Resource class; Flask-RESTX namespaces
(``Namespace("cats", path=...)``, ``api.namespace(...)``, ``api.add_namespace(ns, path=...)``).
A class-based view answers every verb method along its bases (``classviews`` plug-in).
Blueprint factories: a module-level function that creates a blueprint with ``url_prefix`` taken
from one of its parameters (``def make_bp(prefix): bp = Blueprint(..., url_prefix=prefix)``)
gives its routes under each literal prefix a call passes (``make_bp("/users")``, positional or
by keyword; found through imports), the parameter's default when a call passes none, within the
text around it (``url_prefix=f"/named/{name}"``), with a leading ``/``. A made blueprint
registered with a prefix (``app.register_blueprint(make_bp("/a"), url_prefix="/v2/a")``, or
through the name it was assigned to) takes that prefix instead, as Flask does.

Graph: one ``Route`` and one ``EntryPoint(kind="route")`` per HTTP method (``ANY`` when ``methods=``
is not a literal list), and a ``route`` edge
**from the object that owns the rule to the handler**: the blueprint variable (``pkg.views:bp``)
or the app variable, or the registering function (``pkg.app:create_app``) for an app created
inside a factory. Handlers cluster with the blueprint they belong to, which is what a service
partition wants. Rules and prefixes that are not string literals are left out (no guessing).
"""

from __future__ import annotations

from collections import defaultdict
from itertools import product
from typing import Any, Literal, TypedDict, cast

from migrator.analysis.facts import ModuleFacts
from migrator.analysis.frameworks import _util as u
from migrator.analysis.frameworks.classviews import class_verbs, verbs
from migrator.analysis.lazy import cst
from migrator.graph import DependencyGraph, EntryPoint, Route

_OBJECT_KINDS = {
    "Flask": "app",
    "Blueprint": "blueprint",
    "APIFlask": "app",
    "APIBlueprint": "blueprint",
    "Api": "api",
    "Namespace": "api",
    "namespace": "api",
}
_RESOURCE_BASES = ("MethodView", "View", "Resource", "MethodResource")


#: attributes whose calls the plug-in reads directly (never helper call sites)
_REGISTRATION_ATTRS = frozenset(
    {"add_url_rule", "register_blueprint", "add_resource", "route", *u.HTTP_METHODS}
)


def _value(
    node: cst.CSTNode | None, tables: dict[str, cst.CSTNode] | None = None
) -> FlaskValue | None:
    """Plain description of an argument at a possible helper call site: strings (``str``, with
    ``seq`` for a list/tuple), ``X.as_view(...)`` (``as_view``), a dotted name (``name``) or a
    table of rows (``rows``: a list of tuples such as ``[("/a", ViewA), ...]``, inline or a
    module-level name in ``tables``)."""
    if node is None:
        return None
    if isinstance(node, cst.Name) and tables and node.value in tables:
        node = tables[node.value]
    if isinstance(node, (cst.List, cst.Tuple)):
        values = u.strings(node)
        if values is not None:
            return {"str": values, "seq": True}
        rows = [
            [_value(e.value) for e in el.value.elements]
            for el in node.elements
            if isinstance(el.value, (cst.Tuple, cst.List))
        ]
        return {"rows": rows} if rows and len(rows) == len(node.elements) else None
    text = u.string(node)
    if text is not None:
        return {"str": [text], "seq": False}
    called = u.callee(node) or ""
    if called.endswith(".as_view"):
        return {"as_view": called[: -len(".as_view")]}
    name = u.dotted(node)
    return {"name": name} if name else None


def _is_rule(value: FlaskValue | None) -> bool:
    """A URL rule (or list of them): strings that all start with ``/``."""
    return bool(value and value.get("str") and all(x.startswith("/") for x in value["str"]))


def _call_site(call: cst.Call, tables: dict[str, cst.CSTNode]) -> FlaskCall | None:
    """A call that may register routes through a helper: one of its arguments is a URL rule
    (a string, or list of strings, starting with ``/``), a ``View.as_view(...)`` or a table
    of rows holding rules (``[("/a", ViewA), ...]``)."""
    pos, kw = u.call_args(call)
    values = [_value(v, tables) for v in pos]
    kws = {k: _value(v, tables) for k, v in sorted(kw.items())}
    if not any(
        v
        and (
            "as_view" in v
            or _is_rule(v)
            or any(_is_rule(c) for row in v.get("rows", ()) for c in row)
        )
        for v in (*values, *kws.values())
    ):
        return None
    return {
        "func": u.callee(call),
        "pos": values,
        "kw": kws,
        "star": any(a.star == "*" for a in call.args),
    }


def _param_prefix(func: cst.FunctionDef, prefix: cst.CSTNode | None) -> dict[str, Any]:
    """``{"prefix_param": [index, name]}`` when a blueprint's ``url_prefix`` is the parameter
    ``name`` (at position ``index``) of the factory ``func``, else nothing; with
    ``prefix_default`` (its literal default) and ``prefix_around`` (``["/", ""]`` for
    ``f"/{name}"`` or ``"/" + name``) when there are."""
    around = None  # the text before and after the parameter
    if isinstance(prefix, cst.FormattedString):
        holes = [p for p in prefix.parts if isinstance(p, cst.FormattedStringExpression)]
        if len(holes) == 1 and holes[0].format_spec is None and holes[0].conversion is None:
            at = prefix.parts.index(holes[0])
            text = [
                "".join(p.value for p in part if isinstance(p, cst.FormattedStringText))
                for part in (prefix.parts[:at], prefix.parts[at + 1 :])
            ]
            prefix, around = holes[0].expression, text
    elif isinstance(prefix, cst.BinaryOperation) and isinstance(prefix.operator, cst.Add):
        left, right = u.string(prefix.left), u.string(prefix.right)
        if left is not None and type(prefix.right) is cst.Name:
            prefix, around = prefix.right, [left, ""]
        elif right is not None and type(prefix.left) is cst.Name:
            prefix, around = prefix.left, ["", right]
    if type(prefix) is not cst.Name:
        return {}
    found = [(i, p) for i, p in enumerate(func.params.params) if p.name.value == prefix.value] or [
        (-1, p) for p in func.params.kwonly_params if p.name.value == prefix.value
    ]
    if not found:
        return {}
    index, param = found[0]
    out: dict[str, Any] = {"prefix_param": [index, prefix.value]}
    default = u.string(param.default) if param.default is not None else None
    if default is not None:
        out["prefix_default"] = default
    if around is not None:
        out["prefix_around"] = around
    return out


def _made(call: cst.Call, tables: dict[str, cst.CSTNode], lines: u.Lines) -> FlaskCall:
    """The call a registered blueprint came from (``make_bp("/users")``): what a factory
    call needs (``_call_site``'s shape) and its line, which keys the call."""
    pos, kw = u.call_args(call)
    return {
        "func": u.callee(call),
        "pos": [_value(v, tables) for v in pos],
        "kw": {k: _value(v, tables) for k, v in sorted(kw.items())},
        "star": any(a.star for a in call.args),
        "at": lines.want(call),
    }


def _factory_prefix(factory: tuple[str, FlaskObject], call: FlaskCall) -> str | None:
    """The prefix one call of a blueprint factory gives its blueprint: the literal passed for
    the prefix parameter (or its default when none is passed), within the text around it
    (``f"/{name}"``), with a leading ``/``; None when unknown."""
    o = factory[1]
    at, param = o["prefix_param"]
    index, name = int(at), str(param)
    if name in call["kw"]:
        value = call["kw"][name]
    elif 0 <= index < len(call["pos"]):
        value = call["pos"][index]
    elif call["star"] or "prefix_default" not in o:
        return None
    else:
        value = {"str": [o["prefix_default"]], "seq": False}
    if not (value and value.get("str") and not value["seq"]):
        return None
    before, after = o.get("prefix_around", ("", ""))
    return "/" + (before + value["str"][0] + after).lstrip("/")


def _placeholder(expr: cst.CSTNode, in_function: bool) -> str | None:
    """``{KEY}`` for a prefix read from configuration (``app.config["KEY"]``,
    ``config.get("KEY")``); ``{url_prefix}`` for any other expression inside a function."""
    key = None
    if (
        isinstance(expr, cst.Subscript)
        and len(expr.slice) == 1
        and isinstance(expr.slice[0].slice, cst.Index)
    ):
        key = u.string(expr.slice[0].slice.value)
    elif isinstance(expr, cst.Call) and (u.callee(expr) or "").endswith(".get"):
        key = u.string(u.arg(expr, 0))
    if key:
        return "{" + key + "}"
    return "{url_prefix}" if in_function else None


def _helpers(func: cst.FunctionDef) -> list[dict[str, Any]]:
    """Route registrations of a module-level function whose rule or view comes from its
    parameters (``for r in rules: bp.add_url_rule(r, view_func=view)``), one dict each:
    which parameter gives the app/blueprint (``obj``), the rule (``rule``: a literal, or a
    parameter, ``iter`` when the call is in a ``for`` loop over it), the view (``view``) and
    the methods (a literal list, a parameter, or None; ``kwargs`` when ``**kwargs`` of the
    function is passed on, so a ``methods=`` at the call site counts)."""
    params = func.params
    positional = [p.name.value for p in (*params.posonly_params, *params.params)]
    kwonly = [p.name.value for p in params.kwonly_params]
    names = set(positional) | set(kwonly)
    star_kw = params.star_kwarg.name.value if isinstance(params.star_kwarg, cst.Param) else None
    loops: dict[str, dict[str, Any]] = {}  # loop variable -> where its values come from
    views: dict[str, str] = {}  # ``v = <loop variable or parameter>.as_view(...)``
    calls = []
    for node, _ in u.walk(func.body, func):
        if type(node) is cst.For and isinstance(node.iter, cst.Name) and node.iter.value in names:
            if isinstance(node.target, cst.Name):
                loops[node.target.value] = {"param": node.iter.value, "iter": True}
            elif isinstance(node.target, (cst.Tuple, cst.List)):  # for rule, view in table
                for i, el in enumerate(node.target.elements):
                    if isinstance(el.value, cst.Name):
                        loops[el.value.value] = {"param": node.iter.value, "iter": True, "index": i}
        elif type(node) is cst.Call:
            calls.append(node)
        elif type(node) is cst.Assign and isinstance(node.value, cst.Call):
            cls = (u.callee(node.value) or "").removesuffix(".as_view")
            if cls != u.callee(node.value) and "." not in cls:
                views.update((n, cls) for n in u.assign_targets(node)[0])

    def source(expr: cst.CSTNode | None, view: bool) -> dict[str, Any] | None:
        if isinstance(expr, cst.Name) and expr.value in names:
            return {"param": expr.value}
        if isinstance(expr, cst.Name) and expr.value in loops:
            return dict(loops[expr.value])
        if view and isinstance(expr, cst.Name) and expr.value in views:
            found = source(cst.Name(views[expr.value]), True)
            return dict(found, as_view=True) if found and "param" in found else None
        if view:
            value = _value(expr)
            return dict(value) if value and "str" not in value else None
        text = u.string(expr)
        return {"literal": text} if text is not None else None

    out = []
    for call in calls:
        name = u.callee(call)
        inner = u.callee(call.func) if isinstance(call.func, cst.Call) else None
        if name and name.endswith(".add_url_rule"):
            obj, reg = name[: -len(".add_url_rule")], call
            rule, view = u.arg(reg, 0, "rule"), u.arg(call, 2, "view_func")
            methods_expr = u.arg(call, -1, "methods")
            methods: Any = None
        elif (
            inner
            and "." in inner
            and u.last(inner) in ("route", *u.HTTP_METHODS[:5])
            and type(call.func) is cst.Call
        ):
            obj, attr = inner.rsplit(".", 1)
            reg = call.func
            rule, view = u.arg(reg, 0, "rule"), u.arg(call, 0)
            methods_expr = u.arg(reg, -1, "methods") if attr == "route" else None
            methods = None if attr == "route" else [attr.upper()]
        else:
            continue
        if obj not in names:
            continue
        rule_src, view_src = source(rule, False), source(view, True)
        if rule_src is None or view_src is None or not ("param" in rule_src or "param" in view_src):
            continue
        if methods_expr is not None:
            methods = (
                {"param": methods_expr.value}
                if isinstance(methods_expr, cst.Name) and methods_expr.value in names
                else _methods(methods_expr)
            )
        kwargs = star_kw is not None and any(
            a.star == "**" and isinstance(a.value, cst.Name) and a.value.value == star_kw
            for a in reg.args
        )
        out.append(
            {
                "func": func.name.value,
                "params": positional,
                "kwonly": kwonly,
                "obj": obj,
                "rule": rule_src,
                "view": view_src,
                "methods": methods,
                "kwargs": kwargs,
                "_node": reg,
            }
        )
    return out


def _resource_wrapper(node: cst.ClassDef) -> dict[str, Any] | None:
    """Methods of a class that call ``self.add_resource(<param>, <param or *param>)``:
    {method: {"view": index of the resource parameter, "urls": index of the first URL
    parameter, "star": whether the URLs are ``*urls``}} (indexes after ``self``)."""
    out = {}
    for stmt in node.body.body:
        if type(stmt) is not cst.FunctionDef or stmt.name.value == "add_resource":
            continue
        params = [p.name.value for p in stmt.params.params][1:]
        star = (
            stmt.params.star_arg.name.value if isinstance(stmt.params.star_arg, cst.Param) else None
        )
        for sub, _ in u.walk(stmt.body, stmt):
            if type(sub) is not cst.Call or u.callee(sub) not in (
                "self.add_resource",
                "super.add_resource",
            ):
                continue
            args = [a for a in sub.args if not a.keyword]
            if (
                len(args) < 2
                or not isinstance(args[0].value, cst.Name)
                or args[0].value.value not in params
                or not isinstance(args[1].value, cst.Name)
            ):
                continue
            urls = args[1].value.value
            if args[1].star == "*" and urls == star:
                out[stmt.name.value] = {
                    "view": params.index(args[0].value.value),
                    "urls": len(params),
                    "star": True,
                }
            elif urls in params:
                out[stmt.name.value] = {
                    "view": params.index(args[0].value.value),
                    "urls": params.index(urls),
                    "star": False,
                }
    return out or None


def _loop_over_param(scope: Any, name: str | None) -> str | None:
    """The parameter of function ``scope`` that ``name`` iterates over (``for name in
    param``), None if it does not."""
    if not name or type(scope) is not cst.FunctionDef:
        return None
    params = {p.name.value for p in (*scope.params.params, *scope.params.kwonly_params)}
    for node, _ in u.walk(scope.body, scope):
        if (
            type(node) is cst.For
            and isinstance(node.target, cst.Name)
            and node.target.value == name
            and isinstance(node.iter, cst.Name)
            and node.iter.value in params
        ):
            return node.iter.value
    return None


def _methods(node: cst.CSTNode | None) -> list[str] | None:
    """Methods of a ``methods=[...]`` argument; ``["ANY"]`` when it is not a literal list."""
    if node is None:
        return None
    values = u.strings(node)
    return sorted({m.upper() for m in values}) if values else ["ANY"]


class FlaskValue(TypedDict, total=False):
    """An argument at a call site, as ``_value`` describes it."""

    str: list[str]  # the string(s)
    seq: bool  # a list/tuple of strings
    as_view: str  # ``X.as_view(...)``: X
    name: str  # a dotted name
    rows: list[list[FlaskValue | None]]  # a table of rows


class FlaskCall(TypedDict, total=False):
    """A call that may register routes: of a helper, an ``Api`` wrapper or a factory."""

    func: str | None
    pos: list[FlaskValue | None]
    kw: dict[str, FlaskValue | None]
    star: bool  # ``*args`` hides which parameter gets what
    line: int
    at: Any  # in a registration's ``made``: the line of the call (its node while collected)
    fn: str | None  # the function it sits in


class FlaskObject(TypedDict, total=False):
    """An app, blueprint, ``Api`` or RESTX namespace object."""

    var: str
    kind: str  # "app" | "blueprint" | "api"
    name: str | None
    prefix: str | None
    prefix_ref: str | None  # a constant the prefix names
    scope: str  # "module" | "local"
    target: str | None  # api, namespace: the app/blueprint/API it is made on
    cls: str  # api: the class as written
    prefix_param: list[int | str]  # blueprint factory: [index, name] of the prefix parameter
    prefix_default: str
    prefix_around: list[str]  # text before and after the parameter
    line: int
    fn: str  # the function a local object is made in


class FlaskRoute(TypedDict, total=False):
    """``@x.route(rule)`` or a verb shortcut on a function."""

    obj: str
    rule: str
    methods: list[str] | None
    shortcut: bool
    func: str
    top: bool
    local: str | None  # the kind of a local object ``obj`` names
    line: int
    fn: str


class FlaskRule(TypedDict, total=False):
    """``add_url_rule``, ``add_resource``, ``@api.resource``/``@ns.route`` on a class."""

    obj: str
    rule: str
    view: str
    as_view: bool
    methods: list[str] | None
    line: int
    fn: str


class FlaskRegistration(TypedDict, total=False):
    """``register_blueprint`` (or a row of a registration table) or ``add_namespace``."""

    obj: str
    bp: str | None
    bp_node: str  # fetched by name: ``getattr(import_module(m), a)``
    prefix: str | None
    has_prefix: bool
    prefix_ref: str | None
    namespace: bool
    made: FlaskCall  # the factory call the blueprint came from
    line: int
    fn: str


class FlaskFanout(TypedDict, total=False):
    """``for bp in <param>: app.register_blueprint(bp, url_prefix=...)`` in ``func``."""

    func: str
    param: str
    prefix: str | None
    has_prefix: bool
    line: int


class _FlaskShape(TypedDict):
    objects: list[FlaskObject]
    routes: list[FlaskRoute]
    rules: list[FlaskRule]
    registrations: list[FlaskRegistration]
    views: dict[str, list[str] | None]  # class-based view -> its methods (None: unknown)


class FlaskFacts(_FlaskShape, total=False):
    """What ``collect`` keeps of one module (version: ``FlaskPlugin.facts_version``)."""

    helpers: list[dict[str, Any]]  # registration helpers (see ``_helpers``)
    calls: list[FlaskCall]
    constants: u.Constants
    fanouts: list[FlaskFanout]
    collections: dict[str, list[str]]  # module-level tuples of names passed on
    api_classes: dict[str, dict[str, Any]]  # ``Api`` subclasses wrapping ``add_resource``


class FlaskPlugin:
    """See the module docstring."""

    name = "flask"
    facts_version = 1
    markers = (
        "flask",
        "Flask",
        "Blueprint",
        ".route(",
        "add_url_rule",
        "register_blueprint",
        "MethodView",
        "add_resource",
        "as_view",
        "view_func",
        "blueprints",
        "BLUEPRINTS",
    ) + tuple(f".{m}({q}/" for m in ("get", "post", "put", "patch", "delete") for q in "\"'")

    # -- worker half ---------------------------------------------------------------------------
    def collect(
        self, tree: cst.Module, module: str, file: str, ctx: u.WalkContext | None = None
    ) -> FlaskFacts | None:
        lines = u.Lines(tree, ctx)
        objects: list[tuple[cst.CSTNode, dict[str, Any], Any]] = []
        routes: list[tuple[cst.CSTNode, dict[str, Any], Any]] = []
        rules: list[tuple[cst.CSTNode, dict[str, Any]]] = []
        regs: list[tuple[cst.CSTNode, dict[str, Any]]] = []
        views: dict[str, list[str] | None] = {}
        tables: dict[str, cst.CSTNode] = {}  # module-level names bound to list/tuple literals
        # (registration tables)
        for small in u.small_statements(tree):
            names, value = u.assign_targets(small)
            if isinstance(value, (cst.List, cst.Tuple)):
                tables.update((n, value) for n in names)
        literals = u.literals(tree)
        fanouts: list[tuple[cst.CSTNode, FlaskFanout]] = []
        api_classes: dict[str, dict[str, Any]] = {}  # Api subclasses wrapping add_resource
        passed: set[str] = set()  # names handed to a call or used in a function's assignment
        handled: set[int] = set()  # register_blueprint calls read with their loop
        sites: list[tuple[cst.CSTNode, FlaskCall, Any]] = []  # calls of possible helpers
        rule_scopes: dict[int, cst.CSTNode] = {}  # functions holding a registration call
        top_functions = {id(s) for s in tree.body if type(s) is cst.FunctionDef}
        fn_keys: dict[int, str] = {}
        fn_count: dict[str, int] = defaultdict(int)
        made: dict[tuple[int, str], cst.Call] = {}  # (function, name) -> the call it holds
        for node, scope in u.walk(tree, ctx=ctx):
            if type(node) is cst.FunctionDef or type(node) is cst.Lambda:
                fn_name = node.name.value if type(node) is cst.FunctionDef else "<lambda>"
                fn_count[fn_name] += 1
                count = fn_count[fn_name]
                fn_keys[id(node)] = fn_name if count == 1 else f"{fn_name}#{count}"
            if type(node) in (cst.Assign, cst.AnnAssign):
                names, value = u.assign_targets(node)
                if scope is not None:  # ``blueprints = blueprints + DEFAULT_BLUEPRINTS``
                    operands = (
                        [value.left, value.right] if type(value) is cst.BinaryOperation else [value]
                    )
                    passed.update(o.value for o in operands if type(o) is cst.Name)
                cls = u.last(u.callee(value)) or ""
                kind = _OBJECT_KINDS.get(cls) or (
                    "api"
                    if (cls.endswith("Api") and cls[:1].isupper()) or cls in api_classes
                    else None
                )
                if type(value) is cst.Call and not kind:  # ``users = make_bp("/users")``
                    made.update(((id(scope), n), value) for n in names)
                if names and kind and type(value) is cst.Call:
                    pos, kw = u.call_args(value)
                    prefix_arg = kw.get("prefix" if kind == "api" else "url_prefix")
                    bp_name = u.string(pos[0]) if pos else u.string(kw.get("name"))
                    extra = (
                        {"target": u.dotted(u.arg(value, 0, "app")), "cls": u.callee(value)}
                        if kind == "api"
                        else {}
                    )
                    if cls in ("Namespace", "namespace"):  # Flask-RESTX: path or "/<name>"
                        prefix_arg = kw.get("path")
                        extra["target"] = (u.callee(value) or "").rpartition(".")[0] or None
                        if prefix_arg is None and bp_name:
                            prefix_arg = cst.SimpleString(repr("/" + bp_name))
                    prefix = u.string(prefix_arg)
                    if kind == "blueprint" and id(scope) in top_functions:
                        extra.update(_param_prefix(scope, prefix_arg))
                    for var in names:
                        objects.append(
                            (
                                lines.want(node),
                                {
                                    "var": var,
                                    "kind": kind,
                                    "name": bp_name,
                                    "prefix": prefix,
                                    "prefix_ref": u.dotted(prefix_arg),
                                    "scope": "module" if scope is None else "local",
                                    **extra,
                                },
                                scope,
                            )
                        )
            elif type(node) is cst.Call and type(node.func) is cst.Call and scope is not None:
                rule_scopes[id(scope)] = scope  # maybe ``bp.route(rule)(view)`` in a helper
            elif type(node) is cst.FunctionDef and node.decorators:
                for dec in node.decorators:
                    self._route(dec, node, scope, lines, routes)
            elif type(node) is cst.For:
                self._loop_registrations(node, tables, lines, regs, handled)
            elif type(node) is cst.ClassDef and scope is None:
                methods = self._view_methods(node)
                if methods is not False:
                    views[node.name.value] = methods
                for dec in node.decorators:  # ``@api.resource("/a")``, ``@ns.route("/a")``
                    name, call = u.decorator_call(dec)
                    if call is not None and name and name.endswith((".route", ".resource")):
                        pos, _ = u.call_args(call)
                        for url in filter(None, (u.string(p) for p in pos)):
                            rules.append(
                                (
                                    lines.want(call),
                                    {
                                        "obj": name.rsplit(".", 1)[0],
                                        "rule": url,
                                        "view": node.name.value,
                                        "as_view": True,
                                        "methods": None,
                                    },
                                )
                            )
                wrapper = _resource_wrapper(node)
                if wrapper:
                    api_classes[node.name.value] = wrapper
            elif type(node) is cst.Call:
                passed.update(a.value.value for a in node.args if type(a.value) is cst.Name)
                name = u.callee(node)
                if name and node.args and u.last(name) not in _REGISTRATION_ATTRS:
                    site = _call_site(node, tables)
                    if site is not None:
                        sites.append((lines.want(node), site, scope))
                if not name or "." not in name:
                    continue
                obj, attr = name.rsplit(".", 1)
                if attr == "add_url_rule":
                    if scope is not None:
                        rule_scopes[id(scope)] = scope
                    self._rule(node, obj, lines, rules, scope)
                elif attr == "add_resource":  # Flask-RESTful / Flask-RESTX
                    pos, kw = u.call_args(node)
                    resource = u.dotted(pos[0]) if pos else None
                    for given_url in (u.string(p) for p in pos[1:]):
                        if resource and given_url is not None:
                            rules.append(
                                (
                                    lines.want(node),
                                    {
                                        "obj": obj,
                                        "rule": given_url,
                                        "view": resource,
                                        "as_view": True,
                                        "methods": None,
                                    },
                                )
                            )
                elif attr == "add_namespace":  # Flask-RESTX: api.add_namespace(ns, path=)
                    ns = u.dotted(u.arg(node, 0, "ns"))
                    if ns:
                        path = u.arg(node, 1, "path")
                        regs.append(
                            (
                                lines.want(node),
                                {
                                    "obj": obj,
                                    "bp": ns,
                                    "prefix": u.string(path),
                                    "has_prefix": u.string(path) is not None,
                                    "namespace": True,
                                },
                            )
                        )
                elif attr == "register_blueprint" and id(node) not in handled:
                    bp = u.dotted(u.arg(node, 0, "blueprint"))
                    each = _loop_over_param(scope, bp) if id(scope) in top_functions else None
                    if each:  # for bp in blueprints: app.register_blueprint(bp, url_prefix=..)
                        given = u.arg(node, -1, "url_prefix")
                        text = u.string(given) if given is not None else None
                        if isinstance(given, cst.FormattedString):
                            text = u.fstring(given, literals)
                        fanouts.append(
                            (
                                lines.want(node),
                                {
                                    "func": scope.name.value,
                                    "param": each,
                                    "prefix": text,
                                    "has_prefix": given is None or text is not None,
                                },
                            )
                        )
                    else:
                        first = u.arg(node, 0, "blueprint")
                        maker = (
                            first if type(first) is cst.Call else made.get((id(scope), bp or ""))
                        )
                        if not bp and maker is None:
                            continue
                        _, kw = u.call_args(node)
                        given = kw.get("url_prefix")
                        text = u.string(given)
                        ref = u.dotted(given)
                        if text is None and given is not None and ref is None:
                            text = _placeholder(given, scope is not None)
                        regs.append(
                            (
                                lines.want(node),
                                {
                                    "obj": obj,
                                    "bp": bp,
                                    "prefix": text,
                                    "has_prefix": text is not None,
                                    "prefix_ref": ref,
                                    **({"fn": scope} if scope is not None else {}),
                                    **({"made": _made(maker, tables, lines)} if maker else {}),
                                },
                            )
                        )
        consts = u.constants(tree)
        helpers = [
            h
            for sc in rule_scopes.values()
            if id(sc) in top_functions and type(sc) is cst.FunctionDef
            for h in _helpers(sc)
        ]

        collections: dict[str, list[str]] = {}  # module-level tuples/lists of names that a
        for name in sorted(passed & tables.keys()):  # function passes on
            listed = tables[name]
            assert isinstance(listed, (cst.List, cst.Tuple))  # as ``tables`` holds
            items = [u.dotted(e.value) for e in listed.elements]
            names = [i for i in items if i]
            if names and len(names) == len(items):
                collections[name] = names
        if not (
            objects
            or routes
            or rules
            or regs
            or views
            or helpers
            or sites
            or fanouts
            or collections
            or api_classes
        ):
            return None
        for h in helpers:
            lines.want(h["_node"])

        def fn(scope: Any) -> str | None:
            """A key for the function a local object lives in, unique in the module: its name,
            with ``#n`` for the n-th function of that name (line numbers are not a stable
            key: they differ between the analyser's line table and a bare tree's)."""
            return None if scope is None else fn_keys[id(scope)]

        local: dict[tuple[int, str], str] = {}
        for _, o, scope in objects:
            if o["scope"] == "local":
                local[(id(scope), o["var"])] = o["kind"]
        out_routes = []
        for n, r, scope in routes:
            r["local"] = local.get((id(scope), r["obj"])) if scope is not None else None
            r["line"] = lines.of(n)
            if scope is not None:
                r["fn"] = fn(scope)
            out_routes.append(r)

        def lined(found: list[tuple[cst.CSTNode, dict[str, Any]]]) -> list[dict[str, Any]]:
            """Each fact with its node's line and its function's key (not the node)."""
            return [
                dict(r, line=lines.of(n), fn=fn(r["fn"]))
                if "fn" in r
                else dict(r, line=lines.of(n))
                for n, r in found
            ]

        # the items are plain dicts while collected (``fn`` holds the function node then)
        data: FlaskFacts = {
            "objects": cast(
                list[FlaskObject],
                [
                    dict(o, line=lines.of(n), **({"fn": fn(sc)} if sc is not None else {}))
                    for n, o, sc in objects
                ],
            ),
            "routes": cast(list[FlaskRoute], out_routes),
            "rules": cast(list[FlaskRule], lined(rules)),
            "registrations": cast(list[FlaskRegistration], lined(regs)),
            "views": dict(sorted(views.items())),
        }
        for reg in data["registrations"]:
            if "made" in reg:
                reg["made"] = {**reg["made"], "at": lines.of(cast(Any, reg["made"]["at"]))}
        if helpers:
            data["helpers"] = sorted(
                (
                    dict({k: v for k, v in h.items() if k != "_node"}, line=lines.of(h["_node"]))
                    for h in helpers
                ),
                key=lambda h: (h["line"], h["func"]),
            )
        if sites:
            data["calls"] = sorted(
                ({**c, "line": lines.of(n), "fn": fn(sc)} for n, c, sc in sites),
                key=lambda c: (c["line"], c["func"] or ""),
            )
        if consts:
            data["constants"] = consts
        if fanouts:
            for n, f in fanouts:
                f["line"] = lines.of(n)
            data["fanouts"] = sorted((f for _, f in fanouts), key=lambda f: f["line"])
        if collections:
            data["collections"] = collections
        if api_classes:
            data["api_classes"] = api_classes
        data["objects"].sort(key=lambda d: d["line"])
        data["routes"].sort(key=lambda d: d["line"])
        data["rules"].sort(key=lambda d: d["line"])
        data["registrations"].sort(key=lambda d: d["line"])
        return data

    @staticmethod
    def _route(
        dec: cst.Decorator, func: cst.FunctionDef, scope: Any, lines: u.Lines, routes: list
    ) -> None:
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
        routes.append(
            (
                lines.want(call),
                {
                    "obj": obj,
                    "rule": rule,
                    "methods": methods,
                    "shortcut": shortcut,
                    "func": func.name.value,
                    "top": scope is None,
                },
                scope,
            )
        )

    @staticmethod
    def _loop_registrations(
        loop: cst.For, consts: dict[str, cst.CSTNode], lines: u.Lines, regs: list, handled: set[int]
    ) -> None:
        """Blueprints registered from a table, one registration per row::

        for module, attr, prefix in BLUEPRINTS:     # or: for bp, prefix in [(a, "/a")]
            bp = getattr(importlib.import_module(module), attr)
            app.register_blueprint(bp, url_prefix=prefix)
        """
        target = loop.target
        if isinstance(target, cst.Name):
            names = [target.value]
        elif isinstance(target, (cst.Tuple, cst.List)):
            names = [e.value.value for e in target.elements if isinstance(e.value, cst.Name)]
            if len(names) != len(target.elements):
                return
        else:
            return
        table = consts.get(loop.iter.value) if isinstance(loop.iter, cst.Name) else loop.iter
        if not isinstance(table, (cst.List, cst.Tuple)):
            return
        rows = []
        for el in table.elements:
            row = (
                [e.value for e in el.value.elements]
                if len(names) > 1 and isinstance(el.value, (cst.Tuple, cst.List))
                else [el.value]
            )
            if len(row) != len(names):
                return
            rows.append(dict(zip(names, row, strict=True)))
        fetched: dict[str, tuple[cst.CSTNode | None, cst.CSTNode]] = {}  # getattr(import_module
        calls: list[cst.Call] = []  # (m), a)
        for small in u.small_statements(loop.body):
            assigned, value = u.assign_targets(small)
            if assigned and type(value) is cst.Call and u.callee(value) == "getattr":
                pos, _ = u.call_args(value)
                if len(pos) >= 2 and type(pos[0]) is cst.Call:
                    if u.last(u.callee(pos[0])) == "import_module":
                        for var in assigned:
                            fetched[var] = (u.arg(pos[0], 0, "name"), pos[1])
            if (
                isinstance(small, cst.Expr)
                and type(small.value) is cst.Call
                and (u.callee(small.value) or "").endswith(".register_blueprint")
            ):
                calls.append(small.value)

        def bound(
            expr: cst.CSTNode | None, env: dict[str, cst.BaseExpression]
        ) -> cst.CSTNode | None:
            return env.get(expr.value, expr) if isinstance(expr, cst.Name) else expr

        for call in calls:
            handled.add(id(call))
            obj = (u.callee(call) or "").rsplit(".", 1)[0]
            bp_expr = u.arg(call, 0, "blueprint")
            _, kw = u.call_args(call)
            for env in rows:
                reg: dict[str, Any] = {"obj": obj, "bp": None, "prefix": None, "has_prefix": False}
                if isinstance(bp_expr, cst.Name) and bp_expr.value in fetched:
                    mod_expr, attr_expr = fetched[bp_expr.value]
                    mod, attr = u.string(bound(mod_expr, env)), u.string(bound(attr_expr, env))
                    if not (mod and attr):
                        continue
                    reg["bp_node"] = f"{mod}:{attr}"
                else:
                    reg["bp"] = u.dotted(bound(bp_expr, env))
                    if not reg["bp"]:
                        continue
                if "url_prefix" in kw:
                    reg["prefix"] = u.string(bound(kw["url_prefix"], env))
                    reg["has_prefix"] = reg["prefix"] is not None
                regs.append((lines.want(call), reg))

    @staticmethod
    def _rule(call: cst.Call, obj: str, lines: u.Lines, rules: list, scope: Any = None) -> None:
        rule = u.string(u.arg(call, 0, "rule"))
        view = u.arg(call, 2, "view_func")
        if rule is None or view is None:
            return
        as_view = False
        called = u.callee(view) or ""
        if called.endswith(".as_view"):
            view_name, as_view = called[: -len(".as_view")], True
        else:
            view_name = u.dotted(view) or ""
        if not view_name:
            return
        rules.append(
            (
                lines.want(call),
                {
                    "obj": obj,
                    "rule": rule,
                    "view": view_name,
                    "as_view": as_view,
                    "methods": _methods(u.arg(call, -1, "methods")),
                    **({"fn": scope} if scope is not None else {}),
                },
            )
        )

    @staticmethod
    def _view_methods(node: cst.ClassDef) -> list[str] | None | Literal[False]:
        """HTTP methods of a class-based view, None if unknown, False if not a view."""
        bases = [u.last(u.dotted(b.value)) for b in node.bases]
        if not any(b in _RESOURCE_BASES for b in bases):
            return False
        return verbs(node) or None

    # -- parent half ---------------------------------------------------------------------------
    def resolve(self, facts: dict[str, ModuleFacts], resolver: Any, graph: DependencyGraph) -> None:
        items: list[tuple[str, ModuleFacts, FlaskFacts]] = u.sorted_items(facts, self.name)
        objs: dict[str, dict[str, Any]] = {}
        local: dict[tuple[str, str, str], str] = {}  # (module, function key, var) -> objs key
        for m, _, data in items:
            for o in data["objects"]:
                prefix = o["prefix"]
                if ref := o.get("prefix_ref"):
                    prefix = u.evaluate(resolver, facts, m, ref, self.name)
                if o["scope"] == "module":
                    objs.setdefault(
                        f"{m}:{o['var']}", dict(o, module=m, prefix=prefix, edge=f"{m}:{o['var']}")
                    )
                elif o.get("fn"):  # keyed apart from graph nodes; its edges start at the function
                    key = f"{m}:{o['fn']}/{o['var']}"
                    if key not in objs:
                        local[(m, o["fn"], o["var"])] = key
                        objs[key] = dict(
                            o, module=m, prefix=prefix, edge=resolver.owner_of_line(m, o["line"])
                        )

        def lookup(m: str, fn: str | None, name: str | None) -> str | None:
            """A local object of function ``fn`` first (Python's scoping), then a global name."""
            if fn and name and (m, fn, name) in local:
                return local[(m, fn, name)]
            return u.resolve_name(resolver, facts, m, name)

        self._factory_prefixes(items, facts, resolver, objs)

        regs: dict[str, list[tuple[str | None, str | None, bool]]] = defaultdict(list)
        for m, _, data in items:
            for reg in data["registrations"]:
                child = reg.get("bp_node") or lookup(m, reg.get("fn"), reg["bp"])
                if reg.get("namespace") and child in objs and objs[child]["kind"] == "api":
                    parent = lookup(m, reg.get("fn"), reg["obj"])
                    objs[child] = dict(
                        objs[child],
                        target_node=parent,
                        prefix=(reg["prefix"] if reg["has_prefix"] else objs[child]["prefix"]),
                    )
                    continue
                if child not in objs or objs[child]["kind"] != "blueprint":
                    continue
                if reg.get("bp_node"):  # fetched by name at run time: a string reference
                    u.add_edge(
                        graph,
                        resolver.owner_of_line(m, reg["line"]),
                        child,
                        "dynamic",
                        u.evidence(facts[m].file, reg["line"]),
                    )
                parent = lookup(m, reg.get("fn"), reg["obj"])
                if parent not in objs or objs[parent]["kind"] != "blueprint":
                    parent = None
                prefix, has = reg["prefix"], reg["has_prefix"]
                if ref := reg.get("prefix_ref"):
                    prefix = u.evaluate(resolver, facts, m, ref, self.name)
                    has = prefix is not None
                regs[child].append((parent, prefix, has))

        fanout = {
            (f["prefix"], f["has_prefix"]) for _, _, data in items for f in data.get("fanouts", ())
        }
        if len(fanout) == 1:  # the one function that registers every blueprint it is given
            prefix, has = fanout.pop()
            for m, _, data in items:
                for names in data.get("collections", {}).values():
                    for name in names:
                        child = lookup(m, None, name)
                        if (
                            child in objs
                            and objs[child]["kind"] == "blueprint"
                            and child not in regs
                        ):
                            regs[child].append((None, prefix, has))

        memo: dict[str, list[str | None]] = {}

        def prefixes(bp: str, seen: frozenset[str] = frozenset()) -> list[str | None]:
            if bp in memo:
                return memo[bp]
            owns = objs[bp].get("prefixes") or [objs[bp]["prefix"]]
            if not regs.get(bp) or bp in seen:
                return owns
            out: set[str | None] = set()
            for (parent, opt, has), own in product(regs[bp], owns):
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

        def api_prefixes(node: str, seen: frozenset[str] = frozenset()) -> list[str | None]:
            """``Api(bp, prefix=...)``: the blueprint's prefixes, then its own; a RESTX
            namespace: its API's prefixes, then its path."""
            o = objs[node]
            target = o.get("target_node") or lookup(o["module"], o.get("fn"), o.get("target"))
            if target in objs and objs[target]["kind"] == "blueprint":
                outer = prefixes(target)
            elif target in objs and objs[target]["kind"] == "api" and target not in seen:
                outer = api_prefixes(target, seen | {node})
            else:
                outer = [None]
            return [u.join_path(p, o["prefix"] or "") or None for p in outer]

        def owner_prefixes(
            m: str, obj: str, local_kind: str | None, strict: bool, fn: str | None = None
        ) -> tuple[str | None, list[str | None]] | None:
            node = lookup(m, fn, obj)
            if node in objs:
                kind, edge = objs[node]["kind"], objs[node]["edge"]
                if kind == "api":
                    return edge, api_prefixes(node)
                return edge, (prefixes(node) if kind == "blueprint" else [None])
            if local_kind or not strict:
                return None, [None]
            return None

        for m, mf, data in items:
            for r in data["routes"]:
                found = owner_prefixes(m, r["obj"], r["local"], r["shortcut"], r.get("fn"))
                if found is None:
                    continue
                self._add(
                    graph,
                    resolver,
                    m,
                    mf.file,
                    r["line"],
                    found,
                    r["rule"],
                    r["methods"] or ["GET"],
                    self._handler(m, r["func"], r["line"], resolver, graph),
                )
            for fact in data["rules"]:
                found = owner_prefixes(m, fact["obj"], None, False, fact.get("fn"))
                handler: str | None = u.resolve_name(resolver, facts, m, fact["view"])
                if found is None or handler is None:
                    continue
                methods = fact["methods"]
                if methods is None and fact["as_view"]:
                    methods = self._class_methods(handler, facts, resolver)
                self._add(
                    graph,
                    resolver,
                    m,
                    mf.file,
                    fact["line"],
                    found,
                    fact["rule"],
                    methods or ["GET"],
                    handler,
                )

        for m, mf, data in items:  # ``api.add(Resource, "/a")``: an Api subclass's wrapper
            for c in data.get("calls", ()):
                obj, _, meth = (c["func"] or "").rpartition(".")
                node = lookup(m, c["fn"], obj) if obj else None
                if node not in objs or not objs[node].get("cls"):
                    continue
                cls = u.resolve_name(resolver, facts, objs[node]["module"], objs[node]["cls"])
                cmod, _, cname = (cls or "").partition(":")
                wrapper = (
                    (facts[cmod].framework.get(self.name) or {})
                    .get("api_classes", {})
                    .get(cname, {})
                    .get(meth)
                    if cmod in facts
                    else None
                )
                if not wrapper or len(c["pos"]) <= wrapper["view"]:
                    continue
                view = c["pos"][wrapper["view"]] or {}
                urls = (
                    c["pos"][wrapper["urls"] :]
                    if wrapper["star"]
                    else c["pos"][wrapper["urls"] : wrapper["urls"] + 1]
                )
                handler = u.resolve_name(resolver, facts, m, view.get("name"))
                if handler is None:
                    continue
                found = owner_prefixes(m, obj, None, False, c["fn"])
                if found is None:
                    continue
                methods = self._class_methods(handler, facts, resolver)
                for rule in (x for v in urls if v and _is_rule(v) for x in v["str"]):
                    self._add(
                        graph,
                        resolver,
                        m,
                        mf.file,
                        c["line"],
                        found,
                        rule,
                        methods or ["GET"],
                        handler,
                    )

        helpers: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for m, _, data in items:
            for h in data.get("helpers", ()):
                helpers.setdefault(f"{m}:{h['func']}", []).append((m, h))
        if not helpers:
            return
        for m, mf, data in items:
            for c in data.get("calls", ()):
                target = u.resolve_name(resolver, facts, m, c["func"])
                for hm, h in helpers.get(target or "", ()):
                    for rule, view, hmod, methods, obj in self._bind(h, c, hm, m):
                        found = owner_prefixes(m, obj, None, False, c["fn"])
                        handler = u.resolve_name(resolver, facts, hmod, view[0])
                        if found is None or handler is None:
                            continue
                        if methods is None and view[1]:
                            methods = self._class_methods(handler, facts, resolver)
                        self._add(
                            graph,
                            resolver,
                            m,
                            mf.file,
                            c["line"],
                            found,
                            rule,
                            methods or ["GET"],
                            handler,
                        )

    @staticmethod
    def _factory_prefixes(
        items: list[tuple[str, ModuleFacts, Any]],
        facts: dict[str, ModuleFacts],
        resolver: Any,
        objs: dict[str, dict[str, Any]],
    ) -> None:
        """Blueprints a factory makes with ``url_prefix`` from a parameter: the literal
        prefixes its calls pass become the blueprint's own (``objs[key]["prefixes"]``)."""
        factories = {
            f"{m}:{o['fn']}": (f"{m}:{o['fn']}/{o['var']}", o)
            for m, _, data in items
            for o in data["objects"]
            if "prefix_param" in o
        }
        if not factories:
            return
        found: dict[str, set[str]] = defaultdict(set)
        done: set[tuple[str, int]] = set()  # calls whose registration was read
        for m, _, data in items:  # ``app.register_blueprint(make_bp(...), url_prefix=...)``
            for r in data["registrations"]:
                c = r.get("made")
                target = factories.get(u.resolve_name(resolver, facts, m, c and c["func"]) or "")
                if target is None or target[0] not in objs:
                    continue
                done.add((m, c["at"]))
                own = _factory_prefix(target, c)
                prefix = r["prefix"] if r["has_prefix"] else own  # Flask: it replaces its own
                if prefix is not None:
                    found[target[0]].add(prefix)
        for m, _, data in items:
            for c in data.get("calls", ()):
                target = factories.get(u.resolve_name(resolver, facts, m, c["func"]) or "")
                if target is None or target[0] not in objs or (m, c["line"]) in done:
                    continue
                prefix = _factory_prefix(target, c)
                if prefix is not None:
                    found[target[0]].add(prefix)
        for key, values in found.items():
            objs[key]["prefixes"] = sorted(values)

    @staticmethod
    def _bind(
        helper: dict[str, Any], call: FlaskCall, helper_module: str, call_module: str
    ) -> list[tuple]:
        """The registrations one call of a helper makes: (rule, (view name, as_view), module
        the view name is read in, methods or None, name of the app/blueprint object)."""
        params, kwonly = helper["params"], helper["kwonly"]
        bound: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        if not call["star"]:  # ``f(*args)`` hides which parameter gets what
            bound.update(zip(params, call["pos"], strict=False))
        for key, value in call["kw"].items():
            (bound if key in params or key in kwonly else extra)[key] = value
        obj = bound.get(helper["obj"])
        if not obj or "name" not in obj:
            return []
        spec = helper["rule"]
        if "index" in spec or "index" in helper["view"]:
            return FlaskPlugin._bind_rows(helper, bound, call_module, obj["name"])
        if "literal" in spec:
            rules = [spec["literal"]]
        else:
            value = bound.get(spec["param"])
            if not value or "str" not in value or value["seq"] != bool(spec.get("iter")):
                return []
            rules = value["str"]
        spec = helper["view"]
        if "param" in spec:
            value, module = bound.get(spec["param"]), call_module
        else:
            value, module = spec, helper_module
        if not value or not ("name" in value or "as_view" in value):
            return []
        view = (value["as_view"], True) if "as_view" in value else (value["name"], False)
        methods = helper["methods"]
        if isinstance(methods, dict):
            value = bound.get(methods["param"])
            methods = (
                sorted({x.upper() for x in value["str"]}) if value and "str" in value else None
            )
        elif methods is None and helper["kwargs"] and extra.get("methods"):
            methods = sorted({x.upper() for x in extra["methods"].get("str") or []}) or None
        return [(rule, view, module, methods, obj["name"]) for rule in rules]

    @staticmethod
    def _bind_rows(
        helper: dict[str, Any], bound: dict[str, Any], call_module: str, obj: str
    ) -> list[tuple]:
        """Registrations of a helper that loops over a table of rows
        (``for rule, view in table: bp.add_url_rule(rule, view_func=view.as_view(...))``)
        for a call that passes the table: one per row."""
        rule_spec, view_spec = helper["rule"], helper["view"]
        if rule_spec.get("param") != view_spec.get("param") or not (
            "index" in rule_spec and "index" in view_spec
        ):
            return []
        table = bound.get(rule_spec["param"])
        if not table or "rows" not in table:
            return []
        methods = helper["methods"] if isinstance(helper["methods"], list) else None
        out: list[tuple[str, tuple[str, bool], str, list[str] | None, str]] = []
        for row in table["rows"]:
            if max(rule_spec["index"], view_spec["index"]) >= len(row):
                continue
            rule, view = row[rule_spec["index"]], row[view_spec["index"]]
            if not _is_rule(rule) or not view or not ("name" in view or "as_view" in view):
                continue
            name = view.get("as_view") or view["name"]
            as_view = "as_view" in view or bool(view_spec.get("as_view"))
            out.extend((r, (name, as_view), call_module, methods, obj) for r in rule["str"])
        return out

    @staticmethod
    def _handler(module: str, func: str, line: int, resolver: Any, graph: DependencyGraph) -> str:
        node = f"{module}:{func}"
        return node if node in graph.g else resolver.owner_of_line(module, line)

    def _class_methods(
        self, handler: str, facts: dict[str, ModuleFacts], resolver: Any = None
    ) -> list[str] | None:
        """HTTP verbs of a class-based view: every verb method along its bases (as a
        ``MethodView`` has them), else what the view class itself declares."""
        module, _, cls = handler.partition(":")
        data = facts[module].framework.get(self.name) if module in facts else None
        own = (data or {}).get("views", {}).get(cls)
        inherited = class_verbs(handler, facts, resolver) if resolver is not None else None
        return inherited or own

    def _add(
        self,
        graph: DependencyGraph,
        resolver: Any,
        module: str,
        file: str,
        line: int,
        found: tuple[str | None, list[str | None]],
        rule: str,
        methods: list[str],
        handler: str,
    ) -> None:
        owner, prefixes = found
        source = owner or resolver.owner_of_line(module, line)
        u.add_edge(graph, source, handler, "route", u.evidence(file, line))
        for prefix in prefixes:
            path = u.join_path(prefix, rule) or "/"
            for method in methods:
                graph.routes.append(Route(method, path, handler, self.name, file, line))
                graph.entry_points.append(
                    EntryPoint("route", f"{method} {path}", handler, file, line)
                )
