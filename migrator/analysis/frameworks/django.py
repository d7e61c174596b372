"""Django: apps, URL confs, views, models, relations, ``get_model``, signals, ORM access.

* Apps: ``INSTALLED_APPS`` (module-level list/tuple, ``+=`` too) in any settings module, entries
  as packages or ``AppConfig`` paths; an ``AppConfig``'s ``name``/``label`` give the app label
  (default: last component of the package). Models outside any listed app take the package that
  holds their ``models`` module as app.
* URLs: ``urlpatterns`` (and any other module-level list of ``path``/``re_path``/``url`` calls)
  with ``include("app.urls")``, ``include(module)``, ``include((patterns, "ns"))``,
  ``include(local_list)`` and inline ``include([...])``; prefixes are concatenated from the root
  URL conf (``ROOT_URLCONF`` when a settings module names it, otherwise every URL conf that no
  other includes). ``re_path`` regexes keep their text without ``^``/``$`` anchors. Views are
  functions (``views.index``), ``View.as_view()`` classes, dotted strings, or one wrapping call
  (``csrf_exempt(view)``). Methods come from ``require_GET``/``require_POST``/``require_safe``/
  ``require_http_methods([...])`` or the verbs a class-based view defines (generic display views
  GET, edit views GET and POST); otherwise the route accepts ``ANY`` method.
* DRF routers: ``router = DefaultRouter()`` / ``routers.SimpleRouter(trailing_slash=False)`` /
  ``NestedSimpleRouter(parent, "users", lookup="user")`` at module level,
  ``router.register("users", UserViewSet)``, reached through ``include(router.urls)`` or
  ``urlpatterns += router.urls`` / ``urlpatterns = router.urls``. Each registered viewset
  (handler ``module:Class``) gets the routes DRF's ``SimpleRouter`` builds: list ``users/``
  (list GET, create POST), detail ``users/<pk>/`` (retrieve GET, update PUT, partial_update
  PATCH, destroy DELETE; ``<lookup_url_kwarg or lookup_field>``, written like a Django path
  converter), ``@action(detail=..., methods=[...], url_path=...)`` extras. Actions come from
  ``ModelViewSet``/``ReadOnlyModelViewSet``, the ``mixins.*ModelMixin`` bases and the methods
  the class (or a project base class) defines. The route file/line is the ``register`` call;
  the ``route`` edge starts at the URL list that includes the router. DefaultRouter's API root
  view and format-suffix patterns are left out (no project handler).
* URL registries: ``get_urls()`` methods and functions, expanded through ``url()`` wrappers
  and helpers that build patterns with ``%`` formatting (see ``_urlfuncs``), rooted at ``/``.
  A ``get_urls`` method reading ``self.<attribute>`` runs once per class that inherits it, with
  that class's string attributes (``url_prefix = "^taxes"``) along its bases.
* Models: subclasses of ``models.Model`` (through other models, add-on bases such as
  ``parler``/``polymorphic``/``mptt`` ``*Model`` classes, treebeard nodes and
  ``six.with_metaclass(...)`` too); models a project function builds with ``type(name,
  (ModelBase,), ...)`` bound to a module-level name (table from that name); django-parler's
  ``<table>_translation`` for ``TranslatedFields``; ``managed = False`` models have no table;
  an AppConfig's ``label`` counts even when no settings module lists it. Table = ``Meta.db_table`` or
  ``<app_label>_<classname lower>``; abstract models have none, proxy models share their
  parent's. ``ForeignKey``/``OneToOneField``/``ManyToManyField`` to a class, ``"app.Model"``,
  ``"Model"`` (same app), ``"self"`` or ``settings.AUTH_USER_MODEL`` -> ``orm`` edge model ->
  model and ``Table.foreign_keys`` of every concrete model's table (relations declared on
  abstract ancestors included: Django copies them into the subclass). A ``ManyToManyField``
  without ``through=`` has an implicit join table, registered as ``Table(model=None)`` (like an
  SQLAlchemy association ``Table``: no class maps it, and ``model`` is what extraction uses to
  name a class's table) named ``db_table=`` or ``<owner's table>_<field>`` (Django's rule; not
  truncated to the backend's name limit), with foreign keys to both sides; with ``through=``
  the through model's own table holds them. Model classes inside module-level ``if`` blocks
  (django-oscar's ``if not is_model_registered(...)``) count too.
* ``apps.get_model("app", "Model")`` / ``get_model("app.Model")`` -> ``dynamic`` edge from the
  calling top-level symbol to the model.
* Signals: ``@receiver(signal, sender=Model)`` and ``signal.connect(handler, sender=Model)`` ->
  ``EntryPoint(kind="signal", name="signal:Sender")`` (``.connect`` only on Django's signals:
  imported from ``django.*signals`` or a ``Signal()`` the project defines) and a ``signal`` edge **from the sender
  model to the handler** (saving the model runs the handler); ``custom_signal.send(...)`` gives a
  ``signal`` edge from the sending symbol to every handler connected to that signal.
* Access: ``Model.objects.<...>`` chains, ``get_object_or_404(Model, ...)`` and the
  ``model = M`` / ``queryset = M.objects...`` of class-based views and DRF views are reads (also
  writes for create/update/delete views and ``ModelViewSet``; a ``ModelForm``, or any form on
  a base named ``*ModelForm``, writes its ``Meta.model``), writes when a method of the chain is
  ``create``/``update``/``delete``/``get_or_create``/``update_or_create``/``bulk_create``/
  ``bulk_update``; ``x = Model(...)``, ``x = Model.objects.get(...)`` or
``x = get_object_or_404(Model, ...)`` then ``x.save()`` /
  ``x.delete()`` in the same function are writes -> ``table`` edge **accessor -> model** and
  ``Table.readers``/``writers``. Related-manager calls ``x.<name>.add/set/remove/clear/create``
  (writes) and ``.all/filter/exclude/count/...`` (reads), where ``<name>`` is a many-to-many
  field, its ``related_name`` or ``<model>_set``, are accesses of that join table (``table``
  edge accessor -> owning model) when exactly one join table has that manager name (the
  receiver's type is unknown, so this is a name match).
  Managers other than ``objects`` count when the model (or a model it derives from) declares
  them: ``published = PublishedManager()``, ``Manager.from_queryset(QS)()``,
  ``QS.as_manager()``; ``Model.published.filter(...)`` reads, ``.create(...)`` writes, and
  ``_default_manager``/``_base_manager`` are managers of every model. Instances are also known
  from a parameter annotated with a model (``def f(post: Post): post.save()``) and from
  ``for x in Model.objects...``. The user model: ``get_user_model()`` (called in place, or bound
  to a name, in the module or imported from another) and ``settings.AUTH_USER_MODEL`` stand
  for the model ``AUTH_USER_MODEL`` names in the settings.

Routes give ``Route`` + ``EntryPoint(kind="route")`` and a ``route`` edge **from the URL conf
variable (``app.urls:urlpatterns``) that lists the rule to the view**.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict, cast

from migrator.analysis.facts import ModuleFacts
from migrator.analysis.frameworks import _urlfuncs
from migrator.analysis.frameworks import _util as u
from migrator.analysis.lazy import cst
from migrator.graph import DependencyGraph, EntryPoint, Route, Table

_PATH_FUNCS = ("path", "re_path", "url")
_RELATIONS = (
    "ForeignKey",
    "OneToOneField",
    "ManyToManyField",
    "ParentalKey",
    "ParentalManyToManyField",
)
_WRITES = (
    "create",
    "update",
    "delete",
    "get_or_create",
    "update_or_create",
    "bulk_create",
    "bulk_update",
)
_INSTANCE_WRITES = ("save", "delete")
_SIGNAL_CLASSES = ("Signal", "ModelSignal")  # ``django.dispatch`` / ``django.db.models.signals``
_BUILTIN_MANAGERS = frozenset({"_default_manager", "_base_manager"})
_USER_MODEL = "settings.AUTH_USER_MODEL"  # what ``get_user_model()`` stands for
_REQUIRE = {"require_GET": ["GET"], "require_POST": ["POST"], "require_safe": ["GET", "HEAD"]}
_GENERIC_VIEWS = {
    "TemplateView": ["GET"],
    "ListView": ["GET"],
    "DetailView": ["GET"],
    "RedirectView": ["GET"],
    "ArchiveIndexView": ["GET"],
    "FormView": ["GET", "POST"],
    "CreateView": ["GET", "POST"],
    "UpdateView": ["GET", "POST"],
    "DeleteView": ["GET", "POST"],
    "LoginView": ["GET", "POST"],
    "LogoutView": ["POST"],
}
# generic views and DRF classes that create, change or delete the objects of their model
_EDIT_BASES = {
    "CreateView",
    "UpdateView",
    "DeleteView",
    "ModelViewSet",
    "CreateAPIView",
    "UpdateAPIView",
    "DestroyAPIView",
    "ListCreateAPIView",
    "RetrieveUpdateAPIView",
    "RetrieveDestroyAPIView",
    "RetrieveUpdateDestroyAPIView",
}
# DRF: the standard viewset actions, the route (list or detail) and method each one serves
_ACTION_ROUTES = {
    "list": ("list", "GET"),
    "create": ("list", "POST"),
    "retrieve": ("detail", "GET"),
    "update": ("detail", "PUT"),
    "partial_update": ("detail", "PATCH"),
    "destroy": ("detail", "DELETE"),
}
# DRF classes (last name) and the actions they bring
_DRF_ACTIONS = {
    "ModelViewSet": ("list", "create", "retrieve", "update", "partial_update", "destroy"),
    "ReadOnlyModelViewSet": ("list", "retrieve"),
    "ListModelMixin": ("list",),
    "CreateModelMixin": ("create",),
    "RetrieveModelMixin": ("retrieve",),
    "UpdateModelMixin": ("update", "partial_update"),
    "DestroyModelMixin": ("destroy",),
}
_SHORTCUTS = ("get_object_or_404", "get_list_or_404")  # shortcut(Model, ...): a read
# calls on a related manager (``post.tags.add(t)``): writes and reads of a many-to-many table
_M2M_WRITES = ("add", "set", "remove", "clear", "create")
_M2M_READS = (
    "all",
    "filter",
    "exclude",
    "count",
    "exists",
    "values",
    "values_list",
    "order_by",
    "first",
    "last",
)
_ADDON_MODEL_BASES = {
    "treebeard.mp_tree.MP_Node",
    "treebeard.ns_tree.NS_Node",
    "treebeard.al_tree.AL_Node",
}
_MODEL_BASES = {
    "django.db.models.Model",
    "django.db.models.base.Model",
    "django.contrib.auth.models.AbstractUser",
    "django.contrib.auth.models.AbstractBaseUser",
    "django.contrib.auth.base_user.AbstractBaseUser",
    "django.contrib.auth.models.User",
}


class DjSignal(TypedDict, total=False):
    """A receiver: ``@receiver(signal, sender=...)`` on ``handler`` or ``signal.connect(...)``."""

    signal: str
    handler: str
    decorated: bool
    sender: str | None  # a name
    sender_str: str | None  # an ``"app.Model"`` string
    line: int


class DjSend(TypedDict, total=False):
    signal: str
    line: int


class DjGetModel(TypedDict, total=False):
    """``apps.get_model("app", "Model")`` / ``get_model("app.Model")``."""

    app: str
    model: str
    line: int


class DjAccess(TypedDict, total=False):
    """An ORM read or write of ``target`` (a model as written), through ``manager`` when it is
    not ``objects``."""

    target: str
    op: str  # "read" | "write"
    manager: str
    line: int


class DjM2MOp(TypedDict, total=False):
    """``x.<attr>.add(...)``/``.all()``...: a related manager's read or write."""

    attr: str
    op: str
    line: int


