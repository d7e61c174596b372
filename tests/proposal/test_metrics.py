"""Each metric of metrics.md on a small graph whose expected values are worked out by hand here.

The graph (modules p.a .. p.e in two services, p.k the shared kernel):

    p.a -> p.b  import x1 + reference x1   c = 2   w = 1 + ln 2
    p.b -> p.c  reference x2               c = 2   w = 1 + ln 2
    p.c -> p.a  import x1                  c = 1   w = 1
    p.a -> p.d  reference x3  (crosses)    c = 3   w = 1 + ln 3
    p.d -> p.e  import x1                  c = 1   w = 1
    p.e -> p.d  reference x1               c = 1   w = 1
    p.e -> p.k  import x5  (kernel: left out)

alpha = {p.a, p.b, p.c}, beta = {p.d, p.e}.
"""

from __future__ import annotations

import math

import pytest

from migrator.graph import DependencyGraph, EntryPoint, Route, Table
from migrator.proposal.metrics import (
    UnitResolver,
    business_context_purity,
    compute_metrics,
    context_reach,
    data_coupling,
    edge_weight,
    inter_call_percentage,
    interface_number,
    modularity,
    non_extreme_distribution,
    structural_modularity,
    table_owners,
    unit_counts,
    weighted,
)

LN2, LN3 = math.log(2), math.log(3)
ASSIGN = {
    "p.a": "alpha",
    "p.b": "alpha",
    "p.c": "alpha",
    "p.d": "beta",
    "p.e": "beta",
    "p.k": "shared_kernel",
}
GROUPS = {k: v for k, v in ASSIGN.items() if v != "shared_kernel"}


def build() -> DependencyGraph:
    g = DependencyGraph()
    for m in ["p.a", "p.b", "p.c", "p.d", "p.e", "p.k"]:
        g.add_node(m, "module", file=m.replace(".", "/") + ".py", line=1, end_line=10)
    g.add_edge("p.a", "p.b", "import", count=1)
    g.add_edge("p.a", "p.b", "reference", count=1)
    g.add_edge("p.b", "p.c", "reference", count=2)
    g.add_edge("p.c", "p.a", "import", count=1)
    g.add_edge("p.a", "p.d", "reference", count=3)
    g.add_edge("p.d", "p.e", "import", count=1)
    g.add_edge("p.e", "p.d", "reference", count=1)
    g.add_edge("p.e", "p.k", "import", count=5)
    g.routes = [
        Route("GET", "/a", "p.a:view", "flask", "p/a.py", 3),
        Route("GET", "/d", "p.d", "flask", "p/d.py", 3),
    ]
    g.entry_points = [
        EntryPoint("task", "nightly", "p.c", "p/c.py", 1),
        EntryPoint("signal", "on_save", "p.e", "p/e.py", 1),
    ]
    g.tables = {
        "orders": Table("orders", model="p.a:Order", writers=["p.a", "p.d"], readers=["p.e"]),
        "stock": Table("stock", writers=["p.d", "p.e"], readers=["p.b", "p.d"]),
        "log": Table("log", readers=["p.k"]),
        "tie": Table("tie", writers=["p.e", "p.b"]),
    }
    return g.finalize()


def w_edges() -> dict:
    return weighted(unit_counts(build(), UnitResolver(ASSIGN)))


def test_weights_are_one_plus_ln_count_summed_over_kinds() -> None:
    w = w_edges()
    assert w == pytest.approx(
        {
            ("p.a", "p.b"): 1 + LN2,
            ("p.a", "p.d"): 1 + LN3,
            ("p.b", "p.c"): 1 + LN2,
            ("p.c", "p.a"): 1.0,
            ("p.d", "p.e"): 1.0,
            ("p.e", "p.d"): 1.0,
            ("p.e", "p.k"): 1 + math.log(5),
        }
    )
    assert edge_weight(1) == 1.0 and edge_weight(0.5) == 0.5


def test_kind_weights_multiply_counts() -> None:
    counts = unit_counts(build(), UnitResolver(ASSIGN), {"reference": 2.0, "import": 0.0})
    assert counts[("p.a", "p.b")] == 2.0  # reference 1 x 2, import dropped
    assert ("p.c", "p.a") not in counts
    assert counts[("p.a", "p.d")] == 6.0


def test_icp_by_hand() -> None:
    expected = (1 + LN3) / (2 * (1 + LN2) + 1 + (1 + LN3) + 1 + 1)
    assert inter_call_percentage(w_edges(), GROUPS) == pytest.approx(expected)
    assert expected == pytest.approx(0.247333, abs=1e-5)


