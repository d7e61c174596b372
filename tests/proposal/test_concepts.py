"""Business concepts across layers: the three shapes of real monoliths, generated here.

Layered (``models/``, ``services/``, ``repos/``, ``api/``), package per feature
(``shop/cart/views.py``) and mixed (central ``core/models`` plus admin and front layers whose
``views/edit.py`` repeats in every feature).
"""

from __future__ import annotations

import math
import re

import pytest

from migrator.graph import DependencyGraph, EntryPoint, Route, Table
from migrator.plan import Plan
from migrator.proposal import propose
from migrator.proposal.compare import compare
from migrator.proposal.concepts import Concepts, concept_domains, head_families
from migrator.proposal.synthetic import layered_monolith, synthetic_monolith


def test_a_layered_app_is_cut_vertically_by_entity_not_by_layer() -> None:
    graph, truth = layered_monolith()
    plan = propose(graph)
    assert sorted(plan.services) == ["customers", "invoices", "orders", "products", "shipments"]
    assert compare(plan.assignment(), truth)["mojofm"] == 100.0
    orders = plan.services["orders"].modules
    for m in (
        "app.models.order",
        "app.services.orders_service",
        "app.repos.repository_orders",
        "app.api.orders.routes",
    ):
        assert m in orders
    # the layer packages' own modules and the db/config plumbing are the shared kernel
    assert {"app.models", "app.services", "app.repos", "app.db", "app.config"} <= set(
        plan.shared_kernel.modules
    )
    assert not set(plan.services) & {"models", "services", "repos", "api"}
    # the plan says why it has that many services
    assert plan.meta["service_count"].startswith("5 services from 5 business concepts and 5 tables")


#: forty small entities, each a concept with a table of its own
FORTY_ENTITIES = tuple(f"thing{chr(97 + i // 26)}{chr(97 + i % 26)}s" for i in range(40))


def _count(plan: Plan) -> tuple[int, int, int, int]:
    """(services, concepts, tables written, cap) as the plan's count reason states them."""
    found = re.match(
        r"(\d+) services from (\d+) business concepts and (\d+) tables written: .* at most "
        r"(\d+): ",
        plan.meta["service_count"],
    )
    assert found, plan.meta["service_count"]
    n, concepts, written, cap = map(int, found.groups())
    return n, concepts, written, cap


def test_many_small_concepts_make_team_sized_services() -> None:
    """Forty small entities, a table each: not forty services, but at most the larger of
    1.8 x sqrt(concepts) and 2.6 x sqrt(tables written), and the plan says so."""
    entities = FORTY_ENTITIES
    graph, _ = layered_monolith(entities=entities)
    plan = propose(graph)
    n, concepts, written, cap = _count(plan)
    assert n == len(plan.services) and concepts >= 40 and written == 40
    assert cap == max(math.ceil(1.8 * math.sqrt(concepts)), math.ceil(2.6 * math.sqrt(written)))
    assert 2 <= n <= cap < 20 and "the larger of" in plan.meta["service_count"]
    # the data asks for more services than the concepts alone would
    assert n > math.ceil(1.8 * math.sqrt(concepts))


def test_a_subclass_models_table_counts_with_its_parents_for_the_service_count() -> None:
    """Multi-table inheritance: each entity's ``Special<Entity>`` has a table of its own, also
    written; the forty entities are still forty aggregates with forty owners, not eighty."""
    entities = FORTY_ENTITIES
    graph, _ = layered_monolith(entities=entities)
    for e in entities:
        word = e[:-1]
        model = f"app.models.{word}"
        child = f"{model}:Special{word.capitalize()}"
        graph.add_node(child, "class", file=f"app/models/{word}.py", line=31, end_line=40)
        graph.add_edge(child, f"{model}:{word.capitalize()}", "inherit")
        repo = f"app.repos.repository_{e}:save"
        graph.tables[f"special_{e}"] = Table(f"special_{e}", model=child, writers=[repo])
    plan = propose(graph.finalize())
    n, concepts, written, cap = _count(plan)
    assert written == 40 and n == len(plan.services)
    assert cap == max(math.ceil(1.8 * math.sqrt(concepts)), math.ceil(2.6 * math.sqrt(40)))


def test_without_visible_writes_the_concepts_size_the_split() -> None:
    """Where the analysis sees no code writing a table, the count falls back on the
    concepts: the data estimate would be zero."""
    entities = FORTY_ENTITIES
    graph, _ = layered_monolith(entities=entities)
    for table in graph.tables.values():
        table.writers = []
    plan = propose(graph)
    n, concepts, written, cap = _count(plan)
    assert written == 0 and n == len(plan.services)
    assert cap == math.ceil(1.8 * math.sqrt(concepts)) and 2 <= n <= cap
    assert (
        f"at most {cap}: ceil(1.8 x sqrt({concepts} business concepts)) = {cap} "
        in (plan.meta["service_count"])
    )


def test_the_apps_own_name_names_no_concept() -> None:
    """``shop/front/shop_front.py`` says "front" in the app's own name: neither word is a
    concept (the app's name is in every module's path; ``front`` is a role)."""
    modules = ["shop", "shop.orders", "shop.orders.views", "shop.orders.models", "shop.front"]
    of = Concepts([*modules, "shop.front.shop_front", "shop.front.shop_invoices"]).of
    assert of["shop.orders.views"] == "order"
    assert of["shop.front.shop_front"] == ""
    assert of["shop.front.shop_invoices"] == "invoice"


def test_a_service_is_not_named_after_a_role_word_in_the_singular() -> None:
    """Concept words are singular (``templatetags`` -> ``templatetag``): a cluster of template
    tags behind the ``/docs`` pages is named by its route, not by the role word."""
    graph, _ = layered_monolith()

    def module(name: str, size: int = 200) -> str:
        graph.add_node(name, "module", file=name.replace(".", "/") + ".py", line=1, end_line=size)
        return name

    module("app.front", 5)
    module("app.front.templatetags", 5)
    docs = module("app.front.docs")
    graph.add_node(f"{docs}:serve_doc", "function", file="app/front/docs.py", line=1, end_line=150)
    graph.routes.append(
        Route("GET", "/docs/<page>", f"{docs}:serve_doc", "flask", "app/front/docs.py", 1)
    )
    for name in ("money", "dates", "markdown"):
        tag = module(f"app.front.templatetags.{name}")
        graph.add_node(f"{tag}:render", "function", file=f"{tag}.py", line=1, end_line=150)
        graph.add_edge(f"{docs}:serve_doc", f"{tag}:render", "reference", count=3)
        graph.add_edge(docs, tag, "import")
    plan = propose(graph.finalize())
    assert plan.service_of("app.front.templatetags.money") == "docs"
    assert not {"templatetag", "templatetags"} & set(plan.services)


def test_layers_affixes_and_roles_are_found_from_the_layout() -> None:
    graph, _ = layered_monolith()
    keys, business, layers = concept_domains(graph, graph.modules())
    assert {"app.models", "app.services", "app.repos", "app.api"} <= layers
    # "<e>_service" and "repository_<e>" lose their affixes; the spelling of the code is kept
    assert (
        keys["app.services.orders_service"]
        == keys["app.repos.repository_orders"]
        == keys["app.models.order"]
        == keys["app.api.orders.routes"]
        == "app.orders"
    )
    assert "app.orders" in business
    assert keys["app.db"] not in business and keys["app.config"] not in business


def test_a_package_per_feature_app_keeps_its_packages() -> None:
    modules = (
        ["shop"]
        + [
            f"shop.{f}.{r}"
            for f in ("cart", "orders", "payments", "catalog", "accounts", "shipping", "reviews")
            for r in ("models", "views", "service", "flows")
        ]
        + ["shop.seed"]
    )
    c = Concepts(modules, {"cart", "order", "payment"})
    assert c.of["shop.cart.views"] == c.of["shop.cart.models"] == "cart"
    assert c.of["shop.orders.flows"] == "order"  # "flows" in every feature: a role
    assert c.layers == {"shop"}  # the features share role words only: no layer among them
    assert c.of["shop.seed"] == ""  # a file at the top is no feature


