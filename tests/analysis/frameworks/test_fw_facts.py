"""Plug-in facts have a declared shape: each plug-in's ``collect`` returns the ``TypedDict`` of
its module, and the facts it gives on the fixture apps and the sample hold exactly the keys
and value types that shape declares (so ``resolve``, which reads them through the same type,
reads what was written)."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest
from fwhelp import APPS, app_facts, parse

from migrator.analysis import frameworks

SAMPLE = Path(__file__).parents[3] / "sample_monolith"
GRAPHQL = """
import graphene
import strawberry
from ariadne import QueryType

query = QueryType()


class Query(graphene.ObjectType):
    hello = graphene.String(name="hi")
    create = CreateUser.Field()

    def resolve_hello(self, info): ...


@strawberry.type
class Root:
    @strawberry.mutation
    def add_item(self) -> int: ...

    items = strawberry.field(resolver=get_items)


@query.field("users")
def resolve_users(*_): ...


schema = graphene.Schema(query=Query)
"""


def facts_type(plugin: Any) -> Any:
    """The ``TypedDict`` a plug-in's ``collect`` returns (its return is ``X | None``)."""
    returned = get_type_hints(type(plugin).collect)["return"]
    shapes = [t for t in get_args(returned) if t is not type(None)]
    assert len(shapes) == 1 and is_typeddict(shapes[0]), (plugin.name, returned)
    return shapes[0]


def mismatch(value: Any, tp: Any, where: str) -> str | None:
    """Where ``value`` departs from type ``tp`` (TypedDicts, lists, dicts, unions, scalars)."""
    if tp is Any:
        return None
    if is_typeddict(tp):
        if not isinstance(value, dict):
            return f"{where}: {type(value).__name__}, not {tp.__name__}"
        hints = get_type_hints(tp)
        unknown = sorted(set(value) - set(hints))
        missing = sorted(tp.__required_keys__ - set(value))
        if unknown or missing:
            return f"{where}: {tp.__name__} unknown keys {unknown}, missing {missing}"
        for key, item in value.items():
            found = mismatch(item, hints[key], f"{where}.{key}")
            if found:
                return found
        return None
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        errors = [mismatch(value, t, where) for t in args]
        return None if None in errors else errors[0]
    if origin is list:
        if not isinstance(value, list):
            return f"{where}: not a list"
        return next(
            (e for i, v in enumerate(value) if (e := mismatch(v, args[0], f"{where}[{i}]"))),
            None,
        )
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            return f"{where}: not a dict with str keys"
        return next(
            (e for k, v in value.items() if (e := mismatch(v, args[1], f"{where}[{k}]"))), None
        )
    if tp is type(None):
        return None if value is None else f"{where}: {value!r} is not None"
    if tp in (bool, int, str):
        ok = isinstance(value, tp) and (tp is bool or not isinstance(value, bool))
        return None if ok else f"{where}: {value!r} is not {tp.__name__}"
    raise AssertionError(f"{where}: type {tp} not handled by this check")


def all_facts() -> list[tuple[str, str, Any]]:
    """(where, plug-in name, facts) for every module of the fixture apps, the sample and an
    in-memory GraphQL module."""
    from migrator.analysis.parse import WorkItem, analyse_source

    out = []
    for app in sorted(p.name for p in APPS.iterdir() if p.is_dir()):
        for module, mf in sorted(app_facts(app).items()):
            out.extend((f"{app}:{module}", k, v) for k, v in sorted(mf.framework.items()))
    for path in sorted(SAMPLE.rglob("*.py")):
        rel = path.relative_to(SAMPLE)
        item = WorkItem(rel.as_posix(), rel.stem, False, "sha", path.read_bytes(), True)
        mf = analyse_source(item)
        out.extend((f"sample:{rel}", k, v) for k, v in sorted(mf.framework.items()))
    plugin = next(p for p in frameworks.plugins() if p.name == "graphql")
    out.append(("graphql", "graphql", plugin.collect(parse(GRAPHQL), "m", "m.py")))
    return out


@pytest.mark.parametrize("plugin", frameworks.plugins(), ids=lambda p: p.name)
def test_each_plugin_declares_its_facts_and_a_version(plugin: Any) -> None:
    assert is_typeddict(facts_type(plugin))
    assert isinstance(plugin.facts_version, int) and plugin.facts_version >= 1


def test_facts_hold_the_declared_keys_and_types() -> None:
    shapes = {p.name: facts_type(p) for p in frameworks.plugins()}
    facts = all_facts()
    assert {name for _, name, _ in facts} == set(shapes), "every plug-in gives facts here"
    problems = [
        f"{where}: {found}"
        for where, name, data in facts
        if (found := mismatch(data, shapes[name], name))
    ]
    assert not problems, problems[:5]


def test_the_check_finds_an_undeclared_key_and_a_wrong_type() -> None:
    """The check above can fail: a key the shape does not declare, a value of another type."""
    plugin = next(p for p in frameworks.plugins() if p.name == "tasks")
    shape = facts_type(plugin)
    good = {"objects": [{"var": "app", "kind": "celery"}], "items": []}
    assert mismatch(good, shape, "tasks") is None
    assert "unknown keys ['extra']" in mismatch(dict(good, extra=1), shape, "tasks")
    bad = {"objects": [{"var": 1, "kind": "celery"}], "items": []}
    assert mismatch(bad, shape, "tasks") == "tasks.objects[0].var: 1 is not str"
