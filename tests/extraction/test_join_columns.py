"""A join that selects another service's columns (``add_columns``/``with_entities``), composed
from key reads (``joins.py``, ``runtime.JoinedQuery``): this service's query runs with the
joined model's key in place of each of its columns, and the rows take the columns of the
owner's rows read once by those keys; unsound selections stay listed with the reason."""

from __future__ import annotations

from pathlib import Path

from migrator.extraction import runtime
from migrator.extraction.joins import listed

from .test_conversions import _kinds, _left
from .test_joins import _extract, _in_service_a, _monolith, monolith_code, service_code

USE = (
    "from sqlalchemy import func\n\n"
    "from mini.a.models import Note\nfrom mini.b.models import Item, Kind\n\n\n"
    "def named(session):\n"
    "    return session.query(Note).join(Item).add_columns(Item.name).order_by(Note.id).all()\n\n\n"
    "def pairs(session, label):\n"
    "    return (\n        session.query(Note)\n"
    "        .join(Item, Note.item_id == Item.id)\n"
    "        .join(Kind, Kind.id == Item.kind_id)\n"
    "        .filter(Kind.label == label)\n"
    "        .with_entities(Note.id, Item.name.label('item'), Item.kind_id)\n"
    "        .order_by(Note.id)\n        .all()\n    )\n\n\n"
    "def both(session):\n"
    "    rows = (\n        session.query(Note)\n"
    "        .join(Item, Note.item_id == Item.id)\n"
    "        .join(Kind, Note.kind_id == Kind.id)\n"
    "        .add_columns(Item.name, Kind.label)\n"
    "        .order_by(Note.id.desc())\n    )\n"
    "    out = []\n"
    "    for note, name, label in rows:\n"
    "        out.append((note.id, name, label))\n"
    "    return out\n\n\n"
    "def firsts(session):\n"
    "    row = session.query(Note).join(Item).add_columns(Item.name).order_by(Note.id).first()\n"
    "    return row.Note.id, row.name, row._asdict()['name'], row[1]\n\n\n"
    "def refined(session, skip):\n"
    "    query = session.query(Note).join(Item).with_entities(Note.text, Item.name)\n"
    "    query = query.filter(Note.text != skip)\n"
    "    return [tuple(r) for r in query.order_by(Note.id).all()], query.count()\n\n\n"
    "def single(session, key):\n"
    "    one = session.query(Note).join(Item).add_columns(Item.name).filter(Note.id == key).one()\n"
    "    none = session.query(Note).join(Item).add_columns(Item.name).filter(Note.id == 4).one_or_none()\n"
    "    return one.Note.id, one.name, none\n\n\n"
    "def through(session):\n"
    "    return session.query(Note).join(Item, Note.item_id == Item.id).join(Kind, Kind.id == Item.kind_id).add_columns(Kind.label).order_by(Note.id).all()\n\n\n"
    "def counted(session):\n"
    "    return session.query(Note).join(Item).add_columns(func.upper(Item.name)).all()\n\n\n"
    "def sorted_(session):\n"
    "    return session.query(Note).join(Item).add_columns(Item.name).order_by(Item.name).all()\n\n\n"
    "def by_kind(session):\n"
    "    return session.query(Note).join(Item).order_by(Note.id, Item.kind_id.desc()).all()\n\n\n"
    "def outer(session):\n"
    "    return session.query(Note).outerjoin(Item).add_columns(Item.name).order_by(Note.id).all()\n\n\n"
    "def outers(session):\n"
    "    return (\n        session.query(Note).outerjoin(Item)\n"
    "        .outerjoin(Kind, Kind.id == Item.kind_id)\n"
    "        .with_entities(Note.id, Kind.label, Item.name).order_by(Note.id).all()\n    )\n\n\n"
    "def inner_after(session):\n"
    "    return session.query(Note).outerjoin(Item).join(Kind, Kind.id == Item.kind_id).add_columns(Kind.label).all()\n\n\n"
    "def handed(session):\n"
    "    return session.query(Note).join(Item).add_columns(Item.name)\n\n\n"
    "def after(session):\n"
    "    query = session.query(Note).join(Item).add_columns(Item.name)\n"
    "    row = query.filter(Note.id >= 4).order_by(Note.id).first()\n"
    "    return row.Note.id, row.name\n"
)

