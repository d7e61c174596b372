"""A caller that reads a ``@property`` of another service's row gets a copy of the getter in
its client (``runtime.compute``) when the getter only reads the row's columns, columns of its
related rows, other such getters and names the caller's service can import; the copy runs it
on the read-only row (``runtime.ReadRow``) as the monolith ran it on the ORM row."""

from __future__ import annotations

from pathlib import Path

from migrator.extraction import build_extraction

from .conftest import mini_packages, text
from .test_conversions import _kinds, _plan, _run_in_service
from .test_related_rows import API, MODELS, with_owner

GETTERS = (
    "    @property\n    def badge(self):\n"
    "        try:\n            return shout(self.name) + '/' + self.kind.title + self.suffix\n"
    "        except TypeError as e:\n            logger.warning('no badge: %s', e)\n"
    "            return self.nothing\n\n"
    "    @hybrid_property\n    def suffix(self):\n        return SEP + str(self.id)\n\n"
    "    @property\n    def secret(self):\n        return _private(self.name)\n\n"
    "    @property\n    def handed(self):\n        return shout(self)\n\n"
    "    @property\n    def many(self):\n        return len(self.tags) if self.kind else 0\n\n"
    "    @property\n    def kinded(self):\n        return self.kind.upper()\n\n"
    "    @staticmethod\n    def tidy(s):\n        return s.strip().upper()\n\n"
    "    @classmethod\n    def norm(cls, s):\n        return s.lower() + SEP + logging.getLevelName(10)\n\n"
    "    @classmethod\n    def made(cls, s):\n        return cls(name=s)\n\n"
    "    @classmethod\n    def listed(cls, rows):\n        return [r.describe() for r in rows]\n\n"
    "    @staticmethod\n    def kernel(s):\n        return shout(s)\n"
)
HEAD = (
    "import logging\n\nfrom sqlalchemy.ext.hybrid import hybrid_property\n\n"
    "from mini import shout\n\nlogger = logging.getLogger(__name__)\nSEP = '#'\n\n\n"
    "def _private(s):\n    return s[::-1]\n\n\n"
)
USE = (
    "from mini.b.api import find\n\n\n"
    "def badge(key):\n    item = find(key)\n    return item.badge\n\n\n"
    "def suffix(key):\n    item = find(key)\n    return item.suffix\n\n\n"
    "def secret(key):\n    item = find(key)\n    return item.secret\n\n\n"
    "def handed(key):\n    item = find(key)\n    return item.handed\n\n\n"
    "def many(key):\n    item = find(key)\n    return item.many\n\n\n"
    "def kinded(key):\n    item = find(key)\n    return item.kinded\n"
)
HELPERS = (
    "from mini.b.models import Item\n\n\n"
    "def tidy(s):\n    return Item.tidy(s) + Item.norm(s)\n\n\n"
    "def made(s):\n    return Item.made(s)\n\n\n"
    "def listed(rows):\n    return Item.listed(rows)\n\n\n"
    "def kernel(s):\n    return Item.kernel(s)\n\n\n"
    "def looped():\n    rows = Item.query.order_by(Item.id).all()\n    for row in rows:\n"
    "        chosen = row\n    return chosen.badge + ' ' + chosen.kind.title\n\n\n"
    "def handed():\n    rows = Item.query.all()\n    for row in rows:\n        print(row.describe())\n"
)


def _extract(root: Path):  # noqa: ANN202 - Extraction
    pkg = mini_packages(root / "app")
    (pkg / "__init__.py").write_text("def shout(s):\n    return str.upper(s)\n")
    models = MODELS.replace(
        "from sqlalchemy.orm import declarative_base, relationship\n\nBase = declarative_base()\n",
        "from sqlalchemy.orm import DeclarativeBase, relationship\n\n\nclass Base(DeclarativeBase):\n"
        "    pass\n",
    ).replace(
        "    shelf = relationship('Shelf')\n", "    shelf = relationship('Shelf')\n\n" + GETTERS
    )
    (pkg / "b" / "models.py").write_text(HEAD + models)
    (pkg / "b" / "api.py").write_text(API)
    (pkg / "a" / "use.py").write_text(USE)
    (pkg / "a" / "helpers.py").write_text(HELPERS)
    plan = _plan(["mini.b.api:find", "mini.b.api:kind_of"])
    plan.services["a"].modules.append("mini.a.helpers")
    plan.services["b"].tables.append("kinds")
    return build_extraction(plan, None, root / "app")


