"""Routes and tables the analyser finds in the development apps, against inventories built by
importing each app (``APP.json`` beside this file; ``inventory/APP.py`` is the script that
built it, ``method`` in the JSON says how).

The apps are not part of the repository: the test runs when they are laid out (by
``shared/realapps/get.sh``) under ``$MIGRATOR_REALAPPS`` or, by default, ``corpus/`` beside
the project, and skips otherwise. Recall and precision must be at least 95% for routes and
for tables on every app. Routes are compared as (method, path); for Django, whose resolver
has no methods, as paths.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent
PROJECT = HERE.parents[2]
CORPUS = Path(os.environ.get("MIGRATOR_REALAPPS", PROJECT.parent / "corpus"))
APPS = sorted(p.stem for p in HERE.glob("*.json"))
TARGET = 0.95


def score(truth: set, found: set) -> tuple[float, float]:
    """(recall, precision) of ``found`` against ``truth``."""
    hit = len(truth & found)
    return hit / max(len(truth), 1), hit / max(len(found), 1)


def found_routes(graph, compare_methods: bool) -> set:
    if compare_methods:
        return {(r.method, r.path) for r in graph.routes}
    return {r.path for r in graph.routes}


@pytest.mark.slow
@pytest.mark.parametrize("app", APPS)
def test_routes_and_tables_match_the_inventory(app: str) -> None:
    from migrator.analysis import analyze

    inv = json.loads((HERE / f"{app}.json").read_text())
    root = CORPUS / inv["corpus_path"]
    if not root.is_dir():
        pytest.skip(
            f"{app} is not laid out at {root} (set MIGRATOR_REALAPPS to the corpus "
            "made by shared/realapps/get.sh)"
        )
    graph = analyze(root, use_cache=False)
    if inv["compare_methods"]:
        truth_routes = {tuple(r) for r in inv["routes"]}
    else:
        truth_routes = {r[1] for r in inv["routes"]}
    routes = score(truth_routes, found_routes(graph, inv["compare_methods"]))
    tables = score(set(inv["tables"]), set(graph.tables))
    assert min(routes) >= TARGET, (app, "routes", routes)
    assert min(tables) >= TARGET, (app, "tables", tables)


def test_inventories_are_well_formed() -> None:
    """Each inventory names its source and method and holds sorted, distinct entries."""
    assert APPS, "no inventories"
    for app in APPS:
        inv = json.loads((HERE / f"{app}.json").read_text())
        assert inv["app"] == app and inv["method"] and inv["source"]
        for key in ("routes", "tables"):
            items = [tuple(x) if isinstance(x, list) else x for x in inv[key]]
            assert items == sorted(set(items)) and items, (app, key)
