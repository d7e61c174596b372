"""Flask plug-in: collect on bare trees, resolve on the fixture app (fake resolver and real
analyser), prefixes combined the way Flask combines them."""

from __future__ import annotations

import pytest
from fwhelp import app_graph, edges, mini_graph, parse, routes

from migrator.analysis.frameworks.flask import FlaskPlugin

PLUGIN = FlaskPlugin()

EXPECTED_ROUTES = {
    # registration prefix "/catalog" replaces the blueprint's own "/products"
    ("GET", "/catalog/", "shop.catalog.views:index"),
    ("POST", "/catalog/", "shop.catalog.views:index"),
    ("GET", "/catalog/<int:pid>", "shop.catalog.views:show"),
    # add_url_rule with MethodView.as_view: the verbs the class defines
    ("GET", "/catalog/export", "shop.catalog.views:ExportView"),
    ("POST", "/catalog/export", "shop.catalog.views:ExportView"),
    # nested blueprint: api's own "/api" + registration "/v1" of v1_bp
    ("GET", "/api/v1/ping", "shop.api.v1:ping"),
    ("DELETE", "/api/v1/items/<int:item_id>", "shop.api.v1:remove"),
    # app created inside the factory: the nested view is owned by the factory
    ("GET", "/health", "shop:create_app"),
    ("GET", "/about", "shop.views:about"),
    # a module-level Flask app with a shortcut decorator
    ("POST", "/legacy/submit", "shop.legacy:submit"),
    # registered through an import inside the factory: "/admin" replaces "/adm"
    ("GET", "/admin/users", "shop.admin:users"),
}

EXPECTED_ROUTE_EDGES = {
    ("shop.catalog:bp", "shop.catalog.views:index"),
    ("shop.catalog:bp", "shop.catalog.views:show"),
    ("shop.catalog:bp", "shop.catalog.views:ExportView"),
    ("shop.api.v1:v1_bp", "shop.api.v1:ping"),
    ("shop.api.v1:v1_bp", "shop.api.v1:remove"),
    ("shop:create_app", "shop.views:about"),
    ("shop.legacy:legacy", "shop.legacy:submit"),
    ("shop.admin:admin_bp", "shop.admin:users"),
}


def test_collect_blueprint_routes_and_registration() -> None:
    tree = parse("""
        from flask import Blueprint

        bp = Blueprint("orders", __name__, url_prefix="/orders")


        @bp.route("/<int:oid>", methods=["put", "GET"])
        def update(oid):
            pass


        @bp.post("/")
        def create():
            pass

        bp.add_url_rule("/x", "x", view_func=create, methods=["PATCH"])
        app.register_blueprint(bp, url_prefix="/v2/orders")
    """)
    data = PLUGIN.collect(tree, "m", "m.py")
    assert data["objects"] == [
        {
            "var": "bp",
            "kind": "blueprint",
            "name": "orders",
            "prefix": "/orders",
            "prefix_ref": None,
            "scope": "module",
            "line": 3,
        }
    ]
    assert [(r["rule"], r["methods"], r["func"], r["line"]) for r in data["routes"]] == [
        ("/<int:oid>", ["GET", "PUT"], "update", 6),
        ("/", ["POST"], "create", 11),
    ]
    assert [(r["rule"], r["view"], r["methods"], r["line"]) for r in data["rules"]] == [
        ("/x", "create", ["PATCH"], 15)
    ]
    assert data["registrations"] == [
        {
            "obj": "app",
            "bp": "bp",
            "prefix": "/v2/orders",
            "has_prefix": True,
            "prefix_ref": None,
            "line": 16,
        }
    ]


def test_collect_method_view_verbs_and_declared_methods() -> None:
    tree = parse("""
        class A(MethodView):
            def get(self): ...
            def delete(self): ...
            def helper(self): ...

        class B(View):
            methods = ["POST"]

        class C(Other):
            def get(self): ...
    """)
    assert PLUGIN.collect(tree, "m", "m.py")["views"] == {"A": ["DELETE", "GET"], "B": ["POST"]}


