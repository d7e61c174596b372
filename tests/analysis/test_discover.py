"""Discovery: layouts, module names, include/exclude globs and .gitignore."""

from __future__ import annotations

import pytest

from migrator.analysis.discover import PathError, discover
from migrator.analysis.gitignore import GitIgnore, parse_rules


def modules(path, **kw):
    return [f.module for f in discover(path, **kw).files]


def test_flat_layout_with_several_top_level_packages_and_scripts(tree):
    root = tree(
        {
            "alpha/__init__.py": "",
            "alpha/a.py": "",
            "beta/__init__.py": "",
            "beta/sub/__init__.py": "",
            "beta/sub/b.py": "",
            "manage.py": "",
        }
    )
    assert modules(root) == ["alpha", "alpha.a", "beta", "beta.sub", "beta.sub.b", "manage"]


def test_src_layout(tree):
    root = tree({"src/pkg/__init__.py": "", "src/pkg/mod.py": "", "setup.py": ""})
    disc = discover(root)
    assert [(f.module, f.rel) for f in disc.files] == [
        ("pkg", "src/pkg/__init__.py"),
        ("pkg.mod", "src/pkg/mod.py"),
        ("setup", "setup.py"),
    ]


def test_namespace_packages(tree):
    root = tree({"ns/one/__init__.py": "", "ns/one/x.py": "", "ns/two/y.py": ""})
    assert modules(root) == ["ns.one", "ns.one.x", "ns.two.y"]


def test_path_that_is_a_package_names_modules_from_the_package(tree):
    root = tree({"shop/__init__.py": "", "shop/cart/__init__.py": "", "shop/cart/api.py": ""})
    disc = discover(root / "shop")
    assert [f.module for f in disc.files] == ["shop", "shop.cart", "shop.cart.api"]
    assert disc.root == root.resolve()
    # a subpackage keeps its full dotted name
    assert modules(root / "shop" / "cart") == ["shop.cart", "shop.cart.api"]


def test_single_file(tree):
    root = tree({"pkg/__init__.py": "", "pkg/one.py": "", "script.py": ""})
    assert modules(root / "pkg" / "one.py") == ["pkg.one"]
    assert modules(root / "script.py") == ["script"]


def test_stub_beside_module_prefers_py_and_lone_stub_is_used(tree):
    root = tree({"pkg/__init__.py": "", "pkg/a.py": "", "pkg/a.pyi": "", "pkg/b.pyi": ""})
    files = discover(root).files
    assert [(f.module, f.rel) for f in files] == [
        ("pkg", "pkg/__init__.py"),
        ("pkg.a", "pkg/a.py"),
        ("pkg.b", "pkg/b.pyi"),
    ]


def test_default_excludes(tree):
    root = tree(
        {
            "app/__init__.py": "",
            "app/views.py": "",
            "app/tests/__init__.py": "",
            "app/tests/test_views.py": "",
            "app/test_x.py": "",
            "app/migrations/__init__.py": "",
            "app/migrations/0001_initial.py": "",
            "build/lib/app/__init__.py": "",
            ".venv/lib/x.py": "",
            "venv2/pyvenv.cfg": "",
            "venv2/lib/y.py": "",
            ".git/hooks/z.py": "",
            "node_modules/n/q.py": "",
            "conftest.py": "",
            "docs/conf.py": "",
        }
    )
    assert modules(root) == ["app", "app.views"]
    everything = modules(root, default_excludes=False)
    assert (
        "app.tests.test_views" in everything and "app.migrations.0001_initial" not in everything
    )  # not an identifier: never a module
    assert not any(m.startswith(("node_modules", "venv2")) for m in everything)


def test_only_schema_migrations_are_excluded_by_default(tree):
    """Django's numbered migrations and Alembic's environment are schema history; a feature
    package that happens to be called ``migrations`` (importers from other apps) is code."""
    root = tree(
        {
            "app/__init__.py": "",
            "app/migrations/__init__.py": "",
            "app/migrations/0002_more.py": "",
            "app/db/__init__.py": "",
            "app/db/migrations/env.py": "",
            "app/db/migrations/versions/abc_add.py": "",
            "app/services/__init__.py": "",
            "app/services/migrations/__init__.py": "",
            "app/services/migrations/chowdown.py": "",
            "app/services/migrations/utils/__init__.py": "",
        }
    )
    assert modules(root) == [
        "app",
        "app.db",
        "app.services",
        "app.services.migrations",
        "app.services.migrations.chowdown",
        "app.services.migrations.utils",
    ]
    assert modules(root, exclude=["app/services/migrations"]) == ["app", "app.db", "app.services"]


def test_an_alembic_environment_under_any_name_is_schema_history(tree):
    """``app/alembic/`` (``env.py`` beside ``versions/``) is Alembic's environment; an
    ``env.py`` without ``versions/`` is code."""
    root = tree(
        {
            "app/__init__.py": "",
            "app/alembic/env.py": "",
            "app/alembic/versions/e2412789c190_init.py": "",
            "app/settings/__init__.py": "",
            "app/settings/env.py": "",
        }
    )
    assert modules(root) == ["app", "app.settings", "app.settings.env"]


