"""Incremental re-analysis gives exactly the graph a from-scratch analysis gives.

Every test analyses a copy of a real app with a cache, edits it, analyses it again with the
same cache (the run under test: "cached", "incremental" or "full" resolution, see
``Stats.resolution``) and compares the result with an analysis without any cache, down to the
insertion order of the networkx graph (downstream algorithms iterate in that order).
"""

from __future__ import annotations

import difflib
import hashlib
import random
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from migrator.analysis import Stats, analyze, analyze_with_stats
from migrator.analysis.formats import render
from migrator.graph import DependencyGraph

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_monolith"
APPS = Path(__file__).parent / "frameworks" / "apps"
IGNORE = shutil.ignore_patterns("__pycache__", ".migrator-cache", "tests", "static", "templates")


# -- comparing graphs -----------------------------------------------------------------------


def _diff(a: str, b: str, limit: int = 60) -> str:
    lines = list(
        difflib.unified_diff(
            b.splitlines(), a.splitlines(), "from-scratch", "cached", lineterm="", n=1
        )
    )
    return "\n".join(lines[:limit])


def assert_same(got: DependencyGraph, want: DependencyGraph) -> None:
    """``got`` equals ``want`` exactly: JSON text, networkx insertion order (nodes, successors,
    predecessors, edge keys) and every side table."""
    got_json, want_json = render(got, "json"), render(want, "json")
    assert got_json == want_json, _diff(got_json, want_json)
    a, b = got.g, want.g
    assert list(a._node) == list(b._node), "node order differs"
    for n in b._node:
        assert a._node[n] == b._node[n], f"attributes of node {n} differ"
        assert list(a._adj[n]) == list(b._adj[n]), f"successor order of {n} differs"
        assert list(a._pred[n]) == list(b._pred[n]), f"predecessor order of {n} differs"
        for t in b._adj[n]:
            assert list(a._adj[n][t]) == list(b._adj[n][t]), f"edge keys {n} -> {t} differ"
            assert a._adj[n][t] == b._adj[n][t], f"edge data {n} -> {t} differs"
        for s in b._pred[n]:
            assert list(a._pred[n][s]) == list(b._pred[n][s]), f"edge keys {s} -> {n} differ"
    assert got.routes == want.routes
    assert got.entry_points == want.entry_points
    assert list(got.tables.items()) == list(want.tables.items())
    assert list(got.externals.items()) == list(want.externals.items())
    assert got.diagnostics == want.diagnostics
    assert got.root == want.root


def scratch(root: Path, **options) -> DependencyGraph:
    """The reference: analysed without any cache."""
    return analyze(root, use_cache=False, jobs=1, **options)


def cached(root: Path, cache: Path, **options) -> tuple[DependencyGraph, Stats]:
    """The run under test: analysed with the cache in ``cache``."""
    return analyze_with_stats(root, cache_dir=cache, jobs=1, **options)


def check_step(root: Path, cache: Path, **options) -> tuple[DependencyGraph, Stats]:
    """Analyse with the cache, compare with from scratch, return the cached run's graph and
    statistics."""
    got, stats = cached(root, cache, **options)
    assert_same(got, scratch(root, **options))
    return got, stats


def check_unchanged(root: Path, cache: Path, want: DependencyGraph, **options) -> None:
    """Nothing changed since the last run: the finished graph is reused as it is."""
    again, stats = cached(root, cache, **options)
    assert_same(again, want)
    assert_resolution(again, stats, "cached")


def assert_resolution(
    graph: DependencyGraph, stats: Stats, expected: str, renumbered: bool = False
) -> None:
    """``stats.resolution`` is ``expected`` and ``stats.resolved`` fits it (none for an
    incremental run whose changed files kept their facts but for their line counts)."""
    assert stats.resolution == expected, (stats.resolution, stats.resolved)
    if expected == "cached":
        assert stats.resolved == 0
        assert stats.parsed == 0
    elif expected == "full":
        assert stats.resolved == len(graph.modules())
    elif renumbered:
        assert stats.resolved == 0
    else:
        assert 1 <= stats.resolved <= len(graph.modules())


# -- editing source files -------------------------------------------------------------------


def replace(root: Path, rel: str, old: str, new: str, count: int = 1) -> None:
    path = root / rel
    text = path.read_text()
    assert old in text, f"{rel} no longer contains {old!r}: update this edit"
    path.write_text(text.replace(old, new, count))


