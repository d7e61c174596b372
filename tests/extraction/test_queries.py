"""SQLAlchemy expression queries on another service's model (``Model.col == x``, ``in_``,
``ilike``, ``order_by``, ``limit``): the caller's read model sends the conditions, the owner's
generated read endpoint applies them to its own query; joins across services stay listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.extraction import build_extraction, runtime

from .conftest import text
from .test_conversions import _app, _kinds, _plan, _run_in_service, _wired

COLUMNS = ("id", "sku", "price")


def _recorded(ex, root: Path, answer: str, run: str) -> str:  # noqa: ANN001
    """Print what ``run`` (an expression on the moved module ``mini.a.use`` as ``u``) gives in
    service a when every read model answers ``answer`` (an expression of ``op``), then the
    reads the read models sent."""
    return _run_in_service(
        ex,
        root / "out",
        "a",
        "from interservice import runtime\nimport mini.a.use as u\n"
        "seen = []\n"
        "def fetch(self, filters, op, key=None, **shape):\n"
        f"    seen.append((op, shape))\n    return {answer}\n"
        f"runtime.ReadModel.fetch = fetch\nprint({run})\nprint(seen)\n",
    )


def test_column_conditions_ordering_and_limits_are_applied_by_the_owner(monkeypatch) -> None:  # noqa: ANN001
    _, P, _ = _wired(
        monkeypatch,
        [(1, "tea", 3), (2, "cake", 5), (3, "tart", 8), (4, "bun", None)],
        columns=COLUMNS,
    )
    skus = lambda q: [r.sku for r in q]  # noqa: E731
    assert skus(P.query.filter(P.price > 3).order_by(P.price.desc())) == ["tart", "cake"]
    assert skus(P.query.filter(P.sku.in_(["tea", "bun"])).order_by(P.id)) == ["tea", "bun"]
    assert skus(P.query.filter(P.sku.ilike("T%")).order_by(P.sku.asc())) == ["tart", "tea"]
    assert skus(P.query.filter(P.price.is_(None))) == ["bun"]
    assert skus(P.query.filter(P.price != 5, P.price <= 8).filter_by(sku="tea")) == ["tea"]
    assert skus(P.query.order_by(P.id.desc()).offset(1).limit(2)) == ["tart", "cake"]
    assert P.query.filter(P.sku.like("t%")).count() == 2
    assert P.query.filter(P.id == 2).first().sku == "cake"
    assert P.query.filter(P.sku.not_in(["tea"]), P.price >= 5).count() == 2


def test_what_cannot_be_sent_fails_clearly(monkeypatch) -> None:  # noqa: ANN001
    _, P, reader = _wired(monkeypatch, [(1, "tea", 3)], columns=COLUMNS)
    other = runtime.ReadModel("orders", "Order", columns=("product_id",))
    with pytest.raises(runtime.NotExtractedError, match="join in memory"):
        P.query.filter(P.id == other.product_id)
    with pytest.raises(runtime.NotExtractedError, match="conditions on its own columns"):
        P.query.filter(other.product_id == 1)
    with pytest.raises(runtime.NotExtractedError, match="only reads of Product"):
        P.secret  # noqa: B018 - not a column: no ReadColumn
    # the owner applies only its model's columns and the known operators
    with pytest.raises(ValueError, match="cannot read Product by password"):
        reader({}, "all", where=[["password", "==", "x"]])
    with pytest.raises(ValueError, match="cannot read Product by sku"):
        reader({}, "all", where=[["sku", "__class__", "x"]])
    with pytest.raises(ValueError, match="cannot order Product"):
        reader({}, "all", order=[["sku", "drop"]])


USE = (
    "from mini.a.models import Note\nfrom mini.b.models import Item\n\n\n"
    "def pick(kind, names):\n"
    "    a = Item.query.filter(Item.kind == kind).order_by(Item.name.desc()).all()\n"
    "    b = Item.query.filter(Item.name.in_(names), kind != Item.kind).limit(5).all()\n"
    "    c = Item.query.filter(Item.name.ilike('t%')).count()\n"
    "    d = (\n        Item.query.filter(Item.kind.is_(None))\n"
    "        .order_by(Item.id)\n        .first()\n    )\n"
    "    return [i.name for i in a + b], c, d.name\n\n\n"
    "def joined(key):\n"
    "    return Item.query.filter(Item.id == Note.item_id).all()\n\n\n"
    "def mixed(key):\n"
    "    return Note.query.filter(Note.item_id == Item.id).all()\n\n\n"
    "def grouped(kind):\n"
    "    return Item.query.filter(Item.kind == kind).group_by(Item.kind).all()\n\n\n"
    "def flagged():\n"
    "    return Item.query.filter(Item.kind == func.now()).all()\n\n\n"
    "def changed(kind):\n"
    "    item = Item.query.filter(Item.kind == kind).first()\n"
    "    item.name = 'x'\n"
)
NOTES = (
    "from sqlalchemy import Column, Integer\n\nfrom mini.b.models import Base\n\n\n"
    "class Note(Base):\n    __tablename__ = 'notes'\n"
    "    id = Column(Integer, primary_key=True)\n    item_id = Column(Integer)\n"
)


def test_expression_queries_on_another_services_model_are_answered_by_its_read_model(
    tmp_path: Path,
) -> None:
    _app(tmp_path / "app", USE)
    (tmp_path / "app" / "mini" / "a" / "models.py").write_text(NOTES)
    plan = _plan()
    plan.services["a"].modules.append("mini.a.models")
    plan.services["a"].tables.append("notes")
    ex = build_extraction(plan, None, tmp_path / "app")
    assert _kinds(ex, "mini/a/use.py", USE) == {
        "a = Item.query.filter(Item.kind == kind).order_by(Item.name.desc()).all()": (
            "model",
            True,
        ),
        "b = Item.query.filter(Item.name.in_(names), kind != Item.kind).limit(5).all()": (
            "model",
            True,
        ),
        "c = Item.query.filter(Item.name.ilike('t%')).count()": ("model", True),
        "Item.query.filter(Item.kind.is_(None))": ("model", True),
        ".order_by(Item.id)": ("model", True),
        # a join of two services' tables: one database cannot answer it
        "return Item.query.filter(Item.id == Note.item_id).all()": ("model", False),
        "return Note.query.filter(Note.item_id == Item.id).all()": ("model", False),
        "return Item.query.filter(Item.kind == kind).group_by(Item.kind).all()": (
            "model",
            False,
        ),
        # an SQL construct as the value: not JSON, the read model cannot send it
        "return Item.query.filter(Item.kind == func.now()).all()": ("model", False),
        "item = Item.query.filter(Item.kind == kind).first()": (
            "model",
            True,
        ),  # its changed column goes to the owner
    }
    client = text(ex, "services/a/src/interservice/b_models.py")
    assert "Item = runtime.ReadModel(SERVICE, 'Item', columns=('id', 'kind', 'name'))" in client
    # the moved code runs against the read model: the conditions reach the runtime's query
    out = _recorded(
        ex,
        tmp_path,
        "0 if op == 'count' else [] if op == 'all' else runtime.ReadRow('Item', {'name': 'n'})",
        "u.pick('k', ['t'])",
    )
    assert out.splitlines() == [
        "([], 0, 'n')",
        "[('all', {'where': [['kind', '==', 'k']], 'order': [['name', 'desc']]}), "
        "('all', {'where': [['name', 'in', ['t']], ['kind', '!=', 'k']], 'limit': 5}), "
        "('count', {'where': [['name', 'ilike', 't%']]}), "
        "('first', {'where': [['kind', 'is', None]], 'order': [['id', 'asc']]})]",
    ]


STEPS = (
    "from mini.b.models import Item\n\n\n"
    "def search(kind=None, names=(), newest=False):\n"
    "    query = Item.query\n"
    "    if kind:\n        query = query.filter(Item.kind == kind)\n"
    "    if names:\n        query = query.filter(Item.name.in_(names))\n"
    "    if newest:\n        query = query.order_by(Item.id.desc()).limit(1)\n"
    "    return [i.name for i in query.all()], query.count()\n\n\n"
    "def passed_on(kind):\n"
    "    query = Item.query.filter(Item.kind == kind)\n"
    "    return paginate(query)\n\n\n"
    "def joined(kind):\n"
    "    query = Item.query.filter(Item.kind == kind)\n"
    "    query = query.join(Other)\n"
    "    return query.all()\n\n\n"
    "def method(kind):\n"
    "    query = Item.query.filter(Item.kind == kind)\n"
    "    return query.first().label()\n"
)


def test_a_query_refined_step_by_step_in_a_variable_is_sent_whole(tmp_path: Path) -> None:
    _app(tmp_path / "app", STEPS)
    ex = build_extraction(_plan(), None, tmp_path / "app")
    assert _kinds(ex, "mini/a/use.py", STEPS) == {
        "query = Item.query": ("model", True),
        "query = query.filter(Item.kind == kind)": ("model", True),
        "query = query.filter(Item.name.in_(names))": ("model", True),
        "query = query.order_by(Item.id.desc()).limit(1)": ("model", True),
        # handed to code that may do anything with it, joined, or its row used for more
        # than its columns: the owner cannot answer that
        "query = Item.query.filter(Item.kind == kind)": ("model", False),
    }
    lines = STEPS.splitlines()
    left = [c.line for c in ex.couplings if "Item.kind == kind" in lines[c.line - 1]]
    assert [c.converted for c in ex.couplings if c.line in left] == [True, False, False, False]
    out = _recorded(
        ex,
        tmp_path,
        "1 if op == 'count' else [runtime.ReadRow('Item', {'name': 'n'})]",
        "u.search('k', ['n'], True)",
    )
    assert out.splitlines() == [
        "(['n'], 1)",
        "[('all', {'where': [['kind', '==', 'k'], ['name', 'in', ['n']]], "
        "'order': [['id', 'desc']], 'limit': 1}), "
        "('count', {'where': [['kind', '==', 'k'], ['name', 'in', ['n']]], "
        "'order': [['id', 'desc']], 'limit': 1})]",
    ]


LOOPS = (
    "from mini.b.models import Item\n\n\n"
    "def names(kind):\n"
    "    query = Item.query.filter(Item.kind == kind)\n"
    "    out = []\n"
    "    for item in query:\n        out.append(item.name)\n"
    "    return out\n\n\n"
    "def labels(kind):\n"
    "    query = Item.query.filter_by(kind=kind)\n"
    "    return [item.label() for item in query]\n"
)


def test_a_loop_over_a_query_variable_reads_every_row_through_the_read_model(
    tmp_path: Path,
) -> None:
    _app(tmp_path / "app", LOOPS)
    ex = build_extraction(_plan(), None, tmp_path / "app")
    assert _kinds(ex, "mini/a/use.py", LOOPS) == {
        "query = Item.query.filter(Item.kind == kind)": ("model", True),
        # each row is asked for more than its columns: a copy cannot answer
        "query = Item.query.filter_by(kind=kind)": ("model", False),
    }
    out = _recorded(ex, tmp_path, "[runtime.ReadRow('Item', {'name': 'n'})]", "u.names('k')")
    assert out.splitlines() == ["['n']", "[('all', {'where': [['kind', '==', 'k']]})]"]


def test_a_many_to_many_link_reads_the_other_services_rows_by_the_keys_it_holds(
    monkeypatch,  # noqa: ANN001
) -> None:
    from sqlalchemy import Column, ForeignKey, Integer, Table, create_engine
    from sqlalchemy.orm import DeclarativeBase, Session

    class Base(DeclarativeBase):
        pass

    links = Table(
        "links",
        Base.metadata,
        Column("note_id", Integer, ForeignKey("notes.id")),
        Column("product_id", Integer),  # its foreign key into the other database is cut
    )

    class Note(Base):
        __tablename__ = "notes"
        id = Column(Integer, primary_key=True)

    _wired(monkeypatch, [(1, "tea", 3), (2, "cake", 5), (3, "tart", 8)])
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Note(id=1), Note(id=2), Note(id=3)])
        session.execute(links.insert(), [{"note_id": 1, "product_id": p} for p in (1, 3)])
        session.execute(links.insert(), [{"note_id": 2, "product_id": 2}])
        session.commit()
        one, two, three = (session.get(Note, k) for k in (1, 2, 3))

        def read(note: Note, link: object) -> list[str]:
            return sorted(r.sku for r in runtime.linked_rows(note, link, "catalog", "Product"))

        assert read(one, links) == ["tart", "tea"]
        assert read(two, "links") == ["cake"]  # ``secondary="links"``
        assert read(three, links) == []


SESSION = (
    "from mini.b.models import Item\nfrom mini.kernel import db\n\n\n"
    "def by_kind(kind):\n"
    "    return [i.name for i in db.session.query(Item).filter(Item.kind == kind).all()]\n\n\n"
    "def stepwise(kind):\n"
    "    q = db.session.query(Item)\n    q = q.filter(Item.kind == kind)\n    return q.count()\n\n\n"
    "def joined():\n    return db.session.query(Item).join(Other).all()\n"
)


def test_a_session_query_of_another_services_model_asks_its_read_model(tmp_path: Path) -> None:
    _app(tmp_path / "app", SESSION)
    (tmp_path / "app" / "mini" / "kernel.py").write_text("db = None\n")
    ex = build_extraction(_plan(), None, tmp_path / "app")
    assert _kinds(ex, "mini/a/use.py", SESSION) == {
        "return [i.name for i in db.session.query(Item).filter(Item.kind == kind).all()]": (
            "model",
            True,
        ),
        "q = db.session.query(Item)": ("model", True),
        "q = q.filter(Item.kind == kind)": ("model", True),
        "return db.session.query(Item).join(Other).all()": ("model", False),
    }
    moved = text(ex, "services/a/src/mini/a/use.py")
    assert "return [i.name for i in Item.query.filter(Item.kind == kind).all()]" in moved
    assert "q = Item.query\n" in moved and "return Item.query.join(Other).all()" in moved
    out = _recorded(
        ex,
        tmp_path,
        "3 if op == 'count' else [runtime.ReadRow('Item', {'name': 'n'})]",
        "(u.by_kind('k'), u.stepwise('j'))",
    )
    assert out.splitlines() == [
        "(['n'], 3)",
        "[('all', {'where': [['kind', '==', 'k']]}), ('count', {'where': [['kind', '==', 'j']]})]",
    ]
