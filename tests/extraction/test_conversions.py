"""Uses of another service's models that extraction turns into code (and counts as converted)
only where the moved code then reaches the model through a generated read model or client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from migrator.extraction import build_extraction
from migrator.plan import plan_from_dict

from .conftest import mini_packages, text

MODELS = (
    "from sqlalchemy import Column, Integer, String\n"
    "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n\n\n"
    "class Item(Base):\n    __tablename__ = 'items'\n"
    "    id = Column(Integer, primary_key=True)\n    name = Column(String(20))\n"
    "    kind = Column(String(20))\n"
)


def _plan(interface: list[str] | None = None):  # noqa: ANN202 - Plan
    return plan_from_dict(
        {
            "version": 1,
            "services": {
                "a": {"modules": ["mini.a", "mini.a.use"]},
                "b": {
                    "modules": ["mini.b", "mini.b.models", "mini.b.api"],
                    "tables": ["items"],
                    "interface": interface or [],
                },
            },
            "shared_kernel": {"modules": ["mini"]},
        }
    )


def _app(root: Path, use: str, api: str = "") -> None:
    pkg = mini_packages(root)
    (pkg / "b" / "models.py").write_text(MODELS)
    (pkg / "b" / "api.py").write_text(api or "from mini.b.models import Item\n")
    (pkg / "a" / "use.py").write_text(use)


def _kinds(ex, file: str, code: str) -> dict[str, tuple[str, bool]]:  # noqa: ANN001
    """Source line text -> (coupling kind, converted) for the couplings of ``file``."""
    lines = code.splitlines()
    return {
        lines[c.line - 1].strip(): (c.kind, c.converted) for c in ex.couplings if c.file == file
    }


def _left(ex, file: str, code: str) -> dict[str, str]:  # noqa: ANN001
    """Source line text -> why, for the uses of ``file`` left unconverted."""
    lines = code.splitlines()
    return {
        lines[c.line - 1].strip(): c.why for c in ex.couplings if c.file == file and not c.converted
    }


def _run_in_service(ex, root: Path, svc: str, code: str) -> str:  # noqa: ANN001
    """Run ``code`` with service ``svc``'s extracted sources and the kernel on the path."""
    for rel, data in ex.files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    path = [str(root / "services" / svc / "src"), str(root / "shared_kernel" / "src")]
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_model_named_only_in_a_type_hint_is_served_by_the_read_model(tmp_path: Path) -> None:
    use = (
        "from typing import Optional\n\nfrom mini.b.models import Item\n\n\n"
        "def label(item: Item) -> str:\n    return item.name\n\n\n"
        "def pick(items: list[Optional[Item]], last: Item | None = None) -> Optional[Item]:\n"
        "    return items[0]\n\n\n"
        "def local() -> None:\n    found: Item | None = None\n    print(found)\n"
    )
    other = (
        "from fastapi import APIRouter\nfrom sqlalchemy.orm import Mapped\n\n"
        "from mini.b.models import Base, Item\n\nrouter = APIRouter()\n\n\n"
        "@router.get('/items/{key}')\ndef route(item: Item) -> str:\n    return item.name\n\n\n"
        "class Holder(Base):\n    item: Mapped[Item]\n\n\n"
        "def made() -> str:\n    return Item(name='x').name\n"
    )
    _app(tmp_path / "app", use)
    (tmp_path / "app" / "mini" / "a" / "other.py").write_text(other)
    plan = _plan()
    plan.services["a"].modules.append("mini.a.other")
    ex = build_extraction(plan, None, tmp_path / "app")
    assert _kinds(ex, "mini/a/use.py", use) == {
        "def label(item: Item) -> str:": ("annotation", True),
        "def pick(items: list[Optional[Item]], last: Item | None = None) -> Optional[Item]:": (
            "annotation",
            True,
        ),
        "found: Item | None = None": ("annotation", True),
    }
    assert _kinds(ex, "mini/a/other.py", other) == {
        "def route(item: Item) -> str:": ("model", False),  # FastAPI reads that signature
        "item: Mapped[Item]": ("model", False),  # SQLAlchemy gives it a meaning
        "return Item(name='x').name": ("model", False),
    }
    client = text(ex, "services/a/src/interservice/b_models.py")
    assert "Item = runtime.ReadModel(SERVICE, 'Item', columns=('id', 'kind', 'name'))" in client
    assert "| a | `mini/a/use.py:6` | `mini.b.models:Item` | b |" in text(ex, "EXTRACTION.md")
    # the hints are evaluated when the module is imported: the read model serves them
    out = _run_in_service(
        ex,
        tmp_path / "out",
        "a",
        "import mini.a.use as u\nfrom interservice.runtime import ReadRow\n"
        "print(u.pick.__annotations__['last'], u.label(ReadRow('Item', {'name': 'tea'})))",
    )
    assert out.startswith("typing.Optional[<interservice.runtime.ReadModel")
    assert out.endswith(" tea\n")


