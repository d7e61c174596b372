"""Synthetic monoliths with a known (planted) decomposition, for tests and benchmarks.

Each domain is a package of modules that reference each other densely; a shared ``models``
module holds one model class per domain (so it must be split); a ``utils`` module is used by
every domain (kernel material); each domain serves routes and writes its own table, and a few
cross-domain references add noise. Everything is generated from a seeded ``random.Random``.
"""

from __future__ import annotations

import random

from migrator.graph import DependencyGraph, Route, Table


def synthetic_monolith(
    domains: int = 6,
    modules_per_domain: int = 5,
    functions: int = 3,
    noise: float = 0.05,
    seed: int = 1,
    root: str = "shop",
) -> tuple[DependencyGraph, dict[str, str]]:
    """A graph and its planted decomposition (node -> service, ``shared_kernel`` for utils)."""
    rng = random.Random(seed)
    g = DependencyGraph(root=root)
    truth: dict[str, str] = {}
    g.add_node(root, "module", file=f"{root}/__init__.py", line=1, end_line=5)
    g.add_node(f"{root}.utils", "module", file=f"{root}/utils.py", line=1, end_line=40)
    g.add_node(f"{root}.utils:helper", "function", file=f"{root}/utils.py", line=2, end_line=9)
    g.add_node(f"{root}.models", "module", file=f"{root}/models.py", line=1, end_line=400)
    truth[f"{root}.utils"] = "shared_kernel"
    names = [f"dom{i}" for i in range(domains)]
    funcs: dict[str, list[str]] = {}
    for d in names:
        pkg = f"{root}.{d}"
        g.add_node(pkg, "module", file=f"{root}/{d}/__init__.py", line=1, end_line=1)
        truth[pkg] = d
        model = f"{root}.models:{d.capitalize()}Model"
        g.add_node(model, "class", file=f"{root}/models.py", line=1, end_line=20)
        truth[model] = d
        funcs[d] = []
        for j in range(modules_per_domain):
            mod = f"{pkg}.m{j}"
            g.add_node(mod, "module", file=f"{root}/{d}/m{j}.py", line=1, end_line=60)
            truth[mod] = d
            for k in range(functions):
                f = f"{mod}:f{k}"
                g.add_node(
                    f, "function", file=f"{root}/{d}/m{j}.py", line=1 + 10 * k, end_line=9 + 10 * k
                )
                funcs[d].append(f)
        g.tables[f"{d}_items"] = Table(
            f"{d}_items", model=model, writers=[funcs[d][0]], readers=[funcs[d][1]]
        )
        g.routes.append(Route("GET", f"/{d}/", funcs[d][0], "flask", f"{root}/{d}/m0.py", 1))
    for d in names:
        fs = funcs[d]
        for f in fs:
            for _ in range(3):
                other = rng.choice(fs)
                if other.split(":")[0] != f.split(":")[0]:
                    g.add_edge(f, other, "reference", evidence=[f"{f}:1"])
                    g.add_edge(f.split(":")[0], other.split(":")[0], "import")
            g.add_edge(f, f"{root}.models:{d.capitalize()}Model", "reference")
            g.add_edge(f, f"{root}.utils:helper", "reference")
            if rng.random() < noise:
                other = rng.choice(funcs[rng.choice(names)])
                g.add_edge(f, other, "reference")
    return g.finalize(), truth


def layered_monolith(
    entities: tuple[str, ...] = ("orders", "products", "customers", "invoices", "shipments"),
    root: str = "app",
) -> tuple[DependencyGraph, dict[str, str]]:
    """A layered app: ``models/<e>.py``, ``services/<e>_service.py``, ``repos/repository_<e>.py``
    and ``api/<e>/routes.py`` per entity, over a ``db``/``config`` kernel. The planted split is
    vertical: each entity's model, repository, service and routes form one service."""
    g = DependencyGraph(root=root)
    truth: dict[str, str] = {}

    def module(name: str, kernel: bool = False, owner: str = "") -> str:
        g.add_node(name, "module", file=name.replace(".", "/") + ".py", line=1, end_line=80)
        truth[name] = "shared_kernel" if kernel else owner
        return name

    for pkg in ("", ".models", ".services", ".repos", ".api"):
        module(root + pkg, kernel=True)
    db = module(f"{root}.db", kernel=True)
    g.add_node(f"{db}:Base", "class", file=f"{root}/db.py", line=1, end_line=9)
    g.add_node(f"{db}:session", "function", file=f"{root}/db.py", line=10, end_line=19)
    module(f"{root}.config", kernel=True)
    g.add_edge(db, f"{root}.config", "import")
    for e in entities:
        word = e[:-1] if e.endswith("s") else e
        cls = word.capitalize()
        model = module(f"{root}.models.{word}", owner=e)
        g.add_node(f"{model}:{cls}", "class", file=f"{root}/models/{word}.py", line=1, end_line=30)
        g.add_edge(f"{model}:{cls}", f"{db}:Base", "inherit")
        repo = module(f"{root}.repos.repository_{e}", owner=e)
        g.add_node(
            f"{repo}:save", "function", file=f"{root}/repos/repository_{e}.py", line=1, end_line=20
        )
        service = module(f"{root}.services.{e}_service", owner=e)
        g.add_node(
            f"{service}:handle",
            "function",
            file=f"{root}/services/{e}_service.py",
            line=1,
            end_line=20,
        )
        api = module(f"{root}.api.{e}", owner=e)
        routes = module(f"{root}.api.{e}.routes", owner=e)
        g.add_node(
            f"{routes}:index", "function", file=f"{root}/api/{e}/routes.py", line=1, end_line=20
        )
        g.add_edge(f"{repo}:save", f"{model}:{cls}", "reference", count=3)
        g.add_edge(f"{repo}:save", f"{db}:session", "reference")
        g.add_edge(f"{service}:handle", f"{repo}:save", "reference", count=2)
        g.add_edge(f"{routes}:index", f"{service}:handle", "reference", count=2)
        for a, b in ((repo, model), (repo, db), (service, repo), (routes, service), (api, routes)):
            g.add_edge(a, b, "import")
        g.tables[e] = Table(
            e, model=f"{model}:{cls}", writers=[f"{repo}:save"], readers=[f"{service}:handle"]
        )
        g.routes.append(
            Route("GET", f"/{e}/", f"{routes}:index", "flask", f"{root}/api/{e}/routes.py", 1)
        )
    # a little cross-entity coupling, as real code has: orders read products and customers
    first, *rest = entities
    for other in rest[:2]:
        g.add_edge(
            f"{root}.services.{first}_service:handle",
            f"{root}.repos.repository_{other}:save",
            "reference",
        )
    return g.finalize(), truth
