"""A read-only copy of another service's row (``runtime.ReadRow``) resolves the row's
relationships from the target's owner by the key the copy holds: many-to-one by its key
column, one-to-many by the target's one foreign key to the row's table. A caller that only
reads columns of the related rows is converted; one that hands them on or writes them is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.extraction import build_extraction, runtime

from .conftest import mini_packages, text
from .test_conversions import _plan, _run_in_service

MODELS = (
    "from sqlalchemy import Column, ForeignKey, Integer, String\n"
    "from sqlalchemy.orm import declarative_base, relationship\n\nBase = declarative_base()\n\n\n"
    "class Kind(Base):\n    __tablename__ = 'kinds'\n"
    "    id = Column(Integer, primary_key=True)\n    title = Column(String(20))\n"
    "    items = relationship('Item', back_populates='kind')\n\n\n"
    "class Item(Base):\n    __tablename__ = 'items'\n"
    "    id = Column(Integer, primary_key=True)\n    name = Column(String(20))\n"
    "    kind_id = Column(Integer, ForeignKey('kinds.id'))\n"
    "    kind = relationship('Kind', back_populates='items')\n"
    "    shelf_ref = Column(Integer, ForeignKey('shelves.id'))\n"
    "    shelf = relationship('Shelf')\n\n\n"
    "class Shelf(Base):\n    __tablename__ = 'shelves'\n"
    "    id = Column(Integer, primary_key=True)\n    label = Column(String(20))\n\n\n"
    "class Tag(Base):\n    __tablename__ = 'tags'\n"
    "    id = Column(Integer, primary_key=True)\n    word = Column(String(20))\n"
    "    item_id = Column(Integer, ForeignKey('items.id'))\n"
    "    item = relationship('Item', backref='tags')\n"
)
API = (
    "from mini.b.models import Item, Kind\n\n\n"
    "def find(key: int) -> Item:\n    return Item.query.get(key)\n\n\n"
    "def kind_of(key: int) -> Kind:\n    return Kind.query.get(key)\n"
)
USE = (
    "from mini.b.api import find, kind_of\n\n\n"
    "def label(key):\n    item = find(key)\n    return item.name + ' ' + item.kind.title.upper()\n\n\n"
    "def names(key):\n    kind = kind_of(key)\n    return sorted(i.name for i in kind.items)\n\n\n"
    "def shelved(key):\n    item = find(key)\n    kind = item.kind\n"
    "    return kind.title + ' ' + item.shelf.label\n\n\n"
    "def tested(key):\n    item = find(key)\n"
    "    return item.kind.title if item.kind is not None and item.shelf else '-'\n\n\n"
    "def tagged(key):\n    item = find(key)\n    return sorted(t.word for t in item.tags)\n\n\n"
    "def deep(key):\n    item = find(key)\n    return len(item.kind.items)\n\n\n"
    "def handed(key):\n    item = find(key)\n    return str(item.kind)\n\n\n"
    "def changed(key):\n    item = find(key)\n    item.kind.title = 'x'\n"
)


def extract(root: Path, models: str = MODELS, use: str = USE, tables: tuple = ("kinds",)):  # noqa: ANN202 - Extraction
    """Extract the mini app with ``models`` and ``API`` in b and ``use`` in a."""
    pkg = mini_packages(root / "app")
    (pkg / "b" / "models.py").write_text(models)
    (pkg / "b" / "api.py").write_text(API)
    (pkg / "a" / "use.py").write_text(use)
    plan = _plan(["mini.b.api:find", "mini.b.api:kind_of"])
    plan.services["b"].tables.extend(tables)
    return build_extraction(plan, None, root / "app")


def calls_in(ex, use: str) -> dict:  # noqa: ANN001 - Extraction
    """The function of ``use`` each call of the moved ``mini/a/use.py`` is in -> the call."""
    lines = use.splitlines()
    return {
        next(t for t in reversed(lines[: c.line]) if t.startswith("def "))[4:].split("(")[0]: c
        for c in ex.calls
        if c.file == "mini/a/use.py"
    }


def test_reading_columns_of_a_returned_rows_related_rows_is_converted(tmp_path: Path) -> None:
    ex = extract(tmp_path)
    calls = calls_in(ex, USE)
    for name in ("label", "names", "shelved", "tested", "tagged"):
        assert calls[name].converted, calls[name]
    # a list is only looped over; the related row is not handed on nor changed
    for name in ("deep", "handed", "changed"):
        assert not calls[name].converted, name
        assert "which is not one of its columns" in calls[name].reason
    client = text(ex, "services/a/src/interservice/b_api.py")
    assert (
        "runtime.relate('Item', {'kind': ('Kind', 'b', 'kind_id', 'one'), "
        "'shelf': ('Shelf', 'b', 'shelf_ref', 'one'), 'tags': ('Tag', 'b', 'item_id', 'many')})"
    ) in client
    assert "runtime.relate('Kind', {'items': ('Item', 'b', 'kind_id', 'many')})" in client
    # the owner answers the copies' reads of both models
    endpoints = text(ex, "services/b/src/interservice/endpoints.py")
    assert all(f"_read.{m}" in endpoints for m in ("Kind", "Item", "Shelf", "Tag"))


OWNER = (
    "from sqlalchemy import Column, ForeignKey, Integer, String, create_engine\n"
    "from sqlalchemy.orm import declarative_base, relationship, sessionmaker\n"
    "from interservice import runtime\n"
    "Base = declarative_base()\n"
    "class Kind(Base):\n    __tablename__ = 'kinds'\n"
    "    id = Column(Integer, primary_key=True)\n    title = Column(String(20))\n"
    "class Item(Base):\n    __tablename__ = 'items'\n"
    "    id = Column(Integer, primary_key=True)\n    name = Column(String(20))\n"
    "    kind_id = Column(Integer, ForeignKey('kinds.id'))\n"
    "    shelf_ref = Column(Integer, ForeignKey('shelves.id'))\n"
    "class Shelf(Base):\n    __tablename__ = 'shelves'\n"
    "    id = Column(Integer, primary_key=True)\n    label = Column(String(20))\n"
    "class Tag(Base):\n    __tablename__ = 'tags'\n"
    "    id = Column(Integer, primary_key=True)\n    word = Column(String(20))\n"
    "    item_id = Column(Integer, ForeignKey('items.id'))\n"
    "engine = create_engine('sqlite://')\nBase.metadata.create_all(engine)\n"
    "factory = sessionmaker(engine)\n"
    "with factory() as s:\n"
    "    s.add_all([Kind(id=1, title='tea'), Kind(id=2, title='cake'), Shelf(id=5, label='top'),\n"
    "               Tag(id=1, word='hot', item_id=1), Tag(id=2, word='fresh', item_id=1),\n"
    "               Item(id=1, name='green', kind_id=1, shelf_ref=5), Item(id=2, name='black', kind_id=1),\n"
    "               Item(id=3, name='sponge', kind_id=2)])\n    s.commit()\n"
    "readers = {'_read.Kind': runtime.reader(Kind, factory),\n"
    "           '_read.Item': runtime.reader(Item, factory),\n"
    "           '_read.Shelf': runtime.reader(Shelf, factory),\n"
    "           '_read.Tag': runtime.reader(Tag, factory)}\n"
    "asked = []\n"
    "def call(service, endpoint, func, args, kwargs, **_):\n"
    "    asked.append(endpoint)\n"
    "    if endpoint in ('find', 'kind_of'):\n"
    "        with factory() as s:\n"
    "            row = s.get(Item if endpoint == 'find' else Kind, kwargs['key'])\n"
    "            return runtime.decode(runtime.encode(row), None)\n"
    "    body, status = runtime.dispatch(readers[endpoint], {'args': args, 'kwargs': kwargs})\n"
    "    assert status == 200, body\n"
    "    return body['result']\n"
    "runtime.call = call\n"
)


def with_owner(ex, root: Path, code: str) -> str:  # noqa: ANN001 - Extraction
    """Run ``code`` in service a with the moved ``mini.a.use`` as ``u`` and the owner's real
    readers on SQLite behind ``runtime.call`` (``OWNER``)."""
    return _run_in_service(ex, root / "out", "a", OWNER + "import mini.a.use as u\n" + code)


def test_the_generated_copy_reads_related_rows_from_the_owners_reader(tmp_path: Path) -> None:
    """The moved caller, its generated client and runtime against the owner's real reader on
    SQLite: ``item.kind.title`` and ``kind.items`` come from the owner, each read once."""
    ex = extract(tmp_path)
    out = with_owner(
        ex,
        tmp_path,
        "print(u.label(1), u.label(3), u.names(1), u.names(2), u.shelved(1), u.tested(1), u.tested(3), u.tagged(1), u.tagged(2))\n"
        "item = u.find(2)\nprint(item.kind.title, item.kind.id)\nprint(asked)\n",
    )
    first, second, third = out.splitlines()
    assert first == (
        "green TEA sponge CAKE ['black', 'green'] ['sponge'] tea top tea - ['fresh', 'hot'] []"
    )
    assert second == "tea 1"
    # the copy keeps what it read: item 2's kind was asked for once
    assert eval(third)[-2:] == ["find", "_read.Kind"]  # noqa: S307 - a printed list


def test_a_copy_without_the_key_or_the_relationship_says_so(monkeypatch) -> None:  # noqa: ANN001
    asked: list[str] = []

    def call(service, endpoint, func, args, kwargs, **_):  # noqa: ANN001, ANN003, ANN202
        asked.append(endpoint)
        return []

    monkeypatch.setattr(runtime, "call", call)
    monkeypatch.setattr(runtime, "RELATIONS", {})
    runtime.relate("Row", {"owner": ("User", "users", "owner_id", "one")})
    row = runtime.ReadRow("Row", {"id": 1, "owner_id": None})
    assert row.owner is None and asked == []  # no key: nothing to ask
    assert runtime.ReadRow("Row", {"id": 1, "owner_id": 4}).owner is None
    assert asked == ["_read.User"]
    with pytest.raises(runtime.NotExtractedError, match="not a column the owner sends"):
        row.team  # noqa: B018
