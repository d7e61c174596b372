"""Relationships whose key is named on the target (``foreign_keys="Item.kind_id"``), where
the target has more than one foreign key to the row's table: a read-only copy of a row a
converted call returns resolves them from the target's owner by that column (one-to-many,
``uselist=False``, and the ``backref`` the target gets), as for keys found by themselves. A returned row put in a set the caller made (``rows.add(row)``)
is not handed to a session. A many-to-many relationship whose target has the row's owner is
read by that owner."""

from __future__ import annotations

from pathlib import Path

from migrator.extraction import build_extraction

from .conftest import mini_packages, text
from .test_conversions import _plan, _run_in_service
from .test_related_rows import API, OWNER, calls_in, extract

MODELS = (
    "from sqlalchemy import Column, ForeignKey, Integer, String, Table\n"
    "from sqlalchemy.orm import declarative_base, relationship\n\nBase = declarative_base()\n"
    "item_marks = Table('item_marks', Base.metadata, Column('item_id', ForeignKey('items.id')),\n"
    "                   Column('mark_id', ForeignKey('marks.id')))\n\n\n"
    "class Kind(Base):\n    __tablename__ = 'kinds'\n"
    "    id = Column(Integer, primary_key=True)\n    title = Column(String(20))\n"
    "    items = relationship('Item', backref='kind', foreign_keys='Item.kind_id')\n"
    "    top = relationship('Item', uselist=False, backref='topped', foreign_keys='Item.top_of')\n\n\n"
    "class Item(Base):\n    __tablename__ = 'items'\n"
    "    id = Column(Integer, primary_key=True)\n    name = Column(String(20))\n"
    "    kind_id = Column(Integer, ForeignKey('kinds.id'))\n"
    "    top_of = Column(Integer, ForeignKey('kinds.id'))\n"
    "    marks = relationship('Mark', secondary=item_marks)\n\n\n"
    "class Mark(Base):\n    __tablename__ = 'marks'\n"
    "    id = Column(Integer, primary_key=True)\n    word = Column(String(20))\n"
)
USE = (
    "from mini.b.api import find, kind_of\n\n\n"
    "def label(key):\n    item = find(key)\n    return item.name + ' ' + item.kind.title\n\n\n"
    "def top_name(key):\n    kind = kind_of(key)\n    return kind.top.name if kind.top else '-'\n\n\n"
    "def names(key):\n    kind = kind_of(key)\n    return sorted(i.name for i in kind.items)\n\n\n"
    "def handed(key):\n    kind = kind_of(key)\n    return str(kind.top)\n\n\n"
    "def collect(keys):\n    kinds = set()\n    for key in keys:\n        kind = kind_of(key)\n"
    "        kinds.add(kind)\n    return sorted(k.title for k in kinds)\n\n\n"
    "def stored(key, kinds):\n    kind = kind_of(key)\n    kinds.add(kind)\n\n\n"
    "def marked(key):\n    item = find(key)\n    return sorted(m.word for m in item.marks)\n\n\n"
    "def marks_handed(key):\n    item = find(key)\n    return list(item.marks)\n"
)
OWNERS = (
    "from sqlalchemy import Column, ForeignKey, Integer, String, Table, create_engine\n"
    "from sqlalchemy.orm import declarative_base, relationship, sessionmaker\n"
    "from interservice import runtime\n"
    "Base = declarative_base()\n"
    "item_marks = Table('item_marks', Base.metadata, Column('item_id', ForeignKey('items.id')),\n"
    "                   Column('mark_id', ForeignKey('marks.id')))\n"
    "class Mark(Base):\n    __tablename__ = 'marks'\n"
    "    id = Column(Integer, primary_key=True)\n    word = Column(String(20))\n"
    "class Kind(Base):\n    __tablename__ = 'kinds'\n"
    "    id = Column(Integer, primary_key=True)\n    title = Column(String(20))\n"
    "class Item(Base):\n    __tablename__ = 'items'\n"
    "    id = Column(Integer, primary_key=True)\n    name = Column(String(20))\n"
    "    kind_id = Column(Integer, ForeignKey('kinds.id'))\n"
    "    top_of = Column(Integer, ForeignKey('kinds.id'))\n"
    "    marks = relationship(Mark, secondary=item_marks)\n"
    "engine = create_engine('sqlite://')\nBase.metadata.create_all(engine)\n"
    "factory = sessionmaker(engine)\n"
    "with factory() as s:\n"
    "    s.add_all([Kind(id=1, title='tea'), Kind(id=2, title='cake'),\n"
    "               Item(id=1, name='green', kind_id=1, top_of=1), Item(id=2, name='black', kind_id=1),\n"
    "               Item(id=3, name='sponge', kind_id=2)])\n"
    "    s.get(Item, 1).marks = [Mark(id=1, word='new'), Mark(id=2, word='cheap')]\n"
    "    s.commit()\n"
    "readers = {'_read.Kind': runtime.reader(Kind, factory), '_read.Item': runtime.reader(Item, factory)}\n"
    + OWNER[OWNER.index("asked = []") :]  # the owner's call: its real readers
    + "import mini.a.use as u\n"
)


