"""SQLAlchemy loading hints (``selectinload``, ``joinedload``, ``load_only``) whose path reaches
another service's model: the moved code keeps their part on its own models (or drops them), so
its queries still run, return the same rows, and no longer use the other model there."""

from __future__ import annotations

from pathlib import Path

from migrator.extraction import build_extraction

from .test_conversions import _app, _kinds, _plan, _run_in_service

OWN = (
    "from sqlalchemy import Column, ForeignKey, Integer, String\n"
    "from sqlalchemy.orm import declarative_base, relationship\n\n"
    "from mini.b.models import Item\n\nBase = declarative_base()\n\n\n"
    "class Box(Base):\n    __tablename__ = 'boxes'\n    id = Column(Integer, primary_key=True)\n"
    "    parts = relationship('Part')\n\n\n"
    "class Part(Base):\n    __tablename__ = 'parts'\n    id = Column(Integer, primary_key=True)\n"
    "    box_id = Column(Integer, ForeignKey('boxes.id'))\n"
    "    item_id = Column(Integer, ForeignKey('items.id'))\n    label = Column(String(20))\n"
    "    item = relationship(Item)\n"
)
USE = (
    "from sqlalchemy import select\nfrom sqlalchemy.orm import joinedload, selectinload\n\n"
    "from mini.a.models import Box, Part\nfrom mini.b.models import Item\n\n\n"
    "def options():\n    return [\n        selectinload(Box.parts),\n"
    "        selectinload(Box.parts).joinedload(Part.item).load_only(Item.name),\n"
    "        joinedload(Part.item).load_only(Item.name, Item.kind),\n    ]\n\n\n"
    "def inner():\n    return [joinedload(Part.item, innerjoin=True).load_only(Item.name)]\n\n\n"
    "def boxes(session):\n"
    "    q = select(Box).options(*options(), selectinload(Box.parts).joinedload(Part.item))\n"
    "    return session.execute(q).unique().scalars().all()\n"
)
RUN = (
    "from sqlalchemy import create_engine\nfrom sqlalchemy.orm import Session\n"
    "from mini.a.models import Base, Box, Part\nfrom mini.a.use import boxes, options\n"
    "engine = create_engine('sqlite://')\nBase.metadata.create_all(engine)\n"
    "with Session(engine) as s:\n"
    "    s.add_all([Box(id=1), Part(id=1, box_id=1, label='x'), Part(id=2, box_id=1, label='y')])\n"
    "    s.commit()\n"
    "with Session(engine) as s:\n"
    "    rows = boxes(s)\n"
    "    print(len(options()), [b.id for b in rows], sorted(p.label for p in rows[0].parts))\n"
)


def _extract(tmp_path: Path):  # noqa: ANN202 - Extraction
    _app(tmp_path / "app", USE)
    (tmp_path / "app" / "mini" / "a" / "models.py").write_text(OWN)
    plan = _plan()
    plan.services["a"].modules.append("mini.a.models")
    plan.services["a"].tables.extend(["boxes", "parts"])
    return build_extraction(plan, None, tmp_path / "app")


def test_hints_through_another_services_model_are_cut_to_the_local_part(tmp_path: Path) -> None:
    ex = _extract(tmp_path)
    kinds = _kinds(ex, "mini/a/use.py", USE)
    for line in (
        "selectinload(Box.parts).joinedload(Part.item).load_only(Item.name),",
        "joinedload(Part.item).load_only(Item.name, Item.kind),",
    ):
        assert kinds[line] == ("model", True), line
    # innerjoin=True can drop rows: not a mere hint, kept as written and listed
    assert kinds["return [joinedload(Part.item, innerjoin=True).load_only(Item.name)]"] == (
        "model",
        False,
    )
    code = ex.files["services/a/src/mini/a/use.py"].decode()
    assert (
        "return [\n        selectinload(Box.parts),\n        selectinload(Box.parts),\n    ]"
        in code
    )
    assert "load_only(Item.name, Item.kind)" not in code
    assert "innerjoin=True" in code
    # an ``.options(...)`` argument through the cut relationship ``Part.item`` goes too
    assert ".options(*options(), selectinload(Box.parts))" in code


def test_the_moved_query_runs_and_loads_the_local_rows(tmp_path: Path) -> None:
    ex = _extract(tmp_path)
    # the monolith's hints would name ``Part.item``, a relationship now cut to a key read
    assert _run_in_service(ex, tmp_path / "out", "a", RUN).split() == ["2", "[1]", "['x',", "'y']"]