def test_templated_files_and_technical_words_are_no_concepts() -> None:
    """Mixed layout: ``admin/modules/<f>/views/edit.py`` in every feature names the feature,
    not ``edit``; ``front`` is a layer word; a table named like a role word stays data."""
    features = ("products", "orders", "customers", "suppliers")
    modules = [
        "shop",
        "shop.core",
        "shop.core.models",
        "shop.admin",
        "shop.admin.modules",
        "shop.front",
        "shop.front.views",
        "shop.core.models.task",
        "shop.api",
        "shop.api.swagger",
        "shop.api.openapi",
        "shop.repos",
        "shop.repos.all_repositories",
        "shop.core.models._all_models",
        "shop.kit",
        "shop.admin.tables",
        "shop.kit.money",
        "shop.kit.db.postgres",
    ]
    for f in features:
        modules += [
            f"shop.core.models._{f}",
            f"shop.admin.modules.{f}",
            f"shop.admin.modules.{f}.views",
            f"shop.admin.modules.{f}.views.edit",
            f"shop.admin.modules.{f}.views.list",
            f"shop.admin.modules.{f}.views.delete",
            f"shop.front.views.{f}",
        ]
    c = Concepts(modules, {"product", "order", "customer", "supplier", "task"})
    for f in features:
        concept = f[:-1]
        assert c.of[f"shop.core.models._{f}"] == concept
        assert c.of[f"shop.admin.modules.{f}.views.edit"] == concept
        assert c.of[f"shop.front.views.{f}"] == concept
    assert {"shop.core.models", "shop.admin.modules", "shop.front.views"} <= c.layers
    assert c.of["shop.core.models.task"] == "task"  # a table, though "task" is technical
    # API descriptions (and plug-in hook specs) are plumbing, never a capability
    assert not c.of["shop.api.swagger"] and not c.of["shop.api.openapi"]
    # the registry of every repository or model is no capability called "all"
    assert not c.of["shop.repos.all_repositories"] and not c.of["shop.core.models._all_models"]
    # a toolkit package is plumbing, whatever its modules are called
    assert not c.of["shop.kit.money"] and not c.of["shop.kit.db.postgres"]
    assert not c.of["shop.admin.tables"]  # the list views' tables (django-tables2)


def test_a_django_project_package_among_its_apps_is_no_feature() -> None:
    """``mysite/`` (settings, urls, wsgi and the apps' base views) beside the apps ``blog/``
    and ``polls/``: the composition root, not a capability called ``mysite``."""
    modules = ["mysite", "mysite.settings", "mysite.urls", "mysite.wsgi", "mysite.views"]
    for app in ("blog", "polls"):
        modules += [app, f"{app}.models", f"{app}.views", f"{app}.urls"]
    c = Concepts(modules, {"post", "poll"})
    assert c.of["blog.views"] == "blog" and c.of["polls.models"] == "poll"
    assert not c.of["mysite.views"] and not c.of["mysite.settings"]
    # an app that merely has settings of its own is still a feature
    c = Concepts([*modules, "polls.settings"], {"post", "poll"})
    assert c.of["polls.views"] == "poll"


def test_same_names_without_data_are_not_layers() -> None:
    """Three packages with the same module names but no table named like them are features
    (dom0/m0, dom1/m0): nothing says the names are business words."""
    graph, truth = synthetic_monolith(domains=3, modules_per_domain=3)
    _, _, layers = concept_domains(graph, graph.modules())
    assert layers == {"shop"}
    assert sorted(propose(graph).services) == ["dom0", "dom1", "dom2"]


def test_a_layered_app_without_tables_falls_back_to_packages() -> None:
    g = DependencyGraph(root="app")
    for m in [
        "app",
        "app.models",
        "app.models.order",
        "app.models.item",
        "app.models.user",
        "app.views",
        "app.views.order",
        "app.views.item",
        "app.views.user",
    ]:
        g.add_node(m, "module", line=1, end_line=10)
    _, _, layers = concept_domains(g.finalize(), sorted(g.modules()))
    assert layers == {"app"}
    g.tables["order"] = Table("order", model="app.models.order:Order")
    g.tables["item"] = Table("item", model="app.models.item:Item")
    _, _, layers = concept_domains(g, sorted(g.modules()))
    assert {"app.models", "app.views"} <= layers


def test_top_level_apps_side_by_side_are_the_features() -> None:
    c = Concepts(
        [
            "blog",
            "blog.models",
            "blog.views",
            "polls",
            "polls.models",
            "polls.views",
            "site",
            "manage",
        ],
        set(),
    )
    assert c.of["blog.views"] == c.of["blog.models"] == "blog"
    assert c.of["polls.views"] == "poll"
    assert c.key("polls.views") == "polls.polls"
    assert c.of["manage"] == c.of["site"] == ""


def _layered_with_extras() -> tuple[DependencyGraph, dict[str, str]]:
    """The layered app plus: a query helper in ``utils`` that imports two models, a
    ``task_type`` model that extends ``task`` and a ``projects`` resource module whose routes
    are mostly about invoices."""
    from migrator.graph import Route

    graph, truth = layered_monolith(
        entities=("orders", "products", "customers", "invoices", "shipments", "tasks")
    )
    g = graph
    g.add_node("app.utils", "module", line=1, end_line=5)
    g.add_node("app.utils.query", "module", line=1, end_line=40)
    g.add_node("app.utils.query:paginate", "function", line=1, end_line=30)
    for m in ("app.models.order:Order", "app.models.product:Product"):
        g.add_edge("app.utils.query:paginate", m, "reference")
        g.add_edge("app.utils.query", m.split(":")[0], "import")
    for e in ("orders", "products", "customers"):
        g.add_edge(f"app.services.{e}_service:handle", "app.utils.query:paginate", "reference")
        g.add_edge(f"app.services.{e}_service", "app.utils.query", "import")
    g.add_node("app.models.task_type", "module", line=1, end_line=20)
    g.add_node("app.models.task_type:TaskType", "class", line=1, end_line=10)
    g.add_edge("app.models.task_type:TaskType", "app.db:Base", "inherit")
    g.tables["task_type"] = Table(
        "task_type",
        model="app.models.task_type:TaskType",
        readers=["app.services.tasks_service:handle"],
    )
    g.add_edge("app.services.tasks_service:handle", "app.models.task_type:TaskType", "reference")
    g.add_node("app.api.customers.reports", "module", line=1, end_line=60)
    for i in range(3):
        h = f"app.api.customers.reports:Invoice{i}Resource"
        g.add_node(h, "class", line=1 + 10 * i, end_line=9 + 10 * i)
        g.add_edge(h, "app.services.invoices_service:handle", "reference")
        g.routes.append(
            Route(
                "GET",
                f"/api/v1/customers/<id>/invoices/{i}",
                h,
                "flask",
                "app/api/customers/reports.py",
                1,
            )
        )
    return g.finalize(), truth


def test_plumbing_that_imports_models_is_still_kernel() -> None:
    graph, _ = _layered_with_extras()
    plan = propose(graph)
    assert plan.service_of("app.utils.query") == "shared_kernel"


