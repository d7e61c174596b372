"""MoJoFM and ARI against hand-worked examples and an independent brute-force search."""

from __future__ import annotations

import itertools
import random
from collections import deque

import pytest

from migrator.plan import PlanError
from migrator.proposal.compare import (
    adjusted_rand_index,
    common_nodes,
    compare,
    load_partition,
    max_mno,
    mojo,
    partition_from_data,
)


def part(clusters: dict[str, list[str]]) -> dict[str, str]:
    return {n: c for c, ns in clusters.items() for n in ns}


# The example pair shipped with the MoJo 2.0 distribution's bunch files (13 objects).
A13 = part(
    {
        "A1": ["M6", "M2"],
        "A2": ["M5", "M11", "M1"],
        "A3": ["M7", "M13"],
        "A4": ["M8", "M12"],
        "A5": ["M10", "M3"],
        "A6": ["M9", "M4"],
    }
)
B13 = part(
    {
        "B1": ["M6", "M2"],
        "B2": ["M1"],
        "B3": ["M7", "M13", "M5", "M11"],
        "B4": ["M8", "M12"],
        "B5": ["M10", "M4"],
        "B6": ["M9", "M3"],
    }
)


def test_mojo_example_by_hand() -> None:
    # Moves: M1 out of A2, and M3/M4 swap between A5 and A6 = 3; Joins: A2 with A3 = 1.
    # B sizes ascending 1,2,2,2,2,4 -> g_B = 3, so max mno = 13 - 3 = 10; MoJoFM = 60.
    r = mojo(A13, B13)
    assert (r.mno, r.max_mno, r.mojofm) == (4, 10, 60.0)
    assert r.joins == [(["A2", "A3"], "B3")]
    # A5 and A6 may each keep either B5 or B6 (both optimal): one object leaves each
    assert len(r.moves) == 3 and r.moves[0] == ("M1", "A2", "B2")
    assert sorted(src for _, src, _ in r.moves[1:]) == ["A5", "A6"]


def test_identical_partitions() -> None:
    r = mojo(A13, {n: f"x{c}" for n, c in A13.items()})  # labels do not matter
    assert (r.mno, r.mojofm, r.moves, r.joins) == (0, 100.0, [], [])
    assert adjusted_rand_index(A13, A13) == 1.0


def _canon(p: dict[str, str]) -> frozenset:
    groups: dict[str, set] = {}
    for n, c in p.items():
        groups.setdefault(c, set()).add(n)
    return frozenset(frozenset(g) for g in groups.values())


def _brute_mno(a: dict[str, str], b: dict[str, str]) -> int:
    """BFS over partitions with Move (to an existing or a new cluster) and Join operations."""
    start, goal = _canon(a), _canon(b)
    seen = {start}
    queue = deque([(start, 0)])
    while queue:
        state, d = queue.popleft()
        if state == goal:
            return d
        clusters = list(state)
        nexts = []
        for i, j in itertools.combinations(range(len(clusters)), 2):
            rest = [c for k, c in enumerate(clusters) if k not in (i, j)]
            nexts.append(frozenset(rest + [clusters[i] | clusters[j]]))
        for i, c in enumerate(clusters):
            for obj in c:
                src = c - {obj}
                others = [x for k, x in enumerate(clusters) if k != i]
                base = [src] if src else []
                for j, t in enumerate(others):
                    nexts.append(
                        frozenset(base + [x for k, x in enumerate(others) if k != j] + [t | {obj}])
                    )
                if src:
                    nexts.append(frozenset(base + others + [frozenset({obj})]))
        for nxt in nexts:
            if nxt not in seen:
                seen.add(nxt)
                queue.append((nxt, d + 1))
    raise AssertionError("unreachable")


def _all_partitions(items: list[str]):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for p in _all_partitions(rest):
        yield [[first]] + p
        for i in range(len(p)):
            yield p[:i] + [[first] + p[i]] + p[i + 1 :]


def _as_dict(p: list[list[str]]) -> dict[str, str]:
    return {n: f"c{i}" for i, c in enumerate(p) for n in c}