def test_collect_ignores_files_without_flask_constructs() -> None:
    assert PLUGIN.collect(parse("x = {}.get('/a')\n"), "m", "m.py") is None


def test_collect_skips_non_literal_rules() -> None:
    data = PLUGIN.collect(
        parse("""
        @bp.route(RULE)
        def f(): ...
        @bp.route("/ok")
        def g(): ...
    """),
        "m",
        "m.py",
    )
    assert [r["func"] for r in data["routes"]] == ["g"]


@pytest.fixture(params=["fake-resolver", "analyze"])
def graph(request):
    return app_graph(request, "flask")


def test_routes_with_combined_prefixes(graph) -> None:
    assert routes(graph) == EXPECTED_ROUTES
    assert {r.framework for r in graph.routes} == {"flask"}


def test_non_flask_get_decorator_is_not_a_route(graph) -> None:
    assert not [r for r in graph.routes if "not-a-route" in r.path]


def test_route_edges_from_blueprint_to_handler(graph) -> None:
    assert edges(graph, "route") == EXPECTED_ROUTE_EDGES
    data = graph.g.edges["shop.catalog:bp", "shop.catalog.views:index", "route"]
    assert data["evidence"] == ["shop/catalog/views.py:6"] and data["count"] == 1


def test_route_entry_points(graph) -> None:
    eps = {(e.name, e.handler) for e in graph.entry_points if e.kind == "route"}
    assert eps == {(f"{m} {p}", h) for m, p, h in EXPECTED_ROUTES}
    ping = [r for r in graph.routes if r.path == "/api/v1/ping"][0]
    assert (ping.file, ping.line) == ("shop/api/v1.py", 6)


def test_blueprint_registered_twice_gets_both_prefixes() -> None:
    g = mini_graph(
        {
            "m.py": """
        from flask import Blueprint, Flask

        bp = Blueprint("b", __name__, url_prefix="/own")
        outer = Blueprint("o", __name__, url_prefix="/outer")
        app = Flask(__name__)

        @bp.route("/r")
        def r(): ...

        app.register_blueprint(bp)
        app.register_blueprint(bp, url_prefix="/second")
        outer.register_blueprint(bp)
        app.register_blueprint(outer, url_prefix="/o2")
    """
        }
    )
    # own prefix, registration prefix, and nested under outer (outer registered at /o2)
    assert sorted({r.path for r in g.routes}) == ["/o2/own/r", "/own/r", "/second/r"]


def test_registration_tables_and_lazy_imports() -> None:
    g = mini_graph(
        {
            "app/__init__.py": "",
            "app/a.py": """
            from flask import Blueprint
            bp = Blueprint("a", __name__)

            @bp.get("")
            def index(): ...
        """,
            "app/b.py": """
            from flask import Blueprint
            bp = Blueprint("b", __name__, url_prefix="/own-b")

            @bp.get("/x")
            def x(): ...
        """,
            "app/c.py": """
            from flask import Blueprint
            admin = Blueprint("c", __name__)

            @admin.post("/y")
            def y(): ...
        """,
            "app/factory.py": """
            import importlib

            from flask import Flask

            TABLE = (
                ("app.a", "bp", "/api/a"),
                ("app.b", "bp", None),
            )


            def create_app():
                app = Flask(__name__)
                for module_name, attribute, prefix in TABLE:
                    blueprint = getattr(importlib.import_module(module_name), attribute)
                    app.register_blueprint(blueprint, url_prefix=prefix)
                from app.c import admin as admin_bp  # a lazy import
                for bp, where in [(admin_bp, "/admin")]:
                    app.register_blueprint(bp, url_prefix=where)
                return app
        """,
        }
    )
    assert routes(g) == {
        ("GET", "/api/a", "app.a:index"),
        ("GET", "/own-b/x", "app.b:x"),
        ("POST", "/admin/y", "app.c:y"),
    }
    # fetching a blueprint by module name and attribute is a string reference
    assert {
        ("app.factory:create_app", "app.a:bp"),
        ("app.factory:create_app", "app.b:bp"),
    } <= edges(g, "dynamic")