def test_a_blueprint_declaring_its_resources_urls_is_its_features_not_the_kernels() -> None:
    """``blueprints/edits/__init__.py`` lists the URLs of ``edits/resources.py`` (``edits``
    names no concept: "edit" is a role word): the feature's routing table goes with its
    handlers, not into the kernel as plumbing without business logic. The project's own
    root, which declares no routes of its package, stays the kernel's."""
    graph, _ = layered_monolith()
    for name in ("app.blueprints", "app.blueprints.edits", "app.blueprints.edits.resources"):
        graph.add_node(name, "module", file=name.replace(".", "/") + ".py", line=1, end_line=40)
    graph.g.nodes["app.blueprints.edits"]["file"] = "app/blueprints/edits/__init__.py"
    handler = "app.blueprints.edits.resources:EditsResource"
    graph.add_node(handler, "class", file="app/blueprints/edits/resources.py", line=1, end_line=30)
    graph.add_edge(handler, "app.services.orders_service:handle", "reference", count=2)
    graph.add_edge("app.blueprints.edits", "app.blueprints.edits.resources", "import")
    graph.add_edge("app.blueprints.edits", "app.config", "import")
    graph.routes.append(
        Route("GET", "/edits/", handler, "flask", "app/blueprints/edits/__init__.py", 12)
    )
    plan = propose(graph.finalize())
    assert plan.service_of(handler) == "orders"
    assert plan.service_of("app.blueprints.edits") == "orders"
    assert plan.service_of("app") == plan.service_of("app.config") == "shared_kernel"


@pytest.mark.parametrize("case", ["reads", "writes", "one prefix"])
def test_what_requests_to_many_services_go_through_is_kernel(case: str) -> None:
    """The current user's dependency, used by the routes of every service, is plumbing
    though it reads the customers' table; not when it writes one (it records the last
    login), and not when every route using it is under one prefix (the base of one
    feature's handlers, ``/admin/...``)."""
    from migrator.graph import Route

    g, _ = layered_monolith()
    g.add_node("app.deps", "module", file="app/deps.py", line=1, end_line=40)
    g.add_node("app.deps:current_user", "function", file="app/deps.py", line=1, end_line=30)
    g.add_edge("app.deps:current_user", "app.models.customer:Customer", "reference")
    customers = g.tables["customers"]
    (customers.writers if case == "writes" else customers.readers).append("app.deps:current_user")
    for r in list(g.routes):
        g.add_edge(r.handler, "app.deps:current_user", "reference")
        if case == "one prefix":
            g.routes.remove(r)
            g.routes.append(Route(r.method, "/admin" + r.path, r.handler, r.framework, r.file, 1))
    plan = propose(g.finalize())
    kernel = plan.service_of("app.deps:current_user") == "shared_kernel"
    assert kernel == (case == "reads")
    assert len(plan.services) == 5


def test_a_compound_concept_joins_the_concept_it_extends() -> None:
    graph, _ = _layered_with_extras()
    plan = propose(graph)
    assert plan.service_of("app.models.task_type") == plan.service_of("app.models.task") == "tasks"


def test_a_module_whose_routes_serve_another_concept_is_split_by_route() -> None:
    graph, _ = _layered_with_extras()
    plan = propose(graph)
    assert "app.api.customers.reports" in plan.meta["split_modules"]
    for i in range(3):
        assert plan.service_of(f"app.api.customers.reports:Invoice{i}Resource") == "invoices"
    # the version segment ("v1") never names anything
    assert all(not name[0].isdigit() and name != "v1" for name in plan.services)


def test_a_package_prefix_is_stripped_even_from_table_names() -> None:
    """``schema/recipe/recipe_ingredient.py`` is about ingredients, also when a table is
    called ``recipe_ingredient``; private helpers (``_model_base``) do not hide a layer."""
    modules = [
        "app",
        "app.schema",
        "app.schema.recipe",
        "app.models",
        "app.models.recipe",
        "app.models._model_base",
    ]
    for w in ("recipe", "ingredient", "category", "tag", "tool"):
        modules += [
            f"app.schema.recipe.recipe_{w}" if w != "recipe" else "app.schema.recipe.recipe",
            f"app.models.recipe.{w}",
        ]
    c = Concepts(modules, {"recipe", "recipe_ingredient", "ingredient", "category", "tag", "tool"})
    assert c.of["app.schema.recipe.recipe_ingredient"] == "ingredient"
    assert c.of["app.models.recipe.ingredient"] == "ingredient"
    assert c.of["app.schema.recipe.recipe"] == "recipe"
    assert {"app.schema.recipe", "app.models.recipe"} <= c.layers


def _with_plugins(parts: bool = False) -> DependencyGraph:
    """The layered app plus a ``plugins`` package: ``plugins/bases/`` holds one interface per
    concept (re-exported by ``bases/__init__``), vendor packages implement them, and a
    ``plugin`` table (the installed-plugins registry) makes "plugin" a data word. With
    ``parts``, the mailer has a package of screens for a concept (``acme_mailer/orders/``),
    fedex a module named after one (``acme_fedex/invoices.py``), and a trucking vendor a
    package named after a concept whose own class implements another
    (``acme_truck/products/carrier.py``). (Three concepts shared with ``models/`` would make a
    vendor package a layer, as ``admin/`` is.)"""
    graph, _ = layered_monolith(
        entities=(
            "orders",
            "products",
            "customers",
            "invoices",
            "shipments",
            "payments",
            "reviews",
            "returns",
        )
    )
    g = graph

    def mod(name: str, size: int = 40) -> str:
        g.add_node(name, "module", file=name.replace(".", "/") + ".py", line=1, end_line=size)
        return name

    for m in (
        "app.plugins",
        "app.plugins.bases",
        "app.plugins.acme_fedex",
        "app.plugins.acme_mailer",
        "app.plugins.acme_stats",
        "app.plugins.acme_stats.plugin",
    ):
        mod(m)
    for concept, cls in (("shipment", "Carrier"), ("invoice", "Sender"), ("order", "Hook")):
        base = mod(f"app.plugins.bases.{concept}")
        g.add_node(f"{base}:{cls}", "class", line=1, end_line=20)
        g.add_edge("app.plugins.bases", base, "import")
    # vendors: fedex carries shipments (big) and posts an order hook (small); the mailer
    # sends invoices; its client module implements nothing and follows its package
    for vendor, impls in (
        ("fedex", (("shipment", "Carrier", 200), ("order", "Hook", 10))),
        ("mailer", (("invoice", "Sender", 50),)),
    ):
        plugin = mod(f"app.plugins.acme_{vendor}.plugin", 300)
        client = mod(f"app.plugins.acme_{vendor}.client")
        g.add_edge(plugin, client, "import")
        for concept, cls, size in impls:
            sub = f"{plugin}:{vendor.capitalize()}{cls}"
            g.add_node(sub, "class", line=1, end_line=size)
            g.add_edge(sub, f"app.plugins.bases.{concept}:{cls}", "inherit")
            g.add_edge(plugin, "app.plugins.bases", "import")
    if parts:
        for m in ("acme_mailer.orders", "acme_mailer.orders.screens", "acme_fedex.invoices"):
            mod(f"app.plugins.{m}")
            g.add_edge(f"app.plugins.{m}", f"app.plugins.{m.split('.')[0]}.plugin", "import")
        g.add_edge(
            "app.plugins.acme_mailer.orders.screens", "app.services.orders_service", "import"
        )
        mod("app.plugins.acme_truck.plugin")
        mod("app.plugins.acme_truck.products")
        carrier = mod("app.plugins.acme_truck.products.carrier")
        g.add_node(f"{carrier}:Trucks", "class", line=1, end_line=40)
        g.add_edge(f"{carrier}:Trucks", "app.plugins.bases.shipment:Carrier", "inherit")
        g.add_edge("app.plugins.acme_truck.plugin", carrier, "import")
    for e in ("orders", "products", "customers", "invoices"):  # the bases are used everywhere
        g.add_edge(f"app.services.{e}_service", "app.plugins.bases", "import")
    g.add_node("app.models.plugin", "module", line=1, end_line=20)
    g.add_node("app.models.plugin:Plugin", "class", line=1, end_line=10)
    g.tables["plugin"] = Table("plugin", model="app.models.plugin:Plugin")
    return g.finalize()


