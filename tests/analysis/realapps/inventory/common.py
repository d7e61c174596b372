"""Shared by the inventory scripts: they run inside a throwaway virtualenv holding the app's
dependencies (never in the test suite), import the app and write ``APP.json``'s lists."""

import importlib
import json
import pkgutil
import sys


def import_all(package: str) -> None:
    """Import every submodule (tests and migrations aside), so that models declared in
    modules the app itself does not import count too; failures are reported, not fatal."""
    pkg = importlib.import_module(package)
    failed = []
    for info in pkgutil.walk_packages(pkg.__path__, package + "."):
        if {"tests", "test", "migrations", "alembic"} & set(info.name.split(".")):
            continue
        try:
            importlib.import_module(info.name)
        except BaseException as exc:  # noqa: BLE001 - any failure is only reported
            failed.append((info.name, type(exc).__name__))
    print("import failures:", failed, file=sys.stderr)


def flask_routes(app, package: str) -> set:
    """(method, rule) of a Flask app's url_map whose view is defined inside ``package``."""
    out = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if (getattr(view, "view_class", None) or view).__module__.startswith(package):
            out.update((m, rule.rule) for m in rule.methods - {"HEAD", "OPTIONS"})
    return out


def starlette_routes(routes, package: str, prefix: str = "") -> set:
    """(method, path) of FastAPI/Starlette routes with endpoints inside ``package``,
    walking mounted sub-applications."""
    from fastapi.routing import APIRoute, APIWebSocketRoute
    from starlette.routing import Mount

    out = set()
    for r in routes:
        if isinstance(r, APIRoute) and (r.endpoint.__module__ or "").startswith(package):
            out.update((m, prefix + r.path) for m in r.methods - {"HEAD", "OPTIONS"})
        elif isinstance(r, APIWebSocketRoute):
            out.add(("WEBSOCKET", prefix + r.path))
        elif isinstance(r, Mount) and hasattr(r.app, "routes"):
            out |= starlette_routes(r.app.routes, package, prefix + r.path)
    return out


def dump(path: str, routes: set, tables: set) -> None:
    json.dump({"routes": sorted(routes), "tables": sorted(tables)}, open(path, "w"), indent=0)
    print(len(routes), len(tables))