def test_empty_rule_without_prefix_is_root() -> None:
    g = mini_graph(
        {
            "m.py": """
        from flask import Flask
        app = Flask(__name__)

        @app.route("")
        def home(): ...
    """
        }
    )
    assert routes(g) == {("GET", "/", "m:home")}


def test_flask_restful_resources() -> None:
    g = mini_graph(
        {
            "m.py": """
        from flask import Blueprint
        from flask_restful import Api, Resource

        bp = Blueprint("rest", __name__, url_prefix="/rest")
        api = Api(bp, prefix="/v2")


        class Users(Resource):
            def get(self): ...
            def post(self): ...


        api.add_resource(Users, "/users", "/people")
    """
        }
    )
    assert routes(g) == {
        (m, p, "m:Users") for m in ("GET", "POST") for p in ("/rest/v2/users", "/rest/v2/people")
    }
    assert ("m:api", "m:Users") in edges(g, "route")


def test_prefix_from_a_constant() -> None:
    g = mini_graph(
        {
            "web/__init__.py": "",
            "web/urls.py": """
            from flask import Blueprint
            API = "/api"
            bp = Blueprint("b", __name__, url_prefix=API)

            @bp.get("/a")
            def a(): ...
        """,
            "web/app.py": """
            from flask import Flask
            from web import urls
            app = Flask(__name__)
            app.register_blueprint(urls.bp, url_prefix=urls.API + "/v2")  # not a constant
        """,
        }
    )
    assert routes(g) == {("GET", "/api/a", "web.urls:a")}


# -- registration helpers (the FlaskBB pattern) ---------------------------------------------------

HELPER_ROUTES = {
    # local blueprint registered with a config prefix: a placeholder named after the key
    *{
        (m, f"{{USER_URL_PREFIX}}{p}", "board.user.views:Settings")
        for m in ("GET", "POST")
        for p in ("/settings", "/settings/general")
    },
    ("GET", "{USER_URL_PREFIX}/<username>", "board.user.views:Profile"),
    # methods= passed on through the helper's **kwargs
    ("POST", "{USER_URL_PREFIX}/delete", "board.user.views:delete_account"),
    # ``target.route(rule, methods=methods)(view)`` helper; literal registration prefix
    ("GET", "/pages/about", "board.pages:about"),
    ("HEAD", "/pages/about", "board.pages:about"),
}


@pytest.fixture(params=["fake-resolver", "analyze"])
def helper_graph(request):
    return app_graph(request, "flask_helpers")


def test_collect_registration_helper_and_call_site() -> None:
    data = PLUGIN.collect(
        parse("""
        def register_view(bp_or_app, routes, view_func, *args, **kwargs):
            for route in routes:
                bp_or_app.add_url_rule(route, view_func=view_func, *args, **kwargs)

        def load(app):
            user = Blueprint("user", __name__)
            register_view(user, routes=["/a", "/b"], view_func=V.as_view("v"))
            app.register_blueprint(user, url_prefix=app.config["USER_URL_PREFIX"])
    """),
        "m",
        "m.py",
    )
    (helper,) = data["helpers"]
    assert (helper["obj"], helper["rule"], helper["view"], helper["kwargs"]) == (
        "bp_or_app",
        {"param": "routes", "iter": True},
        {"param": "view_func"},
        True,
    )
    (call,) = data["calls"]
    assert call["pos"] == [{"name": "user"}] and call["fn"] == "load"
    assert call["kw"]["routes"] == {"str": ["/a", "/b"], "seq": True}
    assert data["objects"][0]["fn"] == call["fn"]  # the same function: the same key
    assert data["registrations"][0]["prefix"] == "{USER_URL_PREFIX}"


def test_helper_routes_with_local_blueprints(helper_graph) -> None:
    assert routes(helper_graph) == HELPER_ROUTES


