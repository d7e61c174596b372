"""A function of the caller's service (or the kernel) that is handed another service's model
class runs in the caller with the read model in its place: converted where it only reads the
class the way a read model answers and the caller only reads the columns of what it gives."""

from __future__ import annotations

from pathlib import Path

from migrator.extraction import build_extraction
from migrator.plan import plan_from_dict

from .test_conversions import _app, _kinds
from .test_queries import _recorded

HELPERS = (
    "def get_instance(model, key, missing):\n"
    "    row = model.query.filter_by(id=key).first()\n"
    "    if row is None:\n        raise missing()\n"
    "    return row\n\n\n"
    "def count_of(model, **filters):\n"
    "    return lambda: model.query.filter_by(**filters).count()\n\n\n"
    "def make(model, **values):\n    return model(**values)\n"
)
USE = (
    "from mini.b.models import Item\n"
    "from mini.b.api import fetch\n"
    "from mini.helpers import count_of, get_instance, make\n\n\n"
    "def name_of(key):\n    item = get_instance(Item, key, LookupError)\n    return item.name\n\n\n"
    "def counter(kind):\n    return count_of(Item, kind=kind)\n\n\n"
    "def labelled(key):\n    return get_instance(model=Item, key=key, missing=LookupError).label()\n\n\n"
    "def made(name):\n    return make(Item, name=name)\n\n\n"
    "def elsewhere(key):\n    return fetch(Item, key).name\n"
)
#: a function of the owner's service: it runs there, and the class cannot be sent to it
API = (
    "from mini.b.models import Item\n\n\n"
    "def fetch(model, key):\n    return model.query.filter_by(id=key).first()\n"
)


def _extract(root: Path):  # noqa: ANN202 - Extraction
    _app(root, USE, API)
    (root / "mini" / "helpers.py").write_text(HELPERS)
    plan = plan_from_dict(
        {
            "version": 1,
            "services": {
                "a": {"modules": ["mini.a", "mini.a.use"]},
                "b": {"modules": ["mini.b", "mini.b.models", "mini.b.api"], "tables": ["items"]},
            },
            "shared_kernel": {"modules": ["mini", "mini.helpers"]},
        }
    )
    return build_extraction(plan, None, root)


def test_a_class_handed_to_a_function_that_only_reads_it_is_served_by_the_read_model(
    tmp_path: Path,
) -> None:
    ex = _extract(tmp_path / "app")
    assert _kinds(ex, "mini/a/use.py", USE) == {
        "item = get_instance(Item, key, LookupError)": ("model", True),
        "return count_of(Item, kind=kind)": ("model", True),
        # the caller asks the row for more than its columns; the class is called to make a row
        "return get_instance(model=Item, key=key, missing=LookupError).label()": ("model", False),
        "return make(Item, name=name)": ("model", False),
        "return fetch(Item, key).name": ("model", False),
    }
    why = {c.line: c.why for c in ex.couplings if c.file == "mini/a/use.py" and not c.converted}
    assert any("handed to `make()`" in w for w in why.values()), why
    out = _recorded(
        ex,
        tmp_path,
        "2 if op == 'count' else runtime.ReadRow('Item', {'id': 1, 'name': 'tea'})",
        "u.name_of(1), u.counter('k')()",
    )
    assert out.splitlines() == [
        "tea 2",
        "[('first', {}), ('count', {})]",
    ]
