"""FastAPI plug-in: routers, inclusion prefixes (concatenated like FastAPI), dependencies."""

from __future__ import annotations

import pytest
from fwhelp import app_graph, edges, mini_graph, parse, routes

from migrator.analysis.frameworks.fastapi import FastAPIPlugin, _concat

PLUGIN = FastAPIPlugin()

EXPECTED_ROUTES = {
    # app include prefix "/api" + router prefix "/items" + path
    ("GET", "/api/items/", "svc.routers.items:list_items"),
    ("GET", "/api/items/{item_id}", "svc.routers.items:item"),
    ("PUT", "/api/items/{item_id}", "svc.routers.items:item"),
    # nested: "/api" + "/items" + include "/{item_id}/reviews" + "" + "/"
    ("POST", "/api/items/{item_id}/reviews/", "svc.routers.reviews:add_review"),
    ("DELETE", "/users/{uid}", "svc.routers.users:delete_user"),
    ("GET", "/users/me", "svc.routers.users:me"),  # add_api_route
    ("GET", "/health", "svc.main:health"),
}

DEPENDS_EDGES = {
    ("svc.routers.items:list_items", "svc.deps:get_db"),  # parameter default
    ("svc.routers.items:item", "svc.deps:current_user"),  # Annotated[..., Depends(...)]
    ("svc.deps:current_user", "svc.deps:get_db"),  # sub-dependency
    ("svc.routers.items:router", "svc.deps:verify_key"),  # APIRouter(dependencies=[...])
    ("svc.main:app", "svc.deps:verify_key"),  # FastAPI(dependencies=[...])
}


def test_collect_router_operations_includes_and_depends() -> None:
    data = PLUGIN.collect(
        parse("""
        from fastapi import APIRouter, Depends

        router = APIRouter(prefix="/orders", dependencies=[Depends(auth.check)])

        @router.api_route("/{oid}", methods=["get", "patch"])
        async def order(oid: int, db=Depends(get_db)):
            ...

        @router.websocket("/ws")
        async def ws(socket):
            ...

        app.include_router(router, prefix="/v1")
    """),
        "m",
        "m.py",
    )
    assert data["objects"] == [
        {
            "var": "router",
            "kind": "router",
            "prefix": "/orders",
            "prefix_ref": None,
            "scope": "module",
            "line": 3,
        }
    ]
    assert [(r["path"], r["methods"], r["func"], r["line"]) for r in data["routes"]] == [
        ("/{oid}", ["GET", "PATCH"], "order", 5),
        ("/ws", ["WEBSOCKET"], "ws", 9),
    ]
    assert data["includes"] == [
        {"obj": "app", "router": "router", "prefix": "/v1", "prefix_ref": None, "line": 13}
    ]
    assert [(d["target"], d["line"]) for d in data["depends"]] == [("auth.check", 3), ("get_db", 6)]


def test_concat_matches_fastapi() -> None:
    assert _concat("/api", "/items") == "/api/items"
    assert _concat("", "/") == "/"
    assert _concat("/api/", "/x") == "/api/x"


@pytest.fixture(params=["fake-resolver", "analyze"])
def graph(request):
    return app_graph(request, "fastapi")


def test_routes_with_nested_prefixes(graph) -> None:
    assert routes(graph) == EXPECTED_ROUTES


def test_get_on_a_non_fastapi_object_is_not_a_route(graph) -> None:
    assert not [r for r in graph.routes if "not-a-route" in r.path]


def test_route_edges_from_router_to_handler(graph) -> None:
    assert edges(graph, "route") == {
        ("svc.routers.items:router", "svc.routers.items:list_items"),
        ("svc.routers.items:router", "svc.routers.items:item"),
        ("svc.routers.reviews:router", "svc.routers.reviews:add_review"),
        ("svc.routers.users:users_router", "svc.routers.users:delete_user"),
        ("svc.routers.users:users_router", "svc.routers.users:me"),
        ("svc.main:app", "svc.main:health"),
    }


