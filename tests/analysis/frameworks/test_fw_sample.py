"""The plug-ins on sample_monolith (Flask + SQLAlchemy). Expectations are read from the sample's
source text with regular expressions, an independent and much cruder reading, so the test keeps
up with the sample as it grows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from migrator.graph import DependencyGraph

SAMPLE = Path(__file__).resolve().parents[3] / "sample_monolith"
DECORATOR = re.compile(r"^@(\w+)\.(route|get|post|put|patch|delete)\(\s*[\"']", re.M)
DEF = re.compile(r"^(?:async\s+)?def\s+(\w+)", re.M)
TABLENAME = re.compile(r"^class (\w+)\(.*?^\s+__tablename__\s*=\s*[\"'](\w+)[\"']", re.M | re.S)


def _sources() -> dict[str, str]:
    out = {}
    for path in sorted(SAMPLE.rglob("*.py")):
        rel = path.relative_to(SAMPLE.parent)
        if "tests" in rel.parts:
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path.read_text()
    return out


@pytest.fixture(scope="module")
def sample() -> tuple[DependencyGraph, dict[str, str]]:
    from migrator.analysis import analyze

    return analyze(SAMPLE, jobs=1, use_cache=False), _sources()


def test_every_tablename_is_a_table_with_its_model_and_a_writer(sample) -> None:
    graph, sources = sample
    expected = {}
    for module, text in sources.items():
        # class headers and the first __tablename__ after each (non-greedy, per class)
        for chunk in re.split(r"(?=^class )", text, flags=re.M):
            m = TABLENAME.match(chunk)
            if m:
                expected[m.group(2)] = f"{module}:{m.group(1)}"
    assert len(expected) >= 10
    for table, model in sorted(expected.items()):
        assert table in graph.tables, table
        assert graph.tables[table].model == model
        assert graph.tables[table].writers, f"no writer found for {table}"
    assert any(len(t.readers) > 1 for t in graph.tables.values())
    assert [t for t in graph.tables.values() if t.foreign_keys]


def test_every_decorated_view_is_a_route_handler(sample) -> None:
    graph, sources = sample
    decorated = set()
    for module, text in sources.items():
        for m in DECORATOR.finditer(text):
            func = DEF.search(text, m.end())
            decorated.add(f"{module}:{func.group(1)}")
    handlers = {r.handler for r in graph.routes}
    assert decorated and decorated <= handlers
    # the rest are add_url_rule views: named in an add_url_rule call of the sample
    rules = "".join(re.findall(r"add_url_rule\([^)]*\)", "".join(sources.values())))
    for extra in sorted(handlers - decorated):
        assert extra.split(":")[1] in rules, extra


def test_api_blueprints_get_their_registration_prefix(sample) -> None:
    graph, sources = sample
    table = re.findall(
        r"\(\s*\"([\w.]+)\",\s*\"(\w+)\",\s*\"(/[^\"]*)\"\s*\)",
        sources.get("sample_monolith.app", ""),
    )
    assert table, "the sample registers its API blueprints from a table"
    for module, _attr, prefix in table:
        paths = [r.path for r in graph.routes if r.handler.startswith(module + ":")]
        assert paths, module
        assert all(p == prefix or p.startswith(prefix.rstrip("/") + "/") for p in paths), (
            module,
            paths,
        )


def test_route_edges_and_entry_points_match_routes(sample) -> None:
    graph, _ = sample
    handlers = {r.handler for r in graph.routes}
    targets = {t for _, t, _ in graph.edges("route")}
    assert targets <= handlers
    route_eps = {(e.name, e.handler) for e in graph.entry_points if e.kind == "route"}
    assert route_eps == {(f"{r.method} {r.path}", r.handler) for r in graph.routes}
    # every table edge ends at a model of a table
    models = {t.model for t in graph.tables.values()}
    assert {t for _, t, _ in graph.edges("table")} <= models