def test_type_aliases_are_judged_by_the_types_they_name(tmp_path: Path) -> None:
    api = (
        "from typing import Annotated, TypeVar\n\nfrom pydantic import BaseModel, Field\n\n"
        "from mini.b.models import Item\n\n"
        "Key = Annotated[int, Field(gt=0, lt=2147483647)]\n"
        "Label = TypeVar('Label', str, bytes)\nAnything = TypeVar('Anything')\n"
        "Either = Item | int\n\n\n"
        "class ItemIn(BaseModel):\n    key: Key\n    name: str\n\n\n"
        "def find(key: Key) -> int:\n    return key\n\n\n"
        "def create(item_in: ItemIn) -> Key:\n    return item_in.key\n\n\n"
        "def shout(label: Label) -> Label:\n    return label\n\n\n"
        "def echo(value: Anything) -> Anything:\n    return value\n\n\n"
        "def judge(subject: Either) -> int:\n    return 1\n"
    )
    use = (
        "from mini.b.api import ItemIn, create, echo, find, judge, shout\n\n\n"
        "def run(k: int) -> list:\n"
        "    return [find(k), create(ItemIn(key=k, name='x')), shout('a'), echo(k), judge(k)]\n"
    )
    interface = [f"mini.b.api:{f}" for f in ("find", "create", "shout", "echo", "judge")]
    _app(tmp_path, use, api)
    ex = build_extraction(_plan(interface), None, tmp_path)
    calls = {c.callee.split(":")[1]: c for c in ex.calls}
    # ``Item | int``: an Item row is the callee's own, loaded by key (see the test below)
    assert {n for n, c in calls.items() if c.converted} == {"find", "create", "shout", "judge"}
    assert calls["echo"].reason == "argument 'value': Anything is a type variable of any type"
    assert "'find': _find" in text(ex, "services/b/src/interservice/endpoints.py")


HELPERS = (
    "from sqlalchemy import Column, Integer, String\n"
    "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n\n\n"
    "class Helpers:\n"
    "    @classmethod\n    def get(cls, id):\n        '''By key.'''\n"
    "        return db.session.get(cls, id)\n\n"
    "    @classmethod\n    def get_by(cls, *criterions, **kw):\n"
    "        return cls.query.filter(*criterions).filter_by(**kw).first()\n\n"
    "    @classmethod\n    def get_all(cls):\n        return cls.query.all()\n\n"
    "    @classmethod\n    def create(cls, **kw):\n        return cls(**kw)\n\n\n"
    "class Item(Helpers, Base):\n    __tablename__ = 'items'\n"
    "    id = Column(Integer, primary_key=True)\n    name = Column(String(20))\n\n"
    "    def label(self):\n        return self.name\n"
)


def test_class_methods_that_only_read_are_answered_by_the_read_model(tmp_path: Path) -> None:
    use = (
        "from mini.b.models import Item\n\n\n"
        "def name_of(key: int) -> str:\n    return Item.get(key).name\n\n\n"
        "def first(name: str) -> int:\n    item = Item.get_by(name=name)\n    return item.id\n\n\n"
        "def every() -> list:\n    return [i.name for i in Item.get_all()]\n\n\n"
        "def shown(key: int) -> str:\n    return Item.get(key).label()\n\n\n"
        "def changed(key: int) -> None:\n    item = Item.get(key)\n    item.name = 'x'\n\n\n"
        "def made() -> None:\n    Item.create(name='x')\n\n\n"
        "def positional(name: str) -> None:\n    Item.get_by(Item.name == name)\n\n\n"
        "def chained(name: str) -> str:\n    return Item.query.filter_by(name=name).first().name\n\n\n"
        "def labelled(key: int) -> str:\n    return Item.query.get(key).label()\n\n\n"
        "def checked(x: object) -> bool:\n    return isinstance(x, (Item, int))\n"
    )
    _app(tmp_path, use)
    (tmp_path / "mini" / "b" / "models.py").write_text(HELPERS)
    ex = build_extraction(_plan(), None, tmp_path)
    assert _kinds(ex, "mini/a/use.py", use) == {
        "return Item.get(key).name": ("model", True),
        "item = Item.get_by(name=name)": ("model", True),
        "return [i.name for i in Item.get_all()]": ("model", True),
        "return Item.get(key).label()": ("model", False),  # a method, not a column
        "item = Item.get(key)": ("model", True),  # its changed column goes to the owner
        "Item.create(name='x')": ("model", False),  # builds a row, never adds it to a session
        # a condition the read model sends, to a helper that filters by its arguments
        "Item.get_by(Item.name == name)": ("model", True),
        "return Item.query.filter_by(name=name).first().name": ("model", True),
        "return Item.query.get(key).label()": ("model", False),  # a read chain: the same rule
        "return isinstance(x, (Item, int))": ("model", True),
    }
    assert (
        "Item = runtime.ReadModel(SERVICE, 'Item', {'get': 'get', 'get_all': 'all', "
        "'get_by': 'first'}, columns=('id', 'name'))"
        in text(ex, "services/a/src/interservice/b_models.py")
    )