class DjRegister(TypedDict, total=False):
    """``router.register(prefix, ViewSet)`` at module level."""

    router: str
    prefix: str | None
    viewset: str
    line: int


class _DjangoShape(TypedDict):
    installed_apps: list[str] | None  # ``INSTALLED_APPS`` of a settings module
    settings: dict[str, str]  # other string settings (``AUTH_USER_MODEL``, ``ROOT_URLCONF``)
    app_configs: list[dict[str, Any]]
    urls: dict[str, list[dict[str, Any]]]  # URL list variable -> its entries
    models: list[dict[str, Any]]
    views: dict[str, list[str] | None]  # view function or class -> its HTTP methods
    get_model: list[DjGetModel]
    signals: list[DjSignal]  # receivers
    sends: list[DjSend]
    access: list[DjAccess]  # ORM reads and writes
    routers: dict[str, dict[str, Any]]  # DRF router variable -> its kind
    registers: list[DjRegister]  # ``router.register(...)``
    viewsets: dict[str, dict[str, Any]]
    m2m_ops: list[DjM2MOp]


class DjangoFacts(_DjangoShape, total=False):
    """What ``collect`` keeps of one module (version: ``DjangoPlugin.facts_version``); the
    items of the URL, model, app-config, router and viewset facts are plain dicts described
    where they are made."""

    factories: dict[str, list[str]]  # functions that make model classes -> bases they use
    made: list[dict[str, Any]]  # ``Model = factory(...)`` at module level
    url_funcs: dict[str, _urlfuncs.UrlFunc]  # functions and ``Cls.get_urls`` making URLs
    signal_defs: dict[str, str]  # ``x = Signal()`` -> the factory as written
    class_attrs: dict[str, dict[str, str]]  # class -> its string attributes
    user_names: list[str]  # module-level names bound to ``get_user_model()``