def append(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.write_text(path.read_text() + text)


def remove_top_level(text: str, name: str) -> str:
    """``text`` without the top-level ``def``/``class`` ``name`` (and its decorators)."""
    lines = text.splitlines(keepends=True)
    pattern = re.compile(rf"^(async def|def|class) {re.escape(name)}\b")
    start = next(i for i, line in enumerate(lines) if pattern.match(line))
    end = start + 1
    while end < len(lines) and (
        not lines[end].strip()
        or lines[end][0] in " \t"
        or (lines[end].startswith(")") and lines[end].rstrip().endswith(":"))
    ):
        end += 1
    while start > 0 and lines[start - 1].startswith("@"):
        start -= 1
    return "".join(lines[:start] + lines[end:])


def copy_sample(dest: Path) -> Path:
    return Path(shutil.copytree(SAMPLE, dest / "sample_monolith", ignore=IGNORE))


@pytest.fixture(scope="module")
def primed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of sample_monolith and a cache holding the facts of all its files (parsing them
    once per module instead of once per test)."""
    base = tmp_path_factory.mktemp("primed")
    root = copy_sample(base)
    cached(root, base / "cache")
    return root, base / "cache"


@pytest.fixture
def sample(primed: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A fresh copy of the sample and of the primed cache. The copy lives elsewhere, so its
    first run finds every file's facts but no previous graph of this root."""
    root = Path(shutil.copytree(primed[0], tmp_path / "sample_monolith"))
    cache = Path(shutil.copytree(primed[1], tmp_path / "cache"))
    return root, cache


def has_edge(graph: DependencyGraph, s: str, t: str, kind: str) -> bool:
    return graph.g.has_edge(s, t, key=kind)


# -- the table of edits on sample_monolith --------------------------------------------------

CS = "catalog/services.py"
CR = "catalog/routes.py"
P = "sample_monolith."


def e_append_comment(root: Path) -> None:
    append(root, CS, "\n# reviewed by the catalog team\n")


def e_models_top_comment(root: Path) -> None:
    path = root / "models.py"
    path.write_text("# every line below moves down by one\n" + path.read_text())


def c_models_top_comment(before: DependencyGraph, after: DependencyGraph) -> None:
    assert after.tables["products"].line == before.tables["products"].line + 1
    assert (
        after.g.nodes[P + "models:Product"]["line"]
        == before.g.nodes[P + "models:Product"]["line"] + 1
    )


def e_body_cross_domain(root: Path) -> None:
    replace(
        root,
        CS,
        "def featured_products(limit: int = 8) -> list[dict[str, Any]]:\n",
        "def featured_products(limit: int = 8) -> list[dict[str, Any]]:\n"
        "    inventory_services.low_stock(limit)\n",
    )


def c_body_cross_domain(before: DependencyGraph, after: DependencyGraph) -> None:
    edge = (
        P + "catalog.services:featured_products",
        P + "inventory.services:low_stock",
        "reference",
    )
    assert not has_edge(before, *edge) and has_edge(after, *edge)


def e_add_function(root: Path) -> None:
    append(
        root,
        CS,
        "\n\ndef restock_hint(limit: int) -> list:\n"
        "    return inventory_services.low_stock(limit)\n",
    )


def c_add_function(before: DependencyGraph, after: DependencyGraph) -> None:
    node = P + "catalog.services:restock_hint"
    assert node not in before.g and node in after.g
    assert has_edge(after, node, P + "inventory.services:low_stock", "reference")


def e_remove_used_function(root: Path) -> None:
    path = root / "inventory/services.py"
    path.write_text(remove_top_level(path.read_text(), "stock_for_sku"))


def c_remove_used_function(before: DependencyGraph, after: DependencyGraph) -> None:
    target = P + "inventory.services:stock_for_sku"
    assert has_edge(before, P + "catalog.routes:product", target, "reference")
    assert target not in after.g
    assert not any(t == target for _, t, _ in after.edges())


def e_import_alias(root: Path) -> None:
    replace(
        root,
        CR,
        "from sample_monolith.inventory import services as inventory_services\n",
        "from sample_monolith.inventory import services as stock\n",
    )


def c_import_alias(before: DependencyGraph, after: DependencyGraph) -> None:
    edge = (P + "catalog.routes:product", P + "inventory.services:stock_for_sku", "reference")
    assert has_edge(before, *edge) and not has_edge(after, *edge)


def _routes(graph: DependencyGraph) -> set[tuple[str, str]]:
    return {(r.method, r.path) for r in graph.routes}


def e_add_route(root: Path) -> None:
    replace(
        root,
        CR,
        '@bp.route("/categories")\n',
        '@bp.route("/categories/all")\n@bp.route("/categories")\n',
    )


def c_add_route(before: DependencyGraph, after: DependencyGraph) -> None:
    assert _routes(after) - _routes(before) == {("GET", "/api/catalog/categories/all")}


def e_remove_route(root: Path) -> None:
    replace(root, CR, '@bp.route("/search")\n', "")


def c_remove_route(before: DependencyGraph, after: DependencyGraph) -> None:
    assert _routes(before) - _routes(after) == {("GET", "/api/catalog/search")}


def e_tablename(root: Path) -> None:
    replace(
        root, "models.py", '__tablename__ = "categories"', '__tablename__ = "product_categories"'
    )


def c_tablename(before: DependencyGraph, after: DependencyGraph) -> None:
    assert "categories" in before.tables and "product_categories" in after.tables
    assert after.tables["product_categories"].model == P + "models:Category"


def p_reexport(root: Path) -> None:
    append(
        root,
        "catalog/__init__.py",
        "\nfrom sample_monolith.catalog.services import featured_products, search\n",
    )
    append(
        root,
        "views.py",
        "\n\nfrom sample_monolith.catalog import featured_products  # noqa\n"
        "\n\ndef _featured_via_package():\n"
        "    return featured_products()\n",
    )


def e_reexport(root: Path) -> None:
    replace(
        root,
        "catalog/__init__.py",
        "from sample_monolith.catalog.services import featured_products, search\n",
        "from sample_monolith.catalog.services import search\n",
    )


def c_reexport(before: DependencyGraph, after: DependencyGraph) -> None:
    edge = (
        P + "views:_featured_via_package",
        P + "catalog.services:featured_products",
        "reference",
    )
    assert has_edge(before, *edge) and not has_edge(after, *edge)


def e_new_file(root: Path) -> None:
    (root / "catalog" / "feeds.py").write_text(
        "from sample_monolith.catalog import services\n\n\n"
        "def feed():\n    return services.featured_products(3)\n"
    )


def c_new_file(before: DependencyGraph, after: DependencyGraph) -> None:
    assert has_edge(
        after, P + "catalog.feeds:feed", P + "catalog.services:featured_products", "reference"
    )


def e_delete_file(root: Path) -> None:
    (root / "shipping" / "rates.py").unlink()


def c_delete_file(before: DependencyGraph, after: DependencyGraph) -> None:
    assert P + "shipping.rates" in before.g and P + "shipping.rates" not in after.g


def e_two_files(root: Path) -> None:
    e_append_comment(root)
    e_tablename(root)


@dataclass
class Case:
    name: str
    edit: Callable[[Path], None]
    resolution: str
    check: Callable[[DependencyGraph, DependencyGraph], None] | None = None
    prepare: Callable[[Path], None] | None = None
    resolved: int | None = None  # exact stats.resolved, when the contract fixes it
    more_than_one: bool = False  # dependents are re-resolved too


CASES = [
    Case("append-comment", e_append_comment, "incremental", resolved=0),
    Case("models-top-comment", e_models_top_comment, "incremental", c_models_top_comment),
    Case("body-cross-domain-call", e_body_cross_domain, "incremental", c_body_cross_domain),
    Case("add-top-level-function", e_add_function, "incremental", c_add_function),
    Case(
        "remove-used-function",
        e_remove_used_function,
        "incremental",
        c_remove_used_function,
        more_than_one=True,
    ),
    Case("import-alias", e_import_alias, "incremental", c_import_alias),
    Case("add-route", e_add_route, "incremental", c_add_route),
    Case("remove-route", e_remove_route, "incremental", c_remove_route),
    Case("tablename", e_tablename, "incremental", c_tablename),
    Case(
        "package-reexport-removed",
        e_reexport,
        "incremental",
        c_reexport,
        prepare=p_reexport,
        more_than_one=True,
    ),
    Case("new-file", e_new_file, "incremental", c_new_file),
    Case("delete-file", e_delete_file, "incremental", c_delete_file),
    Case("two-files", e_two_files, "incremental", c_tablename),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_sample_edit_gives_the_from_scratch_graph(case: Case, sample: tuple[Path, Path]) -> None:
    root, cache = sample
    if case.prepare:
        case.prepare(root)
    before, before_stats = cached(root, cache)
    assert before_stats.parsed == (2 if case.prepare else 0)
    case.edit(root)
    after, after_stats = check_step(root, cache)
    if case.check:
        case.check(before, after)
    if case.resolution == "incremental":
        changed = {e_two_files: 2, e_delete_file: 0}.get(case.edit, 1)  # files to parse
        assert (after_stats.parsed, after_stats.cached) == (changed, after_stats.files - changed)
    assert_resolution(after, after_stats, case.resolution, renumbered=case.resolved == 0)
    if case.resolved is not None:
        assert after_stats.resolved == case.resolved
    if case.more_than_one:
        assert after_stats.resolved > 1
    check_unchanged(root, cache, after)


def test_syntax_error_and_its_fix(sample: tuple[Path, Path]) -> None:
    root, cache = sample
    cached(root, cache)
    good = (root / CS).read_text()
    (root / CS).write_text(good + "\n\ndef broken(:\n    pass\n")
    broken, broken_stats = check_step(root, cache)
    assert any(d.file.endswith(CS) and d.code == "syntax-error" for d in broken.diagnostics)
    assert broken_stats.resolution != "cached"
    (root / CS).write_text(good + "\n# fixed\n")
    fixed, fixed_stats = check_step(root, cache)
    assert not any(d.code == "syntax-error" for d in fixed.diagnostics)
    assert fixed_stats.parsed == 1
    assert_resolution(fixed, fixed_stats, "incremental")


def test_reverted_file_comes_from_the_facts_cache(sample: tuple[Path, Path]) -> None:
    root, cache = sample
    first, first_stats = cached(root, cache)
    original = (root / CS).read_bytes()
    e_add_function(root)
    check_step(root, cache)
    (root / CS).write_bytes(original)
    reverted, reverted_stats = check_step(root, cache)
    assert_same(reverted, first)
    assert reverted_stats.parsed == 0
    # the finished graph of these exact files may still be cached; otherwise it is patched
    assert reverted_stats.resolution in ("cached", "incremental")


def test_without_framework_plugins(sample: tuple[Path, Path]) -> None:
    root, cache = sample
    before, before_stats = cached(root, cache, plugins=False)
    assert not before.routes and not before.tables
    e_body_cross_domain(root)
    after, after_stats = check_step(root, cache, plugins=False)
    c_body_cross_domain(before, after)
    assert not after.routes
    assert_resolution(after, after_stats, "incremental")
    e_remove_used_function(root)
    after, after_stats = check_step(root, cache, plugins=False)
    assert_resolution(after, after_stats, "incremental")


# -- framework fixture apps -----------------------------------------------------------------


def copy_app(name: str, dest: Path) -> Path:
    return Path(shutil.copytree(APPS / name, dest / name, ignore=IGNORE))


def _orm_targets(graph: DependencyGraph, source: str) -> set[str]:
    return {t for s, t, _ in graph.edges("orm") if s == source}


def test_django_app_edits(tmp_path: Path) -> None:
    root = copy_app("django", tmp_path)
    cache = tmp_path / "cache"
    first, first_stats = cached(root, cache)
    assert "shop.models:Order" in first.g
    # a model string "app.Model" retargeted (body of a class: interface unchanged)
    replace(root, "shop/models.py", '"accounts.User"', '"blog.Tag"')
    step, step_stats = check_step(root, cache)
    assert "blog.models:Tag" in _orm_targets(step, "shop.models:Order")
    assert "accounts.models:User" not in _orm_targets(step, "shop.models:Order")
    assert_resolution(step, step_stats, "incremental")
    # the prefix of an include()d urls module: routes of an untouched module change
    replace(
        root,
        "mysite/urls.py",
        'path("blog/", include("blog.urls"))',
        'path("journal/", include("blog.urls"))',
    )
    step2, step2_stats = check_step(root, cache)
    assert any(
        r.path.startswith("/journal/") or r.path.startswith("journal/") for r in step2.routes
    )
    assert {r.path for r in step2.routes} != {r.path for r in step.routes}
    assert_resolution(step2, step2_stats, "incremental")
    # a model class renamed (interface change): the "Tag" strings no longer resolve to it
    replace(root, "blog/models.py", "class Tag(models.Model):", "class Label(models.Model):")
    step3, step3_stats = check_step(root, cache)
    assert "blog.models:Tag" not in step3.g and "blog.models:Label" in step3.g
    assert_resolution(step3, step3_stats, "incremental")
    # a url line removed
    replace(root, "blog/urls.py", '    path("new/", views.post_create),\n', "")
    step4, step4_stats = check_step(root, cache)
    assert len(step4.routes) < len(step3.routes)
    assert_resolution(step4, step4_stats, "incremental")


def test_fastapi_app_edits(tmp_path: Path) -> None:
    root = copy_app("fastapi", tmp_path)
    cache = tmp_path / "cache"
    first, first_stats = cached(root, cache)
    paths = {r.path for r in first.routes}
    assert any(p.startswith("/api/items") for p in paths), paths
    # a settings value used as include_router prefix (body edit in another module)
    replace(root, "svc/config.py", 'API_PREFIX: str = "/api"', 'API_PREFIX: str = "/v2"')
    step, step_stats = check_step(root, cache)
    assert_resolution(step, step_stats, "incremental")
    # the router's own prefix
    replace(root, "svc/routers/items.py", 'prefix="/items"', 'prefix="/things"')
    step2, step2_stats = check_step(root, cache)
    assert any("/things" in r.path for r in step2.routes)
    assert not any("/items" in r.path for r in step2.routes)
    assert_resolution(step2, step2_stats, "incremental")
    # a route decorator removed
    replace(root, "svc/routers/users.py", '@users_router.delete("/{uid}")\n', "")
    step3, step3_stats = check_step(root, cache)
    assert not any(r.method == "DELETE" for r in step3.routes)
    assert_resolution(step3, step3_stats, "incremental")
    # a dependency function removed (interface change of deps: its importers re-resolved)
    path = root / "svc" / "deps.py"
    path.write_text(remove_top_level(path.read_text(), "current_user"))
    step4, step4_stats = check_step(root, cache)
    assert "svc.deps:current_user" in step3.g and "svc.deps:current_user" not in step4.g
    assert_resolution(step4, step4_stats, "incremental")
    assert step4_stats.resolved > 1


# -- a seeded random sequence of cumulative edits ---------------------------------------------


class Editor:
    """Random edits to one copy of sample_monolith; each returns what it did and whether the
    set of files changed (then a full resolution is expected), or None when it cannot apply."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root = root
        self.rng = rng
        self.n = 0
        self.original = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.py")}
        self.broken: dict[str, str] = {}

    # helpers
    def files(self) -> list[str]:
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*.py")
            if "__pycache__" not in p.parts
        )

    def editable(self) -> list[str]:
        return [f for f in self.files() if f not in self.broken]

    def module(self, rel: str) -> str:
        parts = ["sample_monolith", *Path(rel).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)

    def defs(self, rel: str) -> list[str]:
        return re.findall(r"^def (\w+)\(", (self.root / rel).read_text(), re.M)

    def pick(self, items: list) -> object:
        return self.rng.choice(items) if items else None

    def pick_match(self, pattern: str, flags: int = 0) -> tuple[str, re.Match, str] | None:
        """A random match of ``pattern`` in the editable files: (file, match, its text)."""
        choices = [
            (f, m) for f in self.editable() for m in re.finditer(pattern, self.read(f), flags)
        ]
        if not choices:
            return None
        rel, m = self.pick(choices)
        return rel, m, self.read(rel)

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text()

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def fresh(self) -> int:
        self.n += 1
        return self.n

    def _callable(self, exclude: str) -> tuple[str, str] | None:
        """A random (module, function) of another file."""
        choices = [
            (self.module(f), d) for f in self.editable() if f != exclude for d in self.defs(f)
        ]
        return self.pick(choices)  # type: ignore[return-value]

    # edits keeping every module's interface
    def comment_append(self) -> str:
        rel = self.pick(self.editable())
        self.write(rel, self.read(rel) + f"\n# note {self.fresh()}\n")
        return f"comment at the end of {rel}"

    def comment_top(self) -> str:
        rel = self.pick(self.editable())
        self.write(rel, f"# shifted {self.fresh()}\n" + self.read(rel))
        return f"comment at the top of {rel}"

    def body_call(self) -> str | None:
        rel = self.pick(self.editable())
        text = self.read(rel)
        heads = [m for m in re.finditer(r"^def \w+\(.*\).*:\n", text, re.M)]
        target = self._callable(rel)
        if not heads or target is None:
            return None
        head = self.pick(heads)
        module, func = target
        call = f"    from {module} import {func} as _lazy_{self.fresh()}\n    _lazy_{self.n}\n"
        self.write(rel, text[: head.end()] + call + text[head.end() :])
        return f"lazy call of {module}:{func} in a body of {rel}"

    def tablename(self) -> str | None:
        found = self.pick_match(r'__tablename__ = "(\w+)"')
        if found is None:
            return None
        rel, m, text = found
        self.write(rel, text[: m.start(1)] + f"{m.group(1)}_{self.fresh()}" + text[m.end(1) :])
        return f"__tablename__ {m.group(1)} changed in {rel}"

    def route_remove(self) -> str | None:
        found = self.pick_match(r"^@\w+\.route\(.*\)\n", re.M)
        if found is None:
            return None
        rel, m, text = found
        self.write(rel, text[: m.start()] + text[m.end() :])
        return f"route decorator removed in {rel}"

    def route_add(self) -> str | None:
        found = self.pick_match(r"^@(\w+)\.route\(", re.M)
        if found is None:
            return None
        rel, m, text = found
        extra = f'@{m.group(1)}.route("/extra-{self.fresh()}")\n'
        self.write(rel, text[: m.start()] + extra + text[m.start() :])
        return f"route decorator added in {rel}"

    # edits changing an interface
    def add_function(self) -> str | None:
        rel = self.pick(self.editable())
        target = self._callable(rel)
        if target is None:
            return None
        module, func = target
        n = self.fresh()
        self.write(
            rel,
            self.read(rel) + f"\n\ndef added_{n}():\n"
            f"    from {module} import {func}\n"
            f"    return {func}()\n",
        )
        return f"function added_{n} in {rel} calling {module}:{func}"

    def remove_function(self) -> str | None:
        choices = [(f, d) for f in self.editable() for d in self.defs(f)]
        if not choices:
            return None
        rel, name = self.pick(choices)
        self.write(rel, remove_top_level(self.read(rel), name))
        return f"function {name} removed from {rel}"

    def add_import(self) -> str | None:
        rel = self.pick(self.editable())
        target = self._callable(rel)
        if target is None:
            return None
        module, func = target
        self.write(
            rel, self.read(rel) + f"\nfrom {module} import {func} as _imp_{self.fresh()}  # noqa\n"
        )
        return f"module-level import of {module}:{func} added to {rel}"

    def remove_import(self) -> str | None:
        pattern = r"^(from sample_monolith[\w.]* import [\w, ]+|import sample_monolith[\w.]*)\n"
        found = self.pick_match(pattern, re.M)
        if found is None:
            return None
        rel, m, text = found
        self.write(rel, text[: m.start()] + text[m.end() :])
        return f"import {m.group(1)!r} removed from {rel}"

    def alias_change(self) -> str | None:
        found = self.pick_match(r"^from sample_monolith[\w.]* import \w+ as (\w+)\n", re.M)
        if found is None:
            return None
        rel, m, text = found
        self.write(rel, text[: m.end(1)] + f"_{self.fresh()}" + text[m.end(1) :])
        return f"import alias {m.group(1)} renamed in {rel}"

    def break_file(self) -> str | None:
        rel = self.pick([f for f in self.editable() if not f.endswith("__init__.py")])
        if rel is None:
            return None
        line = f"\ndef broken_{self.fresh()}(:\n    pass\n"
        self.broken[rel] = line
        self.write(rel, self.read(rel) + line)
        return f"syntax error in {rel}"

    def fix_file(self) -> str | None:
        rel = self.pick(sorted(f for f in self.broken if (self.root / f).exists()))
        if rel is None:
            return None
        self.write(rel, self.read(rel).replace(self.broken.pop(rel), "\n"))
        return f"syntax error fixed in {rel}"

    def revert(self) -> str | None:
        choices = [
            f
            for f in self.files()
            if f in self.original and (self.root / f).read_bytes() != self.original[f]
        ]
        rel = self.pick(choices)
        if rel is None:
            return None
        (self.root / rel).write_bytes(self.original[rel])
        self.broken.pop(rel, None)
        return f"{rel} reverted to its original bytes"

    def two_files(self) -> str | None:
        first = self.rng.choice([self.comment_append, self.body_call, self.add_function])()
        second = self.rng.choice([self.remove_function, self.tablename, self.alias_change])()
        if first is None or second is None:
            return None
        return f"{first}; {second}"

    # edits changing the set of files
    def new_file(self) -> str | None:
        target = self._callable("")
        if target is None:
            return None
        module, func = target
        n = self.fresh()
        self.write(
            f"extra_{n}.py",
            f"from {module} import {func}\n\n\ndef use_{n}():\n    return {func}()\n",
        )
        return f"new file extra_{n}.py importing {module}:{func}"

    def delete_file(self) -> str | None:
        choices = [
            f
            for f in self.files()
            if not f.endswith("__init__.py")
            and f not in ("__main__.py", "models.py", "db.py", "utils.py")
        ]
        rel = self.pick(choices)
        if rel is None:
            return None
        (self.root / rel).unlink()
        self.broken.pop(rel, None)
        return f"{rel} deleted"

    def rename_file(self) -> str | None:
        choices = [
            f for f in self.editable() if not f.endswith("__init__.py") and f != "__main__.py"
        ]
        rel = self.pick(choices)
        if rel is None:
            return None
        path = self.root / rel
        path.rename(path.with_name(f"{path.stem}_moved_{self.fresh()}.py"))
        return f"{rel} renamed"

    #: edit -> weight; the last three change the set of files
    WEIGHTS = {
        "comment_append": 2,
        "comment_top": 1,
        "body_call": 2,
        "tablename": 1,
        "route_remove": 1,
        "route_add": 1,
        "add_function": 2,
        "remove_function": 2,
        "add_import": 1,
        "remove_import": 1,
        "alias_change": 1,
        "break_file": 1,
        "fix_file": 2,
        "revert": 2,
        "two_files": 1,
        "new_file": 1,
        "delete_file": 1,
        "rename_file": 1,
    }
    NEW_FILES = ("new_file", "delete_file", "rename_file")

    def step(self) -> tuple[str, bool]:
        names, weights = list(self.WEIGHTS), list(self.WEIGHTS.values())
        while True:
            (name,) = self.rng.choices(names, weights)
            what = getattr(self, name)()
            if what is not None:
                return what, name in self.NEW_FILES

    def state(self) -> str:
        digest = hashlib.sha256()
        for rel in self.files():
            digest.update(rel.encode() + b"\0" + (self.root / rel).read_bytes() + b"\0")
        return digest.hexdigest()


@pytest.mark.slow
def test_random_edit_sequence_matches_from_scratch(sample: tuple[Path, Path]) -> None:
    root, cache = sample
    editor = Editor(root, random.Random(1234))
    check_step(root, cache)
    seen = {editor.state()}
    kinds = []
    for i in range(25):
        what, files_changed = editor.step()
        state = editor.state()
        got, got_stats = cached(root, cache)
        want = scratch(root)
        try:
            assert_same(got, want)
        except AssertionError as exc:
            raise AssertionError(f"step {i} ({what}): {exc}") from exc
        allowed = {"incremental", "cached"} if state in seen else {"incremental"}
        assert got_stats.resolution in allowed, (i, what, got_stats.resolution)
        if got_stats.resolution != "cached":
            # only a comment (added, or taken away again) may leave every module unresolved: at
            # the end of a file, or at the top of one without line-numbered facts
            lines_only = what.startswith("comment at") or what.endswith("original bytes")
            assert_resolution(
                got,
                got_stats,
                got_stats.resolution,
                renumbered=lines_only and got_stats.resolved == 0,
            )
        seen.add(state)
        kinds.append((files_changed, got_stats.resolution))
        if i % 8 == 7:
            check_unchanged(root, cache, want)
    assert any(files_changed and kind == "incremental" for files_changed, kind in kinds)


def test_a_patch_that_fails_costs_a_rebuild_not_the_run(
    sample: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, cache = sample
    check_step(root, cache)
    from migrator.analysis import incremental

    def broken(*args, **kwargs):
        raise KeyError("sample_monolith.nowhere")

    monkeypatch.setattr(incremental, "patch", broken)
    e_append_comment(root)
    got, got_stats = check_step(root, cache)
    assert_resolution(got, got_stats, "full")
    assert any(
        "could not update the previous graph (KeyError" in note for note in got_stats.cache_notes
    ), got_stats.cache_notes


def test_an_incremental_run_leaves_libcst_unloaded_in_the_main_process(
    sample: tuple[Path, Path],
) -> None:
    """The plug-ins' resolve step reads facts, not trees: loading libcst (a fifth of a second)
    in the main process is left to the parser process (``migrator.analysis.lazy``)."""
    import subprocess
    import sys

    root, cache = sample
    check_step(root, cache)
    e_add_route(root)
    code = (
        "import sys\nfrom migrator.analysis import analyze_with_stats\n"
        f"g, stats = analyze_with_stats({str(root)!r}, cache_dir={str(cache)!r}, jobs=1)\n"
        "print(stats.resolution, type(sys.modules['libcst']).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    assert out == ["incremental", "_LazyModule"]


# -- a patched graph is stored as its changes from a whole one (``.delta``) -----------------


def _deltas(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.delta"))


def _delta_base(delta: Path) -> Path:
    return delta.with_name(delta.name.partition("+")[2].replace(".delta", ".graph"))


def test_a_patched_graph_is_stored_as_its_changes_and_loads_whole(
    sample: tuple[Path, Path],
) -> None:
    root, cache = sample
    check_step(root, cache)
    assert not _deltas(cache)
    e_append_comment(root)
    first, first_stats = check_step(root, cache)
    assert_resolution(first, first_stats, "incremental", renumbered=True)
    (delta,) = _deltas(cache)
    base = _delta_base(delta)
    assert base.is_file() and delta.stat().st_size * 4 < base.stat().st_size
    check_unchanged(root, cache, first)  # whole again: the base with the changes applied
    # a second edit is patched into the graph loaded from base and delta, and stored as its
    # changes from that same whole graph (never a delta of a delta)
    replace(root, CR, "def ", "def _helper():\n    return 1\n\n\ndef ")
    second, second_stats = check_step(root, cache)
    assert_resolution(second, second_stats, "incremental")
    assert [_delta_base(d) for d in _deltas(cache)] == [base, base]
    check_unchanged(root, cache, second)


def _forge(delta: Path, change: Callable[[dict], None]) -> None:
    """Rewrite ``delta`` signed with the user's key, its payload changed by ``change``."""
    from migrator.analysis.cache import _frame, _unframe, cache_key
    from migrator.analysis.cacheformat import dumps, loads

    data = loads(bytes(_unframe(b"delta", delta.read_bytes(), cache_key())))
    change(data)
    delta.write_bytes(_frame(b"delta", dumps(data), cache_key()))


def _edge_to_nowhere(data: dict) -> None:
    source = next(iter(data["succ"]))
    data["succ"][source]["sample_monolith.nowhere"] = {"import": {"kind": "import"}}


def _remove_a_target(data: dict) -> None:
    """Remove a node that a node outside the delta points at."""
    inside = set(data["nodes"])
    data["removed"].append(P + "models")  # imported by most modules
    for name in list(inside):
        if name.startswith(P + "models"):
            del data["nodes"][name], data["succ"][name]


DAMAGES: dict[str, Callable[[Path], None]] = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:-40]),
    "bit flipped": lambda p: p.write_bytes(p.read_bytes()[:-10] + b"\x00" + p.read_bytes()[-9:]),
    "another base": lambda p: _forge(p, lambda d: d.update(base="0" * 32)),
    "not an object": lambda p: _forge(p, lambda d: (d.clear(), d.update(base=None))),
    "edge to a missing node": lambda p: _forge(p, _edge_to_nowhere),
    "removes a node still pointed at": lambda p: _forge(p, _remove_a_target),
    "nodes as a list": lambda p: _forge(p, lambda d: d.update(nodes=list(d["nodes"]))),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_or_forged_delta_is_discarded_with_a_note(
    sample: tuple[Path, Path], damage: str
) -> None:
    """Whatever a delta holds, a run gives the right graph, no exception, and says which
    file it discarded; the next run has a whole graph again."""
    root, cache = sample
    check_step(root, cache)
    e_append_comment(root)
    check_step(root, cache)
    (delta,) = _deltas(cache)
    DAMAGES[damage](delta)
    got, got_stats = check_step(root, cache)
    assert_resolution(got, got_stats, "full")
    assert any(delta.name in note and "discarded" in note for note in got_stats.cache_notes), (
        got_stats.cache_notes
    )
    check_unchanged(root, cache, got)