def _wired(monkeypatch, rows, helpers=None, columns=()):  # noqa: ANN001, ANN202
    """A real SQLAlchemy ``Product`` holding ``rows``, a read model of it whose calls reach
    the owner's reader through ``dispatch``, and that reader."""
    from migrator.extraction import runtime

    from .test_any_app import _products

    Product, factory = _products(*rows)
    reader = runtime.reader(Product, factory)

    def call(service, endpoint, func, args, kwargs, **_):  # noqa: ANN001, ANN003, ANN202
        assert (service, endpoint) == ("catalog", "_read.Product")
        body, status = runtime.dispatch(reader, {"args": args, "kwargs": kwargs})
        assert status == 200, body
        return body["result"]

    monkeypatch.setattr(runtime, "call", call)
    return Product, runtime.ReadModel("catalog", "Product", helpers, columns), reader


def test_read_model_helpers_read_from_the_owners_orm(monkeypatch) -> None:  # noqa: ANN001
    import pytest

    from migrator.extraction import runtime

    Product, model, _ = _wired(
        monkeypatch, [(1, "tea", 3), (2, "cake", 5)], {"get": "get", "get_by": "first"}
    )
    assert model.get(2).sku == "cake" and model.get(9) is None
    assert isinstance(model.get(2), model) and not isinstance(
        model.get(2), runtime.ReadModel("catalog", "Other")
    )
    assert not isinstance(object(), (model, int))
    assert model.get_by(sku="tea").price == 3 and model.get_by(sku="none") is None
    with pytest.raises(runtime.NotExtractedError, match="only a key or keyword filters"):
        model.get_by(Product.sku == "tea")
    with pytest.raises(runtime.NotExtractedError, match="only reads of Product"):
        model.create(sku="x")


def test_a_model_named_in_a_link_cut_to_a_key_read_is_gone_from_the_moved_code(
    tmp_path: Path,
) -> None:
    use = (
        "from sqlalchemy import Column, ForeignKey, Integer\n"
        "from sqlalchemy.orm import declarative_base, relationship\n\n"
        "from mini.b.models import Item\n\nBase = declarative_base()\n\n\n"
        "class Note(Base):\n    __tablename__ = 'notes'\n"
        "    id = Column(Integer, primary_key=True)\n"
        "    item_id = Column(Integer, ForeignKey(Item.id))\n"
        "    item = relationship(Item)\n"
        "    others = relationship(Item, secondary='links')\n"
    )
    _app(tmp_path, use)
    plan = _plan()
    plan.services["a"].tables.append("notes")
    ex = build_extraction(plan, None, tmp_path)
    assert _kinds(ex, "mini/a/use.py", use) == {
        "item_id = Column(Integer, ForeignKey(Item.id))": ("model", True),
        "item = relationship(Item)": ("model", True),
        # many-to-many through a link table: read by the keys the link table holds
        "others = relationship(Item, secondary='links')": ("model", True),
        "class Note(Base):": ("relationship", True),  # the cuts, on the class line
    }
    moved = text(ex, "services/a/src/mini/a/use.py")
    assert "ForeignKey(Item" not in moved and "relationship(Item" not in moved
    assert "ReadModel('b', 'Item').query.get(key)" in moved
    assert "return linked_rows(self, 'links', 'b', 'Item')" in moved


