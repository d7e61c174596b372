"""Joins of an alias (``aliased(Model)``), of the same model twice through aliases, and of a
relationship (``join(Model.rel)``), composed from key reads (``joins.py``): an alias is one
more side, read by key from its model's owner, a relationship the key equality of its foreign
key; the composed query returns the rows the monolith's join returned."""

from __future__ import annotations

from pathlib import Path

from migrator.extraction.joins import listed
from migrator.extraction.queries import why_stopped

from .test_conversions import _kinds, _left
from .test_joins import _extract, _in_service_a, _monolith

OWNER = (
    "from sqlalchemy import Column, ForeignKey, Integer, String\n"
    "from sqlalchemy.orm import relationship\n\n"
    "from mini.kernel import Base\n\n\n"
    "class Item(Base):\n    __tablename__ = 'items'\n"
    "    id = Column(Integer, primary_key=True)\n    name = Column(String(20))\n"
    "    parent_id = Column(Integer, ForeignKey('items.id'))\n"
    "    children = relationship('Item')\n"
)
OWN = (
    "from sqlalchemy import Column, ForeignKey, Integer, String\n"
    "from sqlalchemy.orm import relationship\n\n"
    "from mini.kernel import Base\n\n\n"
    "class Note(Base):\n    __tablename__ = 'notes'\n"
    "    id = Column(Integer, primary_key=True)\n"
    "    item_id = Column(Integer, ForeignKey('items.id'))\n    text = Column(String(20))\n"
    "    item = relationship('Item', lazy='select')\n"
    "    first = relationship('Item', primaryjoin='Note.item_id == Item.id', viewonly=True)\n"
)
USE = (
    "from sqlalchemy.orm import aliased\n\n"
    "from mini.a.models import Note\nfrom mini.b.models import Item\n\n\n"
    "def children(session, name):\n"
    "    Parent = aliased(Item, name='parent')\n"
    "    return (\n        session.query(Item)\n"
    "        .join(Parent, Item.parent_id == Parent.id)\n"
    "        .filter(Parent.name == name)\n        .order_by(Item.id)\n        .all()\n    )\n\n\n"
    "def grandchildren(session, name):\n"
    "    Parent = aliased(Item, name='parent')\n"
    "    Grand = aliased(Item)\n"
    "    return (\n        session.query(Item)\n"
    "        .join(Parent, Parent.id == Item.parent_id)\n"
    "        .join(Grand, Grand.id == Parent.parent_id)\n"
    "        .filter(Grand.name == name, Item.name != 'x')\n"
    "        .order_by(Item.id)\n        .all()\n    )\n\n\n"
    "def under(session, name):\n"
    "    Shot = aliased(Item)\n"
    "    Sequence = aliased(Item, name='sequence')\n"
    "    return (\n        session.query(Note)\n"
    "        .join(Shot, Note.item_id == Shot.id)\n"
    "        .join(Sequence, Sequence.id == Shot.parent_id)\n"
    "        .filter(Sequence.name == name)\n        .order_by(Note.id)\n        .all()\n    )\n\n\n"
    "def parents(session):\n"
    "    Child = aliased(Item, name='child')\n"
    "    return session.query(Item).join(Child, Child.parent_id == Item.id).order_by(Item.id).all()\n\n\n"
    "def noted(session, text):\n"
    "    Mine = aliased(Note)\n"
    "    return (\n        session.query(Item)\n"
    "        .join(Mine, Mine.item_id == Item.id)\n"
    "        .filter(Mine.text == text)\n        .order_by(Item.id)\n        .all()\n    )\n\n\n"
    "def tagged(session, opts):\n"
    "    Mine = aliased(Note)\n"
    "    return (\n        session.query(Item).join(Mine, Mine.item_id == Item.id)\n"
    "        .filter(Mine.text == opts.Mine).order_by(Item.id).all()\n    )\n\n\n"
    "def labelled(session):\n"
    "    Up = aliased(Item)\n"
    "    return session.query(Item).join(Up, Item.parent_id == Up.id).add_columns(Up.name).all()\n\n\n"
    "def counted(session):\n"
    "    Kid = aliased(Item)\n"
    "    return session.query(Item).join(Kid, Kid.parent_id == Item.id).count()\n\n\n"
    "def rooted(session):\n"
    "    Top = aliased(Item)\n"
    "    return session.query(Top).join(Note, Note.item_id == Top.id).all()\n\n\n"
    "def twice(session):\n"
    "    return session.query(Item).join(Item, Item.parent_id == Item.id).all()\n\n\n"
    "def handed(session, name):\n"
    "    Boss = aliased(Item)\n"
    "    rows = session.query(Item).join(Boss, Item.parent_id == Boss.id).filter(Boss.name == name).all()\n"
    "    return rows, Boss\n\n\n"
    "def related(session, name):\n"
    "    return session.query(Note).join(Note.item).filter(Item.name == name).order_by(Note.id).all()\n\n\n"
    "def kids(session):\n"
    "    Young = aliased(Item)\n"
    "    return session.query(Item).join(Young, Item.children).all()\n\n\n"
    "def first(session):\n"
    "    return session.query(Note).join(Note.first).filter(Item.name == 'a').all()\n\n\n"
    "def every(session):\n"
    "    Sub = aliased(Item)\n"
    "    return session.query(Item).outerjoin(Sub, Sub.parent_id == Item.id).order_by(Item.id).all()\n\n\n"
    "def flagged(session):\n"
    "    return session.query(Note).join(Item, Note.item_id == Item.id, isouter=True).order_by(Note.id).all()\n\n\n"
    "def narrowed(session):\n"
    "    return session.query(Note).join(Item, Note.item_id == Item.id, isouter=True).filter(Item.name == 'a').all()\n\n\n"
    "def spare():\n"
    "    Parent = aliased(Item, name='spare')\n"
    "    return [Parent]\n"
)