def test_a_vendor_adapter_goes_with_the_concept_it_implements() -> None:
    """``plugins/acme_fedex`` is not a "fedex" capability: it serves shipments, whose interface
    its biggest class implements; its helper modules follow it; an adapter that implements
    nothing stays where its path puts it; and a ``bases/__init__`` re-exporting every interface does not
    drag the interfaces into the shared kernel."""
    graph = _with_plugins()
    keys, business, _ = concept_domains(graph, graph.modules())
    assert (
        keys["app.plugins.acme_fedex.plugin"]
        == keys["app.plugins.acme_fedex.client"]
        == keys["app.models.shipment"]
    )
    assert keys["app.plugins.acme_mailer.client"] == keys["app.models.invoice"]
    # implementing nothing, it stays where its own path puts it: the plugin registry's concept
    assert keys["app.plugins.acme_stats.plugin"] == keys["app.plugins"] == keys["app.models.plugin"]
    plan = propose(graph)
    assert plan.service_of("app.plugins.acme_fedex.plugin") == "shipments"
    assert plan.service_of("app.plugins.acme_mailer.plugin") == "invoices"
    for concept, svc in (("shipment", "shipments"), ("invoice", "invoices"), ("order", "orders")):
        assert plan.service_of(f"app.plugins.bases.{concept}") == svc


def test_a_vendor_module_of_several_ports_is_split_by_port() -> None:
    """One vendor module implements the shipments' carrier port and the orders' hook port:
    hexagonal services own their ports and the adapters behind them, so the module is split,
    each class goes with the service owning the port it implements, and a helper both
    classes call stays with the module's own concept (the carrier, its biggest part)."""
    graph = _with_plugins()
    plugin = "app.plugins.acme_fedex.plugin"
    graph.add_node(f"{plugin}:sign", "function", line=1, end_line=5)
    for cls in ("FedexCarrier", "FedexHook"):
        graph.add_edge(f"{plugin}:{cls}", f"{plugin}:sign", "reference")
    plan = propose(graph)
    assert plugin in plan.meta["split_modules"]
    assert plan.service_of(f"{plugin}:FedexCarrier") == "shipments"
    assert plan.service_of(f"{plugin}:FedexHook") == "orders"
    assert plan.service_of(f"{plugin}:sign") == "shipments"
    reasons = plan.meta["placements"]
    assert "adapter of the shipments interface" in reasons[f"{plugin}:FedexCarrier"]["reason"]
    assert "adapter of the orders interface" in reasons[f"{plugin}:FedexHook"]["reason"]
    assert "helper of a vendor module split by port" in reasons[f"{plugin}:sign"]["reason"]
    # a vendor of one port stays whole
    assert "app.plugins.acme_mailer.plugin" in plan.services["invoices"].modules


def test_a_package_of_an_adapter_named_after_a_concept_serves_that_concept() -> None:
    """``plugins/acme_mailer/orders/`` holds the mailer's screens for orders, as a feature's
    ``views.py`` would: it goes with orders, not with what the mailer implements (invoices).
    A module named after a concept (``acme_fedex/invoices.py``, named for what it does) and a
    package whose own class implements an interface (``acme_truck/products/carrier.py``) keep
    the concept of what they implement."""
    graph = _with_plugins(parts=True)
    keys, _, _ = concept_domains(graph, graph.modules())
    orders, invoices = keys["app.models.order"], keys["app.models.invoice"]
    shipments = keys["app.models.shipment"]
    assert keys["app.plugins.acme_mailer.orders"] == orders
    assert keys["app.plugins.acme_mailer.orders.screens"] == orders
    assert keys["app.plugins.acme_mailer.plugin"] == invoices
    assert keys["app.plugins.acme_fedex.invoices"] == shipments
    for m in ("products", "products.carrier", "plugin"):
        assert keys[f"app.plugins.acme_truck.{m}"] == shipments
    plan = propose(graph)
    assert plan.service_of("app.plugins.acme_mailer.orders.screens") == "orders"
    assert plan.service_of("app.plugins.acme_mailer.plugin") == "invoices"


def test_a_concept_spelled_out_is_the_one_its_initials_name() -> None:
    """``services/artificial_intelligence_service.py`` beside ``models/ai.py``: one concept,
    ``ai``; a compound whose initials name no concept (``shipping_label``) keeps its words."""
    graph, _ = layered_monolith(entities=("orders", "products", "customers", "ai"))
    g = graph
    for name in (
        "app.services.artificial_intelligence_service",
        "app.services.shipping_label_service",
    ):
        g.add_node(name, "module", file=name.replace(".", "/") + ".py", line=1, end_line=40)
    graph = g.finalize()
    keys, business, _ = concept_domains(graph, graph.modules())
    assert keys["app.services.artificial_intelligence_service"] == keys["app.models.ai"]
    assert keys["app.models.ai"] in business
    assert keys["app.services.shipping_label_service"] == "app.shipping_label"


def manage_module(factory_calls: str = "orders") -> DependencyGraph:
    """The layered monolith with ``app/manage.py`` (see the test below); its ``create_app``
    calls ``handle`` of the ``factory_calls`` service (not finalized)."""
    g, _ = layered_monolith()
    g.add_node("app.manage", "module", line=1, end_line=120)
    for name, size in (
        ("main", 10),
        ("create_app", 20),
        ("_register_routes", 20),
        ("nightly_sync", 40),
        ("rebuild_index", 40),
    ):
        g.add_node(f"app.manage:{name}", "function", line=1, end_line=size)
    g.add_edge(
        "app.manage:nightly_sync", "app.services.orders_service:handle", "reference", count=4
    )
    g.add_edge(
        "app.manage:rebuild_index", "app.services.products_service:handle", "reference", count=4
    )
    g.add_edge("app.manage:rebuild_index", "app.services.customers_service:handle", "reference")
    for e in ("orders", "products", "customers", "invoices", "shipments"):
        g.add_edge("app.manage:_register_routes", f"app.api.{e}.routes:index", "reference")
        g.add_edge("app.manage", f"app.api.{e}.routes", "import")
    # the factory itself touches one domain, but it calls the module's wiring
    g.add_edge("app.manage:create_app", f"app.services.{factory_calls}_service:handle", "reference")
    g.add_edge("app.manage:create_app", "app.manage:_register_routes", "reference")
    g.add_edge("app.manage:main", "app.manage:nightly_sync", "reference")
    g.add_edge("app.manage:main", "app.manage:rebuild_index", "reference")
    return g


def test_a_maintenance_command_goes_to_the_domain_it_works_on() -> None:
    """``app/manage.py`` wires the app (``main`` registers the commands, ``create_app`` mounts
    every API through ``_register_routes``) and so is the composition root; but its ``nightly_sync`` command works on
    orders only and ``rebuild_index`` mostly on products (names that do not say so): each
    goes with its domain, while the wiring stays in the shared kernel."""
    plan = propose(manage_module().finalize())
    assert "app.manage" in plan.meta["split_modules"]
    assert plan.service_of("app.manage:nightly_sync") == "orders"
    assert plan.service_of("app.manage:rebuild_index") == "products"
    for wiring in (
        "app.manage",
        "app.manage:main",
        "app.manage:create_app",
        "app.manage:_register_routes",
    ):
        assert plan.service_of(wiring) == "shared_kernel", wiring


