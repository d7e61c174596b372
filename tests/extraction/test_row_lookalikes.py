"""Values that are only named like rows (``migrator/extraction/mappings.py``): a parameter
the callee reads as ``order["kind"]`` holds a mapping, a row-named parameter may be given a
literal, a row-named result is judged by what it is bound to; and results inference knows
a function's own imports and a few library functions."""

from __future__ import annotations

from pathlib import Path

from migrator.extraction import build_extraction
from migrator.plan import plan_from_dict

from .conftest import mini_packages
from .test_conversions import MODELS, _run_in_service

ORDERS = (
    "from sqlalchemy import Column, Integer, String\n"
    "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n\n\n"
    "class Order(Base):\n    __tablename__ = 'orders'\n"
    "    id = Column(Integer, primary_key=True)\n    kind = Column(String(20))\n"
)
API = """
def is_big(order):
    return order["kind"] == "big"


def describe(order_dict):
    return "big" if is_big(order_dict) else "small"


def mask(order, rows):
    return [r for r in rows if r["kind"] == order]


def stamp(order):
    order["seen"] = True
    return order["kind"]


def named(order):
    return order.summary()


def either(order):
    return order["kind"] if isinstance(order, dict) else order.kind
"""
NAMES = """from mini.a.models import Order
from mini.b.models import Item


def order_of(key):
    order = Order.query.get(key)
    if order is None:
        raise LookupError(Item.__tablename__)
    return order


def lookup(name):
    return {"name": name, "table": Item.__tablename__}


def find(name):
    order = lookup(name)
    if order is None:
        order = lookup(name.lower())
    return order


def raw(order):
    return order


def tag(rows):
    for row in rows:
        row["table"] = Item.__tablename__
    return rows


def wrap(rows):
    return tag(rows)


def either_way(rows):
    return rows if rows else Item.__table__


def again(rows):
    rows.append(Item.__tablename__)
    return rows
"""
AUTH = """from flask_jwt_extended import create_access_token

from mini.b.models import Item


def token(key):
    access = create_access_token(identity=f"{Item.__tablename__}:{key}")
    return access


def limit():
    from mini.b.store import limit

    return limit()
"""
STORE = 'def limit():\n    return int("3")\n'
USE = """from mini.b.api import describe, either, is_big, mask, named, stamp
from mini.b.auth import limit, token
from mini.b.names import again, either_way, find, order_of, raw, wrap


def check(order):
    return is_big(order)


def label(order):
    return describe(order)


def shown():
    return mask("big", [{"kind": "big"}, {"kind": "small"}])


def found():
    return find("Tea")["name"], token(1), limit()


def rows(order):
    return named(order), either(order), raw(order), again(open(order["path"])), stamp(order)


def kind_of(key):
    return order_of(key).kind


def summary_of(key):
    order = order_of(key)
    return order.summary()


def tagged():
    return wrap([{"name": "tea"}]), either_way([{"name": "tea"}])
"""
INTERFACE = {
    "mini.b.api": ["is_big", "describe", "mask", "named", "either", "stamp"],
    "mini.b.names": ["find", "raw", "wrap", "again", "either_way", "order_of"],
    "mini.b.auth": ["token", "limit"],
}
CONVERTED = ["is_big", "describe", "mask", "find", "token", "limit", "wrap"]
LISTED = ["named", "either", "raw", "again", "stamp", "either_way"]


def _extract(root: Path):  # noqa: ANN202 - Extraction
    pkg = mini_packages(root)
    files = {"a/models.py": ORDERS, "a/use.py": USE, "b/models.py": MODELS, "b/api.py": API}
    files.update({"b/names.py": NAMES, "b/auth.py": AUTH, "b/store.py": STORE})
    for rel, code in files.items():
        (pkg / rel).write_text(code)
    b = ["mini.b", "mini.b.models", "mini.b.api", "mini.b.names", "mini.b.auth", "mini.b.store"]
    plan = plan_from_dict(
        {
            "version": 1,
            "services": {
                "a": {"modules": ["mini.a", "mini.a.models", "mini.a.use"], "tables": ["orders"]},
                "b": {
                    "modules": b,
                    "tables": ["items"],
                    "interface": [f"{m}:{f}" for m, fs in INTERFACE.items() for f in fs],
                },
            },
            "shared_kernel": {"modules": ["mini"]},
        }
    )
    return build_extraction(plan, None, root)


def test_values_named_like_rows_cross_when_the_code_shows_they_are_data(tmp_path: Path) -> None:
    ex = _extract(tmp_path / "app")
    calls = {c.callee.split(":")[1]: c for c in ex.calls if c.file == "mini/a/use.py"}
    # a row of a's model that b read through its read model comes back as a read-only copy:
    # a caller that reads its columns is converted, one that calls a method is not
    rows = {c.line: c for c in ex.calls if c.callee.endswith(":order_of")}
    assert [rows[n].converted for n in sorted(rows)] == [True, False], rows
    assert "reads .summary of the Order row" in rows[max(rows)].reason
    del calls["order_of"]
    assert {n: calls[n].converted for n in CONVERTED + LISTED} == {
        **dict.fromkeys(CONVERTED, True),
        **dict.fromkeys(LISTED, False),
    }, {n: calls[n].reason for n in calls}
    # an attribute read, or a test of its type, leaves the name's guess standing
    assert "reads .summary of the Order row" in calls["named"].reason
    assert "looks like a Order" in calls["either"].reason
    assert "looks like a Order" in calls["raw"].reason
    # only a name given back as it is: not one branch of a test (the other one is a table)
    assert calls["either_way"].reason.startswith("result: return value: cannot tell what 'rows'")
    # a mapping changed in place: the caller's dict would not see the change
    assert "looks like a Order" in calls["stamp"].reason
    # a function that gives back its argument gives what each call site passes it
    assert calls["again"].reason == (
        "result: return value: the argument given for 'rows': cannot tell what open() returns"
    )


def test_a_mapping_named_like_a_row_reaches_the_owners_code_as_a_dict(tmp_path: Path) -> None:
    """The generated client sends the dict as JSON; the owner's function (its real code, run
    by the runtime's dispatcher) reads its keys as the monolith did."""
    ex = _extract(tmp_path / "app")
    owner = (tmp_path / "app" / "mini" / "b" / "api.py").as_posix()
    out = _run_in_service(
        ex,
        tmp_path / "out",
        "a",
        "import json\nfrom interservice import runtime\n"
        f"owner = {{}}\nexec(open({owner!r}).read(), owner)\nasked = []\n"
        "def call(service, endpoint, func, args, kwargs, **_):\n"
        "    asked.append(endpoint)\n"
        "    body = json.loads(json.dumps({'args': runtime.encode(list(args)),\n"
        "                                  'kwargs': runtime.encode(kwargs)}))\n"
        "    answer, status = runtime.dispatch(owner[endpoint], body)\n"
        "    assert status == 200, answer\n    return answer['result']\n"
        "runtime.call = call\nimport mini.a.use as u\n"
        "print(u.check({'kind': 'big'}), u.label({'kind': 'small'}), u.shown(), sorted(asked))\n",
    )
    assert out == "True small [{'kind': 'big'}] ['describe', 'is_big', 'mask']\n"