def test_a_delta_whose_whole_graph_is_gone_costs_a_rebuild(sample: tuple[Path, Path]) -> None:
    root, cache = sample
    check_step(root, cache)
    e_append_comment(root)
    check_step(root, cache)
    (delta,) = _deltas(cache)
    _delta_base(delta).unlink()
    got, got_stats = check_step(root, cache)
    assert_resolution(got, got_stats, "full")
    check_unchanged(root, cache, got)


def test_a_delta_holds_what_the_plug_ins_changed_in_untouched_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Renaming a model changes the edges the Django plug-in draws from another module's
    model that names it in a string: that module is not resolved again, yet its node is
    among the changes stored, so the graph as stored is the graph the run gave."""
    from migrator.analysis import cache as cache_module

    monkeypatch.setattr(cache_module, "MAX_DELTA_SHARE", 1)  # a small app: a delta anyway
    root = copy_app("django", tmp_path)
    cache = tmp_path / "cache"
    replace(root, "shop/models.py", '"accounts.User"', '"blog.Tag"')
    first, first_stats = cached(root, cache)
    assert "blog.models:Tag" in _orm_targets(first, "shop.models:Order")
    replace(root, "blog/models.py", "class Tag(models.Model):", "class Label(models.Model):")
    step, step_stats = check_step(root, cache)
    assert_resolution(step, step_stats, "incremental")
    assert "blog.models:Tag" not in _orm_targets(step, "shop.models:Order")
    assert _deltas(cache)
    check_unchanged(root, cache, step)


# -- edits that change line counts only -------------------------------------------------------


def test_edits_that_only_move_the_last_line_resolve_nothing(sample: tuple[Path, Path]) -> None:
    """A comment appended to a module with routes and one to the models (tables): their facts
    are those of the previous run but for the line count, so only their module nodes change;
    the next edit that changes facts is resolved as usual."""
    root, cache = sample
    before, before_stats = check_step(root, cache)
    append(root, CR, "\n# routes reviewed\n")
    append(root, "models.py", "\n\n# tables reviewed\n")
    step, step_stats = check_step(root, cache)
    assert_resolution(step, step_stats, "incremental", renumbered=True)
    assert step_stats.parsed == 2
    node = P + "catalog.routes"
    assert step.g.nodes[node]["size"] == before.g.nodes[node]["size"] + 2
    check_unchanged(root, cache, step)
    e_add_route(root)
    step2, step2_stats = check_step(root, cache)
    assert_resolution(step2, step2_stats, "incremental")
    c_add_route(step, step2)


def test_an_edit_keeping_the_line_count_but_not_the_facts_is_resolved_again(
    sample: tuple[Path, Path], tmp_path: Path
) -> None:
    """The fallback: a route path and a Django model string changed in place (same lines,
    same top-level names) change plug-in facts, so the plug-ins run again; in Django the
    change reaches the edges of another module's model."""
    root, cache = sample
    check_step(root, cache)
    replace(root, CR, '@bp.route("/search")', '@bp.route("/finds")')
    step, step_stats = check_step(root, cache)
    assert_resolution(step, step_stats, "incremental")
    assert ("GET", "/api/catalog/finds") in _routes(step)
    app = copy_app("django", tmp_path)
    app_cache = tmp_path / "app-cache"
    first, first_stats = check_step(app, app_cache)
    assert "accounts.models:User" in _orm_targets(first, "shop.models:Order")
    replace(app, "shop/models.py", '"accounts.User"', '"blog.Tag"')
    moved, moved_stats = check_step(app, app_cache)
    assert_resolution(moved, moved_stats, "incremental")
    assert "blog.models:Tag" in _orm_targets(moved, "shop.models:Order")