def test_calls_of_the_kernels_part_of_a_split_module_are_in_the_interface() -> None:
    """The kernel's part of a split module runs in each service's copy of it, so what it
    calls crosses services: ``create_app`` calls an invoices function, ``main`` a command
    that went to orders. The kernel's ``db.session`` (a module no service has a part of) calls
    a shipments one: the kernel library is not rewritten per service."""
    g = manage_module("invoices")
    g.add_edge("app.db:session", "app.services.shipments_service:handle", "reference")
    plan = propose(g.finalize())
    assert plan.service_of("app.manage:create_app") == "shared_kernel"
    assert plan.service_of("app.manage:nightly_sync") == "orders"
    assert "app.services.invoices_service:handle" in plan.services["invoices"].interface
    assert "app.manage:nightly_sync" in plan.services["orders"].interface  # main's call
    # the kernel library's own code is not rewritten per service: no client for its calls
    assert "app.services.shipments_service:handle" not in plan.services["shipments"].interface
    # the route handlers the wiring names are served by the gateway, not called
    for svc in plan.services.values():
        assert not [n for n in svc.interface if n.endswith("routes:index")], svc.interface


def test_a_concept_across_many_layers_is_no_role_word_but_a_file_in_every_feature_is() -> None:
    """``asset`` has no table of its own (assets are rows of ``entity``) and appears under
    seven layer packages, each with many children of its own: a concept across layers.
    ``flows`` appears under seven feature packages made of the same few files: a role word."""
    layers = ("models", "services", "routes", "schemas", "importers", "exporters", "crud")
    modules = ["app", *(f"app.{layer}" for layer in layers)]
    entities = [f"thing{chr(97 + i)}" for i in range(28)]
    for i, layer in enumerate(layers):  # shots, tasks and assets, and entities of its own
        modules += [
            f"app.{layer}.{e}" for e in ("asset", "shot", "task", *entities[4 * i : 4 * i + 4])
        ]
    c = Concepts(modules, {"shot", "task", *entities})
    assert "asset" not in c.recurring
    for layer in layers:
        assert c.of[f"app.{layer}.asset"] == "asset"

    features = ("cart", "order", "invoice", "refund", "coupon", "review", "wishlist")
    modules = ["shop", *(f"shop.{f}" for f in features)]
    for f in features:
        modules += [f"shop.{f}.{x}" for x in ("models", "views", "flows", "service")]
    c = Concepts(modules, set(features))
    assert "flow" in c.recurring
    assert c.of["shop.cart.flows"] == "cart"


def test_a_domain_package_without_business_logic_is_plumbing() -> None:
    """A package named like a concept but with no route, task or table anywhere (a
    ``security/`` of password hashing) joins the shared kernel once two domains use it, like
    any other plumbing; a package with business logic needs a quarter of all domains."""
    graph, _ = synthetic_monolith(domains=12, seed=3)
    g = graph
    for pkg, used_by in (("shop.security", ("dom0", "dom1")), ("shop.pricing", ("dom2", "dom3"))):
        g.add_node(pkg, "module", file=f"{pkg.replace('.', '/')}/__init__.py", line=1, end_line=1)
        mod = f"{pkg}.core"
        g.add_node(mod, "module", file=f"{pkg.replace('.', '/')}/core.py", line=1, end_line=60)
        g.add_node(f"{mod}:compute", "function", line=1, end_line=40)
        for d in used_by:
            g.add_edge(f"shop.{d}.m0:f0", f"{mod}:compute", "reference")
            g.add_edge(f"shop.{d}.m0", mod, "import")
    g.routes.append(Route("GET", "/prices/", "shop.pricing.core:compute", "flask", "x.py", 1))
    plan = propose(g.finalize())
    assert plan.service_of("shop.security.core") == "shared_kernel"
    assert plan.service_of("shop.pricing.core") != "shared_kernel"


def test_a_family_of_vendor_implementations_is_one_concept() -> None:
    """``migrations/tandoor.py``, ``migrations/paprika.py`` ... (importers from other apps)
    each implementing the ``BaseMigrator`` of ``migrations/_base.py`` are one concept named
    by their package (here a technical word, which names no service), not a concept per
    vendor; the layer packages' own families (``models/*`` on one ``Base``) stay per
    concept."""
    graph, _ = layered_monolith(entities=("orders", "products", "customers", "invoices"))
    g = graph

    def mod(name: str, size: int = 40) -> str:
        g.add_node(name, "module", file=name.replace(".", "/") + ".py", line=1, end_line=size)
        return name

    mod("app.services.migrations")
    base = mod("app.services.migrations._base")
    g.add_node(f"{base}:BaseMigrator", "class", line=1, end_line=20)
    for vendor in ("tandoor", "paprika", "chowdown", "nextcloud"):
        m = mod(f"app.services.migrations.{vendor}", 120)
        g.add_node(f"{m}:{vendor.capitalize()}Migrator", "class", line=1, end_line=100)
        g.add_edge(f"{m}:{vendor.capitalize()}Migrator", f"{base}:BaseMigrator", "inherit")
        g.add_edge(f"{m}:{vendor.capitalize()}Migrator", "app.models.order:Order", "reference")
    for e, cls in (("order", "Order"), ("product", "Product"), ("customer", "Customer")):
        g.add_edge(f"app.models.{e}:{cls}", "app.db:Base", "inherit")
    graph = g.finalize()
    keys, business, _ = concept_domains(graph, graph.modules())
    vendors = {keys[f"app.services.migrations.{v}"] for v in ("tandoor", "paprika", "chowdown")}
    assert vendors == {keys["app.services.migrations._base"]} == {"app.migrations"}
    assert "app.migrations" in business
    assert len({keys["app.models.order"], keys["app.models.product"]}) == 2
    plan = propose(graph)
    homes = {plan.service_of(f"app.services.migrations.{v}") for v in ("tandoor", "paprika")}
    assert homes == {plan.service_of("app.services.migrations._base")}
    # the family's technical word names no service (no table is named so): the business does
    assert "migrations" not in plan.services and homes == {"orders"}


def _app_factory(serves: bool, path: str = "/rooms") -> DependencyGraph:
    graph, _ = synthetic_monolith(domains=6, seed=5)
    g = graph
    g.add_node("shop.app", "module", file="shop/app.py", line=1, end_line=120)
    for name, kind in (
        ("db", "variable"),
        ("create_app", "function"),
        ("configure_blueprints", "function"),
        ("load_plugins", "function"),
    ):
        g.add_node(f"shop.app:{name}", kind, file="shop/app.py", line=1, end_line=20)
    for d in range(6):
        g.add_edge(f"shop.dom{d}.m1:f1", "shop.app:db", "reference")
    g.add_edge("shop.app:create_app", "shop.app:configure_blueprints", "reference")
    g.add_edge("shop.app:create_app", "shop.app:load_plugins", "reference")
    g.add_edge("shop.app:create_app", "shop.dom3.m0:f0", "reference")  # a domain's init
    for d in (0, 1, 2):
        g.add_edge("shop.app:configure_blueprints", f"shop.dom{d}.m0", "reference")
    g.tables["plugin_registry"] = Table("plugin_registry", writers=["shop.app:load_plugins"])
    g.add_node("shop.cli", "module", file="shop/cli/__init__.py", line=1, end_line=1)
    g.add_node("shop.cli.main", "module", file="shop/cli/main.py", line=1, end_line=30)
    g.add_node("shop.cli.main:cli", "function", file="shop/cli/main.py", line=1, end_line=9)
    g.add_edge("shop.cli.main:cli", "shop.app:create_app", "reference")
    g.add_node("shop.cli.users", "module", file="shop/cli/users.py", line=1, end_line=30)
    g.add_node("shop.cli.users:new_user", "function", file="shop/cli/users.py", line=1, end_line=9)
    g.add_edge("shop.cli.users:new_user", "shop.cli.main:cli", "reference")
    g.tables["dom0_items"].writers.append("shop.cli.users:new_user")
    for name, handler in (("cli", "shop.cli.main:cli"), ("new-user", "shop.cli.users:new_user")):
        g.entry_points.append(EntryPoint("cli", name, handler, "shop/cli.py", 1))
    if serves:
        g.add_node("shop.app:index", "function", file="shop/app.py", line=30, end_line=40)
        g.routes.append(Route("GET", path, "shop.app:index", "flask", "shop/app.py", 30))
    return g.finalize()