def test_modularity_by_hand() -> None:
    # undirected weights: ab = bc = 1+ln2, ac = 1, ad = 1+ln3, de = 1+1
    ab = bc = 1 + LN2
    ac, ad, de = 1.0, 1 + LN3, 2.0
    m = ab + bc + ac + ad + de
    deg_alpha = 2 * (ab + bc + ac) + ad
    deg_beta = 2 * de + ad
    q = (ab + bc + ac) / m - (deg_alpha / (2 * m)) ** 2 + de / m - (deg_beta / (2 * m)) ** 2
    assert modularity(w_edges(), GROUPS) == pytest.approx(q)
    assert q == pytest.approx(0.213118, abs=1e-5)


def test_modularity_of_edgeless_graph_is_zero() -> None:
    assert modularity({}, {"x": "s", "y": "t"}) == 0.0


def test_structural_modularity_by_hand() -> None:
    # mu_alpha = 3 pairs / 3^2, mu_beta = 1 pair / 2^2, sigma = 1 pair / (2*3*2), K = 2
    expected = (3 / 9 + 1 / 4) / 2 - (1 / 12) / 1
    assert structural_modularity(w_edges(), GROUPS) == pytest.approx(expected)
    assert expected == pytest.approx(5 / 24)


def test_structural_modularity_counts_a_two_way_pair_once() -> None:
    w = {("x", "y"): 1.0, ("y", "x"): 1.0}
    assert structural_modularity(w, {"x": "s", "y": "s"}) == pytest.approx(1 / 4)


def test_interface_number_by_hand() -> None:
    # only p.d receives an edge from another service; K = 2
    assert interface_number(w_edges(), GROUPS) == 0.5
    w = {("x", "y"): 1.0, ("z", "y"): 1.0, ("y", "x"): 1.0, ("x", "z"): 1.0}
    # y receives from x (s) and z (t) -> counts once; x receives from y; z from x is internal
    assert interface_number(w, {"x": "s", "y": "t", "z": "s"}) == pytest.approx(2 / 2)


def test_ned_by_hand() -> None:
    groups = {}
    for svc, n in [("a", 5), ("b", 20), ("c", 4), ("d", 21)]:
        groups.update({f"{svc}{i}": svc for i in range(n)})
    assert non_extreme_distribution(groups) == pytest.approx(1 - 25 / 50)
    assert non_extreme_distribution(GROUPS) == 1.0


def test_bcp_by_hand() -> None:
    g = build()
    reach = context_reach(g, UnitResolver(ASSIGN))
    # GET /a from p.a reaches everything; GET /d only beta; the task from p.c reaches all;
    # the signal entry point is not a business context
    assert reach == {
        "GET /a": ["alpha", "beta"],
        "GET /d": ["beta"],
        "task nightly": ["alpha", "beta"],
    }
    assert business_context_purity(reach, ["alpha", "beta"]) == pytest.approx((LN2 + LN3) / 2)
    # a service no context reaches contributes ln 1 = 0 but still counts in K
    assert business_context_purity({"x": ["a"], "y": ["a"]}, ["a", "b"]) == pytest.approx(LN2 / 2)


def test_bcp_follows_direction() -> None:
    g = DependencyGraph()
    for m in ["q.x", "q.y"]:
        g.add_node(m, "module")
    g.add_edge("q.y", "q.x", "import")
    g.routes = [Route("GET", "/", "q.x:f", "flask", "q/x.py", 1)]
    g.finalize()
    assert context_reach(g, UnitResolver({"q.x": "s", "q.y": "t"})) == {"GET /": ["s"]}


def test_table_owner_rule() -> None:
    g = build()
    owners = table_owners(g, UnitResolver(ASSIGN))
    # orders: one writer each -> the model's service; stock: beta writes twice;
    # log: only the kernel reads -> no owner; tie: no model -> alphabetical
    assert owners == {"log": None, "orders": "alpha", "stock": "beta", "tie": "alpha"}


def test_data_coupling_lists() -> None:
    g = build()
    r = UnitResolver(ASSIGN)
    dc = data_coupling(g, r, table_owners(g, r))
    assert dc["shared_write_tables"] == [
        {"table": "orders", "services": ["alpha", "beta"]},
        {"table": "tie", "services": ["alpha", "beta"]},
    ]
    assert dc["cross_read_tables"] == [
        {"table": "orders", "owner": "alpha", "readers": ["beta"]},
        {"table": "stock", "owner": "beta", "readers": ["alpha"]},
    ]
    assert (dc["shared_writes"], dc["cross_reads"]) == (2, 2)