@pytest.mark.parametrize("app", ["sample", *sorted(p.name for p in APPS.iterdir())])
def test_no_plug_in_reads_a_module_s_line_count(app: str) -> None:
    """What lets an edit that only changes line counts skip the resolver and the plug-ins
    (``incremental._only_lines``): built from the same facts with every module's line count
    and hash changed, the graph differs in the module nodes' last line and size alone."""
    import hashlib
    from dataclasses import replace as with_fields

    from migrator.analysis.discover import discover
    from migrator.analysis.facts import WorkItem
    from migrator.analysis.isolate import parse_isolated
    from migrator.analysis.resolve import build_graph

    root = SAMPLE if app == "sample" else APPS / app
    items = []
    for f in discover(root).files:
        data = f.path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        items.append(WorkItem(f.rel, f.module, f.is_package, sha, data, True))
    facts = {mf.module: mf for mf in parse_isolated(items, jobs=1)}
    assert any(mf.framework for mf in facts.values())
    moved = {m: with_fields(mf, lines=mf.lines + 17, sha="0" * 64) for m, mf in facts.items()}
    want, _ = build_graph(facts, root=str(root))
    got, _ = build_graph(moved, root=str(root))
    for module, mf in moved.items():
        attrs = got.g.nodes[module]
        assert (attrs["end_line"], attrs["size"]) == (mf.lines, mf.lines)
        attrs.update(end_line=want.g.nodes[module]["end_line"], size=want.g.nodes[module]["size"])
    want.finalize()
    got.finalize()
    assert_same(got, want)