def test_keys_named_on_the_target_resolve_a_returned_rows_relations(tmp_path: Path) -> None:
    ex = extract(tmp_path, MODELS, USE, ("kinds", "marks", "item_marks"))
    calls = calls_in(ex, USE)
    for name in ("label", "top_name", "names"):
        assert calls[name].converted, calls[name]
    assert not calls["handed"].converted  # the related row is handed on, not only read
    assert "which is not one of its columns" in calls["handed"].reason
    # a row put in a set the function made is not handed to a session; one given to
    # ``.add`` of anything else (a parameter may be a session) still is
    assert calls["collect"].converted, calls["collect"]
    assert not calls["stored"].converted
    assert "to its own session (kinds.add(...))" in calls["stored"].reason
    client = text(ex, "services/a/src/interservice/b_api.py")
    # many-to-many: the row's owner, which owns the target too, reads it ("via")
    assert calls["marked"].converted, calls["marked"]
    assert not calls["marks_handed"].converted
    assert (
        "runtime.relate('Item', {'kind': ('Kind', 'b', 'kind_id', 'one'), "
        "'marks': ('Mark', 'b', '', 'via')})"
    ) in client
    endpoints = text(ex, "services/b/src/interservice/endpoints.py")
    assert all(f"_read.{m}" in endpoints for m in ("Item", "Mark"))
    assert (
        "runtime.relate('Kind', {'items': ('Item', 'b', 'kind_id', 'many'), "
        "'top': ('Item', 'b', 'top_of', 'back')})"
    ) in client
    # the generated client against the owner's real readers on SQLite
    out = _run_in_service(
        ex,
        tmp_path / "out",
        "a",
        OWNERS + "print(u.label(1), u.label(3), u.top_name(1), u.top_name(2), u.names(1))\n"
        "print(u.kind_of(1).top.kind.title, u.collect([2, 1, 2]))\n"
        "print(u.marked(1), u.marked(2))\n",
    )
    assert out.splitlines() == [
        "green tea sponge cake green - ['black', 'green']",
        "tea ['cake', 'tea']",  # copies of one row are equal: the set holds it once
        "['cheap', 'new'] []",
    ]


def test_the_owner_of_a_many_to_many_row_serves_it(tmp_path: Path) -> None:
    """The row's own model gets a ``_read`` endpoint at its owner, which reads the
    relationship, even where no other service names that model."""
    pkg = mini_packages(tmp_path / "app")
    (pkg / "b" / "models.py").write_text(
        MODELS.split("class Kind")[0] + "class Item(Base):\n    __tablename__ = 'items'\n"
        "    id = Column(Integer, primary_key=True)\n"
        "    marks = relationship('Mark', secondary=item_marks)\n\n\n"
        "class Mark" + MODELS.split("class Mark")[1]
    )
    (pkg / "b" / "api.py").write_text(API.split("\n\n\ndef kind_of")[0].replace(", Kind", ""))
    (pkg / "a" / "use.py").write_text(
        "from mini.b.api import find\n\n\n"
        "def marked(key):\n    return sorted(m.word for m in find(key).marks)\n"
    )
    plan = _plan(["mini.b.api:find"])
    plan.services["b"].tables.extend(["marks", "item_marks"])
    ex = build_extraction(plan, None, tmp_path / "app")
    assert [c.converted for c in ex.calls if c.file == "mini/a/use.py"] == [True]
    endpoints = text(ex, "services/b/src/interservice/endpoints.py")
    assert "_read.Item" in endpoints