def test_an_app_factory_beside_shared_objects_is_the_composition_root() -> None:
    """``app.py`` holds ``db`` (every domain imports it), a ``load_plugins`` that writes the
    plug-in registry, and ``create_app`` wiring the domains through its ``configure_*``
    helpers: the factory and its helpers are the shell, not a service; a command module
    attaching a business command to the root's command group does not stop that. A module
    that serves routes itself (an event server) is an app of its own, not a factory."""
    plan = propose(_app_factory(serves=False))
    for unit in ("shop.app:create_app", "shop.app:configure_blueprints", "shop.app:db"):
        assert plan.service_of(unit) == "shared_kernel", unit
    assert plan.service_of("shop.app:load_plugins") != "shared_kernel"  # business stays
    plan = propose(_app_factory(serves=True))
    assert plan.service_of("shop.app:create_app") != "shared_kernel"


def test_an_app_factory_that_an_event_server_also_calls_is_still_the_root() -> None:
    """An event server (``events.py``: its own routes, ``app = create_app()``) builds a
    second app with the same factory: that makes ``create_app`` no less the composition
    root. The event server itself serves routes, so it stays business."""
    graph = _app_factory(serves=False)
    g = DependencyGraph(graph.root)
    g.__dict__.update(graph.__dict__)
    g.add_node("shop.events", "module", file="shop/events.py", line=1, end_line=60)
    g.add_node("shop.events:app", "variable", file="shop/events.py", line=3, end_line=3)
    g.add_node("shop.events:on_connect", "function", file="shop/events.py", line=5, end_line=40)
    g.add_edge("shop.events:app", "shop.app:create_app", "reference")
    g.add_edge("shop.events:on_connect", "shop.dom1.m1:f1", "reference", count=3)
    g.routes.append(Route("GET", "/socket", "shop.events:on_connect", "flask", "shop/events.py", 5))
    plan = propose(g.finalize(), split=["shop.events"])  # an app and its handlers: mixed
    for unit in ("shop.app:create_app", "shop.app:configure_blueprints"):
        assert plan.service_of(unit) == "shared_kernel", unit
    assert plan.service_of("shop.events:on_connect") != "shared_kernel"


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/healthcheck", "/api/health-check"])
def test_a_health_check_under_an_api_prefix_is_no_business_of_the_factory(path: str) -> None:
    """The router module that answers the load balancer's health check (``/api/v1/healthcheck``
    beside ``include_router`` of every domain) is still the composition root: an
    infrastructure endpoint is no business logic, at the root or under an API prefix."""
    plan = propose(_app_factory(serves=True, path=path))
    assert plan.service_of("shop.app:create_app") == "shared_kernel"


def test_an_app_factory_named_like_a_concept_by_a_generic_word_stays_the_root() -> None:
    """A ``chat_app`` concept (its model, views, routes and table) does not claim
    ``create_app`` for sharing the generic word ``app``: the factory is still the shell. A
    symbol of the same module named by the concept's own word (``chat_widget``) still leans
    to it."""
    graph = _app_factory(serves=False)
    g = DependencyGraph(graph.root)
    g.__dict__.update(graph.__dict__)
    model, views = "shop.models.chat_app", "shop.views.chat_app"
    g.add_node(model, "module", file="shop/models/chat_app.py", line=1, end_line=60)
    g.add_node(f"{model}:ChatApp", "class", file="shop/models/chat_app.py", line=1, end_line=50)
    g.add_node(views, "module", file="shop/views/chat_app.py", line=1, end_line=60)
    for name in ("rooms", "post"):
        g.add_node(f"{views}:{name}", "function", file="shop/views/chat_app.py")
        g.routes.append(Route("GET", f"/chat/{name}", f"{views}:{name}", "flask", "x.py", 1))
        g.add_edge(f"{views}:{name}", f"{model}:ChatApp", "reference")
        g.add_edge(f"{views}:{name}", "shop.app:db", "reference")
    g.tables["chat_apps"] = Table("chat_apps", model=f"{model}:ChatApp", writers=[f"{views}:post"])
    g.add_node("shop.app:chat_widget", "function", file="shop/app.py", line=50, end_line=60)
    g.add_edge("shop.app:chat_widget", f"{views}:rooms", "reference")
    g.add_edge(f"{views}:rooms", "shop.app:chat_widget", "reference")
    g.add_edge("shop.app:configure_blueprints", views, "reference")
    plan = propose(g.finalize())
    chat = plan.service_of(views)
    assert chat == "chat-app"
    for unit in ("shop.app:create_app", "shop.app:configure_blueprints", "shop.app:db"):
        assert plan.service_of(unit) == "shared_kernel", unit
    assert plan.service_of("shop.app:chat_widget") == chat


def test_compounds_that_share_a_head_across_concepts_are_one_capability() -> None:
    """``incident_cost`` and ``case_cost`` are costs of two concepts, and they use each other:
    one cost service, named by the head, not a part of incidents and a part of cases.
    Statuses of tasks and of files that never meet stay with their tasks and files."""
    graph, _ = layered_monolith(
        entities=("incidents", "cases", "incident_costs", "case_costs", "contacts", "tickets")
    )
    g = graph
    for part, whole in (("incident_costs", "incidents"), ("case_costs", "cases")):
        g.add_edge(
            f"app.services.{part}_service:handle",
            f"app.repos.repository_{whole}:save",
            "reference",
            count=3,
        )
        g.add_edge(f"app.services.{part}_service", f"app.repos.repository_{whole}", "import")
    g.add_edge(
        "app.services.case_costs_service:handle",
        "app.services.incident_costs_service:handle",
        "reference",
    )
    plan = propose(g.finalize())
    cost = plan.service_of("app.models.incident_cost")
    assert cost == plan.service_of("app.models.case_cost") == "cost"
    assert plan.service_of("app.models.incident") not in (cost, "shared_kernel")
    assert plan.service_of("app.models.case") not in (cost, "shared_kernel")
    assert "one capability: case_costs, incident_costs share the head 'cost'" in " ".join(
        plan.services["cost"].why
    )


def test_a_head_family_needs_two_concepts_and_ties_between_its_members() -> None:
    keys = ["a.task", "a.file", "a.task_status", "a.file_status", "a.incident", "a.case"]
    keys += ["a.incident_cost", "a.case_cost_type", "a.cost_model", "a.invite_token"]
    keys += ["a.share_token"]
    tied = {
        frozenset(p)
        for p in (("a.incident_cost", "a.case_cost_type"), ("a.cost_model", "a.incident_cost"))
    }
    families = head_families(keys, lambda x, y: frozenset((x, y)) in tied)
    # role words describe the head: ``case_cost_type`` is a cost, ``cost_model`` too
    assert families == {
        "a.incident_cost": "cost",
        "a.case_cost_type": "cost",
        "a.cost_model": "cost",
    }
    # statuses of two concepts that never meet, tokens compounded on no concept: no family
    assert head_families(keys, lambda x, y: True).get("a.invite_token") is None
    assert head_families(keys, lambda x, y: True)["a.task_status"] == "status"


