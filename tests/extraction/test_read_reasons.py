"""A read of another service's model that its read model cannot send stays listed in
EXTRACTION.md with the reason: a join, a method a read model does not send, a condition
naming another model or built by other code, a SQL construct, a query used for more."""

from __future__ import annotations

from pathlib import Path

from migrator.extraction import build_extraction
from migrator.extraction.report import markdown

from .test_conversions import _app, _plan

USE = (
    "from sqlalchemy import func\n\nfrom mini.a.models import Other\nfrom mini.b.models import Item\n"
    "from mini.b.api import build\n\n\n"
    "def joined():\n    return Item.query.join(Other).all()\n\n\n"
    "def grouped():\n    return Item.query.group_by(Item.kind).all()\n\n\n"
    "def other_column():\n    return Item.query.filter(Item.id == Other.item_id).all()\n\n\n"
    "def built():\n    return Item.query.filter(build()).all()\n\n\n"
    "def counted():\n    return Item.query.filter(Item.name == func.lower('x')).all()\n\n\n"
    "def kept(q=None):\n    q = Item.query\n    return build(q)\n\n\n"
    "def sent():\n    return Item.query.filter(Item.name == 'x').all()\n\n\n"
    "def spread(x):\n    return (\n        Item.query.join(Other)\n"
    "        .filter(Item.name == x)\n        .all()\n    )\n"
)
OTHER = (
    "from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n\n"
    "Base = declarative_base()\n\n\nclass Other(Base):\n    __tablename__ = 'others'\n"
    "    id = Column(Integer, primary_key=True)\n    item_id = Column(Integer)\n"
)


def test_a_read_left_listed_says_why(tmp_path: Path) -> None:
    _app(tmp_path / "app", USE, "def build(q=None):\n    return q\n")
    (tmp_path / "app" / "mini" / "a" / "models.py").write_text(OTHER)
    plan = _plan()
    plan.services["a"].modules.append("mini.a.models")
    plan.services["a"].tables.append("others")
    ex = build_extraction(plan, None, tmp_path / "app")
    rows = {
        USE.splitlines()[c.line - 1].strip(): (c.converted, c.why)
        for c in ex.couplings
        if c.file == "mini/a/use.py" and c.uses.endswith(":Item")
    }
    assert rows["return Item.query.filter(Item.name == 'x').all()"] == (True, "")
    why = {k: w for k, (done, w) in rows.items() if not done}
    assert (
        "`.join(...)` combines another model's table" in why["return Item.query.join(Other).all()"]
    )
    assert "join them in memory" in why["return Item.query.join(Other).all()"]
    assert (
        "`.group_by(...)` is not sent by a read model"
        in why["return Item.query.group_by(Item.kind).all()"]
    )
    assert (
        "names Other's columns" in why["return Item.query.filter(Item.id == Other.item_id).all()"]
    )
    assert "built by other code" in why["return Item.query.filter(build()).all()"]
    assert (
        "SQL construct (func)"
        in why["return Item.query.filter(Item.name == func.lower('x')).all()"]
    )
    assert "kept in a variable" in why["q = Item.query"]
    # every line of the chain says so, not only the line where it starts
    assert "`.join(...)` combines" in why[".filter(Item.name == x)"]
    report = markdown(ex)
    assert "`.join(...)` combines another model's table, which is in another database" in report
    assert "; or read it from b: add a function" in report