class DjangoPlugin:
    """See the module docstring."""

    name = "django"
    facts_version = 2
    markers = (
        "django",
        "INSTALLED_APPS",
        "urlpatterns",
        ".objects",
        "._default_manager",
        "._base_manager",
        "get_model",
        "@receiver",
        ".connect(",
        "AppConfig",
        "get_object_or_404",
        "rest_framework",
        "ViewSet",
        "Router(",
        "is_model_registered",
        "def get_urls",
        "def get_url_patterns",
    )

    # -- worker half ---------------------------------------------------------------------------
    def collect(
        self, tree: cst.Module, module: str, file: str, ctx: u.WalkContext | None = None
    ) -> DjangoFacts | None:
        lines = u.Lines(tree, ctx)
        data: DjangoFacts = {
            "installed_apps": None,
            "settings": {},
            "app_configs": [],
            "urls": {},
            "models": [],
            "views": {},
            "get_model": [],
            "signals": [],
            "sends": [],
            "access": [],
            "routers": {},
            "registers": [],
            "viewsets": {},
            "m2m_ops": [],
        }
        pending: list[tuple[dict[str, Any], cst.CSTNode]] = []  # dicts that need a "line"

        def later(node: cst.CSTNode, item: dict[str, Any]) -> dict[str, Any]:
            pending.append((item, lines.want(node)))
            return item

        # module level: settings, URL lists, classes
        for stmt in tree.body:
            self._top_level(stmt, data, later)
        # everywhere: get_model, signals, ORM access
        self._calls(tree, data, later, ctx)
        for item, node in pending:
            item["line"] = lines.of(node)
        if not any(data.values()):
            return None
        for found in (
            data["get_model"],
            data["signals"],
            data["sends"],
            data["access"],
            data["app_configs"],
            data["models"],
            data["registers"],
            data["m2m_ops"],
        ):
            found.sort(key=lambda d: (d["line"], repr(sorted(d.items()))))
        return data

    def _top_level(self, stmt: cst.CSTNode, data: DjangoFacts, later: Any) -> None:
        tp = type(stmt)
        if tp is cst.If:  # ``if not is_model_registered(...): class M(...)``
            branch: Any = stmt
            while type(branch) in (cst.If, cst.Else):
                for inner in branch.body.body:
                    self._top_level(inner, data, later)
                branch = branch.orelse if type(branch) is cst.If else None
            return
        if type(stmt) is cst.ClassDef:
            self._class(stmt, data, later)
            return
        if type(stmt) is cst.FunctionDef:
            methods = self._func_methods(stmt)
            if methods:
                data["views"][stmt.name.value] = methods
            self._url_func(stmt, stmt.name.value, data, later)
            bases = _factory_bases(stmt)
            if bases:
                data.setdefault("factories", {})[stmt.name.value] = bases
            return
        for small in u.small_statements([stmt]):
            if isinstance(small, cst.Expr):
                self._register(small.value, data, later)
                continue
            value: cst.CSTNode | None
            if (
                isinstance(small, cst.AugAssign)
                and isinstance(small.target, cst.Name)
                and isinstance(small.operator, cst.AddAssign)
            ):
                names, value, extend = [small.target.value], small.value, True
            else:
                (names, value), extend = u.assign_targets(small), False
            if not names or value is None:
                continue
            factory = u.callee(value)
            if factory and u.last(factory) in _SIGNAL_CLASSES:  # ``order_placed = Signal()``
                defs = data.setdefault("signal_defs", {})
                defs.update((n, factory) for n in names)
                continue
            router = _router_call(value)
            if router is not None:
                data["routers"].update((n, router) for n in names)
                continue
            made = _factory_call(value)  # ``AttributeLogEntry = define_log_model(Attribute)``
            if made is not None and names[0][:1].isupper():
                data.setdefault("made", []).append(later(small, dict(made, var=names[0])))
            for name in names:
                if name == "INSTALLED_APPS":
                    apps = self._strings_of(value)
                    if apps is not None:
                        old = data["installed_apps"] if extend and data["installed_apps"] else []
                        data["installed_apps"] = old + apps
                elif name in ("AUTH_USER_MODEL", "ROOT_URLCONF"):
                    text = u.string(value)
                    if text:
                        data["settings"][name] = text
                else:
                    entries = self._url_list(value, later)
                    if entries:
                        before = data["urls"].get(name, []) if extend else []
                        data["urls"][name] = before + entries

    @staticmethod
    def _register(call: cst.CSTNode, data: DjangoFacts, later: Any) -> None:
        """``router.register("users", UserViewSet, basename=...)`` at module level."""
        if (
            type(call) is not cst.Call
            or type(call.func) is not cst.Attribute
            or call.func.attr.value != "register"
        ):
            return
        router = u.dotted(call.func.value)
        prefix = u.string(u.arg(call, 0, "prefix"))
        viewset = u.dotted(u.arg(call, 1, "viewset"))
        if router and prefix is not None and viewset:
            data["registers"].append(
                later(call, {"router": router, "prefix": prefix, "viewset": viewset})
            )

    @staticmethod
    def _strings_of(value: cst.CSTNode) -> list[str] | None:
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
            left = DjangoPlugin._strings_of(value.left) or []
            right = DjangoPlugin._strings_of(value.right) or []
            return left + right
        if isinstance(value, (cst.List, cst.Tuple)):
            return [s for s in (u.string(el.value) for el in value.elements) if s is not None]
        return None

    def _url_list(self, value: cst.CSTNode, later: Any) -> list[dict[str, Any]]:
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
            return self._url_list(value.left, later) + self._url_list(value.right, later)
        name = u.dotted(value) if isinstance(value, cst.Attribute) else None
        if name and name.endswith(".urls"):  # ``urlpatterns += router.urls``: the parent
            # half includes it when the name resolves to a DRF router
            return [later(value, {"kind": "path", "route": "", "include": {"name": name}})]
        if not isinstance(value, (cst.List, cst.Tuple)):
            return []
        out = []
        for el in value.elements:
            entry = self._url_entry(el.value, later)
            if entry:
                out.append(entry)
        return out

    def _url_entry(self, call: cst.CSTNode, later: Any) -> dict[str, Any] | None:
        kind = u.last(u.callee(call))
        if kind not in _PATH_FUNCS or not isinstance(call, cst.Call):
            return None
        route = u.string(u.arg(call, 0, "route" if kind == "path" else "regex"))
        view = u.arg(call, 1, "view")
        if route is None and isinstance(view, cst.Call) and u.last(u.callee(view)) == "include":
            route = ""  # ``path(settings.BASE_PATH, include(...))``: a prefix set at deploy time
        if route is None or view is None:
            return None
        entry: dict[str, Any] = {"kind": "path" if kind == "path" else "re_path", "route": route}
        if isinstance(view, cst.Call) and u.last(u.callee(view)) == "include":
            target = u.arg(view, 0, "arg")
            if isinstance(target, cst.Tuple) and target.elements:
                target = target.elements[0].value
            text = u.string(target)
            if text is not None:
                entry["include"] = {"module": text}
            elif isinstance(target, (cst.List, cst.Tuple)):
                entry["include"] = {"inline": self._url_list(target, later)}
            elif u.dotted(target):
                entry["include"] = {"name": u.dotted(target)}
            else:
                return None
            return later(call, entry)
        if isinstance(view, cst.Call):
            name = u.callee(view)
            if name and name.endswith(".as_view"):
                entry.update(view=name[: -len(".as_view")], as_view=True)
            elif view.args:  # a wrapper: csrf_exempt(views.hook), login_required(...)
                inner = view.args[0].value
                inner_name = u.callee(inner)
                if inner_name and inner_name.endswith(".as_view"):
                    entry.update(view=inner_name[: -len(".as_view")], as_view=True)
                elif u.dotted(inner):
                    entry.update(view=u.dotted(inner), as_view=False)
        elif u.string(view):
            entry.update(view=u.string(view), as_view=False, string=True)
        elif u.dotted(view):
            entry.update(view=u.dotted(view), as_view=False)
        if "view" not in entry:
            return None
        return later(call, entry)

    def _bound_model(
        self, node: cst.ClassDef, body: Any, writes: bool, data: DjangoFacts, later: Any
    ) -> None:
        """``model = M`` / ``queryset = M.objects...`` of a generic view, viewset or form's
        Meta: a read of M, and a write when the class creates, edits or deletes."""
        for small in u.small_statements(body):
            names, value = u.assign_targets(small)
            model = None
            if "model" in names:
                model = u.dotted(value)
            elif "queryset" in names and value is not None:
                root = self._objects_root(value)
                model = _receiver(root.value) if root is not None else None
            if model:
                data["access"].append(later(node.name, {"target": model, "op": "read"}))
                if writes:
                    data["access"].append(later(node.name, {"target": model, "op": "write"}))

    @staticmethod
    def _func_methods(node: cst.FunctionDef) -> list[str] | None:
        for dec in node.decorators:
            name, call = u.decorator_call(dec)
            last = u.last(name)
            if last in _REQUIRE:
                return _REQUIRE[last]
            if last == "require_http_methods" and call is not None:
                values = u.strings(u.arg(call, 0, "request_method_list"))
                if values:
                    return sorted({v.upper() for v in values})
        return None

    @staticmethod
    def _url_func(func: cst.FunctionDef, key: str, data: DjangoFacts, later: Any) -> None:
        """A function (or ``Class.get_urls`` method) that makes URL patterns: a registry
        (named like ``get_urls``) or a factory whose patterns come from its parameters."""
        registry = func.name.value in _urlfuncs.REGISTRY_METHODS
        if not registry and not (func.params.params and _urlfuncs.returns_built(func)):
            return
        desc = _urlfuncs.describe(func)
        if desc is None:
            return
        if not registry and not any(
            "p" in t and t["p"] in desc["params"] or "fmt" in t or "cat" in t
            for c in desc["calls"]
            for t in (*c["pos"], *c["kw"].values())
            if t
        ):
            return
        data.setdefault("url_funcs", {})[key] = later(func.name, dict(desc, registry=registry))

    def _class(self, node: cst.ClassDef, data: DjangoFacts, later: Any) -> None:
        for stmt in node.body.body:
            if type(stmt) is cst.FunctionDef and stmt.name.value in _urlfuncs.REGISTRY_METHODS:
                self._url_func(stmt, f"{node.name.value}.{stmt.name.value}", data, later)
        bases: list[str] = []
        for b in node.bases:
            if isinstance(b.value, cst.Call) and u.last(u.callee(b.value)) == "with_metaclass":
                # ``six.with_metaclass(Meta, Base1, Base2)``: the bases after the metaclass
                bases.extend(d for d in (u.dotted(a.value) for a in b.value.args[1:]) if d)
            elif base := u.dotted(b.value):
                bases.append(base)
        if not bases:
            return
        name = node.name.value
        attrs: dict[str, str] = {}  # string attributes, which an inherited ``get_urls`` may read
        for small in u.small_statements(node.body):
            names, value = u.assign_targets(small)
            text = u.string(value) if names else None
            if text is not None:
                attrs.update((n, text) for n in names)
        if attrs:
            data.setdefault("class_attrs", {})[name] = attrs
        lasts = [u.last(b) for b in bases]
        viewset = _viewset_info(node, bases)
        if viewset is not None:
            data["viewsets"][name] = viewset
        verbs = sorted(
            {
                s.name.value.upper()
                for s in node.body.body
                if isinstance(s, cst.FunctionDef) and s.name.value in u.HTTP_METHODS
            }
        )
        if any(b and b.endswith(("View", "ViewSet", "APIView")) for b in lasts):
            generic = sorted({m for b in lasts for m in _GENERIC_VIEWS.get(b or "", [])})
            data["views"][name] = sorted(set(verbs) | set(generic)) or None
            self._bound_model(node, node.body, any(b in _EDIT_BASES for b in lasts), data, later)
            return
        if any(b and b.endswith("ModelForm") for b in lasts):  # saving writes its Meta.model
            for stmt in node.body.body:
                if isinstance(stmt, cst.ClassDef) and stmt.name.value == "Meta":
                    self._bound_model(node, stmt.body, True, data, later)
            return
        if "AppConfig" in lasts:
            config: dict[str, Any] = {"cls": name, "name": None, "label": None}
            for small in u.small_statements(node.body):
                names, value = u.assign_targets(small)
                for key in ("name", "label"):
                    if key in names:
                        config[key] = u.string(value)
                if "name" in names and u.dotted(value) == "__name__":
                    config["name_is_module"] = True  # ``name = __name__`` in the package
            data["app_configs"].append(later(node.name, config))
            return
        # every other class with a base may be a model (through a base defined elsewhere):
        # the parent half decides, from what the bases resolve to
        meta: dict[str, Any] = {}
        fields: list[dict[str, Any]] = []
        managers: list[str] = []
        for stmt in node.body.body:
            if isinstance(stmt, cst.ClassDef) and stmt.name.value == "Meta":
                for small in u.small_statements(stmt.body):
                    names, value = u.assign_targets(small)
                    for key in ("db_table", "app_label"):
                        if key in names:
                            meta[key] = u.string(value)
                    for key in ("abstract", "proxy"):
                        if key in names:
                            meta[key] = u.dotted(value) == "True"
                    if "managed" in names and u.dotted(value) == "False":
                        meta["unmanaged"] = True  # no table of its own
            for small in u.small_statements([stmt]):
                names, value = u.assign_targets(small)
                if names and _is_manager(value):
                    managers.extend(names)
                kind = u.last(u.callee(value)) if value is not None else None
                if not names or not kind:
                    continue
                if kind == "TranslatedFields":  # django-parler: a <table>_translation table
                    meta["translated"] = True
                if kind in _RELATIONS and isinstance(value, cst.Call):
                    target = u.arg(value, 0, "to")
                    field = {
                        "field": names[0],
                        "kind": kind,
                        "target": u.string(target),
                        "string": True,
                        "through": u.string(u.arg(value, -1, "through"))
                        or u.dotted(u.arg(value, -1, "through")),
                    }
                    if field["target"] is None:
                        field.update(target=u.dotted(target), string=False)
                    if kind.endswith("ManyToManyField"):
                        field.update(
                            db_table=u.string(u.arg(value, -1, "db_table")),
                            related_name=u.string(u.arg(value, -1, "related_name")),
                        )
                    if field["target"]:
                        fields.append(later(value, field))
        model = {"name": name, "bases": bases, "meta": meta, "fields": fields}
        if managers:
            model["managers"] = sorted(set(managers) - {"objects"})
        data["models"].append(later(node.name, model))

    def _calls(
        self, tree: cst.Module, data: DjangoFacts, later: Any, ctx: u.WalkContext | None
    ) -> None:
        var_models: dict[tuple[int, str], str] = {}
        instance_calls: list[tuple[cst.CSTNode, Any, str]] = []
        objects_nodes: dict[int, tuple[cst.CSTNode, str]] = {}
        written: set[int] = set()
        managed: dict[int, tuple[cst.Attribute, str]] = {}  # ``Model.<name>`` call receivers
        # this loop visits every node of most files of a Django project: exact types, bound once
        attribute_t, call_t, name_t = cst.Attribute, cst.Call, cst.Name
        assigns = (cst.Assign, cst.AnnAssign)
        param_t, for_t = cst.Param, cst.For
        for node, scope in u.walk(tree, ctx=ctx):
            tp = type(node)
            if tp is attribute_t:
                node = cast(cst.Attribute, node)
                if node.attr.value == "objects":
                    base = _receiver(node.value)
                    if base:
                        objects_nodes[id(node)] = (node, base)
            elif tp in assigns:
                names, value = u.assign_targets(node)
                if _is_user_model_call(value):  # ``User = get_user_model()``
                    data.setdefault("user_names", []).extend(names)
                model = self._model_of(value) if scope is not None else None
                if model:
                    var_models.update(((id(scope), var), model) for var in names)
            elif tp is param_t and scope is not None:
                node = cast(cst.Param, node)
                if node.annotation is not None:
                    model = _annotated_model(node.annotation.annotation)
                    if model:  # ``def f(post: Post)``
                        var_models[(id(scope), node.name.value)] = model
            elif tp is for_t and scope is not None:
                node = cast(cst.For, node)
                if type(node.target) is cst.Name:
                    model = self._model_of(node.iter)
                    if model:  # ``for post in Post.objects.filter(...)``
                        var_models[(id(scope), node.target.value)] = model
            elif tp is cst.FunctionDef:
                node = cast(cst.FunctionDef, node)
                for dec in node.decorators:
                    name, call = u.decorator_call(dec)
                    if u.last(name) == "receiver" and call is not None and call.args:
                        sigs = call.args[0].value
                        sig_names = (
                            [u.dotted(el.value) for el in sigs.elements]
                            if isinstance(sigs, (cst.List, cst.Tuple))
                            else [u.dotted(sigs)]
                        )
                        sender = self._sender(call)
                        for sig in filter(None, sig_names):
                            data["signals"].append(
                                later(
                                    dec.decorator,
                                    {
                                        "signal": sig,
                                        "handler": node.name.value,
                                        "decorated": True,
                                        **sender,
                                    },
                                )
                            )
            if tp is not call_t:
                continue
            node = cast(cst.Call, node)
            func = node.func
            ftype = type(func)
            tail = (
                cast(cst.Attribute, func).attr.value
                if ftype is attribute_t
                else cast(cst.Name, func).value
                if ftype is name_t
                else None
            )
            if tail in _SHORTCUTS:
                shortcut = self._shortcut_model(node)
                if shortcut:
                    data["access"].append(later(node, {"target": shortcut, "op": "read"}))
            if ftype is not attribute_t:
                if tail == "get_model":
                    self._get_model(node, data, later)
                continue
            func = cast(cst.Attribute, func)
            attr = func.attr.value
            recv = func.value
            if type(recv) is cst.Attribute and recv.attr.value != "objects":
                base = u.dotted(recv.value)  # ``Post.published.filter(...)``: maybe a manager
                if base and u.capital(base):
                    managed[id(recv)] = (recv, base)
            if (
                (attr in _M2M_WRITES or attr in _M2M_READS)
                and type(func.value) is cst.Attribute
                and func.value.attr.value != "objects"
            ):
                data["m2m_ops"].append(
                    later(
                        node,
                        {
                            "attr": func.value.attr.value,
                            "op": "write" if attr in _M2M_WRITES else "read",
                        },
                    )
                )
            if attr == "get_model":
                self._get_model(node, data, later)
            elif attr == "connect":
                signal = u.dotted(func.value)
                handler = u.dotted(u.arg(node, 0, "receiver"))
                if signal and handler:
                    data["signals"].append(
                        later(
                            node,
                            {
                                "signal": signal,
                                "handler": handler,
                                "decorated": False,
                                **self._sender(node),
                            },
                        )
                    )
            elif attr in ("send", "send_robust"):
                signal = u.dotted(func.value)
                if signal:
                    data["sends"].append(later(node, {"signal": signal}))
            if attr in _WRITES:
                root = self._objects_root(func.value) or _manager_root(func.value)
                if root is not None:
                    written.add(id(root))
                    data["access"].append(later(node, _access(root, "write")))
            if attr in _INSTANCE_WRITES:
                recv = func.value
                model = self._model_of(recv)
                if model and not isinstance(recv, cst.Attribute):
                    data["access"].append(later(node, {"target": model, "op": "write"}))
                elif isinstance(recv, cst.Name):
                    instance_calls.append((node, scope, recv.value))
        for key, (node, base) in objects_nodes.items():
            if key not in written:
                data["access"].append(later(node, {"target": base, "op": "read"}))
        for key, (node, _) in managed.items():
            if key not in written:
                data["access"].append(later(node, _access(node, "read")))
        for node, scope, var in instance_calls:
            model = var_models.get((id(scope), var))
            if model:
                data["access"].append(later(node, {"target": model, "op": "write"}))

    @staticmethod
    def _objects_root(expr: cst.CSTNode) -> cst.Attribute | None:
        """The ``Model.objects`` attribute a manager/queryset chain starts from."""
        node = expr
        while True:
            if type(node) is cst.Call:
                node = node.func
            elif type(node) is cst.Attribute:
                if node.attr.value == "objects" and _receiver(node.value):
                    return node
                node = node.value
            else:
                return None

    def _model_of(self, value: cst.CSTNode | None) -> str | None:
        """``M`` for ``M(...)`` (capitalised callee) or a ``M.objects...`` chain."""
        if value is None:
            return None
        name = u.callee(value)
        if name and u.capital(name):
            return name
        shortcut = self._shortcut_model(value)
        if shortcut:
            return shortcut
        root = self._objects_root(value)
        return _receiver(root.value) if root is not None else None

    @staticmethod
    def _shortcut_model(node: cst.CSTNode) -> str | None:
        """``M`` for ``get_object_or_404(M, ...)`` / ``get_list_or_404(M, ...)``."""
        if type(node) is cst.Call and node.args and u.last(u.callee(node)) in _SHORTCUTS:
            return u.dotted(node.args[0].value)
        return None

    @staticmethod
    def _sender(call: cst.Call) -> dict[str, Any]:
        sender = u.arg(call, -1, "sender")
        return {"sender": u.dotted(sender), "sender_str": u.string(sender)}

    @staticmethod
    def _get_model(call: cst.Call, data: DjangoFacts, later: Any) -> None:
        pos, kw = u.call_args(call)
        app = u.string(kw.get("app_label", pos[0] if pos else None))
        model = u.string(kw.get("model_name", pos[1] if len(pos) > 1 else None))
        if app and model is None and "." in app:
            app, _, model = app.partition(".")
        if app and model:
            data["get_model"].append(later(call, {"app": app, "model": model}))

    # -- parent half ---------------------------------------------------------------------------
    def resolve(self, facts: dict[str, ModuleFacts], resolver: Any, graph: DependencyGraph) -> None:
        items: list[tuple[str, ModuleFacts, DjangoFacts]] = u.sorted_items(facts, self.name)
        if not items:
            return
        apps = self._apps(items, facts)  # package -> label
        settings: dict[str, str] = {}
        for _, _, data in items:
            for key, value in sorted(data["settings"].items()):
                settings.setdefault(key, value)
        models = self._models(items, facts, resolver, apps)
        # Django looks model names up case-insensitively ("blog.post" works)
        by_label = {
            (info["label"], node.split(":", 1)[1].lower()): node
            for node, info in sorted(models.items())
        }
        by_name: dict[str, list[str]] = {}
        for node in sorted(models):
            by_name.setdefault(node.split(":", 1)[1], []).append(node)

        def model_ref(m: str, owner: str | None, target: str, is_string: bool) -> str | None:
            if not is_string:
                if target.endswith("AUTH_USER_MODEL") and "AUTH_USER_MODEL" in settings:
                    return model_ref(m, owner, settings["AUTH_USER_MODEL"], True)
                node = u.resolve_name(resolver, facts, m, target)
                return node if node in models else None
            if target == "self":
                return owner
            if "." in target:
                label, _, cls = target.rpartition(".")
                return by_label.get((label, cls.lower()))
            if owner is not None and (models[owner]["label"], target.lower()) in by_label:
                return by_label[(models[owner]["label"], target.lower())]
            found = by_name.get(target, [])
            return found[0] if len(found) == 1 else None

        # tables
        for node in sorted(models):
            info = models[node]
            table = self._table_of(node, models)
            info["table"] = table
        for node in sorted(models):
            info = models[node]
            if (
                info["table"]
                and not info["meta"].get("proxy")
                and info["table"] not in graph.tables
                and not info["meta"].get("unmanaged")
            ):
                graph.tables[info["table"]] = Table(info["table"], node, info["file"], info["line"])
            if info["table"] and info["meta"].get("translated"):
                # django-parler's translations model: ``<table>_translation``, no class of
                # the project maps it (like a join table)
                name = f"{info['table']}_translation"
                graph.tables.setdefault(
                    name,
                    Table(name, None, info["file"], info["line"], foreign_keys=[info["table"]]),
                )
        self._made_models(items, facts, resolver, graph, models, apps)
        # relations
        for m, mf, data in items:
            for mdl in data["models"]:
                node = f"{m}:{mdl['name']}"
                if node not in models:
                    continue
                for f in mdl["fields"]:
                    target = model_ref(m, node, f["target"], f["string"])
                    if target is None:
                        continue
                    u.add_edge(graph, node, target, "orm", u.evidence(mf.file, f["line"]))
        join_tables = self._table_relations(items, graph, models, model_ref)
        user_vars = {f"{m}:{n}" for m, _, data in items for n in data.get("user_names", ())}
        for m, mf, data in items:
            for g in data["get_model"]:
                target = by_label.get((g["app"], g["model"].lower()))
                source = resolver.owner_of_line(m, g["line"])
                u.add_edge(graph, source, target, "dynamic", u.evidence(mf.file, g["line"]))
            user_names = set(data.get("user_names", ()))
            for a in data["access"]:
                name = a["target"]
                if name.split(".", 1)[0] in user_names:
                    name = _USER_MODEL
                target = model_ref(m, None, name, False)
                if target is None and u.resolve_name(resolver, facts, m, name) in user_vars:
                    target = model_ref(m, None, _USER_MODEL, False)
                if target not in models or not models[target]["table"]:
                    continue
                if "manager" in a and not _declares(models, target, a["manager"]):
                    continue
                known = graph.tables.get(models[target]["table"])
                if known is None:
                    continue
                accessor = resolver.owner_of_line(m, a["line"])
                (known.writers if a["op"] == "write" else known.readers).append(accessor)
                u.add_edge(graph, accessor, target, "table", u.evidence(mf.file, a["line"]))
            for op in data["m2m_ops"]:
                found = join_tables.get(op["attr"], [])
                if len(found) != 1:  # unknown or ambiguous related-manager name
                    continue
                name, owner = found[0]
                accessor = resolver.owner_of_line(m, op["line"])
                joined = graph.tables[name]
                (joined.writers if op["op"] == "write" else joined.readers).append(accessor)
                u.add_edge(graph, accessor, owner, "table", u.evidence(mf.file, op["line"]))
        self._signals(items, facts, resolver, graph, models, model_ref)
        self._routes(items, facts, resolver, graph, settings)

    def _made_models(
        self,
        items: list,
        facts: dict[str, ModuleFacts],
        resolver: Any,
        graph: DependencyGraph,
        models: dict[str, dict[str, Any]],
        apps: dict[str, str],
    ) -> None:
        """Models a project function builds with ``type(name, (ModelBase,), attrs)``, bound at
        module level (``XLogEntry = define_log_model(X)``): a table named after the variable
        (taken as the class name) in the app of the model passed, else of the module."""
        factories = {
            f"{m}:{name}": (m, bases)
            for m, _, data in items
            for name, bases in data.get("factories", {}).items()
        }
        for m, mf, data in items:
            for made in data.get("made", ()):
                func = u.resolve_name(resolver, facts, m, made["func"])
                if func not in factories:
                    continue
                fm, bases = factories[func]
                if not any(u.resolve_name(resolver, facts, fm, b) in models for b in bases):
                    continue
                arg = u.resolve_name(resolver, facts, m, made["arg"])
                label = models[arg]["label"] if arg in models else self._label_of(m, apps)
                name = f"{label}_{made['var'].lower()}"
                graph.tables.setdefault(
                    name, Table(name, f"{m}:{made['var']}", mf.file, made["line"])
                )

    @staticmethod
    def _table_relations(
        items: list, graph: DependencyGraph, models: dict[str, dict[str, Any]], model_ref: Any
    ) -> dict[str, list[tuple[str, str]]]:
        """Foreign keys of every concrete model's table, its own relation fields and those of
        its abstract ancestors (Django copies them into the subclass), and the implicit join
        table of each many-to-many field without ``through``. Returns the related-manager names
        (field name, ``related_name`` or ``<model>_set``) -> [(join table, owning model)]."""
        declared = {
            f"{m}:{mdl['name']}": (m, mf.file, mdl["fields"])
            for m, mf, data in items
            for mdl in data["models"]
        }
        managers: dict[str, list[tuple[str, str]]] = {}
        for node in sorted(models):
            own = models[node]["table"]
            if (
                own not in graph.tables
                or models[node]["meta"].get("abstract")
                or graph.tables[own].model != node
            ):
                continue
            chain, current, seen = [node], models[node]["parent"], {node}
            while (
                current in models
                and models[current]["meta"].get("abstract")
                and current not in seen
            ):
                seen.add(current)
                chain.append(current)
                current = models[current]["parent"]
            for holder in chain:
                m, file, fields = declared[holder]
                for f in fields:
                    target = model_ref(m, node, f["target"], f["string"])
                    ref = models[target]["table"] if target is not None else None
                    many = f["kind"].endswith("ManyToManyField")
                    if not many:
                        if ref:
                            graph.tables[own].foreign_keys.append(ref)
                        continue
                    if f["through"]:
                        continue  # the through model's own table holds the foreign keys
                    name = f.get("db_table") or f"{own}_{f['field']}"
                    if name not in graph.tables:
                        graph.tables[name] = Table(name, None, file, f["line"])
                    # a target outside the project (``settings.AUTH_USER_MODEL``) still
                    # gets its join table
                    graph.tables[name].foreign_keys.extend([own, ref] if ref else [own])
                    related = (
                        (f.get("related_name") or "")
                        .replace("%(class)s", models[node]["name"].lower())
                        .replace("%(app_label)s", models[node]["label"])
                    )
                    for attr in {f["field"], related or f"{models[node]['name'].lower()}_set"}:
                        if not attr.endswith("+"):
                            managers.setdefault(attr, []).append((name, node))
        return {k: sorted(set(v)) for k, v in managers.items()}

    @staticmethod
    def _apps(items: list, facts: dict[str, ModuleFacts]) -> dict[str, str]:
        configs: dict[str, dict[str, Any]] = {}
        for m, _, data in items:
            for c in data["app_configs"]:
                configs[f"{m}.{c['cls']}"] = dict(c, name=m) if c.get("name_is_module") else c
        apps: dict[str, str] = {}
        for _, _, data in items:
            for entry in data["installed_apps"] or []:
                config = configs.get(entry)
                if config is None:  # a package: its apps.py may hold the one AppConfig
                    found = [
                        c
                        for key, c in sorted(configs.items())
                        if key.startswith(f"{entry}.apps.") and c["name"] == entry
                    ]
                    config = found[0] if len(found) == 1 else None
                package = (config or {}).get("name") or entry
                label = (config or {}).get("label") or package.rsplit(".", 1)[-1]
                apps.setdefault(package, label)
        # an AppConfig that no settings module lists (the project's own settings are often
        # outside the analysed tree) still says which label its package's models take
        for _, c in sorted(configs.items()):
            if c["name"] and c["label"]:
                apps.setdefault(c["name"], c["label"])
        return apps

    @staticmethod
    def _label_of(module: str, apps: dict[str, str]) -> str:
        best = max(
            (p for p in apps if module == p or module.startswith(p + ".")), key=len, default=None
        )
        if best is not None:
            return apps[best]
        parts = module.split(".")
        if "models" in parts[1:]:
            return parts[parts.index("models", 1) - 1]
        return parts[-2] if len(parts) > 1 else parts[0]

    def _models(
        self, items: list, facts: dict[str, ModuleFacts], resolver: Any, apps: dict[str, str]
    ) -> dict[str, dict[str, Any]]:
        classes = {f"{m}:{c['name']}": (m, mf, c) for m, mf, data in items for c in data["models"]}
        models: dict[str, dict[str, Any]] = {}
        bases: dict[tuple[str, str], tuple[str | None, str | None]] = {}  # resolved once
        changed = True
        while changed:  # until a pass finds no model: one sorted before its base waits a pass
            changed = False
            for node in sorted(classes):
                if node in models:
                    continue
                m, mf, c = classes[node]
                parent = None
                is_model = False
                for base in c["bases"]:
                    if (m, base) not in bases:
                        bases[(m, base)] = (
                            u.resolve_name(resolver, facts, m, base),
                            resolver.external(m, base),
                        )
                    target, external = bases[(m, base)]
                    if target in models:
                        is_model, parent = True, target
                        break
                    if (
                        external in _MODEL_BASES
                        or _third_party_model(external)
                        or (target is None and external is None and base == "models.Model")
                    ):
                        is_model = True
                        break
                if is_model:
                    label = c["meta"].get("app_label") or self._label_of(m, apps)
                    models[node] = {
                        "label": label,
                        "parent": parent,
                        "meta": c["meta"],
                        "file": mf.file,
                        "line": c["line"],
                        "name": c["name"],
                        "managers": c.get("managers", []),
                    }
                    changed = True
        return models

    @staticmethod
    def _table_of(node: str, models: dict[str, dict[str, Any]]) -> str | None:
        seen = set()
        while node not in seen:
            seen.add(node)
            info = models[node]
            meta = info["meta"]
            if meta.get("abstract"):
                return None
            if meta.get("proxy") and info["parent"]:
                node = info["parent"]
                continue
            return meta.get("db_table") or f"{info['label']}_{info['name'].lower()}"
        return None

    def _signals(
        self,
        items: list,
        facts: dict[str, ModuleFacts],
        resolver: Any,
        graph: DependencyGraph,
        models: dict[str, Any],
        model_ref: Any,
    ) -> None:
        connected: dict[str, list[str]] = {}  # internal signal node -> handlers
        defined = {  # the project's own Django signals: ``x = Signal()`` (not blinker's)
            f"{m}:{var}"
            for m, _, data in items
            for var, factory in data.get("signal_defs", {}).items()
            if (resolver.external(m, factory) or "django.").startswith("django.")
        }
        for m, mf, data in items:
            for s in data["signals"]:
                if not s["decorated"] and not self._is_signal(
                    m, s["signal"], facts, resolver, defined
                ):
                    continue  # ``pool.connect(handler)``: not a signal
                handler = (
                    f"{m}:{s['handler']}"
                    if s["decorated"]
                    else u.resolve_name(resolver, facts, m, s["handler"])
                )
                if s["decorated"] and handler not in graph.g:
                    handler = resolver.owner_of_line(m, s["line"])
                if (
                    handler is None
                    or handler not in graph.g
                    or graph.g.nodes[handler].get("kind") not in ("function", "class")
                ):
                    continue
                sender = None
                if s["sender"]:
                    sender = model_ref(m, None, s["sender"], False)
                elif s["sender_str"]:
                    sender = model_ref(m, None, s["sender_str"], True)
                sender_name = (
                    sender.split(":", 1)[1]
                    if sender
                    else u.last(s["sender"] or s["sender_str"]) or "*"
                )
                signal = u.last(s["signal"])
                where = u.evidence(mf.file, s["line"])
                graph.entry_points.append(
                    EntryPoint("signal", f"{signal}:{sender_name}", handler, mf.file, s["line"])
                )
                u.add_edge(graph, sender, handler, "signal", where)
                node = u.resolve_name(resolver, facts, m, s["signal"])
                if node is not None and ":" in node:
                    connected.setdefault(node, []).append(handler)
        for m, mf, data in items:
            for s in data["sends"]:
                node = u.resolve_name(resolver, facts, m, s["signal"])
                source = resolver.owner_of_line(m, s["line"])
                for handler in sorted(set(connected.get(node or "", []))):
                    u.add_edge(graph, source, handler, "signal", u.evidence(mf.file, s["line"]))

    @staticmethod
    def _is_signal(
        m: str, name: str, facts: dict[str, ModuleFacts], resolver: Any, defined: set[str]
    ) -> bool:
        """Whether ``name`` (as used in ``m``) is a Django signal: one of Django's own
        (``django.db.models.signals.post_save``, ``django.core.signals``...), one from another
        library's ``signals`` module (``registration.signals.user_activated``) or a
        ``Signal()`` the project defines."""
        external = resolver.external(m, name) or ""
        if not external:  # imported inside a function (an ``AppConfig.ready()``)
            first = name.split(".", 1)[0]
            for imp in facts[m].imports:
                bound = imp.alias or imp.name or imp.module.split(".", 1)[0]
                if imp.lazy and bound == first:
                    external = f"{imp.module}.{imp.name}" if imp.name else imp.module
        if ".signals." in f"{external}.":  # Django's, or a Django app's (``registration``)
            return True
        return u.resolve_name(resolver, facts, m, name) in defined

    def _routes(
        self,
        items: list,
        facts: dict[str, ModuleFacts],
        resolver: Any,
        graph: DependencyGraph,
        settings: dict[str, str],
    ) -> None:
        confs = {m: data["urls"] for m, _, data in items if data["urls"]}
        views: dict[str, dict[str, Any]] = {m: data["views"] for m, _, data in items}

        def target_of(m: str, include: dict[str, Any]) -> tuple[str, str] | None:
            if "module" in include:
                mod = include["module"]
                return (mod, "urlpatterns") if "urlpatterns" in confs.get(mod, {}) else None
            node = u.resolve_name(resolver, facts, m, include["name"])
            if node is None:
                return None
            mod, _, var = node.partition(":")
            if not var and "urlpatterns" in confs.get(mod, {}):
                return mod, "urlpatterns"
            return (mod, var) if var and var in confs.get(mod, {}) else None

        drf = _Routers(self, items, facts, resolver, graph)
        included = set()
        for m, lists in confs.items():
            for entries in lists.values():
                stack = list(entries)
                while stack:
                    e = stack.pop()
                    inc = e.get("include")
                    if inc and "inline" in inc:
                        stack.extend(inc["inline"])
                    elif inc:
                        found = target_of(m, inc)
                        if found and found[0] != m:
                            included.add(found[0])
        root = settings.get("ROOT_URLCONF")
        roots = (
            [root]
            if root and "urlpatterns" in confs.get(root, {})
            else sorted(m for m in confs if m not in included and "urlpatterns" in confs[m])
        )

        def visit(
            m: str, entries: list[dict[str, Any]], prefix: str, seen: frozenset[tuple[str, str]]
        ) -> None:
            for e in entries:
                route = prefix + _clean(e["route"], e["kind"])
                inc = e.get("include")
                if inc and "inline" in inc:
                    visit(m, inc["inline"], route, seen)
                    continue
                router = drf.router_of(m, inc) if inc else None
                if router is not None:
                    drf.routes(m, e, route, router)
                    continue
                if inc:
                    found = target_of(m, inc)
                    if found and found not in seen:
                        visit(found[0], confs[found[0]][found[1]], route, seen | {found})
                    continue
                self._route(m, e, route, facts, resolver, graph, views)

        for m in roots:
            visit(m, confs[m]["urlpatterns"], "", frozenset({(m, "urlpatterns")}))
        self._registry_routes(items, facts, resolver, graph, views)

    def _registry_routes(
        self,
        items: list,
        facts: dict[str, ModuleFacts],
        resolver: Any,
        graph: DependencyGraph,
        views: dict[str, dict[str, Any]],
    ) -> None:
        """Routes of ``get_urls()`` registries (see ``_urlfuncs``), rooted at ``/``: the
        registry's patterns are mounted where the project mounts its registry, which only the
        project's settings say."""
        funcs = {
            (m, key): desc
            for m, _, data in items
            for key, desc in data.get("url_funcs", {}).items()
        }

        def lookup(m: str, name: str) -> tuple[str, dict[str, Any]] | None:
            node = u.resolve_name(resolver, facts, m, name)
            if node is None or ":" not in node:
                return None
            mod, _, func = node.partition(":")
            desc = funcs.get((mod, func))
            return (mod, desc) if desc is not None else None

        heirs = self._heirs(items, facts, resolver)
        for (m, key), desc in sorted(funcs.items()):
            if not desc["registry"]:
                continue
            owner = f"{m}:{key.split('.')[0]}"
            runs = [(owner, desc["locals"])]
            if "." in key and _urlfuncs.uses_self(desc):  # once per class inheriting it
                runs = [(k, dict(desc["locals"], **env)) for k, env in heirs(owner, key)]
            for owner, env in runs:
                self._registry_run(m, desc, owner, env, lookup, facts, resolver, graph, views)

    @staticmethod
    def _heirs(items: list, facts: dict[str, ModuleFacts], resolver: Any) -> Any:
        """``heirs(owner, "Cls.get_urls")``: (class, ``self.<attr>`` bindings) for ``owner``
        and each class with string attributes that inherits that method from it (bases in
        order, depth first), the attributes of subclasses overriding their bases'."""
        attrs = {
            f"{m}:{cls}": values
            for m, _, data in items
            for cls, values in data.get("class_attrs", {}).items()
        }
        defines = {f"{m}:{key}" for m, _, data in items for key in data.get("url_funcs", {})}
        memo: dict[str, list[str]] = {}

        def bases(node: str) -> list[str]:
            if node not in memo:
                mod, _, name = node.partition(":")
                written = (
                    next((s.bases for s in facts[mod].symbols if s.name == name), [])
                    if mod in facts
                    else []
                )
                found = (u.resolve_name(resolver, facts, mod, b) for b in written)
                memo[node] = [b for b in found if b and ":" in b]
            return memo[node]

        chains: dict[str, list[str]] = {}

        def chain(node: str) -> list[str]:
            if node not in chains:
                out: list[str] = []
                todo = [node]
                while todo and len(out) < 32:
                    n = todo.pop(0)
                    if n not in out:
                        out.append(n)
                        todo[:0] = bases(n)
                chains[node] = out
            return chains[node]

        def heirs(owner: str, key: str) -> list[tuple[str, dict[str, str]]]:
            method = key.split(".", 1)[1]
            found = []
            for node in sorted({owner, *attrs}):
                line = chain(node)
                if next((c for c in line if f"{c}.{method}" in defines), None) != owner:
                    continue
                env: dict[str, str] = {}
                for c in reversed(line):
                    env.update((f"self.{k}", v) for k, v in attrs.get(c, {}).items())
                found.append((node, env))
            return found

        return heirs

    def _registry_run(
        self,
        m: str,
        desc: _urlfuncs.UrlFunc,
        owner: str,
        env: dict[str, Any],
        lookup: Any,
        facts: dict[str, ModuleFacts],
        resolver: Any,
        graph: DependencyGraph,
        views: dict[str, dict[str, Any]],
    ) -> None:
        """The routes of one registry method run for the class ``owner``."""
        if owner not in graph.g:
            owner = resolver.owner_of_line(m, desc["line"])
        for call in desc["calls"]:
            for kind, regex, view, _ in _urlfuncs.expand(call, m, env, lookup):
                if isinstance(view, str):  # a dotted path, maybe through a re-export
                    mod, _, name = view.replace(":", ".").rpartition(".")
                    handler = u.resolve_name(resolver, facts, mod, name) if mod in facts else None
                else:
                    handler = u.resolve_name(
                        resolver, facts, view["m"], view.get("d") or view.get("as_view")
                    )
                if handler is None or ":" not in handler:
                    continue
                self._add_route(
                    m,
                    desc["line"],
                    owner,
                    handler,
                    "/" + _clean(regex, kind).lstrip("/"),
                    facts,
                    graph,
                    views,
                )

    def _route(
        self,
        m: str,
        e: dict[str, Any],
        route: str,
        facts: dict[str, ModuleFacts],
        resolver: Any,
        graph: DependencyGraph,
        views: dict[str, dict[str, Any]],
    ) -> None:
        if e.get("string"):
            mod, _, name = e["view"].rpartition(".")
            handler = f"{mod}:{name}" if f"{mod}:{name}" in graph.g else None
        else:
            handler = u.resolve_name(resolver, facts, m, e["view"])
        if handler is None or ":" not in handler:
            return
        self._add_route(
            m,
            e["line"],
            resolver.owner_of_line(m, e["line"]),
            handler,
            "/" + route.lstrip("/"),
            facts,
            graph,
            views,
        )

    def _add_route(
        self,
        m: str,
        line: int,
        owner: str,
        handler: str,
        path: str,
        facts: dict[str, ModuleFacts],
        graph: DependencyGraph,
        views: dict[str, dict[str, Any]],
    ) -> None:
        mod, _, name = handler.partition(":")
        methods = views.get(mod, {}).get(name) or ["ANY"]
        file = facts[m].file
        u.add_edge(graph, owner, handler, "route", u.evidence(file, line))
        for method in methods:
            graph.routes.append(Route(method, path, handler, self.name, file, line))
            graph.entry_points.append(EntryPoint("route", f"{method} {path}", handler, file, line))