def _calls(ex) -> dict[str, object]:  # noqa: ANN001
    lines = USE.splitlines()
    return {
        next(t for t in reversed(lines[: c.line]) if t.startswith("def "))[4:].split("(")[0]: c
        for c in ex.calls
        if c.file == "mini/a/use.py"
    }


def test_a_getter_that_reads_only_the_row_is_copied_into_the_client(tmp_path: Path) -> None:
    ex = _extract(tmp_path)
    calls = _calls(ex)
    for name in ("badge", "suffix", "many"):
        assert calls[name].converted, calls[name]
    # a module function of the owner, the row handed on, a method of a related row: not copied
    for name in ("secret", "handed", "kinded"):
        assert not calls[name].converted, name
        assert f".{name} of the Item row, which is not one of its columns" in calls[name].reason
    client = text(ex, "services/a/src/interservice/b_api.py")
    assert "runtime.compute('Item', _Item_properties())" in client
    factory = client.split("def _Item_properties():")[1].split("runtime.compute")[0]
    assert "from mini import shout" in factory and "SEP = '#'" in factory
    assert "def badge(self):" in factory and "def suffix(self):" in factory
    assert "def secret" not in factory and "_private" not in factory
    # the relationship the getter reads is declared for the copy, and served by the owner
    assert "'kind': ('Kind', 'b', 'kind_id', 'one')" in client
    assert "_read.Kind" in text(ex, "services/b/src/interservice/endpoints.py")


def test_the_copied_getter_gives_the_monoliths_value(tmp_path: Path) -> None:
    """The moved caller, its client and the runtime against the owner's real reader on
    SQLite: the getter runs on the copy, reads the related row from the owner, and fails
    where the monolith's did (``self.nothing`` is no attribute of the model)."""
    ex = _extract(tmp_path)
    out = with_owner(
        ex,
        tmp_path,
        "print(u.badge(1), u.badge(3), u.suffix(2), u.many(1), u.many(2))\n"
        "row = u.find(1)\nobject.__getattribute__(row, '_data')['name'] = None\n"
        "try:\n    row.badge\nexcept runtime.NotExtractedError as e:\n    print('fails', e)\n"
        "try:\n    u.secret(1)\nexcept runtime.NotExtractedError as e:\n    print('fails', e)\n"
        "import mini.a.helpers as h\nprint(h.looped())\n",
    )
    first, second, third, fourth = out.splitlines()
    assert fourth == "SPONGE/cake#3 cake"  # the last row, its getter and related row
    assert first == "GREEN/tea#1 SPONGE/cake#3 #2 2 0"
    assert second.startswith("fails Item.nothing is not a column")
    assert third.startswith("fails Item.secret is not a column")


def test_a_static_helper_of_the_model_is_copied_and_one_using_its_class_is_not(
    tmp_path: Path,
) -> None:
    ex = _extract(tmp_path)
    kinds = _kinds(ex, "mini/a/helpers.py", HELPERS)
    assert kinds["return Item.tidy(s) + Item.norm(s)"] == ("model", True), kinds
    # it uses its class, calls a method of what it is given (a row's?), or the monolith's
    # own code (which may use its database)
    for line in ("return Item.made(s)", "return Item.listed(rows)", "return Item.kernel(s)"):
        assert kinds[line] == ("model", False), line
    # rows of a list read through a loop variable (and a name bound to it) are judged too
    assert kinds["rows = Item.query.order_by(Item.id).all()"] == ("model", True)
    assert kinds["rows = Item.query.all()"] == ("model", False)
    client = text(ex, "services/a/src/interservice/b_models.py")
    factory = client.split("def _Item_helpers():")[1].split("runtime.share('Item'")[0]
    assert "def tidy(s):" in factory and "def norm(s):" in factory  # its class dropped
    assert "def made" not in factory and "import logging" in factory
    assert "def listed" not in factory and "def kernel" not in factory
    out = _run_in_service(
        ex,
        tmp_path / "out",
        "a",
        "import mini.a.helpers as h\nprint(h.tidy(' Tea '))\n"
        "try:\n    h.made('x')\nexcept Exception as e:\n    print(type(e).__name__)\n",
    )
    assert out.splitlines() == ["TEA tea #DEBUG", "NotExtractedError"]