CALLS = (
    "def show(session):\n"
    "    print([tuple(r[1:]) + (r[0].id,) for r in u.named(session)])\n"
    "    print([tuple(r) for r in u.pairs(session, 'tea')], u.pairs(session, 'none'))\n"
    "    print(u.both(session))\n"
    "    print(u.firsts(session))\n"
    "    print(u.refined(session, 'x'))\n"
    "    print([tuple(r[1:]) + (r[0].id,) for r in u.through(session)])\n"
    "    print([tuple(r[1:]) + (r[0].id,) for r in u.outer(session)])\n"
    "    print([tuple(r) for r in u.outers(session)])\n"
    "    print(u.single(session, 2))\n"
    "    print(u.after(session))\n"
)
MONOLITH = monolith_code(CALLS)
#: each model is read once, however many of its columns the rows take
SERVICE = service_code(
    CALLS,
    "    asked.clear()\n    u.both(s)\n"
    "    assert sorted(asked) == ['_read.Item', '_read.Kind'], asked\n",
)


def test_selected_columns_of_another_service_come_from_its_owner_as_the_join_gave_them(
    tmp_path: Path,
) -> None:
    """The monolith's joins on one database, then service a's moved code on its own database
    with service b's generated models and reader on another: the same rows, in the same
    order, read by index, unpacking, name and ``_asdict()``; one read per model."""
    app = tmp_path / "app"
    ex = _extract(app, use=USE)
    monolith = _monolith(app, MONOLITH)
    assert monolith.splitlines() == [
        "[('green', 1), ('black', 2), ('sponge', 3), ('loose', 5), ('green', 6)]",
        "[(1, 'green', 1), (2, 'black', 1), (6, 'green', 1)] []",
        "[(5, 'loose', 'cake'), (3, 'sponge', 'tea'), (1, 'green', 'cake')]",
        "(1, 'green', 'green', 'green')",
        "([('a', 'green'), ('b', 'black'), ('d', 'loose')], 3)",
        "[('tea', 1), ('tea', 2), ('cake', 3), ('tea', 6)]",  # item 4 has no kind: dropped
        "[('green', 1), ('black', 2), ('sponge', 3), (None, 4), ('loose', 5), ('green', 6)]",
        "[(1, 'tea', 'green'), (2, 'tea', 'black'), (3, 'cake', 'sponge'), (4, None, None), "
        "(5, None, 'loose'), (6, 'tea', 'green')]",
        "(2, 'black', None)",  # note 4 has no item: the inner join has no row
        "(5, 'loose')",  # so the first row of the join is note 5's
    ]
    assert _in_service_a(ex, tmp_path / "out", SERVICE) == monolith