def _factory_bases(func: cst.FunctionDef) -> list[str]:
    """The bases of a class a function builds with ``type(name, (Base, ...), attrs)``."""
    for node, _ in u.walk(func.body, func):
        if (
            type(node) is cst.Call
            and u.callee(node) == "type"
            and len(node.args) == 3
            and isinstance(node.args[1].value, cst.Tuple)
        ):
            return [d for d in (u.dotted(e.value) for e in node.args[1].value.elements) if d]
    return []


def _factory_call(value: cst.CSTNode | None) -> dict[str, Any] | None:
    """``f(Name, ...)``: a call of a possible model factory with a class as first argument."""
    if not isinstance(value, cst.Call) or not value.args or value.args[0].keyword:
        return None
    func, first = u.callee(value), value.args[0].value
    if func and isinstance(first, cst.Name) and first.value[:1].isupper():
        return {"func": func, "arg": first.value}
    return None


def _third_party_model(external: str | None) -> bool:
    """A model base class of a Django add-on: ``<pkg>.models.<Name>Model``
    (``parler.models.TranslatableModel``, ``polymorphic.models.PolymorphicModel``,
    ``mptt.models.MPTTModel``) or a django-treebeard node."""
    if not external or "." not in external:
        return False
    module, _, name = external.rpartition(".")
    return (module.endswith(".models") and name.endswith("Model")) or external in _ADDON_MODEL_BASES


