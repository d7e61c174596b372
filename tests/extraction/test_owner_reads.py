"""Methods of a model's own code that only read and give plain data (``ownreads.py``): a base
mixin's ``get_id_map`` on the class and ``serialize()`` on a row the caller got from its read
model are run by the owner (``runtime.reader`` op ``method``); a method that writes, commits,
changes ``self``, names another model or gives rows back is not, and its use stays listed."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider

from migrator.extraction import constructs, runtime
from migrator.extraction.ownreads import OWNER_READ, OWNER_READ_ROW

from .conftest import text
from .test_conversions import _kinds, _left, _run_in_service
from .test_writes import _extract as extract_with
from .test_writes import owner_methods

MIXIN = (
    "class Mixin:\n"
    "    @classmethod\n    def get(cls, key):\n        return cls.query.get(key)\n\n"
    "    @classmethod\n    def get_by(cls, **kw):\n        return cls.query.filter_by(**kw).first()\n\n"
    "    @classmethod\n    def find_by(cls, *criterions, **kw):\n"
    "        return cls.query.filter(*criterions).filter_by(**kw).first()\n\n"
    "    @classmethod\n    def get_id_map(cls, field='name'):\n"
    "        found = {}\n        for row in cls.query.all():\n"
    "            found[getattr(row, field)] = row.id\n        return found\n\n"
    "    @classmethod\n    def get_all(cls):\n        return cls.query.all()\n\n"
    "    @classmethod\n    def get_all_by(cls, **kw):\n        return cls.query.filter_by(**kw).all()\n\n"
    "    @classmethod\n    def settle(cls):\n        cls.query.session.commit()\n        return {}\n\n"
    "    def serialize(self, obj_type=None):\n"
    "        out = {c: getattr(self, c) for c in self.__table__.columns.keys()}\n"
    "        out['type'] = obj_type or type(self).__name__\n        return out\n\n"
    "    @staticmethod\n    def serialize_list(rows, obj_type=None):\n"
    "        return [row.serialize(obj_type=obj_type) for row in rows]\n\n"
    "    def touch(self):\n        self.name = self.name + '!'\n        return {'name': self.name}\n\n"
    "    def tags_of(self):\n        return [t.word for t in Tag.query.filter_by(item_id=self.id)]\n"
)
MODELS = (
    "from sqlalchemy import Column, ForeignKey, Integer, String\n"
    "from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker\n\n\n"
    "class Base(DeclarativeBase):\n    pass\n\n\ndb_session = scoped_session(sessionmaker())\n\n\n"
    + MIXIN
    + "\n\nclass Item(Mixin, Base):\n    __tablename__ = 'items'\n"
    "    id = Column(Integer, primary_key=True)\n    name = Column(String(20))\n"
    "    price = Column(Integer)\n\n"
    "    def shown(self):\n        return super().serialize()\n\n"
    "    def bumped(self):\n        return super().touch()\n\n\n"
    "class Tag(Base):\n    __tablename__ = 'tags'\n"
    "    id = Column(Integer, primary_key=True)\n    word = Column(String(20))\n"
    "    item_id = Column(Integer, ForeignKey('items.id'))\n"
)
USE = (
    "from mini.b.models import Item\n\n\n"
    "def names():\n    return Item.get_id_map(field='name')\n\n\n"
    "def shown(key):\n    item = Item.get(key)\n    return item.serialize(obj_type='Thing')\n\n\n"
    "def found(name):\n    match = Item.get_by(name=name)\n"
    "    return match.serialize() if match is not None else None\n\n\n"
    "def touched(key):\n    row = Item.get(key)\n    return row.touch()\n\n\n"
    "def settled():\n    return Item.settle()\n\n\n"
    "def tagged(key):\n    other = Item.get(key)\n    return other.tags_of()\n\n\n"
    "def at_once(key):\n    return Item.get(key).serialize()\n\n\n"
    "def listed(price):\n    return Item.serialize_list(Item.get_all_by(price=price), 'X')\n\n\n"
    "def where(name):\n    hit = Item.find_by(Item.name.like(name), price=3)\n    return hit.name\n\n\n"
    "def spread(name, **lookup):\n    hit = Item.find_by(\n        Item.name == name,\n        **lookup\n    )\n"
    "    return hit.id\n\n\n"
    "def keywords_only(name):\n    return Item.get_by(Item.name == name)\n"
)


def _extract(root: Path, use: str = USE):  # noqa: ANN202 - Extraction
    return extract_with(root, use, MODELS)


def test_reading_methods_of_the_models_own_code_are_run_by_the_owner(tmp_path: Path) -> None:
    ex = _extract(tmp_path)
    assert _kinds(ex, "mini/a/use.py", USE) == {
        "return Item.get_id_map(field='name')": ("model", True),
        "item = Item.get(key)": ("model", True),
        "match = Item.get_by(name=name)": ("model", True),
        "row = Item.get(key)": ("model", False),  # touch changes the row
        "return Item.settle()": ("model", False),  # commits the caller's unit of work
        "other = Item.get(key)": ("model", False),  # tags_of reads another model
        "return Item.get(key).serialize()": ("model", True),
        # a copy of the static helper calls serialize() on the rows: the owner runs it
        "return Item.serialize_list(Item.get_all_by(price=price), 'X')": ("model", True),
        # column conditions given to a helper that filters by its positional arguments
        "hit = Item.find_by(Item.name.like(name), price=3)": ("model", True),
        "hit = Item.find_by(": ("model", True),
        "Item.name == name,": ("model", True),
        "return Item.get_by(Item.name == name)": ("model", False),  # it takes keywords only
    }
    client = text(ex, "services/a/src/interservice/b_models.py")
    assert f"'get_id_map': '{OWNER_READ}'" in client
    assert f"'serialize': '{OWNER_READ_ROW}'" in client
    assert "'get_all': 'all'" in client  # rows: the read model's own read, not a value
    # a commit, a change of the row (also through super()), another model: none is a read
    assert f"'shown': '{OWNER_READ_ROW}'" in client  # what super() runs is judged too
    for method in ("settle", "touch", "tags_of", "bumped"):
        assert f"'{method}'" not in client, method
    assert (OWNER_READ, OWNER_READ_ROW) == (runtime.OWNER_READ, runtime.OWNER_READ_ROW)


OWNER = (  # the owner's models (MODELS on SQLite), its reader, and the moved caller
    MODELS.replace("sessionmaker())", "sessionmaker(create_engine('sqlite://')))").replace(
        "import Column,", "import create_engine, Column,"
    )
    + "from sqlalchemy.orm import sessionmaker\n"
    "from interservice import runtime\n"
    "Mixin.query = db_session.query_property()\n"
    "Base.metadata.create_all(db_session.get_bind())\n"
    "db_session.add_all([Item(id=1, name='tea', price=3), Item(id=2, name='cake', price=5)])\n"
    "db_session.commit()\n"
    "read = runtime.reader(Item, methods=METHODS)\n"
    "wrong = runtime.reader(Item, methods={**METHODS, 'touch': runtime.OWNER_READ_ROW})\n"
    "asked = []\n"
    "def call(service, endpoint, func, args, kwargs, idempotent=True, **_):\n"
    "    assert (service, endpoint) == ('b', '_read.Item')\n"
    "    asked.append((kwargs['op'], idempotent))\n"
    "    body, status = runtime.dispatch(read, {'args': args, 'kwargs': kwargs})\n"
    "    assert status == 200, body\n"
    "    return body['result']\n"
    "runtime.call = call\n"
    "def table():\n"
    "    with sessionmaker(db_session.get_bind())() as s:\n"
    "        return [(i.id, i.name, i.price) for i in s.query(Item).order_by(Item.id)]\n"
    "import mini.a.use as u\n"
)


def test_the_generated_caller_gets_what_the_owners_method_gives(tmp_path: Path) -> None:
    """The moved caller and its generated client against the owner's reader on SQLite: the
    class method and the row method answer what they answer in the monolith, as reads
    (idempotent); a method that changes a row, sent as a read anyway, is rolled back and
    refused."""
    ex = _extract(tmp_path)
    methods = owner_methods(ex, "Item")
    assert methods == {
        "get_id_map": OWNER_READ,
        "serialize": OWNER_READ_ROW,
        "shown": OWNER_READ_ROW,
    }
    out = _run_in_service(
        ex,
        tmp_path / "out",
        "a",
        f"METHODS = {methods!r}\n" + OWNER + "print(u.names())\nprint(u.shown(2))\n"
        "print(u.found('tea'), u.found('none'), u.at_once(1) == u.found('tea'))\n"
        "print(u.listed(5), u.where('te%'), u.spread('cake', price=5))\n"
        "print(sorted(set(asked)))\n"
        "body, status = runtime.dispatch(read, {'kwargs': {'filters': {}, 'op': 'method',"
        " 'key': 1, 'method': {'name': 'touch'}}})\n"
        "print(status, body['error']['message'], table())\n"
        "body, status = runtime.dispatch(wrong, {'kwargs': {'filters': {}, 'op': 'method',"
        " 'key': 1, 'method': {'name': 'touch'}}})\n"
        "print(status, body['error']['message'], table())\n"
        "body, status = runtime.dispatch(read, {'kwargs': {'filters': {}, 'op': 'method',"
        " 'method': {'name': 'metadata'}}})\n"
        "print(status, body['error']['message'])\n"
        "try:\n    runtime.ReadRow('Item', {'name': 'x'}, 'b').serialize()\n"
        "except runtime.NotExtractedError as e:\n    print(e)\n",
    )
    lines = out.splitlines()
    assert lines[0] == "{'tea': 1, 'cake': 2}"
    assert lines[1] == "{'id': 2, 'name': 'cake', 'price': 5, 'type': 'Thing'}"
    assert lines[2] == "{'id': 1, 'name': 'tea', 'price': 3, 'type': 'Item'} None True"
    assert lines[3] == "[{'id': 2, 'name': 'cake', 'price': 5, 'type': 'X'}] tea 2"
    assert lines[4] == "[('all', True), ('first', True), ('get', True), ('method', True)]"
    # a method the owner's code does not let callers run is refused before it runs
    assert lines[5] == (
        "422 touch is not a method of Item that callers may run [(1, 'tea', 3), (2, 'cake', 5)]"
    )
    # and one judged wrongly to read is rolled back when it changed rows
    assert lines[6] == (
        "422 Item.touch changed rows: it is not a read [(1, 'tea', 3), (2, 'cake', 5)]"
    )
    assert lines[7] == "422 metadata is not a method of Item that callers may run"
    assert lines[8] == "Item.serialize: the copy has no id to send"  # never the class's


LEFT = (
    "from sqlalchemy.orm import aliased\n\nfrom mini.b.models import Item\n\n\n"
    "def condition(ids):\n    return ~Item.id.in_(ids)\n\n\n"
    "def alias():\n    return aliased(Item)\n\n\n"
    "def handed(helper):\n    return helper(Item, {})\n\n\n"
    "def touched(key):\n    row = Item.get(key)\n    return row.touch()\n\n\n"
    "def settled():\n    return Item.settle()\n\n\n"
    "def mapped(rows):\n    return Item.get_id_map(field=rows)\n\n\n"
    "def made(data):\n    return Item(**data).serialize()\n"
)


def test_each_use_left_names_the_construct_that_stopped_it(tmp_path: Path) -> None:
    """A use no read model serves says what it is, not only "read it from the owner"."""
    ex = _extract(tmp_path, LEFT)
    why = _left(ex, "mini/a/use.py", LEFT)
    assert set(why) == {
        "return ~Item.id.in_(ids)",
        "return aliased(Item)",
        "return helper(Item, {})",
        "row = Item.get(key)",
        "return Item.settle()",
        "return Item.get_id_map(field=rows)",
        "return Item(**data).serialize()",
    }
    assert why["return ~Item.id.in_(ids)"].startswith(
        "a column expression of Item (`Item.id`) is returned by condition()"
    )
    assert why["return aliased(Item)"].startswith("`aliased(Item)` makes an alias of Item")
    assert why["return helper(Item, {})"].startswith(
        "the class Item itself is handed to `helper()`"
    )
    assert why["row = Item.get(key)"] == (
        "the rows it reads: the caller reads .touch of the Item row, which is not one of its "
        "columns"
    )
    assert why["return Item.get_id_map(field=rows)"] == (
        "`Item.get_id_map(...)` is given values that are not data"
    )
    assert why["return Item(**data).serialize()"].startswith(
        "`Item(...)` makes a row that this function does not add to a session"
    )
    assert why["return Item.settle()"].startswith(
        "`Item.settle(...)` is a method of the model's own code that neither only reads"
    )


def test_a_column_left_names_the_query_it_is_in() -> None:
    source = (
        "def f(ids, q):\n"
        "    a = Other.query.filter(Item.id == 1).all()\n"
        "    b = Item.query.join(Other).filter(Item.id == 2).all()\n"
        "    c = db.session.query(Item.id, Other.id).all()\n"
        "    d = q.filter(Item.name == 4)\n"
        "    e = Other.query.outerjoin(Item).filter(Other.id == 1)\n"
        "    f = helper(ids).filter(Other.id == 1).with_entities(Item.name)\n"
    )
    wrapper = MetadataWrapper(cst.parse_module(source))
    parents = wrapper.resolve(ParentNodeProvider)
    found: list[str] = []

    class _Items(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value == "Item":
                found.append(constructs.describe(node, parents.get, "f"))

    wrapper.module.visit(_Items())
    assert found == [
        "the column `Item.id` is in `.filter(...)` of a query of Other: a condition on Item's "
        "columns there is a join across two databases",
        "a query of Item the read model does not send (it is joined, kept or handed on)",
        "the column `Item.id` is in `.filter(...)` of a query that combines tables "
        "(`.join(...)`), which are in two databases now",
        "the column `Item.id` is selected by `db.session.query(...)`, which the read model does "
        "not send (it sends queries of whole rows of one model)",
        "the column `Item.name` is in `q.filter(...)`: a query kept in a variable that is not "
        "only refined and read, or of another model",
        "`.outerjoin(Item)` combines Item's table with another query's, which is in another "
        "database now",
        "the column `Item.name` is in `.with_entities(...)` of the query `helper(...)` gives: a "
        "query built by other code, which the read model does not see",
    ]