def test_selections_that_cannot_be_read_by_key_stay_listed(tmp_path: Path) -> None:
    ex = _extract(tmp_path / "app", use=USE)
    kinds = _kinds(ex, "mini/a/use.py", USE)
    for line in (
        "return session.query(Note).join(Item).add_columns(Item.name).order_by(Note.id).all()",
        ".join(Item, Note.item_id == Item.id)",
        ".join(Kind, Kind.id == Item.kind_id)",
        ".filter(Kind.label == label)",
        ".with_entities(Note.id, Item.name.label('item'), Item.kind_id)",
        "one = session.query(Note).join(Item).add_columns(Item.name).filter(Note.id == key).one()",
        ".add_columns(Item.name, Kind.label)",
        # a model joined through another one: its key is read from that one's row
        "return session.query(Note).join(Item, Note.item_id == Item.id).join(Kind, Kind.id == Item.kind_id).add_columns(Kind.label).order_by(Note.id).all()",
        # an outer join gives None where there is no row
        "return session.query(Note).outerjoin(Item).add_columns(Item.name).order_by(Note.id).all()",
        ".outerjoin(Kind, Kind.id == Item.kind_id)",
        "row = session.query(Note).join(Item).add_columns(Item.name).order_by(Note.id).first()",
        "query = session.query(Note).join(Item).with_entities(Note.text, Item.name)",
    ):
        assert kinds[line] == ("model", True), line
    why = _left(ex, "mini/a/use.py", USE)
    assert why == {
        line: listed(reason, "outerjoin" if ".outerjoin(" in line else "join")
        for line, reason in {
            "return session.query(Note).join(Item).add_columns(func.upper(Item.name)).all()": (
                "`.add_columns(...)` selects an expression of Item's columns, which are in "
                "another database now (only its plain columns can be read by key)"
            ),
            "return session.query(Note).join(Item).add_columns(Item.name).order_by(Item.name).all()": (
                "`.order_by(...)` sorts by Item.name, a text column of another service's model: "
                "PostgreSQL sorts text by its collation, unlike Python, so the rows cannot be "
                "sorted outside its database"
            ),
            "return session.query(Note).join(Item).order_by(Note.id, Item.kind_id.desc()).all()": (
                "`.order_by(...)` names Item's columns, which are in another database now "
                "(only conditions on them can be composed)"
            ),
            "return session.query(Note).outerjoin(Item).join(Kind, Kind.id == Item.kind_id).add_columns(Kind.label).all()": (
                "`.outerjoin(Item, ...)` keeps rows without a Item row (only an outer join "
                "named nowhere else is left out)"
            ),
            "return session.query(Note).join(Item).add_columns(Item.name)": (
                "the query selects another service's columns and is not read at once with "
                "`.all()`/`.first()`/`.one()` nor kept in a variable that is only refined, read "
                "and looped over"
            ),
        }.items()
    }
    moved = ex.files["services/a/src/mini/a/use.py"].decode()
    compile(moved, "use.py", "exec")
    assert "from interservice.runtime import joined_columns as _joined_columns\n" in moved
    assert (
        "_joined_columns(session.query(Note).filter(Note.item_id.isnot(None))"
        ".add_columns(Note.item_id.label('_joined_0')), "
        "{'_joined_0': (((Item, 'id', False, 'name'),), 'name')}).order_by(Note.id).all()" in moved
    )
    # a model joined through another: the key read from that one's row, the outer join's None
    assert (
        "{'_joined_0': (((Item, 'id', False, 'kind_id'), (Kind, 'id', False, 'label'),), 'label')}"
        in moved
    )
    assert (
        "{'_joined_0': (((Item, 'id', True, 'kind_id'), (Kind, 'id', True, 'label'),), 'label')"
        in moved
    )


def test_the_first_row_is_the_first_whose_joined_row_exists(monkeypatch) -> None:  # noqa: ANN001
    """An inner join drops a row whose key its owner has no row for (a key left dangling now
    that no database constraint spans the services): ``first()`` gives the next one, as the
    join would have, not None."""
    item = runtime.ReadModel("b", "Item", columns=("id", "name"))

    def fetch(self, filters, op, key=None, **shape):  # noqa: ANN001, ANN202
        assert op == "all" and shape["where"][0][:2] == ["id", "in"], shape
        return [runtime.ReadRow("Item", {"id": 2, "name": "tea"})]  # item 1 is gone

    monkeypatch.setattr(runtime.ReadModel, "fetch", fetch)

    class Row(tuple):
        _fields = ("Note", "_joined_0")

    class Local:
        def __init__(self, rows: list[Row]) -> None:
            self.rows = rows

        def limit(self, n: int) -> Local:
            return Local(self.rows[:n])

        def all(self) -> list[Row]:
            return list(self.rows)

    query = runtime.joined_columns(
        Local([Row(("note 1", 1)), Row(("note 2", 2))]),
        {"_joined_0": (((item, "id", False, "name"),), "name")},
    )
    first = query.first()
    assert first is not None and (first[0], first.name) == ("note 2", "tea")
    assert runtime.joined_columns(Local([]), {}).first() is None