def _clean(route: str, kind: str) -> str:
    """A ``re_path`` regex without its anchors, so that included patterns concatenate."""
    if kind == "re_path":
        route = re.sub(r"^\^", "", route)
        route = re.sub(r"\$$", "", route)
    return route


def _router_call(value: cst.CSTNode | None) -> dict[str, Any] | None:
    """``{"trailing_slash": bool}`` for ``DefaultRouter(...)`` / ``routers.SimpleRouter(...)``
    (any capitalised class whose name ends in ``Router``), None for anything else."""
    if type(value) is not cst.Call:
        return None
    name = u.last(u.callee(value))
    if not name or not name.endswith("Router") or not name[:1].isupper():
        return None
    slash = u.arg(value, -1, "trailing_slash")
    info: dict[str, Any] = {
        "trailing_slash": not (u.dotted(slash) == "False" or u.string(slash) == "")
    }
    if name.startswith("Nested"):  # drf-nested-routers: NestedSimpleRouter(parent, "users",
        # lookup="user") serves ``users/<user_pk>/<prefix>/...``
        parent_prefix = u.string(u.arg(value, 1, "parent_prefix"))
        lookup = u.string(u.arg(value, -1, "lookup"))
        if parent_prefix is None or not lookup:
            return None
        info["nest"] = f"{parent_prefix.strip('^$').strip('/')}/<{lookup}_pk>"
    return info


