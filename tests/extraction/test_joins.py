"""A join of another service's model, composed from key reads (``joins.py``): this service's
query is narrowed by the keys the owner's read model reads with the conditions it sends, and
returns the rows the monolith's join returned; unsound joins stay listed with the reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from migrator.extraction import build_extraction
from migrator.extraction.joins import listed
from migrator.plan import plan_from_dict

from .conftest import mini_packages
from .test_conversions import _kinds, _left, _run_in_service

KERNEL = "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n"
OWNER = (
    "from sqlalchemy import Column, ForeignKey, Integer, String\n\n"
    "from mini.kernel import Base\n\n\n"
    "class Kind(Base):\n    __tablename__ = 'kinds'\n"
    "    id = Column(Integer, primary_key=True)\n    label = Column(String(20))\n\n\n"
    "class Item(Base):\n    __tablename__ = 'items'\n"
    "    id = Column(Integer, primary_key=True)\n    name = Column(String(20))\n"
    "    kind_id = Column(Integer, ForeignKey('kinds.id'))\n"
)
OWN = (
    "from sqlalchemy import Column, ForeignKey, Integer, String\n\n"
    "from mini.kernel import Base\n\n\n"
    "class Note(Base):\n    __tablename__ = 'notes'\n"
    "    id = Column(Integer, primary_key=True)\n"
    "    item_id = Column(Integer, ForeignKey('items.id'))\n    text = Column(String(20))\n"
    "    kind_id = Column(Integer, ForeignKey('kinds.id'))\n"
)
USE = (
    "from mini.a.models import Note\nfrom mini.b.models import Item, Kind\n\n\n"
    "def by_name(session, name):\n"
    "    return session.query(Note).join(Item).filter(Item.name == name).order_by(Note.id).all()\n\n\n"
    "def by_kind(session, label):\n"
    "    return (\n        session.query(Note)\n"
    "        .join(Item, Note.item_id == Item.id)\n"
    "        .join(Kind, Kind.id == Item.kind_id)\n"
    "        .filter(Kind.label == label, Note.text != 'x')\n"
    "        .order_by(Note.id)\n        .all()\n    )\n\n\n"
    "def kinded(session):\n"
    "    return session.query(Note).join(Item).join(Kind).filter(Note.text != 'x').order_by(Note.id).all()\n\n\n"
    "def own_kind(session, label):\n"
    "    return session.query(Note).join(Kind).filter(Kind.label == label).order_by(Note.id).all()\n\n\n"
    "def early(session, name):\n"
    "    return session.query(Note).filter(Item.name == name).join(Item).order_by(Note.id).all()\n\n\n"
    "def named(session, name):\n"
    "    return session.query(Note).join(Item).filter_by(name=name).order_by(Note.id).all()\n\n\n"
    "def counted(session):\n    return session.query(Note).join(Item).count()\n\n\n"
    "def selected(session):\n"
    "    return session.query(Note).join(Item).add_columns(Item.name).all()\n\n\n"
    "def ordered(session):\n"
    "    return session.query(Note).join(Item).order_by(Item.name).all()\n\n\n"
    "def outer(session):\n"
    "    return session.query(Note).outerjoin(Item).filter(Item.name == 'x').all()\n\n\n"
    "def loose(session):\n"
    "    return session.query(Note).outerjoin(Item).join(Kind, Note.kind_id == Kind.id).order_by(Note.id).all()\n\n\n"
    "def theirs(session, label):\n"
    "    return (\n        session.query(Item).join(Kind)\n"
    "        .filter(Kind.label == label, Item.name != 'x').order_by(Item.name).all()\n    )\n\n\n"
    "def noted(session, text):\n"
    "    return (\n        session.query(Kind).join(Item, Item.kind_id == Kind.id)\n"
    "        .join(Note, Note.item_id == Item.id).filter(Note.text == text)\n"
    "        .order_by(Kind.id).all()\n    )\n\n\n"
    "def repeated(session):\n"
    "    return session.query(Kind).join(Item, Item.kind_id == Kind.id).count()\n\n\n"
    "def refined(session, label, name=None):\n"
    "    query = session.query(Item).join(Kind).filter(Kind.label == label).order_by(Item.name)\n"
    "    if name:\n        query = query.filter(Item.name == name)\n"
    "    return [i.name for i in query.all()]\n\n\n"
    "def wrapped(session, name):\n"
    "    rows = (\n        session.query(Note)\n        .order_by(Note.id)\n"
    "        .join(Item)\n        .filter(Item.name == name)\n    )\n"
    "    return rows.all()\n\n\n"
    "def theirs_kept(session):\n"
    "    return session.query(Item).join(Kind).filter(Kind.label == 'tea')\n\n\n"
    "def started(session):\n"
    "    return session.query(Note).select_from(Kind).join(Item).all()\n\n\n"
    "def nested(session, name):\n"
    "    keys = [i.id for i in Item.query.filter(Item.name == name).all()]\n"
    "    return session.query(Note).join(Kind).filter(Note.item_id.in_(\n"
    "        [i.id for i in Item.query.filter(Item.name == name).all()]\n"
    "    ), Kind.label == 'tea').all(), keys\n\n\n"
    "def helper(session):\n"
    "    return session.query(Note).join(Item).filter(build_filter()).all()\n"
)


def _extract(  # noqa: ANN202 - Extraction
    root: Path, owner: str = OWNER, own: str = OWN, use: str = USE, tables: str = "items kinds"
):
    """Service a (``own`` models, ``use``) reading service b's models (``owner``, ``tables``)."""
    pkg = mini_packages(root)
    (pkg / "kernel.py").write_text(KERNEL)
    (pkg / "b" / "models.py").write_text(owner)
    (pkg / "a" / "models.py").write_text(own)
    (pkg / "a" / "use.py").write_text(use)
    plan = plan_from_dict(
        {
            "version": 1,
            "services": {
                "a": {"modules": ["mini.a", "mini.a.models", "mini.a.use"], "tables": ["notes"]},
                "b": {"modules": ["mini.b", "mini.b.models"], "tables": tables.split()},
            },
            "shared_kernel": {"modules": ["mini", "mini.kernel"]},
        }
    )
    return build_extraction(plan, None, root)