def test_helper_route_edges(helper_graph) -> None:
    # a blueprint local to a function: its routes are owned by that function
    assert edges(helper_graph, "route") == {
        ("board.user.views:load_blueprints", "board.user.views:Settings"),
        ("board.user.views:load_blueprints", "board.user.views:Profile"),
        ("board.user.views:load_blueprints", "board.user.views:delete_account"),
        ("board.pages:pages", "board.pages:about"),
    }


def test_non_literal_prefix_inside_a_function_is_a_placeholder() -> None:
    g = mini_graph(
        {
            "m.py": """
        from flask import Blueprint

        def setup(app, prefix):
            bp = Blueprint("b", __name__, url_prefix="/own")

            @bp.get("/x")
            def x(): ...

            app.register_blueprint(bp, url_prefix=prefix + "/v1")
    """
        }
    )
    assert routes(g) == {("GET", "{url_prefix}/x", "m:setup")}


@pytest.mark.slow
def test_flaskbb_routes_through_register_view() -> None:
    """FlaskBB 2.2.0, the wheel benchmarks/partition.py measures (Python 3.12 only, but it
    is parsed, never installed)."""
    from registry_apps import fetch

    from migrator.analysis import analyze

    flaskbb = fetch(
        "flaskbb==2.2.0", "flaskbb-2.2.0", "--only-binary", ":all:", "--python-version", "3.12"
    )
    g = analyze(flaskbb / "flaskbb", jobs=1, use_cache=False)
    found = routes(g)
    assert len(found) >= 140  # 147 measured: 105 rules, most MethodViews with GET and POST
    assert {
        ("GET", "{USER_URL_PREFIX}/settings/email", "flaskbb.user.views:ChangeEmail"),
        ("POST", "{USER_URL_PREFIX}/settings/email", "flaskbb.user.views:ChangeEmail"),
        ("GET", "{USER_URL_PREFIX}/<username>", "flaskbb.user.views:UserProfile"),
        ("GET", "{AUTH_URL_PREFIX}/login", "flaskbb.auth.views:Login"),
        ("GET", "{FORUM_URL_PREFIX}/topic/<int:topic_id>-<slug>", "flaskbb.forum.views:ViewTopic"),
    } <= found
    assert (
        "flaskbb.user.views:flaskbb_load_blueprints",
        "flaskbb.user.views:ChangeEmail",
    ) in edges(g, "route")


def test_routes_listed_in_a_table_registered_by_a_helper() -> None:
    """(path, Resource) rows handed with a blueprint to a helper that loops over them; the
    resources get their verbs through base classes in other modules, one of which imports no
    web framework."""
    g = mini_graph(
        {
            "pkg/__init__.py": "",
            "pkg/api.py": """
            def register(blueprint, route_tuples, decorators=None):
                views = {}
                for path, resource in route_tuples:
                    view_func = views.get(resource)
                    if view_func is None:
                        view_func = resource.as_view(resource.__name__)
                    blueprint.add_url_rule(path, view_func=view_func)
                return blueprint
        """,
            "pkg/base.py": """
            from flask.views import MethodView

            class BaseResource(MethodView):
                def get(self): ...
                def delete(self): ...
        """,
            "pkg/csv.py": """
            from pkg.base import BaseResource

            class CsvImportResource(BaseResource):
                def post(self): ...
        """,
            "pkg/items.py": """
            from flask import Blueprint
            from pkg.api import register
            from pkg.base import BaseResource
            from pkg.csv import CsvImportResource

            class ItemResource(BaseResource):
                def put(self): ...

            class NewItemResource(MethodView):
                def post(self): ...

            routes = [
                ("/items/<item_id>", ItemResource),
                ("/items/new", NewItemResource),
                ("/import/items", CsvImportResource),
            ]
            not_routes = [("items", ItemResource)]

            blueprint = Blueprint("items", "items")
            api = register(blueprint, routes)
            register(blueprint, not_routes)
        """,
        }
    )
    assert routes(g) == {
        ("GET", "/items/<item_id>", "pkg.items:ItemResource"),
        ("PUT", "/items/<item_id>", "pkg.items:ItemResource"),
        ("DELETE", "/items/<item_id>", "pkg.items:ItemResource"),
        ("POST", "/items/new", "pkg.items:NewItemResource"),
        *((m, "/import/items", "pkg.csv:CsvImportResource") for m in ("GET", "POST", "DELETE")),
    }
    assert ("pkg.items:blueprint", "pkg.items:ItemResource") in edges(g, "route")