def test_depends_gives_reference_edges_once(graph) -> None:
    assert DEPENDS_EDGES <= edges(graph, "reference")
    data = graph.g.edges["svc.routers.items:list_items", "svc.deps:get_db", "reference"]
    assert data["evidence"] == ["svc/routers/items.py:12"]
    assert data["count"] == 1  # not counted again when the core saw the same use


def test_mounted_sub_application_prefixes_its_routes() -> None:
    g = mini_graph(
        {
            "m.py": """
        from fastapi import APIRouter, FastAPI

        app = FastAPI()
        v1 = FastAPI()
        users = APIRouter(prefix="/users")


        @users.get("/{uid}")
        def user(uid: int): ...


        @v1.get("/ping")
        def ping(): ...


        v1.include_router(users)
        app.mount("/v1/", v1)
    """
        }
    )
    assert routes(g) == {("GET", "/v1/ping", "m:ping"), ("GET", "/v1/users/{uid}", "m:user")}


def test_router_subclasses_controllers_and_nested_prefixes() -> None:
    """Routers made from the project's APIRouter subclasses, path operations on methods of a
    controller class, prefixes of routers included in routers included in the app, a prefix
    written as an f-string of a module constant."""
    g = mini_graph(
        {
            "pkg/__init__.py": "",
            "pkg/routers.py": """
            from fastapi import APIRouter

            class UserAPIRouter(APIRouter):
                def __init__(self, prefix: str = "", **kw):
                    super().__init__(prefix=prefix, **kw)

            class AdminAPIRouter(UserAPIRouter):
                pass

            class NotARouter:
                pass

            class FakeRouter(NotARouter):
                pass
        """,
            "pkg/tags.py": """
            from pkg.routers import AdminAPIRouter, FakeRouter, UserAPIRouter

            base = "/tags"
            router = UserAPIRouter(prefix=f"{base}")
            admin = AdminAPIRouter(prefix="/admin")
            fake = FakeRouter(prefix="/fake")

            def controller(router):
                return lambda cls: cls

            @controller(router)
            class TagController:
                @router.get("")
                def get_all(self): ...

                @router.delete("/{item_id}")
                def delete_one(self, item_id: int): ...

            @admin.post("/tags")
            def purge(): ...

            @fake.get("/x")
            def nothing(): ...
        """,
            "pkg/api.py": """
            from fastapi import APIRouter, FastAPI
            from pkg import tags

            router = APIRouter(prefix="/api")
            router.include_router(tags.router, prefix="/organizers")
            router.include_router(tags.admin)
            app = FastAPI()
            app.include_router(router)
        """,
        }
    )
    assert routes(g) == {
        ("GET", "/api/organizers/tags", "pkg.tags:TagController"),
        ("DELETE", "/api/organizers/tags/{item_id}", "pkg.tags:TagController"),
        ("POST", "/api/admin/tags", "pkg.tags:purge"),
    }


def test_decorator_applied_by_hand_under_a_setting_is_a_route() -> None:
    """``handler = router.post(path)(handler)`` under an ``if`` on a setting: a route (the
    analyser cannot know the setting, and the operation exists in some deployments)."""
    g = mini_graph(
        {
            "svc/__init__.py": "",
            "svc/settings.py": "REGISTRATION = True\n",
            "svc/auth.py": """
        from fastapi import APIRouter

        from svc.settings import REGISTRATION

        router = APIRouter()


        def register(name: str): ...


        def login(name: str): ...


        if REGISTRATION:
            register = router.post("/register", status_code=201)(register)
        router.get("/login")(login)
        router.post(path_of("x"))(login)
    """,
            "svc/main.py": """
        from fastapi import FastAPI

        from svc.auth import router

        app = FastAPI()
        app.include_router(router, prefix="/auth")
    """,
        }
    )
    assert routes(g) == {
        ("POST", "/auth/register", "svc.auth:register"),
        ("GET", "/auth/login", "svc.auth:login"),
    }
