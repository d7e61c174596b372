"""SQLAlchemy writes to another service's tables (``writes.py``, ``runtime.sql_write``): a row
the caller makes and adds to a session, a column it changes on a row its read model gave,
``query.update``/``delete``, and the model's own methods that write its rows go to the owner,
once each with the call's idempotency key; the owner sets only its model's own columns."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from migrator.extraction import build_extraction

from .conftest import text
from .test_conversions import _app, _kinds, _plan, _run_in_service

MODELS = (
    "from sqlalchemy import Column, ForeignKey, Integer, String\n"
    "from sqlalchemy.orm import declarative_base, relationship, scoped_session, sessionmaker\n\n"
    "Base = declarative_base()\ndb_session = scoped_session(sessionmaker())\n\n\n"
    "class Mixin:\n"
    "    @classmethod\n    def create(cls, **kw):\n"
    "        row = cls.build(**kw)\n        db_session.commit()\n        return row\n\n"
    "    @classmethod\n    def build(cls, **kw):\n"
    "        row = cls(**kw)\n        db_session.add(row)\n        return row\n\n"
    "    @classmethod\n    def purge(cls, **kw):\n"
    "        return cls.query.filter_by(**kw).delete()\n\n"
    "    def save(self):\n        db_session.add(self)\n        db_session.commit()\n\n"
    "    @classmethod\n    def commit(cls):\n        db_session.commit()\n\n"
    "    def attach(self, maker):\n        db_session.add(maker(self.id))\n\n\n"
    "class Item(Mixin, Base):\n    __tablename__ = 'items'\n"
    "    id = Column(Integer, primary_key=True)\n    name = Column(String(20))\n"
    "    price = Column(Integer)\n    tags = relationship('Tag')\n\n"
    "    def tag_with(self, word):\n"
    "        db_session.add(Tag(word=word, item_id=self.id))\n\n\n"
    "class Tag(Base):\n    __tablename__ = 'tags'\n"
    "    id = Column(Integer, primary_key=True)\n    word = Column(String(20))\n"
    "    item_id = Column(Integer, ForeignKey('items.id'))\n"
)
USE = (
    "from mini.b.models import Item\n\n\n"
    "def added(session, name):\n"
    "    session.add(Item(name=name, price=1))\n    session.commit()\n\n\n"
    "def built(session, name):\n"
    "    item = Item(name=name)\n    item.price = 2\n    session.add(item)\n"
    "    session.commit()\n    return item.id\n\n\n"
    "def unsaved(name):\n    return Item(name=name)\n\n\n"
    "def renamed(key, name):\n    row = Item.query.get(key)\n    row.name = name\n\n\n"
    "def retagged(key):\n    tagged = Item.query.get(key)\n    tagged.tags = []\n\n\n"
    "def repriced(name):\n"
    "    return Item.query.filter(Item.name == name).update({Item.price: 7})\n\n\n"
    "def dropped(name):\n    return Item.query.filter_by(name=name).delete()\n\n\n"
    "def made(name):\n    return Item.create(name=name, price=4).id\n\n\n"
    "def saved(key):\n    kept = Item.query.get(key)\n    kept.price = 9\n    kept.save()\n\n\n"
    "def purged(name):\n    return Item.purge(name=name)\n\n\n"
    "def labelled(key):\n    other = Item.query.get(key)\n    other.tag_with('x')\n\n\n"
    "def removed(session, key):\n"
    "    gone = Item.query.get(key)\n    session.delete(gone)\n    session.commit()\n"
)


def _extract(root: Path, use: str = USE, models: str = MODELS):  # noqa: ANN202 - Extraction
    """The fixture app with ``use`` as service a's module and ``models`` (items and tags) as
    service b's."""
    _app(root, use)
    (root / "mini" / "b" / "models.py").write_text(models)
    plan = _plan()
    plan.services["b"].tables.append("tags")
    return build_extraction(plan, None, root)


