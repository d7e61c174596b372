"""A function whose result cannot cross a network is still served for what it does: calls
that drop its result go through a client that sends the call and gives back None
(``rewrite.EFFECT``); one caller that uses the result keeps every call of that caller listed."""

from __future__ import annotations

from pathlib import Path

from migrator.extraction import build_extraction, runtime
from migrator.plan import plan_from_dict

from .conftest import mini_packages, text
from .test_conversions import _run_in_service

ENGINE = '''class Handle:
    """Not data: nothing can send it."""

    def __init__(self, doc):
        self.doc = doc


class Engine:
    def add(self, doc):
        return Handle(doc)
'''
INDEX = """from mini.b.engine import Engine

INDEXED = []


def reindex(doc_id):
    INDEXED.append(doc_id)
    return Engine().add(doc_id)


async def arefresh(doc_id):
    return Engine().add(doc_id)


def narrow(criterions):
    Engine().add(criterions)
    return criterions
"""
DROPS = """from mini.b import index


def update(doc_id):
    index.reindex(doc_id)
    return "updated"


async def touch(doc_id):
    await index.arefresh(doc_id)
    return "touched"


def count(criteria):
    index.narrow(criteria)
    return "counted"
"""
USES = """from mini.b import index


def update(doc_id):
    index.reindex(doc_id)
    return "updated"


def handle(doc_id):
    return index.reindex(doc_id)


def count(criteria):
    return index.narrow(criteria)
"""
PLAN = {
    "version": 1,
    "services": {
        "a": {"modules": ["mini.a", "mini.a.views"]},
        "b": {
            "modules": ["mini.b", "mini.b.engine", "mini.b.index"],
            "interface": ["mini.b.index:reindex", "mini.b.index:arefresh", "mini.b.index:narrow"],
        },
    },
    "shared_kernel": {"modules": ["mini"]},
}


def _extract(tmp_path: Path, views: str):  # noqa: ANN202 - Extraction
    pkg = mini_packages(tmp_path / "app")
    (pkg / "b" / "engine.py").write_text(ENGINE)
    (pkg / "b" / "index.py").write_text(INDEX)
    (pkg / "a" / "views.py").write_text(views)
    return build_extraction(plan_from_dict(PLAN), None, tmp_path / "app")


def test_a_call_that_drops_a_result_no_one_can_send_is_converted(tmp_path: Path) -> None:
    ex = _extract(tmp_path, DROPS)
    calls = [(c.line, c.converted, c.reason) for c in ex.calls]
    assert calls[:2] == [(5, True, ""), (10, True, "")], calls
    # a function giving back its argument: only where the result is used must it be data
    assert calls[2:] == [(15, True, "")], calls
    client = text(ex, "services/a/src/interservice/b_index.py")
    assert "drop=True" in client
    out = _run_in_service(
        ex,
        tmp_path / "out",
        "a",
        "from interservice import runtime\n"
        "runtime.call = lambda service, endpoint, func, args, kwargs, **kw: "
        "print(service, endpoint, args, kwargs, kw['drop'])\n"
        "import asyncio\nfrom mini.a.views import touch, update\n"
        "print(update(7))\nprint(asyncio.run(touch(8)))\n",
    )
    assert out == (
        "b reindex [] {'doc_id': 7} True\nupdated\nb arefresh [] {'doc_id': 8} True\ntouched\n"
    )


def test_the_owner_runs_it_and_sends_no_result_when_told_the_caller_drops_it() -> None:
    def reindex(doc_id: int) -> object:
        done.append(doc_id)
        return object()  # no JSON value

    done: list[int] = []
    body, status = runtime.dispatch(reindex, {"args": [7], runtime.DROP: True})
    assert (body, status, done) == ({"result": None}, 200, [7])
    body, status = runtime.dispatch(reindex, {"args": [8]})
    assert status == runtime.ERROR_STATUS and "cannot send" in body["error"]["message"]


def test_a_caller_that_uses_the_result_keeps_all_its_calls_of_it_listed(tmp_path: Path) -> None:
    ex = _extract(tmp_path, USES)
    calls = [(c.line, c.converted) for c in ex.calls]
    assert calls == [(5, False), (10, False), (14, False)], calls
    reasons = {c.reason for c in ex.calls if c.callee.endswith(":reindex")}
    assert all("mini/a/views.py:10 uses the result" in r for r in reasons), reasons
    narrow = next(c.reason for c in ex.calls if c.callee.endswith(":narrow"))
    assert "the argument given for 'criterions': cannot tell what 'criteria' holds" in narrow
    assert "drop=True" not in text(ex, "services/a/src/interservice/b_index.py")