def _viewset_info(node: cst.ClassDef, bases: list[str]) -> dict[str, Any] | None:
    """What a DRF viewset class (or a class that may be one: standard action or ``@action``
    methods, a base named ``*ViewSet`` or ``*Mixin``) defines: standard actions, extra actions,
    lookup field."""
    actions, extra, lookup = [], [], {}
    for stmt in node.body.body:
        if isinstance(stmt, cst.FunctionDef):
            if stmt.name.value in _ACTION_ROUTES:
                actions.append(stmt.name.value)
            for dec in stmt.decorators:
                name, call = u.decorator_call(dec)
                if u.last(name) != "action" or call is None:
                    continue
                detail = u.dotted(u.arg(call, -1, "detail"))
                if detail not in ("True", "False"):
                    continue  # DRF requires ``detail``; a computed one is unknown
                methods = u.strings(u.arg(call, 0, "methods")) or ["get"]
                extra.append(
                    {
                        "name": stmt.name.value,
                        "detail": detail == "True",
                        "methods": sorted({m.upper() for m in methods}),
                        "url_path": u.string(u.arg(call, -1, "url_path")) or stmt.name.value,
                    }
                )
        for small in u.small_statements([stmt]):
            names, value = u.assign_targets(small)
            for key in ("lookup_field", "lookup_url_kwarg"):
                if key in names and u.string(value):
                    lookup[key] = u.string(value)
    lasts = [u.last(b) or "" for b in bases]
    if not extra and not actions and not any(b.endswith(("ViewSet", "Mixin")) for b in lasts):
        return None
    return {
        "bases": bases,
        "actions": sorted(actions),
        "extra": extra,
        "lookup": lookup.get("lookup_url_kwarg") or lookup.get("lookup_field"),
    }