def test_a_module_that_services_carve_pieces_from_is_shared() -> None:
    """``app.mixins`` holds two base classes every service's models use (kernel) and a mixin
    for each of orders and products. The file itself (its imports, its own node) goes where
    most of its code went; when no service holds most of it and the kernel holds some, it is
    shared, not the largest carver's."""
    entities = ("orders", "products", "customers", "invoices", "shipments", "reviews", "refunds")
    g, _ = layered_monolith(entities=entities)
    g.add_node("app.mixins", "module", file="app/mixins.py", line=1, end_line=110)
    pieces = {"TimeStamp": 15, "Pagination": 15, "OrderMixin": 40, "ProductMixin": 30}
    line = 1
    for name, size in pieces.items():
        g.add_node(
            f"app.mixins:{name}", "class", file="app/mixins.py", line=line, end_line=line + size - 1
        )
        line += size
    for e in entities:
        model = f"app.models.{e[:-1]}:{e[:-1].capitalize()}"
        for base in ("TimeStamp", "Pagination"):
            g.add_edge(model, f"app.mixins:{base}", "inherit")
        g.add_edge(f"app.models.{e[:-1]}", "app.mixins", "import")
    g.add_edge("app.models.order:Order", "app.mixins:OrderMixin", "inherit")
    g.add_edge("app.models.product:Product", "app.mixins:ProductMixin", "inherit")
    plan = propose(g.finalize())
    assert plan.service_of("app.mixins:TimeStamp") == "shared_kernel"
    assert plan.service_of("app.mixins:OrderMixin") == plan.service_of("app.models.order")
    assert plan.service_of("app.mixins") == "shared_kernel"


def test_association_tables_built_in_assignments_go_to_the_services_they_link() -> None:
    """``app/associations.py`` holds every many-to-many table (``x = Table(...)``), one per
    pair of models: each is data of the pair it links, not one shared module."""
    entities = ("orders", "products", "customers", "invoices", "shipments", "reviews", "refunds")
    g, _ = layered_monolith(entities=entities)
    g.add_node("app.associations", "module", file="app/associations.py", line=1, end_line=40)
    links = {"orders_products": ("order", "product"), "customers_invoices": ("customer", "invoice")}
    for i, (name, pair) in enumerate(links.items()):
        var = f"app.associations:{name}"
        g.add_node(
            var, "variable", file="app/associations.py", line=1 + 10 * i, end_line=9 + 10 * i
        )
        g.add_edge(var, "app.db:Base", "reference")
        for word in pair:
            model = f"app.models.{word}:{word.capitalize()}"
            g.add_edge(var, model, "orm")
            g.add_edge(model, var, "reference")
        g.tables[name] = Table(name, file="app/associations.py", line=1 + 10 * i)
    plan = propose(g.finalize())
    services = {
        name: {plan.service_of(f"app.models.{w}") for w in pair} for name, pair in links.items()
    }
    for name in links:
        assert plan.service_of(f"app.associations:{name}") in services[name], name


def test_a_package_of_other_concepts_inside_a_layer_groups_them() -> None:
    """``routes/groups/`` serves labels, reports and households under the group's URLs; each
    is a concept of its own elsewhere (``models/label.py``, ``services/label_service.py``), so
    each controller is that concept; the group's own controller stays the group's."""
    entities = ["label", "report", "household", "group", "recipe", "food"]
    modules = ["app", "app.models", "app.schema", "app.services", "app.routes"]
    for e in entities:
        modules += [f"app.models.{e}", f"app.schema.{e}", f"app.services.{e}_service"]
        modules.append(f"app.routes.{e}s")
    kinds = ("labels", "reports", "households", "group_self_service")
    modules += [f"app.routes.groups.controller_{k}" for k in kinds]
    c = Concepts(modules, {"group", "recipe", "food"})
    assert c.of["app.routes.groups.controller_labels"] == "label"
    assert c.of["app.routes.groups.controller_households"] == "household"
    assert c.of["app.routes.groups.controller_group_self_service"] == "group"
    assert c.of["app.routes.groups"] == "group"


def test_a_helper_much_of_the_app_goes_through_is_kernel_though_it_calls_a_service() -> None:
    """``app.helpers:render`` wraps every route's rendering and asks the customers service for
    the signed-in name: plumbing every service goes through, not the customers'; so is the
    ``LAYOUT`` constant that only it reads. The module's other helper, used by orders alone,
    stays with orders."""
    entities = ("orders", "products", "customers", "invoices", "shipments", "reviews", "refunds")
    g, _ = layered_monolith(entities=entities)
    g.add_node("app.helpers", "module", file="app/helpers.py", line=1, end_line=70)
    g.add_node("app.helpers:render", "function", file="app/helpers.py", line=1, end_line=30)
    g.add_node("app.helpers:order_total", "function", file="app/helpers.py", line=31, end_line=60)
    g.add_node("app.helpers:LAYOUT", "variable", file="app/helpers.py", line=61, end_line=70)
    g.add_edge("app.helpers:render", "app.helpers:LAYOUT", "reference", count=2)
    g.add_edge("app.helpers:render", "app.services.customers_service:handle", "reference", count=3)
    g.add_edge("app.helpers:order_total", "app.models.order:Order", "reference")
    g.add_edge("app.services.orders_service:handle", "app.helpers:order_total", "reference")
    for e in entities:
        g.add_edge(f"app.api.{e}.routes:index", "app.helpers:render", "reference")
        g.add_edge(f"app.api.{e}.routes", "app.helpers", "import")
    plan = propose(g.finalize())
    assert plan.service_of("app.helpers:render") == "shared_kernel"
    assert plan.service_of("app.helpers:LAYOUT") == "shared_kernel"
    assert plan.service_of("app.helpers:order_total") == plan.service_of("app.models.order")


def test_a_package_that_re_exports_several_services_is_kernel() -> None:
    """``app/api/customers/__init__.py`` has no code; besides the customers' own routes and
    profile page, its modules are the customer-facing pages of orders, invoices and reviews,
    each going with its own concept, and the refunds routes import the package: no service
    holds most of it, so it is shared, not the service of whichever child it was clustered
    with."""
    entities = ("orders", "products", "customers", "invoices", "shipments", "reviews", "refunds")
    g, _ = layered_monolith(entities=entities)
    for e, service in (("orders", "orders"), ("invoices", "invoices"), ("reviews", "reviews")):
        _page(g, f"app.api.customers.{e}_view", service)
    _page(g, "app.api.customers.profile", "customers")
    g.add_edge("app.api.refunds.routes", "app.api.customers", "import")
    plan = propose(g.finalize())
    views = [f"app.api.customers.{e}_view" for e in ("orders", "invoices", "reviews")]
    assert len({plan.service_of(v) for v in views} - {"shared_kernel"}) == 3
    assert plan.service_of("app.api.customers") == "shared_kernel"


def _page(g: DependencyGraph, module: str, service: str) -> None:
    path = module.replace(".", "/") + ".py"
    g.add_node(module, "module", file=path, line=1, end_line=40)
    g.add_node(f"{module}:page", "function", file=path, line=1, end_line=40)
    g.add_edge(f"{module}:page", f"app.services.{service}_service:handle", "reference", count=3)
    g.add_edge(module, f"app.services.{service}_service", "import")
    g.add_edge(module.rsplit(".", 1)[0], module, "import")


def _permissions(used_by_routes: bool) -> DependencyGraph:
    entities = ("orders", "products", "customers", "invoices", "shipments", "reviews", "refunds")
    g, _ = layered_monolith(entities=entities)
    g.add_node("app.auth", "module", file="app/auth/__init__.py", line=1, end_line=1)
    g.add_node("app.auth.tokens", "module", file="app/auth/tokens.py", line=1, end_line=40)
    g.add_node("app.auth.tokens:issue", "function", file="app/auth/tokens.py", line=1, end_line=40)
    path = "app/auth/permissions.py"
    g.add_node("app.auth.permissions", "module", file=path, line=1, end_line=200)
    g.add_node("app.auth.permissions:BasePermission", "class", file=path, line=1, end_line=20)
    for i, e in enumerate(("order", "product", "invoice")):
        for j, action in enumerate(("View", "Edit")):
            cls = f"app.auth.permissions:{e.capitalize()}{action}Permission"
            line = 21 + 40 * i + 20 * j
            g.add_node(cls, "class", file=path, line=line, end_line=line + 19)
            g.add_edge(cls, "app.auth.permissions:BasePermission", "inherit")
            user = f"app.api.{e}s.routes:index" if used_by_routes else "app.auth.tokens:issue"
            g.add_edge(user, cls, "reference", count=2)
    for e in entities:
        g.add_edge(f"app.api.{e}.routes:index", "app.auth.tokens:issue", "reference")
    return g.finalize()


