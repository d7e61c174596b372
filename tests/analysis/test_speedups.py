"""The shortcuts taken for speed must build exactly what the plain networkx calls build."""

from __future__ import annotations

import gc
import pickle
from pathlib import Path

from migrator.analysis.resolve import Edges, sort_graph
from migrator.graph import DependencyGraph

from .helpers import run, write_tree


def _adjacency(graph: DependencyGraph) -> tuple:
    """Every ordering networkx exposes: nodes, successors, predecessors, keys, attributes."""
    g = graph.g
    return (
        list(g.nodes(data=True)),
        [(n, list(g.succ[n]), list(g.pred[n])) for n in g.nodes],
        list(g.edges(keys=True, data=True)),
    )


def _scrambled() -> DependencyGraph:
    graph = DependencyGraph(root=".")
    for node in ("b.mod", "a.mod", "a.mod:Z", "a.mod:A", "c"):
        graph.add_node(
            node, "module" if ":" not in node else "class", file="x.py", line=1, end_line=3
        )
    graph.add_edge("c", "a.mod", "import", ["c.py:3"], lazy=True)
    graph.add_edge("a.mod:Z", "b.mod", "reference", ["a.py:9", "a.py:2"])
    graph.add_edge("a.mod", "b.mod", "route", ["a.py:1"])
    graph.add_edge("a.mod", "b.mod", "import", ["a.py:1"])
    graph.add_edge("b.mod", "a.mod:A", "orm", ["b.py:4"])
    graph.add_edge("a.mod:A", "a.mod", "inherit", ["a.py:5"])
    return graph


def test_sort_graph_builds_what_finalize_rebuilds() -> None:
    slow, fast = _scrambled(), _scrambled()
    slow.finalize()
    sort_graph(fast)
    assert fast._in_sorted_order()
    assert _adjacency(fast) == _adjacency(slow)
    fast.finalize()  # finds nothing to redo and keeps the same graph
    assert _adjacency(fast) == _adjacency(slow)
    assert pickle.dumps(fast.to_dict()) == pickle.dumps(slow.to_dict())


def test_edges_into_matches_add_edge() -> None:
    nodes = ["a", "a:X", "b", "c"]
    direct, slow = DependencyGraph(root="."), DependencyGraph(root=".")
    for graph in (direct, slow):
        for node in nodes:
            graph.add_node(node, "module" if ":" not in node else "function")
    edges = Edges()
    edges.add("a:X", "b", "reference", "a.py:10", lazy=True)
    edges.add("a:X", "b", "reference", "a.py:2", lazy=False)
    edges.add("a", "c", "import", "a.py:1", lazy=False, type_only=True, guarded=False)
    edges.add("c", "missing", "dynamic", "c.py:4")  # unknown node: networkx adds it
    edges.into(direct)
    for (s, t, k), (count, evidence, flags) in sorted(edges.data.items()):
        slow.g.add_edge(
            s,
            t,
            key=k,
            kind=k,
            count=count,
            evidence=sorted(evidence, key=lambda e: int(e.rsplit(":", 1)[1])),
            **flags,
        )
    assert _adjacency(direct) == _adjacency(slow)
    assert direct.g.edges["a:X", "b", "reference"]["evidence"] == ["a.py:2", "a.py:10"]
    assert direct.g.edges["a:X", "b", "reference"]["lazy"] is False


def test_analyze_restores_the_garbage_collector(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "from pkg import b\n", "pkg/b.py": "X = 1\n"}
    )
    assert gc.isenabled()
    graph = run(tmp_path)
    assert gc.isenabled()
    assert graph.g.has_edge("pkg.a", "pkg.b")
    gc.disable()
    try:
        run(tmp_path)
        assert not gc.isenabled()  # a caller that paused it keeps it paused
    finally:
        gc.enable()


def test_field_order_is_the_order_libcst_visits_children_in() -> None:
    """``field_order`` learns the order from libcst's public ``children`` on probe trees; the
    source of libcst's private ``_visit_and_replace_children`` says the same order in plain
    text. A libcst release with node parts the probe lacks would make lines and uses come out
    in another order: then ``walk.PROBE`` needs that syntax."""
    import dataclasses
    import inspect
    import re

    import libcst

    from migrator.analysis.walk import field_order

    visit = re.compile(r'visit_\w+\(\s*self,\s*"(\w+)"')
    checked = 0
    for name in dir(libcst):
        tp = getattr(libcst, name)
        if not (
            isinstance(tp, type)
            and issubclass(tp, libcst.CSTNode)
            and dataclasses.is_dataclass(tp)
            and "_visit_and_replace_children" in vars(tp)
        ):
            continue
        fields = [f.name for f in dataclasses.fields(tp)]
        in_source = list(
            dict.fromkeys(
                n
                for n in visit.findall(inspect.getsource(tp._visit_and_replace_children))
                if n in fields
            )
        )
        assert field_order(tp) == tuple(in_source + [f for f in fields if f not in in_source]), name
        checked += 1
    assert checked > 100
    assert field_order(libcst.BinaryOperation)[:4] == ("lpar", "left", "operator", "right")


