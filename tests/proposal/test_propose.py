"""propose() on hand-built and synthetic graphs: units, kernel, constraints, ownership, names."""

from __future__ import annotations

import networkx as nx
import pytest

from migrator.graph import DependencyGraph, Route, Table
from migrator.plan import SHARED, PlanError, dump_plan, plan_from_dict
from migrator.proposal import propose
from migrator.proposal.cluster import refine
from migrator.proposal.compare import compare
from migrator.proposal.config import build_options
from migrator.proposal.kernel import business_units
from migrator.proposal.naming import assign_names, candidates, stems
from migrator.proposal.synthetic import synthetic_monolith
from migrator.proposal.units import build_units


@pytest.fixture(scope="module")
def planted() -> tuple[DependencyGraph, dict[str, str]]:
    return synthetic_monolith(domains=6, modules_per_domain=5, noise=0.05, seed=1)


def roundtrip(plan):  # every plan propose writes must pass the plan validator
    import yaml

    return plan_from_dict(yaml.safe_load(dump_plan(plan)))


def test_planted_decomposition_is_found(planted) -> None:
    graph, truth = planted
    plan = propose(graph)
    roundtrip(plan)
    result = compare(plan.assignment(), truth)
    assert result["mojofm"] >= 90 and result["ari"] >= 0.9
    assert sorted(plan.services) == [f"dom{i}" for i in range(6)]  # named by their packages
    # the shared models module is carved up: each model goes with its domain
    for i in range(6):
        assert f"shop.models:Dom{i}Model" in plan.services[f"dom{i}"].symbols
    assert "shop.models" in plan.meta["split_modules"]
    # utils is used by every domain and has no business logic: shared kernel
    assert "shop.utils" in plan.shared_kernel.modules


def test_pure_clustering_without_the_package_prior(planted) -> None:
    graph, truth = planted
    plan = propose(graph, respect_packages=False)
    assert compare(plan.assignment(), truth)["mojofm"] >= 90


def test_every_table_has_exactly_one_owner(planted) -> None:
    graph, _ = planted
    plan = propose(graph)
    owners = [t for svc in plan.services.values() for t in svc.tables]
    assert sorted(owners) == sorted(graph.tables)
    for name, svc in plan.services.items():
        for t in svc.tables:
            writers = {plan.service_of(w) for w in graph.tables[t].writers}
            assert writers == {name}


def test_routes_depends_on_interface(planted) -> None:
    graph, _ = planted
    plan = propose(graph)
    for i in range(6):
        assert plan.services[f"dom{i}"].routes == [f"GET /dom{i}/"]
    for name, svc in plan.services.items():
        for dep in svc.depends_on:
            assert dep in plan.services and dep != name
        for node in svc.interface:
            assert plan.service_of(node) == name


def test_services_count_and_range(planted) -> None:
    graph, _ = planted
    assert len(propose(graph, services="3").services) == 3
    assert 2 <= len(propose(graph, services="2-4").services) <= 4
    assert len(propose(graph, services=9).services) >= 7  # splits what it can
    for algo in ("greedy", "label-propagation"):
        plan = propose(graph, algorithm=algo, services="4")
        assert len(plan.services) == 4
        assert plan.meta["algorithm"] == algo
    with pytest.raises(PlanError, match="services"):
        propose(graph, services="7-3")
    with pytest.raises(PlanError, match="algorithm"):
        propose(graph, algorithm="kmeans")


def test_seed_changes_nothing_but_is_recorded(planted) -> None:
    graph, _ = planted
    a, b = propose(graph, seed=1), propose(graph, seed=1)
    assert dump_plan(a) == dump_plan(b)
    assert a.meta["seed"] == 1