class _Routers:
    """DRF routers of the project (parent half): which router a ``router.urls`` include names,
    and the routes its registered viewsets serve (as DRF's ``SimpleRouter`` builds them)."""

    def __init__(
        self,
        plugin: DjangoPlugin,
        items: list,
        facts: dict[str, ModuleFacts],
        resolver: Any,
        graph: DependencyGraph,
    ) -> None:
        self.plugin, self.facts, self.resolver, self.graph = plugin, facts, resolver, graph
        self.routers = {
            f"{m}:{name}": info
            for m, _, data in items
            for name, info in sorted(data.get("routers", {}).items())
        }
        self.viewsets = {
            f"{m}:{name}": (m, info)
            for m, _, data in items
            for name, info in sorted(data.get("viewsets", {}).items())
        }
        # classes that are not viewsets themselves may still be one through a project base
        self.bases = {
            f"{m}:{mdl['name']}": (m, mdl["bases"])
            for m, _, data in items
            for mdl in data["models"]
        }
        self.registered: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for m, _, data in items:
            for reg in data.get("registers", []):
                node = u.resolve_name(resolver, facts, m, reg["router"])
                if node in self.routers:
                    self.registered.setdefault(node, []).append((m, reg))

    def router_of(self, m: str, include: dict[str, Any]) -> str | None:
        name = include.get("name") or ""
        if not name.endswith(".urls"):
            return None
        node = u.resolve_name(self.resolver, self.facts, m, name[: -len(".urls")])
        return node if node in self.routers else None

    def actions(
        self, node: str, seen: frozenset[str] = frozenset()
    ) -> tuple[set[str], dict[str, dict[str, Any]], str | None]:
        """Standard actions, extra actions by name and lookup field of a viewset class,
        inherited ones included (a subclass's own definitions win, as in Python's MRO)."""
        if node in self.viewsets:
            m, info = self.viewsets[node]
        elif node in self.bases:
            m, info = (
                self.bases[node][0],
                {"bases": self.bases[node][1], "actions": [], "extra": [], "lookup": None},
            )
        else:
            return set(), {}, None
        actions = set(info["actions"])
        extra = {e["name"]: e for e in info["extra"]}
        lookup = info["lookup"]
        for base in info["bases"]:
            target = u.resolve_name(self.resolver, self.facts, m, base)
            if (
                target is not None
                and target not in seen
                and (target in self.viewsets or target in self.bases)
            ):
                sub_actions, sub_extra, sub_lookup = self.actions(target, seen | {node})
                actions |= sub_actions
                for key, value in sub_extra.items():
                    extra.setdefault(key, value)
                lookup = lookup or sub_lookup
            else:
                actions.update(_DRF_ACTIONS.get(u.last(base) or "", ()))
        return actions, extra, lookup

    def routes(self, m: str, e: dict[str, Any], prefix: str, router: str) -> None:
        """Routes of every viewset registered on ``router``, included at ``prefix`` by entry
        ``e`` of URL conf module ``m``; the route edge starts at the including URL list."""
        slash = "/" if self.routers[router]["trailing_slash"] else ""
        source = self.resolver.owner_of_line(m, e["line"])
        where = u.evidence(self.facts[m].file, e["line"])
        for rm, reg in self.registered.get(router, []):
            handler = u.resolve_name(self.resolver, self.facts, rm, reg["viewset"])
            if handler is None or ":" not in handler or handler not in self.graph.g:
                continue
            actions, extra, lookup = self.actions(handler)
            base = "/".join(
                p
                for p in (self.routers[router].get("nest"), reg["prefix"].strip("^$").strip("/"))
                if p
            )
            kwarg = f"<{lookup or 'pk'}>"
            found: dict[str, set[str]] = {}
            for action in actions:
                kind, method = _ACTION_ROUTES[action]
                sub = [base] if kind == "list" else [base, kwarg]
                found.setdefault("/".join(p for p in sub if p) + slash, set()).add(method)
            for x in extra.values():
                sub = [base, kwarg, x["url_path"]] if x["detail"] else [base, x["url_path"]]
                found.setdefault("/".join(p for p in sub if p) + slash, set()).update(x["methods"])
            if not found:
                continue
            u.add_edge(self.graph, source, handler, "route", where)
            file = self.facts[rm].file
            for sub_path, methods in sorted(found.items()):
                path = "/" + (prefix + ("" if sub_path == slash else sub_path)).lstrip("/")
                for method in sorted(methods):
                    self.graph.routes.append(
                        Route(method, path, handler, self.plugin.name, file, reg["line"])
                    )
                    self.graph.entry_points.append(
                        EntryPoint("route", f"{method} {path}", handler, file, reg["line"])
                    )