def test_resolver_longest_prefix_and_split_symbols() -> None:
    r = UnitResolver({"pkg": "a", "pkg.models": "b", "pkg.models:Order": "c"})
    assert r.unit("pkg.models:Order") == "pkg.models:Order"
    assert r.group("pkg.models:Product") == "b"
    assert r.group("pkg.views.sub:f") == "a"
    assert r.unit("other") is None


def test_split_symbol_edges_lift_to_their_own_unit() -> None:
    g = DependencyGraph()
    g.add_node("m.models", "module")
    g.add_node("m.models:Order", "class")
    g.add_node("m.views", "module")
    g.add_edge("m.views", "m.models:Order", "reference", count=4)
    g.add_edge("m.models:Order", "m.models", "reference", count=1)
    g.finalize()
    counts = unit_counts(g, UnitResolver({"m.models": "a", "m.models:Order": "b", "m.views": "b"}))
    assert counts == {("m.models:Order", "m.models"): 1.0, ("m.views", "m.models:Order"): 4.0}


def test_compute_metrics_puts_it_together() -> None:
    m = compute_metrics(build(), ASSIGN)
    assert m["services"] == 2 and m["nodes"] == 5 and m["kernel_nodes"] == 1
    assert m["sizes"] == {"alpha": 3, "beta": 2}
    assert m["icp"] == pytest.approx(0.2473, abs=1e-4)
    assert m["sm"] == pytest.approx(0.2083, abs=1e-4)
    assert m["ifn"] == 0.5 and m["ned"] == 1.0
    assert m["bcp"] == pytest.approx(0.8959, abs=1e-4)
    assert m["business_contexts"] == 3
    assert m["data_coupling"]["shared_writes"] == 2
    # an explicit owner map (a plan's tables) replaces the rule
    m2 = compute_metrics(build(), ASSIGN, owners={"orders": "beta", "stock": "beta"})
    reads = {d["table"]: d for d in m2["data_coupling"]["cross_read_tables"]}
    assert "orders" not in reads  # beta reads orders, and now owns it
    assert reads["stock"] == {"table": "stock", "owner": "beta", "readers": ["alpha"]}


def test_all_kernel_or_empty_is_safe() -> None:
    m = compute_metrics(build(), {"p.a": "shared_kernel"})
    assert m["services"] == 0 and m["icp"] == 0.0 and m["sm"] == 0.0 and m["bcp"] == 0.0


def test_reference_table_goes_with_the_tables_pointing_to_it() -> None:
    g = build()
    g.tables["units"] = Table("units", readers=["p.a", "p.b"])  # nobody writes it
    g.tables["stock"].foreign_keys = ["units"]  # stock (owned by beta) points to it
    g.finalize()
    owners = table_owners(g, UnitResolver(ASSIGN))
    assert owners["units"] == "beta"  # not alpha, although alpha reads it twice
    # a bulk loader's writes do not decide ownership
    owners = table_owners(g, UnitResolver(ASSIGN), ignore_writers={"p.d"})
    assert owners["stock"] == "beta" and owners["orders"] == "alpha"
    owners = table_owners(g, UnitResolver(ASSIGN), ignore_writers={"p.e"})
    assert owners["stock"] == "beta"  # p.d still writes it


def test_a_table_nobody_is_seen_writing_goes_with_its_model() -> None:
    """``units`` has its model in alpha's code and a foreign key from beta's ``stock``: the
    writes may be out of the analysis's sight (an active-record mixin's ``create``), so the
    model's service owns it; without a model in a service, the referrers' service does."""
    g = build()
    g.tables["units"] = Table("units", model="p.c:Unit", readers=["p.d"])
    g.tables["stock"].foreign_keys = ["units"]
    g.finalize()
    assert table_owners(g, UnitResolver(ASSIGN))["units"] == "alpha"
    g.tables["units"] = Table("units", model="p.k:Unit", readers=["p.a", "p.b"])
    assert table_owners(g, UnitResolver(ASSIGN))["units"] == "beta"


def test_reach_masks_single_pass_equals_condensation(monkeypatch) -> None:
    import random

    import networkx as nx

    from migrator.proposal import metrics

    rng = random.Random(1)
    for trial in range(25):
        g = nx.gnp_random_graph(40, 0.06, seed=trial, directed=True)
        g = nx.relabel_nodes(g, {i: f"m{i}" for i in g})
        assign = {f"m{i}": f"s{i % 5}" for i in range(40) if rng.random() < 0.7}
        resolver, bit = UnitResolver(assign), {f"s{i}": 1 << i for i in range(5)}
        expected = metrics._reach_masks_condensed(g, resolver, bit)
        with monkeypatch.context() as m:  # the single pass must not need the fallback
            m.setattr(metrics, "_reach_masks_condensed", None)
            assert metrics._reach_masks(g, resolver, bit) == expected