def _mixed_graph() -> DependencyGraph:
    """Two domain packages, a layer ``models`` module with one model per domain and a cohesive
    ``helpers`` module whose two functions are both used by domain a only."""
    g = DependencyGraph()
    for m in [
        "app",
        "app.a",
        "app.a.x",
        "app.a.y",
        "app.b",
        "app.b.x",
        "app.b.y",
        "app.models",
        "app.helpers",
    ]:
        g.add_node(m, "module", line=1, end_line=20)
    g.add_node("app.models:A", "class", line=1, end_line=5)
    g.add_node("app.models:B", "class", line=6, end_line=9)
    g.add_node("app.helpers:h1", "function", line=1, end_line=3)
    g.add_node("app.helpers:h2", "function", line=4, end_line=6)
    for d in "ab":
        g.add_node(f"app.{d}.x:view", "function", line=1, end_line=5)
        g.add_node(f"app.{d}.y:save", "function", line=1, end_line=5)
        g.add_edge(f"app.{d}.x:view", f"app.{d}.y:save", "reference", count=3)
        g.add_edge(f"app.{d}.x", f"app.{d}.y", "import")
        g.add_edge(f"app.{d}.y:save", f"app.models:{d.upper()}", "reference", count=2)
        g.add_edge(f"app.{d}.y", "app.models", "import")
        g.routes.append(Route("GET", f"/{d}/", f"app.{d}.x:view", "flask", "f.py", 1))
        g.tables[f"{d}_rows"] = Table(
            f"{d}_rows", model=f"app.models:{d.upper()}", writers=[f"app.{d}.y:save"]
        )
    g.add_edge("app.a.x:view", "app.helpers:h1", "reference")
    g.add_edge("app.a.y:save", "app.helpers:h2", "reference")
    g.add_edge("app.helpers:h1", "app.helpers:h2", "reference")
    return g.finalize()


def test_split_mixed_modules_keep_cohesive_ones_whole() -> None:
    g = _mixed_graph()
    ug = build_units(g, build_options())
    assert ug.split == ["app.models"]
    assert "app.helpers" in ug.units and "app.helpers:h1" not in ug.units
    plan = propose(g)
    assert plan.service_of("app.models:A") == plan.service_of("app.a.x")
    assert plan.service_of("app.models:B") == plan.service_of("app.b.x")
    assert plan.service_of("app.helpers") == plan.service_of("app.a.x")
    # configuration overrides the split decision both ways
    assert build_units(g, build_options({"keep_whole": ["app.models"]})).split == []
    assert build_units(g, build_options({"split": ["app.helpers"]})).split == [
        "app.helpers",
        "app.models",
    ]


def test_kernel_has_no_business_logic(planted) -> None:
    graph, _ = planted
    plan = propose(graph)
    ug = build_units(graph, build_options())
    business = business_units(ug, graph)
    kernel = set(plan.shared_kernel.modules) | set(plan.shared_kernel.symbols)
    assert kernel and not kernel & business
    assert plan.meta["placements"]["shop.utils"]["service"] == SHARED


def test_kernel_member_used_by_one_service_moves_into_it() -> None:
    g = _mixed_graph()
    plan = propose(g)
    # helpers is used by domain a only: not kernel even though it has no business logic
    assert plan.service_of("app.helpers") != SHARED
    plan = propose(g, kernel=["app.helpers"])  # unless the config forces it
    assert plan.service_of("app.helpers") == SHARED


def test_pins_together_apart(planted) -> None:
    graph, _ = planted
    plan = propose(graph, pin={"shop.dom0.m1": "billing", "shop.dom1.*": "billing"})
    assert plan.service_of("shop.dom0.m1") == "billing"
    assert plan.service_of("shop.dom1.m3") == "billing"
    assert any("pinned by config" in w for w in plan.services["billing"].why)
    plan = propose(graph, together=[["shop.dom2.m0", "shop.dom3.m0"]])
    assert plan.service_of("shop.dom2.m0") == plan.service_of("shop.dom3.m0")
    plan = propose(graph, apart=[["shop.dom4.m0", "shop.dom4.m1"]])
    assert plan.service_of("shop.dom4.m0") != plan.service_of("shop.dom4.m1")
    with pytest.raises(PlanError, match="pin"):
        propose(graph, pin={"shop.dom0": "Bad_Name"})
    with pytest.raises(PlanError, match="must stay together"):
        propose(
            graph,
            pin={"shop.dom0.m0": "x", "shop.dom1.m0": "y"},
            together=[["shop.dom0.m0", "shop.dom1.m0"]],
        )