UNION_API = (
    "from typing import TypeVar\n\nfrom mini.a.notes import Note\nfrom mini.b.models import Item\n\n"
    "Subject = TypeVar('Subject', Item, Note)\n\n\n"
    "def label(subject: Subject) -> str:\n"
    "    if isinstance(subject, Item):\n        return 'item %s' % subject.id\n"
    "    return 'note %s' % subject.id\n\n\n"
    "def rename(subject: Subject) -> None:\n    subject.text = 'x'\n\n\n"
    "def either(subject: Item | Note) -> int:\n    return subject.id\n"
)


def test_a_row_of_one_of_several_models_crosses_when_each_of_them_can(tmp_path: Path) -> None:
    """``TypeVar("Subject", Item, Note)`` (Item the callee's, Note the caller's): the callee's
    row is loaded by key, the caller's crosses as a read-only copy where the callee only reads
    its columns."""
    use = (
        "from mini.a.notes import Note\nfrom mini.b.api import either, label, rename\n\n\n"
        "def run(note: Note):\n    return label(note), either(note), rename(note)\n"
    )
    _app(tmp_path, use, UNION_API)
    (tmp_path / "mini" / "a" / "notes.py").write_text(
        "from sqlalchemy import Column, Integer, String\n\nfrom mini.b.models import Base\n\n\n"
        "class Note(Base):\n    __tablename__ = 'notes'\n"
        "    id = Column(Integer, primary_key=True)\n    text = Column(String(20))\n"
    )
    plan = _plan(["mini.b.api:label", "mini.b.api:rename", "mini.b.api:either"])
    plan.services["a"].modules.append("mini.a.notes")
    plan.services["a"].tables.append("notes")
    ex = build_extraction(plan, None, tmp_path)
    calls = {c.callee.rpartition(":")[2]: c for c in ex.calls}
    assert calls["label"].converted and calls["either"].converted, calls
    assert not calls["rename"].converted
    assert "changes the Note row" in calls["rename"].reason


def test_a_row_sent_for_a_type_variable_of_models_is_loaded_as_the_owners_own(
    monkeypatch,  # noqa: ANN001
) -> None:
    from typing import TypeVar

    from migrator.extraction import runtime

    from .test_any_app import _products

    Product, factory = _products((1, "tea", 3))
    monkeypatch.setattr(runtime, "ROW_SESSION", factory)
    Subject = TypeVar("Subject", Product, int)
    row = runtime.decode({runtime.ROW: "Product", "columns": {"id": 1}}, Subject)
    assert isinstance(row, Product) and row.sku == "tea"
    other = runtime.decode({runtime.ROW: "Case", "columns": {"id": 4}}, Subject)
    assert isinstance(other, runtime.ReadRow) and other.id == 4


def test_a_one_to_many_relationship_reads_the_owners_rows_by_their_foreign_key(
    tmp_path: Path,
) -> None:
    """``lines = relationship(Line)`` without a back reference, to another service's model
    whose ``note_id`` is a foreign key to this table: the owner's rows with this row's id."""
    use = (
        "from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import relationship\n\n"
        "from mini.b.models import Base, Item, Line\n\n\n"
        "class Note(Base):\n    __tablename__ = 'notes'\n"
        "    id = Column(Integer, primary_key=True)\n"
        "    lines = relationship(Line, cascade='all')\n"
        "    first = relationship(Line, uselist=False)\n"
        "    items = relationship(Item)\n"
    )
    _app(tmp_path, use)
    (tmp_path / "mini" / "b" / "models.py").write_text(
        MODELS
        + "    note_id = Column(Integer)\n\n\nfrom sqlalchemy import ForeignKey  # noqa: E402\n\n\n"
        "class Line(Base):\n    __tablename__ = 'lines'\n"
        "    id = Column(Integer, primary_key=True)\n"
        "    note_id = Column(Integer, ForeignKey('notes.id'))\n"
    )
    plan = _plan()
    plan.services["a"].tables.append("notes")
    plan.services["b"].tables.append("lines")
    ex = build_extraction(plan, None, tmp_path)
    kinds = _kinds(ex, "mini/a/use.py", use)
    assert kinds["lines = relationship(Line, cascade='all')"] == ("model", True)
    assert kinds["first = relationship(Line, uselist=False)"] == ("model", False)  # one row
    assert kinds["items = relationship(Item)"] == ("model", False)  # Item has no such key
    moved = text(ex, "services/a/src/mini/a/use.py")
    assert "return ReadModel('b', 'Line').query.filter_by(note_id=self.id).all()" in moved
    assert "first = " not in moved and "items = " not in moved