def test_a_package_named_docs_is_code(tree):
    """A Google Docs plug-in (``plugins/google/docs/``) is a package: code, analysed. A Sphinx
    ``docs/`` folder has no ``__init__.py`` and stays out, and so do tests below the plug-in."""
    root = tree(
        {
            "app/__init__.py": "",
            "app/plugins/__init__.py": "",
            "app/plugins/google/__init__.py": "",
            "app/plugins/google/docs/__init__.py": "",
            "app/plugins/google/docs/plugin.py": "",
            "app/plugins/google/docs/tests/test_plugin.py": "",
            "app/plugins/google/docs/test_more.py": "",
            "docs/conf.py": "",
            "app/dist/index.py": "",
        }
    )
    assert modules(root) == [
        "app",
        "app.plugins",
        "app.plugins.google",
        "app.plugins.google.docs",
        "app.plugins.google.docs.plugin",
    ]


def test_include_and_exclude_globs(tree):
    root = tree(
        {
            "app/__init__.py": "",
            "app/a.py": "",
            "app/b.py": "",
            "app/legacy/__init__.py": "",
            "app/legacy/old.py": "",
            "app/tests/test_a.py": "",
        }
    )
    assert modules(root, exclude=["app/legacy"]) == ["app", "app.a", "app.b"]
    assert modules(root, exclude=["**/b.py", "legacy"]) == ["app", "app.a"]
    assert modules(root, include=["app/a.py", "app/__init__.py"]) == ["app", "app.a"]
    # an explicit include reaches into a default-excluded directory
    assert modules(root, include=["app/tests/*.py"]) == ["app.tests.test_a"]


def test_gitignore_is_honoured(tree):
    root = tree(
        {
            ".gitignore": "generated/\n*.gen.py\n!keep.gen.py\n/top_only.py\n",
            "app/__init__.py": "",
            "app/generated/__init__.py": "",
            "app/x.gen.py": "",
            "app/keep.gen.py": "",
            "top_only.py": "",
            "app/top_only.py": "",
            "app/sub/.gitignore": "local.py\n",
            "app/sub/__init__.py": "",
            "app/sub/local.py": "",
            "app/local.py": "",
        }
    )
    # `x.gen.py` and `keep.gen.py` are not identifiers either way; check the others
    found = modules(root)
    assert "app.generated" not in found
    assert "top_only" not in found and "app.top_only" in found
    assert "app.sub.local" not in found and "app.local" in found
    assert "app.local" in modules(root, gitignore=False) and "app.generated" in modules(
        root, gitignore=False
    )


@pytest.mark.parametrize(
    "pattern,path,is_dir,expected",
    [
        ("*.pyc", "a/b/c.pyc", False, True),
        ("build/", "build", True, True),
        ("build/", "build", False, False),
        ("/root.py", "root.py", False, True),
        ("/root.py", "a/root.py", False, False),
        ("docs/*.py", "docs/x.py", False, True),
        ("docs/*.py", "docs/a/x.py", False, False),
        ("**/cache", "a/b/cache", True, True),
        ("a/**/z.py", "a/z.py", False, True),
        ("a/**/z.py", "a/b/c/z.py", False, True),
        ("x[0-9].py", "x5.py", False, True),
        ("x?.py", "xy.py", False, True),
    ],
)
def test_gitignore_patterns(pattern, path, is_dir, expected):
    assert GitIgnore(parse_rules(pattern)).ignored(path, is_dir) is expected


def test_gitignore_negation_and_comments():
    ig = GitIgnore(parse_rules("# comment\n\n*.py\n!keep.py\n"))
    assert ig.ignored("x.py", False) and not ig.ignored("keep.py", False)


def test_missing_and_non_python_paths(tree, tmp_path):
    with pytest.raises(PathError, match="no such file"):
        discover(tmp_path / "missing")
    root = tree({"README.txt": "hello", "data/x.csv": "1"})
    with pytest.raises(PathError, match="no Python files"):
        discover(root)
    with pytest.raises(PathError, match="not a Python file"):
        discover(root / "README.txt")


def test_project_root_is_the_root_discover_gives_without_walking(tree, tmp_path):
    """The parser process started before discovery finds its record (``cache.Guess``) by the
    root alone, so ``project_root`` must agree with ``discover`` on every layout."""
    from migrator.analysis.discover import project_root

    root = tree(
        {
            "src/pkg/__init__.py": "",
            "src/pkg/mod.py": "",
            "flat/a/__init__.py": "",
            "flat/a/sub/__init__.py": "",
            "flat/a/sub/b.py": "",
            "script.py": "",
            "not-an-identifier/__init__.py": "",
            "not-an-identifier/c.py": "",
        }
    )
    for path in (
        root,
        root / "src",
        root / "src/pkg",
        root / "src/pkg/mod.py",
        root / "flat",
        root / "flat/a/sub",
        root / "flat/a/sub/b.py",
        root / "script.py",
        root / "not-an-identifier",
    ):
        assert project_root(path) == discover(path).root, path
    assert project_root(root / "flat/a/sub") == (root / "flat").resolve()
    assert project_root(tmp_path / "missing") is None
    (root / "notes.txt").write_text("")
    assert project_root(root / "notes.txt") is None


def test_files_carry_the_mtime_they_were_discovered_with(tree):
    import os

    root = tree({"pkg/__init__.py": "", "pkg/a.py": "X = 1\n"})
    os.utime(root / "pkg/a.py", ns=(1_000_000_000, 1_234_567_890_123))
    found = {f.rel: f.mtime_ns for f in discover(root).files}
    assert found["pkg/a.py"] == 1_234_567_890_123