def test_joins_narrowed_by_the_owners_keys_are_converted_and_unsound_ones_listed(
    tmp_path: Path,
) -> None:
    ex = _extract(tmp_path / "app")
    kinds = _kinds(ex, "mini/a/use.py", USE)
    for line in (
        "return session.query(Note).join(Item).filter(Item.name == name).order_by(Note.id).all()",
        ".join(Item, Note.item_id == Item.id)",
        ".join(Kind, Kind.id == Item.kind_id)",
        ".filter(Kind.label == label, Note.text != 'x')",
        "return session.query(Note).join(Item).join(Kind).filter(Note.text != 'x').order_by(Note.id).all()",
        "return session.query(Note).join(Item).filter_by(name=name).order_by(Note.id).all()",
        "return session.query(Note).join(Item).count()",
        # its column is read from the owner by the key the row holds (test_join_columns.py)
        "return session.query(Note).join(Item).add_columns(Item.name).all()",
        # a read nested in a condition is a value there, judged on its own
        "return session.query(Note).join(Kind).filter(Note.item_id.in_(",
        "[i.id for i in Item.query.filter(Item.name == name).all()]",
        "return session.query(Note).outerjoin(Item).join(Kind, Note.kind_id == Kind.id).order_by(Note.id).all()",
        "return session.query(Note).join(Kind).filter(Kind.label == label).order_by(Note.id).all()",
        "return session.query(Note).filter(Item.name == name).join(Item).order_by(Note.id).all()",
        "session.query(Item).join(Kind)",
        ".filter(Kind.label == label, Item.name != 'x').order_by(Item.name).all()",
        "session.query(Kind).join(Item, Item.kind_id == Kind.id)",
        ".join(Note, Note.item_id == Item.id).filter(Note.text == text)",
        "query = session.query(Item).join(Kind).filter(Kind.label == label).order_by(Item.name)",
        "query = query.filter(Item.name == name)",  # a refinement of the variable it is in
        ".filter(Item.name == name)",  # the last link of a chain in parentheses
    ):
        assert kinds[line] == ("model", True), line
    why = _left(ex, "mini/a/use.py", USE)
    # each says why, then what a person can do
    assert why == {
        line: listed(reason, "outerjoin" if ".outerjoin(" in line else "join")
        for line, reason in {
            "return session.query(Note).join(Item).order_by(Item.name).all()": (
                "`.order_by(...)` sorts by Item.name, a text column of another service's model: "
                "PostgreSQL sorts text by its collation, unlike Python, so the rows cannot be "
                "sorted outside its database"
            ),
            "return session.query(Note).outerjoin(Item).filter(Item.name == 'x').all()": (
                "`.outerjoin(Item, ...)` keeps rows without a Item row (only an outer join "
                "named nowhere else is left out)"
            ),
            "return session.query(Kind).join(Item, Item.kind_id == Kind.id).count()": (
                "the join repeats a row for each Item row that matches, and the query does more "
                "with them than `.all()` or `.first()` (which drop the repeats)"
            ),
            "return session.query(Item).join(Kind).filter(Kind.label == 'tea')": (
                "the joined query of Item, another service's model, is not read at once nor "
                "kept in a variable that is only refined and read"
            ),
            "return session.query(Note).select_from(Kind).join(Item).all()": (
                "`.select_from(...)` changes what the joins start from"
            ),
            "return session.query(Note).join(Item).filter(build_filter()).all()": (
                "`.filter(...)` gets a condition built by other code, which may name a joined "
                "model of another service"
            ),
        }.items()
    }
    moved = ex.files["services/a/src/mini/a/use.py"].decode()
    compile(moved, "use.py", "exec")  # a dropped link keeps the chain's parentheses
    assert (
        "session.query(Note).filter(Note.item_id.in_([_row.id for _row in "
        "Item.query.filter(Item.name == name)])).order_by(Note.id).all()" in moved
    )
    # a model joined through another one narrows that one's read; Note's own condition stays
    assert (
        ".filter(Note.item_id.in_([_row.id for _row in Item.query.filter(Item.kind_id.in_("
        "[_row.id for _row in Kind.query.filter(Kind.label == label)]))]))\n"
        "        .filter(Note.text != 'x')" in moved
    )
    # nothing narrows Kind: the foreign key says each key Item holds has its row
    assert "Item.query.filter(Item.kind_id.isnot(None))" in moved
    assert "return session.query(Note).filter(Note.item_id.isnot(None)).count()" in moved
    assert "session.query(Note).join(Item).order_by(Item.name).all()" in moved  # as written
    # an outer join of one row at most that nothing names keeps every row: left out
    assert "session.query(Note).filter(Note.kind_id.isnot(None)).order_by(Note.id).all()" in moved
    # a chain on another service's model: its read model sends the composed conditions
    assert (
        "Item.query.filter(Item.kind_id.in_([_row.id for _row in Kind.query.filter("
        "Kind.label == label)]))\n        .filter(Item.name != 'x').order_by(Item.name).all()"
        in moved
    )
    # this service's model joined to it: its keys are read here, with the head's session
    assert (
        "Kind.query.filter(Kind.id.in_([_row.kind_id for _row in Item.query.filter("
        "Item.id.in_([_row.item_id for _row in session.query(Note).filter("
        "Note.text == text)]))]))\n        .order_by(Kind.id).all()" in moved
    )