def test_blueprints_in_a_tuple_registered_by_a_factory_loop() -> None:
    """A tuple of blueprints handed to an app factory, which adds its own default ones and
    registers each with an f-string prefix built from a module-level constant."""
    g = mini_graph(
        {
            "pkg/__init__.py": """
            from pkg import factory
            from pkg.users import mod as users_bp
            from pkg.roles import mod as roles_bp

            BLUEPRINTS = (users_bp, roles_bp)

            def create_app(config=None):
                return factory.create_app(blueprints=BLUEPRINTS, config=config)
        """,
            "pkg/factory.py": """
            from flask import Flask
            from pkg.health import mod as health

            DEFAULT_BLUEPRINTS = (health,)
            API_VERSION = 1

            def create_app(blueprints=None, config=None):
                blueprints = blueprints + DEFAULT_BLUEPRINTS
                app = Flask(__name__)
                configure_blueprints(app, blueprints)
                return app

            def configure_blueprints(app, blueprints):
                for blueprint in blueprints:
                    app.register_blueprint(blueprint, url_prefix=f"/api/{API_VERSION}")
        """,
            "pkg/users.py": """
            from flask import Blueprint
            mod = Blueprint("users", __name__)

            @mod.route("/users")
            def users(): ...
        """,
            "pkg/roles.py": """
            from flask import Blueprint
            mod = Blueprint("roles", __name__)

            @mod.route("/roles", methods=["POST"])
            def roles(): ...
        """,
            "pkg/health.py": """
            from flask import Blueprint
            mod = Blueprint("health", __name__)

            @mod.route("/healthcheck")
            def health(): ...
        """,
            "pkg/lonely.py": """
            from flask import Blueprint
            mod = Blueprint("lonely", __name__, url_prefix="/own")

            @mod.route("/x")
            def x(): ...
        """,
        }
    )
    assert routes(g) == {
        ("GET", "/api/1/users", "pkg.users:users"),
        ("POST", "/api/1/roles", "pkg.roles:roles"),
        ("GET", "/api/1/healthcheck", "pkg.health:health"),
        ("GET", "/own/x", "pkg.lonely:x"),
    }


def test_api_subclass_wrappers_resource_decorators_and_restx_namespaces() -> None:
    """An ``Api`` subclass whose own method wraps ``add_resource``; ``@api.resource(url)``
    on a Resource class; Flask-RESTX namespaces added with a path, ``@ns.route(url)``."""
    g = mini_graph(
        {
            "pkg/__init__.py": "",
            "pkg/api.py": """
            from flask import Blueprint
            from flask_restful import Api, Resource
            from flask_restx import Api as XApi, Namespace

            class ExternalApi(Api):
                def add(self, resource, *urls, **kw):
                    self.add_resource(resource, *urls, **kw)

            bp = Blueprint("api", __name__, url_prefix="/api")
            api = ExternalApi(bp, prefix="/v1")
            xapi = XApi(bp, prefix="/x")
            cats = Namespace("cats")
            dogs = xapi.namespace("dogs", path="/hounds")
            xapi.add_namespace(cats, path="/felines")


            class Users(Resource):
                def get(self): ...
                def post(self): ...


            api.add(Users, "/users", "/people")


            @api.resource("/ping")
            class Ping(Resource):
                def get(self): ...


            @cats.route("/<int:id>")
            class Cat(Resource):
                def delete(self, id): ...


            @dogs.route("/")
            class Dogs(Resource):
                def get(self): ...
        """,
        }
    )
    assert routes(g) == {
        *(
            (m, p, "pkg.api:Users")
            for m in ("GET", "POST")
            for p in ("/api/v1/users", "/api/v1/people")
        ),
        ("GET", "/api/v1/ping", "pkg.api:Ping"),
        ("DELETE", "/api/x/felines/<int:id>", "pkg.api:Cat"),
        ("GET", "/api/x/hounds/", "pkg.api:Dogs"),
    }