def test_writes_the_owner_can_apply_are_converted(tmp_path: Path) -> None:
    ex = _extract(tmp_path)
    assert _kinds(ex, "mini/a/use.py", USE) == {
        "session.add(Item(name=name, price=1))": ("model", True),
        "item = Item(name=name)": ("model", True),
        "return Item(name=name)": ("model", False),  # never added: nothing to create
        "row = Item.query.get(key)": ("model", True),
        "tagged = Item.query.get(key)": ("model", False),  # a relationship, not a column
        "return Item.query.filter(Item.name == name).update({Item.price: 7})": ("model", True),
        "return Item.query.filter_by(name=name).delete()": ("model", True),
        "return Item.create(name=name, price=4).id": ("model", True),
        "kept = Item.query.get(key)": ("model", True),
        "return Item.purge(name=name)": ("model", True),
        "other = Item.query.get(key)": ("model", False),  # tag_with writes a Tag too
        "gone = Item.query.get(key)": ("model", True),
    }
    client = text(ex, "services/a/src/interservice/b_models.py")
    assert "'create': 'write', 'purge': 'write', 'save': 'write-row'" in client
    # a commit of the caller's unit of work, a method handed code, a write of another model
    assert not any(f"'{m}'" in client for m in ("commit", "attach", "tag_with"))
    assert "'tag_with'" not in client and "'build'" not in client.split("{")[0]
    moved = text(ex, "services/a/src/mini/a/use.py")
    assert "Item._kept(session, 'add', Item(name=name, price=1))" in moved
    assert "Item._kept(session, 'delete', gone)" in moved


OWNER = (
    "from sqlalchemy import Column, ForeignKey, Integer, String, create_engine\n"
    "from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker\n"
    "from interservice import runtime\n"
    "Base = declarative_base()\n"
    "engine = create_engine('sqlite://')\n"
    "db_session = scoped_session(sessionmaker(engine))\n"
    "class Mixin:\n"
    "    query = db_session.query_property()\n"
    "    @classmethod\n    def create(cls, **kw):\n"
    "        row = cls(**kw)\n        db_session.add(row)\n        db_session.commit()\n"
    "        return row\n"
    "    @classmethod\n    def purge(cls, **kw):\n"
    "        return cls.query.filter_by(**kw).delete()\n"
    "    def save(self):\n        self.name = self.name + '!'\n        db_session.commit()\n"
    "class Item(Mixin, Base):\n    __tablename__ = 'items'\n"
    "    id = Column(Integer, primary_key=True)\n    name = Column(String(20))\n"
    "    price = Column(Integer)\n"
    "class Tag(Base):\n    __tablename__ = 'tags'\n"
    "    id = Column(Integer, primary_key=True)\n    word = Column(String(20))\n"
    "    item_id = Column(Integer, ForeignKey('items.id'))\n"
    "Base.metadata.create_all(engine)\n"
    "db_session.add_all([Item(id=1, name='tea', price=3), Item(id=2, name='cake', price=5)])\n"
    "db_session.commit()\n"
    "read = runtime.reader(Item, methods=METHODS)\n"
    "keys = iter(range(1000))\n"
    "replayed = []\n"
    "def call(service, endpoint, func, args, kwargs, idempotent=True, **_):\n"
    "    assert (service, endpoint) == ('b', '_read.Item')\n"
    "    key = f'k{next(keys)}'\n"
    "    body, status = runtime.dispatch(read, {'args': args, 'kwargs': kwargs}, key=key)\n"
    "    assert status == 200, body\n"
    "    if not idempotent:  # a write: the same key again (a retry) is answered, not applied\n"
    "        again = runtime.dispatch(read, {'args': args, 'kwargs': kwargs}, key=key)\n"
    "        replayed.append(again == (body, status))\n"
    "    return body['result']\n"
    "runtime.call = call\n"
    "def table():\n"
    "    with sessionmaker(engine)() as s:\n"
    "        return [(i.id, i.name, i.price) for i in s.query(Item).order_by(Item.id)]\n"
    "mine = sessionmaker(create_engine('sqlite://'))()  # the caller's own session\n"
    "import mini.a.use as u\n"
)