def loose(alias: str) -> str:
    """The reason of an ``aliased(Item)`` line whose alias is used outside joins."""
    return (
        f"the alias {alias} of Item is used outside the query chains with joins (only an alias "
        "named in joins composed from key reads is read from the owner)"
    )


def test_aliases_are_sides_read_by_key_and_unsound_uses_are_listed(tmp_path: Path) -> None:
    ex = _extract(tmp_path / "app", OWNER, OWN, USE, "items")
    kinds = _kinds(ex, "mini/a/use.py", USE)
    for line in (
        "Parent = aliased(Item, name='parent')",  # its alias is only in composed joins
        "Grand = aliased(Item)",
        "Shot = aliased(Item)",
        "Sequence = aliased(Item, name='sequence')",
        "Child = aliased(Item, name='child')",
        "session.query(Item)",
        ".join(Parent, Item.parent_id == Parent.id)",
        ".join(Mine, Mine.item_id == Item.id)",
        ".filter(Grand.name == name, Item.name != 'x')",
        "return session.query(Item).join(Child, Child.parent_id == Item.id).order_by(Item.id).all()",
        # an outer join named nowhere else keeps every row: left out (its repeats dropped
        # by `.all()`), `isouter=True` like `outerjoin`
        "Sub = aliased(Item)",
        "return session.query(Item).outerjoin(Sub, Sub.parent_id == Item.id).order_by(Item.id).all()",
        "return session.query(Note).join(Item, Note.item_id == Item.id, isouter=True).order_by(Note.id).all()",
        # a relationship joins on its foreign key
        "return session.query(Note).join(Note.item).filter(Item.name == name).order_by(Note.id).all()",
    ):
        assert kinds[line] == ("model", True), line
    why = _left(ex, "mini/a/use.py", USE)
    names = why_stopped("add_columns")  # a chain on a read model: its columns only
    assert why == {
        "Up = aliased(Item)": listed(names),
        "return session.query(Item).join(Up, Item.parent_id == Up.id).add_columns(Up.name).all()": (
            listed(names)
        ),
        "Kid = aliased(Item)": listed(
            "the join repeats a row for each Kid row that matches, and the query does more "
            "with them than `.all()` or `.first()` (which drop the repeats)"
        ),
        "return session.query(Item).join(Kid, Kid.parent_id == Item.id).count()": listed(
            "the join repeats a row for each Kid row that matches, and the query does more "
            "with them than `.all()` or `.first()` (which drop the repeats)"
        ),
        "Top = aliased(Item)": listed("the query reads Top, an alias of Item"),
        "return session.query(Item).join(Item, Item.parent_id == Item.id).all()": listed(
            "`.join(...)` joins something other than a model once (a relationship, an alias "
            "or the same model again)"
        ),
        # the alias is handed on: its use is not only in the composed join
        "Boss = aliased(Item)": loose("Boss"),
        "Young = aliased(Item)": listed(
            kid := "the condition that joins Young is not one key equality"
        ),
        "return session.query(Item).join(Young, Item.children).all()": listed(kid),
        "return session.query(Note).join(Note.first).filter(Item.name == 'a').all()": listed(
            "`.join(Note.first)` joins a relationship that is not one foreign key to a model "
            "named in this module (`secondary`, `primaryjoin`, or its model not imported)"
        ),
        "return session.query(Note).join(Item, Note.item_id == Item.id, isouter=True).filter(Item.name == 'a').all()": listed(
            "`.outerjoin(Item, ...)` keeps rows without a Item row (only an outer join named "
            "nowhere else is left out)"
        ),
        # the same name handed on in another function does not change the others
        "Parent = aliased(Item, name='spare')": loose("Parent"),
    }
    moved = ex.files["services/a/src/mini/a/use.py"].decode()
    compile(moved, "use.py", "exec")
    # an alias of a read model is the read model; its key read is a read of the model
    assert "Parent = Item\n" in moved and "aliased(Item" not in moved
    assert (
        ".filter(Item.parent_id.in_([_row.id for _row in Item.query.filter(Item.name == name)]))"
        in moved
    )
    # the same model twice, one alias narrowing the other's read
    assert (
        ".filter(Item.parent_id.in_([_row.id for _row in Item.query.filter(Item.parent_id.in_("
        "[_row.id for _row in Item.query.filter(Item.name == name)]))]))" in moved
    )
    assert (
        ".filter(Note.item_id.in_([_row.id for _row in Item.query.filter(Item.parent_id.in_("
        "[_row.id for _row in Item.query.filter(Item.name == name)]))]))" in moved
    )
    # an alias of this service's model is read here, as that model
    assert (
        ".filter(Item.id.in_([_row.item_id for _row in session.query(Note).filter("
        "Note.text == text)]))" in moved
    )
    assert "Mine = aliased(Note)" in moved  # SQLAlchemy aliases this service's model
    assert "session.query(Note).filter(Note.text == opts.Mine)" in moved  # not its attribute
    assert "return Item.query.order_by(Item.id).all()" in moved
    assert "return session.query(Note).order_by(Note.id).all()" in moved
    assert (
        "return session.query(Note).filter(Note.item_id.in_([_row.id for _row in "
        "Item.query.filter(Item.name == name)])).order_by(Note.id).all()" in moved
    )