def test_an_api_subclass_not_named_api_bound_later_with_init_app() -> None:
    """``class ApiExt(Api)`` whose ``add_org_resource`` rewrites its URLs before
    ``self.add_resource``; ``api = ApiExt()`` bound to the app later (``init_app``)."""
    g = mini_graph(
        {
            "pkg/__init__.py": "",
            "pkg/api.py": """
            from flask_restful import Api, Resource

            def org_scoped(url):
                return "/<org_slug>" + url

            class ApiExt(Api):
                def add_org_resource(self, resource, *urls, **kwargs):
                    urls = [org_scoped(url) for url in urls]
                    return self.add_resource(resource, *urls, **kwargs)

            api = ApiExt()

            class Queries(Resource):
                def get(self): ...
                def post(self): ...

            api.add_org_resource(Queries, "/api/queries", endpoint="queries")
        """,
            "pkg/app.py": """
            from flask import Flask
            from pkg.api import api

            app = Flask(__name__)
            api.init_app(app)
        """,
        }
    )
    assert routes(g) == {(m, "/api/queries", "pkg.api:Queries") for m in ("GET", "POST")}


def test_blueprint_factory_takes_its_prefix_from_each_call() -> None:
    g = mini_graph(
        {
            "shop/__init__.py": "",
            "shop/factory.py": """
            from flask import Blueprint

            def make_crud(name, prefix, *, admin=False):
                bp = Blueprint(name, __name__, url_prefix=prefix)

                @bp.get("/list")
                def index(): ...

                return bp
        """,
            "shop/app.py": """
            from flask import Flask
            from shop.factory import make_crud
            from shop.settings import PREFIX

            app = Flask(__name__)
            users = make_crud("users", "/users")
            app.register_blueprint(users)
            app.register_blueprint(make_crud("items", prefix="/items", admin=True))
            other = make_crud("other", PREFIX)
        """,
            "shop/settings.py": "PREFIX = object()\n",
        }
    )
    assert routes(g) == {
        ("GET", "/users/list", "shop.factory:make_crud"),
        ("GET", "/items/list", "shop.factory:make_crud"),
    }


def test_blueprint_factory_defaults_unslashed_prefixes_and_reregistration() -> None:
    """A factory's prefix parameter: its default when a call passes none, a prefix written
    without ``/`` or built around the parameter (``f"/{name}"``), and a made blueprint
    registered with a prefix of its own (which replaces the one the call gave, as in Flask)."""
    g = mini_graph(
        {
            "shop/__init__.py": "",
            "shop/factory.py": """
            from flask import Blueprint

            def make_crud(name, prefix="/things"):
                bp = Blueprint(name, __name__, url_prefix=prefix)

                @bp.get("/list")
                def index(): ...

                return bp


            def make_named(name):
                bp = Blueprint(name, __name__, url_prefix=f"/named/{name}")

                @bp.get("/one")
                def one(): ...

                return bp
        """,
            "shop/app.py": """
            from flask import Flask
            from shop.factory import make_crud, make_named

            app = Flask(__name__)
            app.register_blueprint(make_crud("things"))
            app.register_blueprint(make_crud("users", "users"))
            orders = make_crud("orders", "/orders")
            app.register_blueprint(orders, url_prefix="/v2/orders")
            app.register_blueprint(make_crud("items", prefix="/items"), url_prefix="/v2/items")
            app.register_blueprint(make_named("cats"))
        """,
        }
    )
    assert routes(g) == {
        ("GET", "/things/list", "shop.factory:make_crud"),
        ("GET", "/users/list", "shop.factory:make_crud"),
        ("GET", "/v2/orders/list", "shop.factory:make_crud"),
        ("GET", "/v2/items/list", "shop.factory:make_crud"),
        ("GET", "/named/cats/one", "shop.factory:make_named"),
    }