def owner_methods(ex, model: str) -> dict[str, str]:  # noqa: ANN001
    """The methods of ``model``'s own code that the owner's generated endpoints let callers
    run (``runtime.reader(..., methods=...)``)."""
    endpoints = text(ex, "services/b/src/interservice/endpoints.py")
    found = re.search(rf"runtime\.reader\(_model_{model}\b.*?methods=(\{{.*?\}})\)", endpoints)
    return ast.literal_eval(found.group(1)) if found else {}


def test_the_generated_caller_writes_through_the_owners_session(tmp_path: Path) -> None:
    """The moved caller and its generated client against the owner's reader on SQLite (with
    the methods the owner's generated endpoints let callers run): each write changes the
    owner's table once, a retried key is not applied again, and a column of another model,
    or a method of the model the owner does not let callers run, is refused."""
    ex = _extract(tmp_path)
    methods = owner_methods(ex, "Item")
    assert methods == {"build": "write", "create": "write", "purge": "write", "save": "write-row"}
    out = _run_in_service(
        ex,
        tmp_path / "out",
        "a",
        f"METHODS = {methods!r}\n" + OWNER + "u.added(mine, 'bun'); print(table())\n"
        "print(u.built(mine, 'pie')); print(table())\n"
        "u.renamed(1, 'green'); print(u.repriced('cake'), table())\n"
        "print(u.made('tart'), u.saved(2), table())\n"
        "print(u.dropped('pie'), u.purged('bun'), table())\n"
        "u.removed(mine, 5); print(table())\n"
        "print(all(replayed), len(replayed))\n"
        "body, status = runtime.dispatch(read, {'kwargs': {'filters': {}, 'op': 'create',"
        " 'values': {'name': 'x', 'word': 'y'}}}, key='other')\n"
        "print(status, body['error']['message'], table())\n"
        "body, status = runtime.dispatch(read, {'kwargs': {'filters': {}, 'op': 'call',"
        " 'values': {'method': '__init__', 'args': [], 'kwargs': {}}}}, key='init')\n"
        "print(status, body['error']['message'])\n",
    )
    lines = out.splitlines()
    assert lines[0] == "[(1, 'tea', 3), (2, 'cake', 5), (3, 'bun', 1)]"
    assert lines[1] == "4"
    assert lines[2] == "[(1, 'tea', 3), (2, 'cake', 5), (3, 'bun', 1), (4, 'pie', 2)]"
    assert lines[3] == "1 [(1, 'green', 3), (2, 'cake', 7), (3, 'bun', 1), (4, 'pie', 2)]"
    assert lines[4] == (
        "5 None [(1, 'green', 3), (2, 'cake!', 9), (3, 'bun', 1), (4, 'pie', 2), (5, 'tart', 4)]"
    )
    assert lines[5] == "1 1 [(1, 'green', 3), (2, 'cake!', 9), (5, 'tart', 4)]"
    assert lines[6] == "[(1, 'green', 3), (2, 'cake!', 9)]"
    assert lines[7] == "True 11"  # every write was retried under its key, and applied once
    assert lines[8] == (
        "422 cannot set word: not a column of Item [(1, 'green', 3), (2, 'cake!', 9)]"
    )
    assert lines[9] == "422 __init__ is not a method of Item that callers may run"


def test_a_helper_that_returns_the_row_it_was_given_is_judged_by_that_row(tmp_path: Path) -> None:
    """``create(model)`` of the app adds the row it is given and returns it: what the owner's
    function returns through it is that row (sent as its columns), not an unknown value."""
    api = (
        "from mini.b.models import Item\n\n\n"
        "def save(model, flush=True):\n    db.session.add(model)\n    return model\n\n\n"
        "def make(name: str):\n    item = Item(name=name)\n    return save(item)\n\n\n"
        "def other(name: str):\n    return save(flush=False, model=Item(name=name))\n"
    )
    use = (
        "from mini.b.api import make, other\n\n\n"
        "def run(name):\n    return make(name).name, other(name).id\n"
    )
    _app(tmp_path, use, api)
    ex = build_extraction(_plan(["mini.b.api:make", "mini.b.api:other"]), None, tmp_path)
    calls = {c.callee.split(":")[1]: c for c in ex.calls}
    assert calls["make"].converted and calls["other"].converted, calls