#: the same rows in the monolith's one database and in the two services' own ones
DATA = (
    "ITEMS = [dict(id=1, name='root'), dict(id=2, name='a', parent_id=1),\n"
    "         dict(id=3, name='b', parent_id=1), dict(id=4, name='x', parent_id=2),\n"
    "         dict(id=5, name='c', parent_id=2), dict(id=6, name='d', parent_id=3),\n"
    "         dict(id=7, name='other'), dict(id=8, name='e', parent_id=7)]\n"
    "NOTES = [dict(id=1, item_id=4, text='t'), dict(id=2, item_id=6, text='u'),\n"
    "         dict(id=3, item_id=2, text='t'), dict(id=4, text='t'),\n"
    "         dict(id=5, item_id=8, text='v'), dict(id=6, item_id=5, text='u')]\n"
)
CALLS = (
    "import types\n"
    "def show(session):\n"
    "    keys = lambda rows: [n.id for n in rows]\n"
    "    print(keys(u.children(session, 'root')), keys(u.children(session, 'a')),\n"
    "          keys(u.children(session, 'nobody')), keys(u.grandchildren(session, 'root')))\n"
    "    print(keys(u.under(session, 'a')), keys(u.under(session, 'root')),\n"
    "          keys(u.under(session, 'other')), keys(u.parents(session)))\n"
    "    print(keys(u.noted(session, 't')), keys(u.noted(session, 'u')),\n"
    "          keys(u.related(session, 'a')), keys(u.related(session, 'x')))\n"
    "    print(keys(u.every(session)), keys(u.flagged(session)),\n"
    "          keys(u.tagged(session, types.SimpleNamespace(Mine='u'))))\n"
)
MONOLITH = (
    DATA + "from sqlalchemy import create_engine\nfrom sqlalchemy.orm import Session\n"
    "from mini.kernel import Base\nfrom mini.a.models import Note\n"
    "from mini.b.models import Item\nimport mini.a.use as u\n"
    + CALLS
    + "engine = create_engine('sqlite://')\nBase.metadata.create_all(engine)\n"
    "with Session(engine) as s:\n"
    "    s.add_all([Item(**i) for i in ITEMS] + [Note(**n) for n in NOTES])\n"
    "    s.commit()\n    show(s)\n"
)
#: service a: its notes in its own SQLite database; b's generated models on another one,
#: read through b's generated reader behind ``runtime.call``
SERVICE = (
    DATA + "from sqlalchemy.orm import Session, sessionmaker\n"
    "from interservice import runtime\nimport mini.a.use as u\n"
    + CALLS
    + "owner.Base.metadata.create_all(theirs, tables=[owner.Item.__table__])\n"
    "factory = sessionmaker(theirs)\n"
    "with factory() as s:\n    s.add_all([owner.Item(**i) for i in ITEMS])\n    s.commit()\n"
    "reader = runtime.reader(owner.Item, factory)\n"
    "def call(service, endpoint, func, args, kwargs, **_):\n"
    "    assert (service, endpoint) == ('b', '_read.Item'), (service, endpoint)\n"
    "    body, status = runtime.dispatch(reader, {'args': args, 'kwargs': kwargs})\n"
    "    assert status == 200, body\n    return body['result']\n"
    "runtime.call = call\n"
    "with Session(mine) as s:\n"
    "    s.add_all([Note(**n) for n in NOTES])\n    s.commit()\n    show(s)\n"
)


def test_composed_alias_joins_return_the_rows_the_monoliths_self_joins_returned(
    tmp_path: Path,
) -> None:
    """The monolith's self-joins through aliases on one database, then service a's moved code
    on its own database with service b's generated model and reader on another: the same
    rows."""
    app = tmp_path / "app"
    ex = _extract(app, OWNER, OWN, USE, "items")
    monolith = _monolith(app, MONOLITH)
    assert monolith.splitlines() == [
        "[2, 3] [4, 5] [] [5, 6]",
        "[1, 6] [3] [5] [1, 2, 3, 7]",
        "[2, 4] [5, 6] [3] [1]",
        "[1, 2, 3, 4, 5, 6, 7, 8] [1, 2, 3, 4, 5, 6] [5, 6]",
    ]
    assert _in_service_a(ex, tmp_path / "out", SERVICE) == monolith
