"""``Model.col == true()`` / ``false()`` / ``null()`` on another service's model: the read
model sends the constant as JSON and the owner's condition selects the rows the monolith's
SQL selected."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Boolean, Column, Integer, String, create_engine, false, null, true
from sqlalchemy.orm import declarative_base, sessionmaker

from migrator.extraction import build_extraction, runtime

from .test_conversions import _app, _kinds, _plan

USE = (
    "from sqlalchemy import null, true\n\nfrom mini.b.models import Item\n\n\n"
    "def named():\n    return [i.name for i in Item.query.filter(Item.kind == null()).all()]\n\n\n"
    "def flagged():\n    return Item.query.filter(Item.kind.is_not(null()), Item.name != true()).count()\n\n\n"
    "def called():\n    return Item.query.filter(Item.kind == true(1)).all()\n"
)


def test_sql_constants_in_conditions_are_sent(tmp_path: Path) -> None:
    _app(tmp_path / "app", USE)
    kinds = _kinds(build_extraction(_plan(), None, tmp_path / "app"), "mini/a/use.py", USE)
    assert kinds["return [i.name for i in Item.query.filter(Item.kind == null()).all()]"][1]
    assert kinds["return Item.query.filter(Item.kind.is_not(null()), Item.name != true()).count()"][
        1
    ]
    assert not kinds["return Item.query.filter(Item.kind == true(1)).all()"][1]  # not a constant


def test_the_owner_selects_the_rows_the_monoliths_sql_did(monkeypatch) -> None:  # noqa: ANN001
    Base = declarative_base()

    class Task(Base):
        __tablename__ = "tasks"
        id = Column(Integer, primary_key=True)
        title = Column(String(20))
        done = Column(Boolean)

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    factory = sessionmaker(engine)
    with factory() as s:
        s.add_all([Task(id=1, title="a", done=True), Task(id=2, title="b", done=False), Task(id=3)])
        s.commit()
    reader = runtime.reader(Task, factory)

    def call(service, endpoint, func, args, kwargs, **_):  # noqa: ANN001, ANN003, ANN202
        body, status = runtime.dispatch(reader, {"args": args, "kwargs": kwargs})
        assert status == 200, body
        return body["result"]

    monkeypatch.setattr(runtime, "call", call)
    read = runtime.ReadModel("tasks", "Task", columns=("id", "title", "done"))
    for test in (
        lambda m: m.done == true(),
        lambda m: m.done == false(),
        lambda m: m.done != true(),
        lambda m: m.done == null(),
        lambda m: m.done.is_(null()),
        lambda m: m.done.is_not(null()),
    ):
        with factory() as s:
            expected = [t.id for t in s.query(Task).filter(test(Task)).order_by(Task.id)]
        got = [t.id for t in read.query.filter(test(read)).order_by(read.id).all()]
        assert got == expected and expected, (got, expected)