#: the same rows in the monolith's one database and in the two services' own ones
DATA = (
    "KINDS = [dict(id=1, label='tea'), dict(id=2, label='cake')]\n"
    "ITEMS = [dict(id=1, name='green', kind_id=1), dict(id=2, name='black', kind_id=1),\n"
    "         dict(id=3, name='sponge', kind_id=2), dict(id=4, name='loose', kind_id=None)]\n"
    "NOTES = [dict(id=1, item_id=1, text='a', kind_id=2), dict(id=2, item_id=2, text='b'),\n"
    "         dict(id=3, item_id=3, text='x', kind_id=1), dict(id=4, text='c', kind_id=1),\n"
    "         dict(id=5, item_id=4, text='d', kind_id=2), dict(id=6, item_id=1, text='x')]\n"
)
CALLS = (
    "def show(session):\n"
    "    keys = lambda rows: [n.id for n in rows]\n"
    "    print(keys(u.by_name(session, 'green')), keys(u.by_kind(session, 'tea')),\n"
    "          keys(u.by_kind(session, 'cake')), keys(u.kinded(session)),\n"
    "          keys(u.named(session, 'black')), u.counted(session))\n"
    "    print([i.name for i in u.theirs(session, 'tea')], keys(u.noted(session, 'x')),\n"
    "          keys(u.noted(session, 'd')))\n"
    "    print(keys(u.own_kind(session, 'cake')), keys(u.own_kind(session, 'tea')),\n"
    "          keys(u.early(session, 'green')))\n"
    "    print(u.refined(session, 'tea'), u.refined(session, 'tea', 'green'),\n"
    "          keys(u.wrapped(session, 'green')), keys(u.loose(session)))\n"
)


