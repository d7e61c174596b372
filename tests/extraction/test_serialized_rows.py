"""A model mixin's ``serialize()`` that builds a dict of the row's columns through a value
normaliser (``serialize_value``, which calls itself again for a list's items and gives back
what it does not know) returns plain data, so a call whose result is ``row.serialize()``
crosses as data."""

from __future__ import annotations

from pathlib import Path

import libcst as cst

from migrator.extraction import build_extraction
from migrator.extraction.convert import Classifier
from migrator.extraction.source import SourceTree

from .test_conversions import _app, _plan

FIELDS = (
    "import datetime\nimport uuid\nfrom enum import Enum\n\n\n"
    "def serialize_value(value):\n"
    "    if isinstance(value, datetime.date):\n        return value.isoformat()\n"
    "    elif isinstance(value, uuid.UUID):\n        return str(value)\n"
    "    elif isinstance(value, bytes):\n        return value.decode('utf-8')\n"
    "    elif isinstance(value, Enum):\n        return value.value\n"
    "    elif isinstance(value, list):\n        return serialize_list(value)\n"
    "    elif hasattr(value, 'serialize'):\n        return value.serialize()\n"
    "    return value\n\n\n"
    "def serialize_list(values):\n"
    "    return values if values is None else [serialize_value(v) for v in values]\n"
)
MIXIN = (
    "from mini.fields import serialize_value\n\n\n"
    "class SerializerMixin:\n    def serialize(self, relations=False):\n"
    "        obj = {a: serialize_value(getattr(self, a)) for a in self.__table__.columns.keys()}\n"
    "        obj['type'] = type(self).__name__\n        return obj\n"
)
LOOP = (
    "def first(x):\n    if x:\n        return second(x)\n    return make()\n\n\n"
    "def second(x):\n    if x > 1:\n        return first(x - 1)\n    return 1\n"
)


def _classifier(root: Path) -> Classifier:
    (root / "mini").mkdir(parents=True)
    (root / "mini" / "__init__.py").write_text("")
    (root / "mini" / "fields.py").write_text(FIELDS)
    (root / "mini" / "mixins.py").write_text(MIXIN)
    (root / "mini" / "loop.py").write_text(LOOP)
    return Classifier(SourceTree(root, ["mini"]))


def test_a_dict_of_normalised_columns_is_plain_data(tmp_path: Path) -> None:
    c = _classifier(tmp_path)
    judge = lambda e, m="mini.mixins": c.expression(cst.parse_expression(e), m)  # noqa: E731
    assert judge("task.serialize(relations=True)").ok, judge("task.serialize()").reason
    # on its own, what the normaliser gives back unchanged is not known to be data
    alone = judge("serialize_value(x)")
    assert not alone.ok and alone.reason.startswith("serialize_value() returns"), alone.reason


def test_a_verdict_made_while_a_call_was_assumed_plain_is_dropped_when_it_is_not(
    tmp_path: Path,
) -> None:
    c = _classifier(tmp_path)
    first = c.expression(cst.parse_expression("first(2)"), "mini.loop")
    assert not first.ok and "cannot tell what make() returns" in first.reason
    # second() was judged while first() was assumed to return data: judged again, it is not
    second = c.expression(cst.parse_expression("second(2)"), "mini.loop")
    assert not second.ok and "first() returns" in second.reason, second.reason


MODELS = (
    "from sqlalchemy import Column, Integer, String\n"
    "from sqlalchemy.orm import declarative_base, sessionmaker\n\n"
    "from mini.mixins import SerializerMixin\n\nBase = declarative_base()\nSession = sessionmaker()\n\n\n"
    "class Item(Base, SerializerMixin):\n    __tablename__ = 'items'\n"
    "    id = Column(Integer, primary_key=True)\n    name = Column(String(20))\n"
)
API = (
    "from mini.b.models import Item, Session\n\n\n"
    "def find(item_id: int):\n    item = Session().get(Item, item_id)\n"
    "    return item.serialize()\n"
)
USE = "from mini.b.api import find\n\n\ndef show():\n    return find(1)['name']\n"


def test_a_call_returning_a_serialized_row_is_converted(tmp_path: Path) -> None:
    root = tmp_path / "app"
    _app(root, USE, API)
    (root / "mini" / "fields.py").write_text(FIELDS)
    (root / "mini" / "mixins.py").write_text(MIXIN)
    (root / "mini" / "b" / "models.py").write_text(MODELS)
    plan = _plan(["mini.b.api:find"])
    plan.shared_kernel.modules.extend(["mini.fields", "mini.mixins"])
    ex = build_extraction(plan, None, root)
    (call,) = [c for c in ex.calls if c.callee == "mini.b.api:find"]
    assert call.converted, call.reason


def test_a_name_a_function_imports_itself_is_not_taken_for_the_modules_own(
    tmp_path: Path,
) -> None:
    """``def limit(): from x import limit; return limit()`` does not call itself again."""
    _classifier(tmp_path)  # the package
    (tmp_path / "mini" / "shadow.py").write_text(
        "def limit():\n    from mini.store import limit\n\n    return limit()\n"
    )
    c = Classifier(SourceTree(tmp_path, ["mini"]))
    v = c.expression(cst.parse_expression("limit()"), "mini.shadow")
    assert not v.ok and "cannot tell what limit() returns" in v.reason, v.reason


ROWS = (
    "from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n\n"
    "Base = declarative_base()\n\n\n"
    "class Item(Base):\n    __tablename__ = 'items'\n    id = Column(Integer, primary_key=True)\n\n\n"
    "def get_instance(model, key):\n    row = model.get(key)\n    return row\n\n\n"
    "def get_item(key):\n    return get_instance(Item, key)\n"
)


def test_a_helper_handed_a_model_class_is_still_judged_strictly(tmp_path: Path) -> None:
    """Only inside a literal, and only when it is handed data, is a function judged as its
    returns would be there: ``get_instance(Item, key)`` gives a row, wherever it is called."""
    _classifier(tmp_path)
    (tmp_path / "mini" / "rows.py").write_text(ROWS)
    c = Classifier(SourceTree(tmp_path, ["mini"]))
    judge = lambda e, **kw: c.expression(cst.parse_expression(e), "mini.rows", **kw)  # noqa: E731
    assert not judge("get_item(1)", strict=False).ok  # an argument of a call
    assert not judge("[get_instance(Item, 1)]").ok
    v = judge("{'item': get_item(1)}")
    assert not v.ok and "cannot tell what model.get() returns" in v.reason, v.reason