def test_a_concept_module_of_pieces_named_after_the_concepts_using_them_is_split() -> None:
    """``app/auth/permissions.py`` holds ``OrderViewPermission``, ``InvoiceEditPermission``
    ... each used by the routes of the concept it is named after: each goes with that concept.
    Had auth's own code been their only user, they would have stayed auth's."""
    plan = propose(_permissions(used_by_routes=True))
    for e in ("order", "product", "invoice"):
        for action in ("View", "Edit"):
            cls = f"app.auth.permissions:{e.capitalize()}{action}Permission"
            assert plan.service_of(cls) == plan.service_of(f"app.models.{e}"), cls
    assert plan.service_of("app.auth.permissions:BasePermission") == "shared_kernel"
    plan = propose(_permissions(used_by_routes=False))
    assert {
        plan.service_of(f"app.auth.permissions:{e.capitalize()}ViewPermission")
        for e in ("order", "product", "invoice")
    } == {plan.service_of("app.auth.tokens")}


def test_a_name_spells_out_the_most_specific_concept() -> None:
    from migrator.proposal.units import named_domains

    concepts = {d: frozenset(d.split("_")) for d in ("case", "case_cost", "incident", "task")}
    assert named_domains("CaseViewPermission", concepts) == {"case"}
    assert named_domains("CaseCostView", concepts) == {"case_cost"}
    assert named_domains("IncidentTaskEditPermission", concepts) == {"incident", "task"}


def _security_package(root: str, provider_writes: bool = False) -> DependencyGraph:
    entities = ("orders", "products", "customers", "invoices", "shipments", "reviews", "refunds")
    g, _ = layered_monolith(entities=entities)
    sec = f"{root}.security"
    for m in (
        root,
        sec,
        f"{sec}.tokens",
        f"{sec}.hasher",
        f"{sec}.providers",
        f"{sec}.providers.password",
    ):
        g.add_node(m, "module", file=m.replace(".", "/") + ".py", line=1, end_line=40)
    for f in (
        f"{sec}.tokens:issue",
        f"{sec}.hasher:hash_password",
        f"{sec}.providers.password:login",
    ):
        g.add_node(
            f, "function", file=f.split(":")[0].replace(".", "/") + ".py", line=1, end_line=40
        )
    g.add_edge(f"{sec}.tokens:issue", f"{sec}.hasher:hash_password", "reference")
    g.add_edge(f"{sec}.tokens:issue", f"{sec}.providers.password:login", "reference")
    login = f"{sec}.providers.password:login"
    g.add_edge(login, "app.repos.repository_customers:save", "reference", count=2)
    g.add_edge(login, "app.models.customer:Customer", "reference", count=2)
    for e in entities:
        g.add_edge(f"app.api.{e}.routes:index", f"{sec}.tokens:issue", "reference")
    if provider_writes:  # it counts failed logins on the customer's row
        g.tables["customers"].writers.append(login)
    return g.finalize()


def test_a_package_of_plumbing_under_core_is_kernel_though_it_logs_users_in() -> None:
    """``app/core/security/``: tokens every route checks, a password hasher, and a login
    provider that reads the customers' rows. Its own code is shared; the provider, an adapter
    serving the customers it logs in, stays with them. The same package outside ``core/`` is
    a concept like any other, and goes where its code leads."""
    plan = propose(_security_package("app.core"))
    sec = "app.core.security"
    assert plan.service_of(f"{sec}.tokens") == "shared_kernel"
    assert plan.service_of(f"{sec}.hasher") == "shared_kernel"
    customers = plan.service_of("app.models.customer")
    assert plan.service_of(f"{sec}.providers.password") == customers != "shared_kernel"
    # a provider that writes the customers' rows (failed logins) is business logic of its
    # own, but not of the package's own code, which stays shared
    plan = propose(_security_package("app.core", provider_writes=True))
    assert plan.service_of(f"{sec}.tokens") == "shared_kernel"
    assert plan.service_of(f"{sec}.hasher") == "shared_kernel"
    assert plan.service_of(f"{sec}.providers.password") != "shared_kernel"
    plan = propose(_security_package("app.auth"))
    # its tokens, which every route checks, are still shared (what requests go through)
    assert plan.service_of("app.auth.security.hasher") != "shared_kernel"


def test_an_api_layer_of_feature_packages_is_no_service() -> None:
    """``shop/graphql/<feature>/mutations.py``, ``types.py``, ``resolvers.py`` beside the
    features themselves: GraphQL is a layer, so each feature's API goes with the feature,
    and no service is called ``graphql``."""
    g, _ = synthetic_monolith(domains=6, modules_per_domain=4)
    names = [f"dom{i}" for i in range(6)]
    g.add_node("shop.graphql", "module", file="shop/graphql/__init__.py", line=1, end_line=5)
    for d in names:
        pkg = f"shop.graphql.{d}"
        g.add_node(pkg, "module", file=f"shop/graphql/{d}/__init__.py", line=1, end_line=1)
        for part in ("mutations", "types", "resolvers"):
            mod, path = f"{pkg}.{part}", f"shop/graphql/{d}/{part}.py"
            g.add_node(mod, "module", file=path, line=1, end_line=80)
            g.add_node(f"{mod}:run", "function", file=path, line=1, end_line=80)
            g.add_edge(f"{mod}:run", f"shop.{d}.m0:f0", "reference", count=3)
            g.add_edge(f"{mod}:run", f"shop.models:{d.capitalize()}Model", "reference", count=2)
            g.add_edge(mod, f"shop.{d}.m0", "import")
            g.add_edge("shop.graphql", mod, "import")
    plan = propose(g.finalize())
    assert sorted(plan.services) == names
    for d in names:
        for part in ("mutations", "types", "resolvers"):
            assert plan.service_of(f"shop.graphql.{d}.{part}") == plan.service_of(f"shop.{d}.m0")


def test_a_django_command_names_a_concept_only_when_other_code_does() -> None:
    """``management/commands/sendalerts.py`` is named by what it does: no concept (it goes
    where its code leads). A command named after a concept other code has keeps it."""
    modules = ["hc", "hc.api", "hc.api.models", "hc.accounts", "hc.accounts.models"]
    modules += ["hc.accounts.views", "hc.logs", "hc.logs.models", "hc.logs.views"]
    commands = "hc.api.management.commands"
    modules += ["hc.api.management", commands, f"{commands}.sendalerts", f"{commands}.accounts"]
    c = Concepts(modules, {"check", "account", "log"})
    assert c.of[f"{commands}.sendalerts"] == ""
    assert c.of[f"{commands}.accounts"] == c.of["hc.accounts.views"] == "account"


def test_a_generic_repository_every_repository_extends_is_no_concept() -> None:
    """``repos/repository_generic.py`` beside ``repos/repository_orders.py``: stripped of its
    layer's affix, ``generic`` names no business concept (nor does ``abstract``), so the base
    every repository extends is shared plumbing, not one entity's code."""
    g, _ = layered_monolith()
    m = "app.repos.repository_generic"
    g.add_node(m, "module", file="app/repos/repository_generic.py", line=1, end_line=400)
    g.add_node(f"{m}:RepositoryGeneric", "class", file=f"{m}.py", line=1, end_line=390)
    g.add_edge(f"{m}:RepositoryGeneric", "app.db:session", "reference")
    g.add_edge(m, "app.db", "import")
    for e in ("orders", "products", "customers", "invoices", "shipments"):
        g.add_edge(f"app.repos.repository_{e}:save", f"{m}:RepositoryGeneric", "inherit")
        g.add_edge(f"app.repos.repository_{e}", m, "import")
    plan = propose(g.finalize())
    assert plan.service_of(m) == "shared_kernel"
    assert "generic" not in plan.services