def test_mno_equals_brute_force_on_random_partitions() -> None:
    rng = random.Random(7)
    items = [f"o{i}" for i in range(6)]
    for _ in range(60):
        a = {n: f"a{rng.randrange(4)}" for n in items}
        b = {n: f"b{rng.randrange(4)}" for n in items}
        assert mojo(a, b).mno == _brute_mno(a, b), (a, b)


def test_max_mno_equals_brute_force_maximum() -> None:
    items = [f"o{i}" for i in range(6)]
    everything = [_as_dict(p) for p in _all_partitions(items)]
    assert len(everything) == 203  # Bell(6)
    for b in [everything[0], everything[5], everything[57], everything[130], everything[-1]]:
        worst = max(_brute_mno(a, b) for a in everything)
        assert max_mno(b) == worst, b


def test_ari_published_and_by_hand() -> None:
    # scikit-learn's documented example: adjusted_rand_score([0,0,1,1], [0,0,1,2]) = 0.5714...
    a = {"1": "0", "2": "0", "3": "1", "4": "1"}
    b = {"1": "0", "2": "0", "3": "1", "4": "2"}
    assert adjusted_rand_index(a, b) == pytest.approx(4 / 7)
    # index 2, rows 3+3 -> 6, cols 1+1+1 -> 3, expected 18/15, max 4.5
    a = part({"x": ["1", "2", "3"], "y": ["4", "5", "6"]})
    b = part({"p": ["1", "2"], "q": ["3", "4"], "r": ["5", "6"]})
    assert adjusted_rand_index(a, b) == pytest.approx((2 - 1.2) / (4.5 - 1.2))
    # independent labellings land at chance level or below
    a = part({"x": ["1", "2"], "y": ["3", "4"]})
    b = part({"p": ["1", "3"], "q": ["2", "4"]})
    assert adjusted_rand_index(a, b) == pytest.approx(-0.5)


def test_common_nodes_prefix_and_kernel_group() -> None:
    plan = {
        "shop.catalog.views": "catalog",
        "shop.catalog.search": "catalog",
        "shop.models:Product": "catalog",
        "shop.models:Order": "orders",
        "shop.config": "shared_kernel",
        "shop.extra": "orders",
    }
    decomp = {
        "shop.catalog": "catalog",
        "shop.models:Product": "catalog",
        "shop.models:Order": "ordering",
        "shop.config": "shared_kernel",
    }
    ra, rb = common_nodes(plan, decomp)
    assert sorted(ra) == [
        "shop.catalog.search",
        "shop.catalog.views",
        "shop.config",
        "shop.models:Order",
        "shop.models:Product",
    ]
    result = compare(plan, decomp)
    assert result["mojofm"] == 100.0 and result["ari"] == 1.0
    assert result["only_in_a"] == ["shop.extra"]


def test_decomposition_file_and_plan_file(tmp_path) -> None:
    d = tmp_path / "decomposition.yaml"
    d.write_text(
        "version: 1\nkind: decomposition\nservices:\n  catalog: [shop.catalog]\n"
        "  orders: [shop.orders, 'shop.models:Order']\nshared_kernel: [shop.config]\n"
    )
    assert load_partition(d) == {
        "shop.catalog": "catalog",
        "shop.orders": "orders",
        "shop.models:Order": "orders",
        "shop.config": "shared_kernel",
    }
    p = tmp_path / "plan.yaml"
    p.write_text(
        "version: 1\nservices:\n  catalog:\n    modules: [shop.catalog]\n"
        "shared_kernel:\n  modules: [shop.config]\n"
    )
    assert load_partition(p) == {"shop.catalog": "catalog", "shop.config": "shared_kernel"}


def test_bad_decomposition_names_file_and_key(tmp_path) -> None:
    d = tmp_path / "bad.yaml"
    d.write_text("version: 1\nkind: decomposition\nservices:\n  a: [x]\n  b: [x]\n  c: 3\n")
    with pytest.raises(PlanError) as exc:
        load_partition(d)
    text = str(exc.value)
    assert "bad.yaml: services.b: 'x' is also in 'a'" in text
    assert "services.c: must be a list" in text
    with pytest.raises(PlanError, match="top level must be a mapping"):
        partition_from_data(None)
    bad = tmp_path / "syntax.yaml"
    bad.write_text("services: [\n")
    with pytest.raises(PlanError, match=r"syntax.yaml: line \d+"):
        load_partition(bad)