def test_edited_plan_keeps_decisions_and_places_new_nodes(planted) -> None:
    graph, _ = planted
    plan = propose(graph)
    # a person renames a service and moves a module by hand
    svc = plan.services.pop("dom0")
    svc.name = "ordering"
    plan.services["ordering"] = svc
    plan.services["dom1"].modules.remove("shop.dom1.m4")
    plan.services["dom2"].modules.append("shop.dom1.m4")
    for s in plan.services.values():
        s.depends_on = []
    edited = roundtrip(plan)
    # new code arrives: a module in dom3's package and a new package of its own
    g2 = DependencyGraph.from_dict(graph.to_dict())
    g2.add_node("shop.dom3.m9", "module")
    g2.add_node("shop.dom3.m9:f", "function")
    g2.add_edge("shop.dom3.m9:f", "shop.dom3.m0:f0", "reference", count=3)
    for m in ("shop.fresh", "shop.fresh.a", "shop.fresh.b"):
        g2.add_node(m, "module")
    g2.add_edge("shop.fresh.a", "shop.fresh.b", "import", count=5)
    g2.finalize()
    again = propose(g2, base_plan=edited)
    assert again.service_of("shop.dom1.m4") == "dom2"
    assert set(edited.services["ordering"].modules) <= set(again.services["ordering"].modules)
    assert again.service_of("shop.dom3.m9") == "dom3"
    assert again.service_of("shop.fresh.a") == again.service_of("shop.fresh.b")
    assert again.service_of("shop.fresh.a") not in {None, SHARED}
    assert again.meta["new_nodes"] == ["shop.dom3.m9", "shop.fresh", "shop.fresh.a", "shop.fresh.b"]
    for name, s in edited.services.items():
        assert set(s.modules) <= set(again.services[name].modules)
        assert set(s.tables) <= set(again.services[name].tables)


def test_refine_moves_single_nodes_to_cut_cross_weight() -> None:
    g = nx.Graph()
    g.add_edge("a", "b", weight=3)
    g.add_edge("b", "c", weight=1)
    g.add_edge("c", "d", weight=3)
    g.add_edge("x", "b", weight=2)
    g.add_edge("x", "a", weight=2)
    labels = {"a": 0, "b": 0, "c": 1, "d": 1, "x": 1}  # x sits with c/d but is tied to a/b
    moves = refine(g, labels, fixed=set())
    assert moves == 1 and labels["x"] == 0
    labels = {"a": 0, "b": 0, "c": 1, "d": 1, "x": 1}
    assert refine(g, labels, fixed={"x"}) == 0


def test_names_come_from_vocabulary_and_are_unique() -> None:
    score = candidates(
        [("shop.orders", 4), ("shop.models", 2)],
        ["orders", "api"],
        ["order_lines"],
        ["OrderLine"],
        roots={"shop.models"},
    )
    assert max(score, key=score.get) == "orders" and "models" not in score
    names = assign_names(
        {
            1: score,
            2: candidates([("shop.orders", 1)], [], [], [], set()),
            3: candidates([("x.utils", 1)], [], [], [], set()),
        },
        {1: 10, 2: 3, 3: 1},
    )
    assert names[1] == "orders" and names[2] != "orders" and len(set(names.values())) == 3
    assert all(n == n.lower() and len(n) <= 63 for n in names.values())
    assert stems("cart_token_from_request") == {"cart", "token", "request"}
    assert stems("CATEGORIES") == {"category"} and stems("OrderLines") == {"order", "line"}


def test_a_service_with_no_word_of_its_own_is_named_after_the_data_it_writes() -> None:
    """Data fixes in a ``fixes`` package (a generic word) own no table, serve no route and
    carry no class: their service is named after what they write, never ``service``."""
    from migrator.proposal.synthetic import layered_monolith

    g, _ = layered_monolith()
    g.add_node("app.fixes", "module", line=1, end_line=5)
    for i in range(2):
        g.add_node(f"app.fixes.fix_{i}", "module", line=1, end_line=100)
        g.add_node(f"app.fixes.fix_{i}:run", "function", line=1, end_line=90)
        g.add_edge(f"app.fixes.fix_{i}:run", "app.db:session", "reference")
    g.tables["orders"].writers.append("app.fixes.fix_0:run")
    g.tables["audit_entries"] = Table(
        "audit_entries",
        writers=[
            "app.repos.repository_orders:save",
            "app.services.orders_service:handle",
            "app.fixes.fix_1:run",
        ],
    )
    plan = propose(g.finalize(), services=(6, 6))
    assert sorted(plan.services["orders"].tables) == ["audit_entries", "orders"]
    assert plan.service_of("app.fixes.fix_0:run") == "audit-entries"