def _receiver(node: cst.CSTNode) -> str | None:
    """The model a manager is read from: ``Post`` / ``models.Post`` (dotted), or the user
    model for ``get_user_model().objects``."""
    return u.dotted(node) or (_USER_MODEL if _is_user_model_call(node) else None)


def _is_user_model_call(node: cst.CSTNode | None) -> bool:
    return type(node) is cst.Call and u.last(u.callee(node)) == "get_user_model"


def _is_manager(value: cst.CSTNode | None) -> bool:
    """A model attribute that is a manager: ``FooManager()``, ``models.Manager()``,
    ``Manager.from_queryset(QS)()``, ``QS.as_manager()``."""
    if type(value) is not cst.Call:
        return False
    if type(value.func) is cst.Call:  # ``Manager.from_queryset(QS)()``
        return u.last(u.callee(value.func)) == "from_queryset"
    name = u.last(u.callee(value)) or ""
    return name.endswith("Manager") or name == "as_manager"


def _manager_root(expr: cst.CSTNode) -> cst.Attribute | None:
    """``Post.published`` in a chain ``Post.published.filter(...).update(...)`` (a capitalised
    name, then one attribute); the parent half keeps it when the model has that manager."""
    node = expr
    while True:
        if type(node) is cst.Call:
            node = node.func
        elif type(node) is cst.Attribute:
            base = u.dotted(node.value)
            if base and u.capital(base):
                return node
            node = node.value
        else:
            return None


def _access(root: cst.Attribute, op: str) -> dict[str, Any]:
    """The access record of a chain rooted at ``Model.<manager>``."""
    manager = root.attr.value
    item = {"target": _receiver(root.value), "op": op}
    if manager != "objects":
        item["manager"] = manager
    return item


def _annotated_model(node: cst.CSTNode) -> str | None:
    """``Post`` for a parameter annotated ``Post``, ``models.Post`` or ``"Post"``."""
    name = u.dotted(node) or u.string(node)
    return name if name and u.capital(name) else None


def _declares(models: dict[str, dict[str, Any]], node: str, manager: str) -> bool:
    """Whether model ``node`` (or a model it derives from) has the manager ``manager``."""
    if manager in _BUILTIN_MANAGERS:
        return True
    seen = set()
    while node and node not in seen:
        seen.add(node)
        if manager in models[node]["managers"]:
            return True
        node = models[node]["parent"]
    return False