def test_shipped_field_orders_are_what_libcst_children_says() -> None:
    """``fieldorders.ORDERS`` spares each parser process learning the orders; it must be what
    learning from libcst's public ``children`` gives (else: run scripts/field_orders.py)."""
    import runpy

    from migrator.analysis import fieldorders

    script = Path(__file__).resolve().parents[2] / "scripts" / "field_orders.py"
    assert fieldorders.ORDERS == runpy.run_path(str(script))["table"]()


def test_field_order_learns_when_the_shipped_order_does_not_fit(monkeypatch) -> None:
    """A libcst whose node has other fields than the shipped table lists (an upgrade) gets the
    order learnt from ``children``, not the stale one."""
    import libcst

    from migrator.analysis import fieldorders, walk

    stale = ("left", "right", "operator", "lpar", "rpar", "added")
    monkeypatch.setattr(fieldorders, "ORDERS", {"BinaryOperation": stale})
    monkeypatch.setattr(walk, "_ORDER", {})
    assert walk.field_order(libcst.BinaryOperation)[:4] == ("lpar", "left", "operator", "right")
    fitting = ("rpar", "lpar", "left", "operator", "right")  # the fields, in a made-up order
    monkeypatch.setattr(fieldorders, "ORDERS", {"BinaryOperation": fitting})
    monkeypatch.setattr(walk, "_ORDER", {})
    assert walk.field_order(libcst.BinaryOperation) == fitting


def test_field_order_is_the_order_of_children_on_real_code() -> None:
    """On every node of migrator's own sources, the fields that hold nodes come in the order
    libcst's public ``children`` lists their nodes: the order the walk counts lines in."""
    import libcst

    from migrator.analysis.walk import field_order, kind

    checked = 0
    for path in sorted((Path(__file__).resolve().parents[2] / "migrator").rglob("*.py"))[:40]:
        stack = [libcst.parse_module(path.read_text())]
        while stack:
            node = stack.pop()
            ours = []
            for name in field_order(type(node)):
                value = getattr(node, name)
                found = kind(type(value))
                ours.extend([value] if found in (1, 3) else value if found == 2 else [])
            children = node.children
            assert [id(n) for n in ours] == [id(n) for n in children], type(node).__name__
            stack.extend(children)
            checked += 1
    assert checked > 50_000


def test_distribution_map_is_the_standard_librarys() -> None:
    """``externals.packages_distributions`` reads names from the header lines only; on the
    distributions installed here (a hundred or so, with every metadata layout pip writes) it
    must give exactly what ``importlib.metadata`` gives."""
    import importlib.metadata

    from migrator.analysis import externals

    ours = externals.packages_distributions()
    assert len(ours) > 20
    assert ours == importlib.metadata.packages_distributions()


def test_no_module_facts_outlive_a_run_while_the_collector_is_paused(tmp_path: Path) -> None:
    """The plug-ins leave reference cycles (recursive helper closures holding the facts and
    the resolver); with the collector paused during a run, the facts of every module must
    still be freed when the run returns, or the first collection after it pays for them
    (``ProjectResolver.release``). Checked after a full build and after an incremental one,
    with the collector paused throughout, so only reference counting frees anything."""
    import shutil

    from migrator.analysis import analyze_with_stats
    from migrator.analysis.facts import ModuleFacts

    root = Path(
        shutil.copytree(Path(__file__).parent / "frameworks" / "apps" / "django", tmp_path / "app")
    )
    gc.collect()
    gc.disable()
    try:
        full, full_stats = analyze_with_stats(root, cache_dir=tmp_path / "cache", jobs=1)
        assert full_stats.resolution == "full" and full.routes
        assert not [o for o in gc.get_objects() if type(o) is ModuleFacts]
        path = root / "shop" / "models.py"
        path.write_text(path.read_text().replace('"accounts.User"', '"blog.Tag"'))
        step, step_stats = analyze_with_stats(root, cache_dir=tmp_path / "cache", jobs=1)
        assert step_stats.resolution == "incremental" and step_stats.resolved >= 1
        assert not [o for o in gc.get_objects() if type(o) is ModuleFacts]
    finally:
        gc.enable()