def test_no_two_services_are_named_by_one_word_in_two_numbers() -> None:
    names = assign_names(
        {1: {"group": 9.0}, 2: {"groups": 3.0, "labels": 1.5}, 3: {"group-reports": 2.0}},
        {1: 10, 2: 5, 3: 1},
    )
    assert names == {1: "group", 2: "labels", 3: "group-reports"}


def test_names_never_take_a_container_name_compose_reserves() -> None:
    # Django's own code has a django.contrib.postgres package: its service was named postgres
    names = assign_names(
        {
            1: candidates([("django.contrib.postgres", 5)], [], [], [], set()),
            2: candidates([("app.gateway", 2)], [], [], [], set()),
        },
        {1: 5, 2: 2},
    )
    assert names[1] not in ("postgres", "gateway", "monolith") and names[1].startswith("postgres")
    assert names[2] not in ("postgres", "gateway", "monolith")


def test_hostile_names_become_dns_labels() -> None:
    g = DependencyGraph()
    for m in [
        "Über_App",
        "Über_App.Café_Ops",
        "Über_App.Café_Ops.x",
        "Über_App.Z__",
        "Über_App.Z__.y",
    ]:
        g.add_node(m, "module")
    g.add_edge("Über_App.Café_Ops.x", "Über_App.Café_Ops", "import", count=2)
    g.add_edge("Über_App.Z__.y", "Über_App.Z__", "import", count=2)
    plan = propose(g.finalize())
    for name in plan.services:
        assert name.isascii() and name == name.lower() and "_" not in name
    roundtrip(plan)


def test_without_routes_or_tables_the_layout_still_holds(planted) -> None:
    graph, truth = planted
    bare = DependencyGraph.from_dict(graph.to_dict())
    bare.routes, bare.tables = [], {}
    plan = propose(bare.finalize())
    # the analysis saw no business logic at all: domains are not merged away for lacking it
    assert len(plan.services) == 6
    assert compare(plan.assignment(), truth)["mojofm"] >= 90


def test_async_and_signal_edges_weigh_less_than_calls_and_can_be_turned_off() -> None:
    g = DependencyGraph()
    for m in ("p.a", "p.b", "p.c"):
        g.add_node(m, "module", line=1, end_line=10)
    g.add_edge("p.a", "p.b", "reference", count=2)
    g.add_edge("p.a", "p.c", "async", count=2)  # p.a queues a task of p.c
    g.add_edge("p.b", "p.c", "signal", count=2)  # a handler in p.c runs on p.b's signal
    g.finalize()
    w = build_units(g, build_options()).weights
    assert 0 < w[("p.a", "p.c")] < w[("p.a", "p.b")]
    assert 0 < w[("p.b", "p.c")] < w[("p.a", "p.b")]
    off = build_units(g, build_options({"weights": {"async": 0, "signal": 0}})).weights
    assert ("p.a", "p.c") not in off and ("p.b", "p.c") not in off


def test_data_fixes_name_no_service() -> None:
    """A ``fixes/`` package of one-off data repairs, bigger than the concept it repairs, is
    not what the service does: the service is named by its data, not ``fixes``."""
    from migrator.proposal.synthetic import layered_monolith

    g, _ = layered_monolith(entities=("orders", "products", "customers", "shipments"))
    g.add_node("app.fixes", "module", file="app/fixes/__init__.py", line=1, end_line=2)
    for i in range(4):
        m = f"app.fixes.fix_shipment_dates_{i}"
        g.add_node(m, "module", file=f"app/fixes/fix_shipment_dates_{i}.py", line=1, end_line=400)
        g.add_node(
            f"{m}:run",
            "function",
            file=f"app/fixes/fix_shipment_dates_{i}.py",
            line=1,
            end_line=400,
        )
        g.add_edge(f"{m}:run", "app.repos.repository_shipments:save", "reference", count=3)
        g.add_edge(m, "app.repos.repository_shipments", "import")
    plan = propose(g.finalize())
    service = plan.service_of("app.fixes.fix_shipment_dates_0")
    assert service == plan.service_of("app.models.shipment") == "shipments"