def monolith_code(calls: str) -> str:
    """The monolith's program: ``DATA`` in one SQLite database, then ``show(session)`` of
    ``calls``."""
    return (
        DATA + "from sqlalchemy import create_engine\nfrom sqlalchemy.orm import Session\n"
        "from mini.kernel import Base\nfrom mini.a.models import Note\n"
        "from mini.b.models import Item, Kind\nimport mini.a.use as u\n"
        + calls
        + "engine = create_engine('sqlite://')\nBase.metadata.create_all(engine)\n"
        "with Session(engine) as s:\n"
        "    s.add_all([Kind(**k) for k in KINDS] + [Item(**i) for i in ITEMS])\n"
        "    s.add_all([Note(**n) for n in NOTES])\n    s.commit()\n    show(s)\n"
    )


def service_code(calls: str, then: str = "") -> str:
    """Service a's program: its notes in its own SQLite database; b's generated models on
    another one, read through b's generated reader behind ``runtime.call`` (which notes each
    endpoint asked in ``asked``); ``show(session)`` of ``calls``, then ``then`` (indented)."""
    return (
        DATA + "from sqlalchemy.orm import Session, sessionmaker\n"
        "from interservice import runtime\nimport mini.a.use as u\n"
        + calls
        + "owner.Base.metadata.create_all(theirs, tables=[owner.Kind.__table__, owner.Item.__table__])\n"
        "factory = sessionmaker(theirs)\n"
        "with factory() as s:\n"
        "    s.add_all([owner.Kind(**k) for k in KINDS] + [owner.Item(**i) for i in ITEMS])\n"
        "    s.commit()\n"
        "readers = {'_read.Item': runtime.reader(owner.Item, factory),\n"
        "           '_read.Kind': runtime.reader(owner.Kind, factory)}\n"
        "asked = []\n"
        "def call(service, endpoint, func, args, kwargs, **_):\n"
        "    assert service == 'b', service\n"
        "    asked.append(endpoint)\n"
        "    body, status = runtime.dispatch(readers[endpoint], {'args': args, 'kwargs': kwargs})\n"
        "    assert status == 200, body\n    return body['result']\n"
        "runtime.call = call\n"
        "with Session(mine) as s:\n"
        "    s.add_all([Note(**n) for n in NOTES])\n    s.commit()\n    show(s)\n" + then
    )


MONOLITH = monolith_code(CALLS)
SERVICE = service_code(CALLS)


def test_the_composed_query_returns_the_rows_the_monoliths_join_returned(tmp_path: Path) -> None:
    """The monolith's joins on one database, then service a's moved code on its own database
    with service b's generated models and reader on another: the same rows."""
    app = tmp_path / "app"
    ex = _extract(app)
    monolith = _monolith(app, MONOLITH)
    assert monolith.splitlines() == [
        "[1, 6] [1, 2] [] [1, 2] [2] 5",
        "['black', 'green'] [1, 2] []",
        "[1, 5] [3, 4] [1, 6]",  # Kind joined from Item when Item is joined last, else Note
        "['black', 'green'] ['green'] [1, 6] [1, 3, 4, 5]",
    ]
    assert _in_service_a(ex, tmp_path / "out", SERVICE) == monolith


def _monolith(app: Path, code: str) -> str:
    """What ``code`` prints, run with the monolith's sources."""
    run = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(app)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def _in_service_a(ex, out: Path, code: str) -> str:  # noqa: ANN001 - Extraction
    """What ``code`` prints in service a, given ``owner`` (service b's generated models),
    ``Note`` and two SQLite engines: ``mine`` (with Note's table) and ``theirs``."""
    owner = out / "services" / "b" / "src" / "mini" / "b" / "models.py"
    return _run_in_service(
        ex,
        out,
        "a",
        "import importlib.util\nfrom sqlalchemy import create_engine\n"
        "from mini.a.models import Note\n"
        f"spec = importlib.util.spec_from_file_location('owner', {str(owner)!r})\n"
        "owner = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(owner)\n"
        "mine, theirs = create_engine('sqlite://'), create_engine('sqlite://')\n"
        "Note.metadata.create_all(mine, tables=[Note.__table__])\n" + code,
    )
