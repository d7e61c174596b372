"""Plain data describing what to generate, derived once from the plan and the graph.

Everything that later reaches a file (names, paths, routes, requirements) is sanitised here,
so the renderers below only format values that are already safe.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from migrator.graph import DependencyGraph, module_of
from migrator.plan import Plan, reserved_names
from migrator.util.names import dns_label, python_identifier

from .requirements import (
    OBSERVABILITY_REQUIREMENTS,
    monolith_pins,
    postgres_driver,
    service_requirements,
    uses_orm,
)
from .routing import METHODS, ParsedPath, RouteRule, UnroutableError, parse_path, routing_table

FRAMEWORKS = ("flask", "fastapi", "django")
EXTRAS = ("prometheus-operator", "cloudnative-pg", "datadog")
HTTP_PORT = 8000
UID = 10001
PYTHON_IMAGE = "python:3.12-slim-bookworm"
LOCAL_GATEWAY_PORT = 8080
LOCAL_MONOLITH_PORT = 8000
LOCAL_FIRST_SERVICE_PORT = 8101


class ScaffoldError(ValueError):
    """Input that cannot be scaffolded (bad name, conflicting files ...); one line per problem."""


@dataclass(frozen=True)
class Stub:
    """One generated route stub: a path in the framework's syntax and its original route."""

    index: int
    path: str  # in the service framework's syntax
    methods: tuple[str, ...]
    original: tuple[str, ...]  # "METHOD /original/path" as found in the monolith
    handlers: tuple[str, ...]
    example: str  # a concrete URL the stub answers


RESERVED_PATHS = {"/healthz", "/readyz", "/metrics"}
#: a route that accepts any method (the analyser's "ANY") is stubbed for these
ANY_METHOD = ("ANY", "*")
ANY_VERBS = ("DELETE", "GET", "PATCH", "POST", "PUT")


@dataclass
class ServiceSpec:
    name: str  # DNS-1123 label
    package: str  # python package of the generated service, e.g. catalog_service
    framework: str
    stubs: list[Stub] = field(default_factory=list)
    parsed: list[ParsedPath] = field(default_factory=list)
    unroutable: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    dependents: list[str] = field(default_factory=list)
    interface: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    rejected_requirements: list[str] = field(default_factory=list)
    local_port: int = 0
    #: requirement lines of its PostgreSQL driver (table-owning SQLAlchemy/Django services only)
    database_driver: list[str] = field(default_factory=list)
    #: scheme of the PostgreSQL URLs handed to it: names the driver when it has one
    database_scheme: str = "postgresql"
    #: traffic switch from the plan: off | shadow | canary | live, and the canary's percent
    cutover: str = "off"
    cutover_percent: int = 0

    @property
    def owns_tables(self) -> bool:
        return bool(self.tables)

    @property
    def public(self) -> bool:
        return bool(self.parsed)

    @property
    def env_prefix(self) -> str:
        return python_identifier(self.name).upper()


@dataclass
class MonolithSpec:
    """The monolith as a deployable of its own: what its image installs, copies and runs."""

    name: str  # Service/Deployment name, the default backend everywhere
    packages: list[str]  # top-level packages or modules its image copies
    wsgi: str  # gunicorn target
    requirements: list[str]
    database_scheme: str
    #: environment variables its own code reads (found in its source): database URL, secret
    database_envs: list[str] = field(default_factory=list)
    secret_envs: list[str] = field(default_factory=list)
    health_path: str = ""  # a route answering probes, "" = TCP probes
    #: its static folders (relative to the import root): hashed copies made at image build
    static_dirs: list[str] = field(default_factory=list)
    context: str = ".."  # image build context (its import root), relative to OUT


@dataclass
class Project:
    name: str
    namespace: str
    framework: str
    services: list[ServiceSpec]
    rules: list[RouteRule]
    routing_notes: list[tuple[tuple[str, ...], str]]
    extras: tuple[str, ...]
    static_path: str
    monolith_service: str
    graph: DependencyGraph
    plan: Plan
    monolith: MonolithSpec | None = None
    #: the public host name of the Ingresses (TLS certificate); ``meta.host`` in the plan
    host: str = ""

    def service(self, name: str) -> ServiceSpec:
        return next(s for s in self.services if s.name == name)


def detect_framework(graph: DependencyGraph, plan: Plan) -> str:
    """The monolith's web framework: plan meta first, then routes, then external imports."""
    meta = str(plan.meta.get("framework", "")).lower()
    if meta in FRAMEWORKS:
        return meta
    counts = Counter(r.framework.lower() for r in graph.routes if r.framework.lower() in FRAMEWORKS)
    if counts:
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    imported = {e.module.lower() for ext in graph.externals.values() for e in ext}
    for fw in ("django", "fastapi", "flask"):
        if fw in imported:
            return fw
    return "flask"


#: longest service label: "<name>-db-app" (CloudNativePG) and similar must stay valid names
MAX_NAME = 40


def _check_name(raw: str) -> str:
    if "/" in raw or "\\" in raw or raw in (".", "..") or "\x00" in raw:
        raise ScaffoldError(f"service name {raw!r} would escape the output folder")
    return dns_label(raw)[:MAX_NAME].strip("-") or "svc"


def build_project(
    plan: Plan, graph: DependencyGraph, *, extras: tuple[str, ...] = (), project: str | None = None
) -> Project:
    """Derive everything to generate from the plan and graph (no file is touched)."""
    unknown = sorted(set(extras) - set(EXTRAS))
    if unknown:
        raise ScaffoldError(
            f"--with: unknown option(s) {', '.join(unknown)} (choose from {', '.join(EXTRAS)})"
        )
    framework = detect_framework(graph, plan)
    names: dict[str, str] = {}
    for raw in sorted(plan.services):
        label = _check_name(raw)
        if label in names.values():
            other = next(k for k, v in names.items() if v == label)
            raise ScaffoldError(f"services {other!r} and {raw!r} both become {label!r}")
        names[raw] = label
    monolith = dns_label(str(plan.meta.get("monolith_service") or "monolith"))
    for raw, label in names.items():
        if label in reserved_names(plan.meta) | {monolith}:
            raise ScaffoldError(
                f"service name {raw!r} is reserved for the {label} that "
                "compose and the gateway run beside the services; rename it"
            )
    tops = Counter(m.split(".", 1)[0] for m in graph.modules())
    top = sorted(tops.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if tops else ""
    proj_name = dns_label(
        project or str(plan.meta.get("project") or "") or top or Path(graph.root).resolve().name,
        "app",
    )
    pins = monolith_pins(graph.root)
    by_route: dict[tuple[str, str], list[str]] = {}
    for r in graph.routes:
        by_route.setdefault((r.method.upper(), r.path), []).append(r.handler)
    assignment = plan.assignment()

    def owner(node: str) -> str | None:
        return assignment.get(node) or assignment.get(module_of(node))

    # routes: the plan's own list, plus graph routes whose handler the plan assigns
    route_sets: dict[str, set[tuple[str, str]]] = {raw: set() for raw in plan.services}
    for raw, svc in plan.services.items():
        for text in svc.routes:
            method, _, path = text.strip().partition(" ")
            if not path:
                method, path = "GET", method
            route_sets[raw].add((method.upper(), path.strip()))
    for r in graph.routes:
        who = owner(r.handler)
        if who in route_sets:
            route_sets[who].add((r.method.upper(), r.path))
    claimed: dict[tuple[str, str], str] = {}
    for raw in sorted(route_sets):
        for key in sorted(route_sets[raw]):
            claimed.setdefault(key, raw)

    specs: list[ServiceSpec] = []
    for raw in sorted(plan.services):
        svc = plan.services[raw]
        label = names[raw]
        spec = ServiceSpec(
            name=label, package=f"{python_identifier(label)}_service", framework=framework
        )
        grouped: dict[ParsedPath, tuple[dict[str, list[str]], set[str]]] = {}
        for method, path in sorted(route_sets[raw]):
            if claimed[(method, path)] != raw:
                continue
            try:
                parsed = parse_path(path)
            except UnroutableError as exc:
                spec.unroutable.append(str(exc))
                continue
            if parsed.render("plain") in RESERVED_PATHS:
                spec.unroutable.append(f"{path!r}: reserved for the service's own probes")
                continue
            if method in ANY_METHOD:
                verbs = set(ANY_VERBS)
            else:
                verbs = {m for m in method.split("|") if m in METHODS} or {"GET"}
            entry = grouped.setdefault(parsed, ({}, set()))
            entry[0][f"{method} {path}"] = sorted(set(by_route.get((method, path), [])))
            entry[1].update(verbs)
        for i, parsed in enumerate(sorted(grouped)):
            entries, verbs = grouped[parsed]
            methods = tuple(sorted(verbs))
            handlers = tuple(sorted({h for hs in entries.values() for h in hs})) or ("unknown",)
            spec.stubs.append(
                Stub(
                    index=i,
                    path=parsed.render(framework),
                    methods=methods,
                    original=tuple(sorted(entries)),
                    handlers=handlers,
                    example=parsed.example(),
                )
            )
            spec.parsed.append(parsed)
        spec.tables = sorted(svc.tables)
        spec.cutover, spec.cutover_percent = svc.cutover, svc.cutover_percent
        spec.depends_on = sorted({names[d] for d in svc.depends_on if d in names} - {label})
        spec.interface = sorted(svc.interface)
        spec.modules = sorted(set(svc.modules))
        spec.symbols = sorted(set(svc.symbols))
        # a carved-out symbol needs what its module imports (a safe over-approximation)
        modules = set(svc.modules) | {module_of(s) for s in svc.symbols}
        dists: set[str] = set()
        for mod in sorted(modules):
            for ext in graph.externals.get(mod, []):
                if not ext.stdlib and ext.distribution:
                    dists.add(ext.distribution)
        if spec.tables and uses_orm(dists, framework):
            spec.database_driver, spec.database_scheme = postgres_driver(dists, framework, pins)
        spec.requirements, spec.rejected_requirements = service_requirements(
            dists, framework, pins, [*spec.database_driver, *OBSERVABILITY_REQUIREMENTS]
        )
        specs.append(spec)
    for i, spec in enumerate(specs):
        spec.local_port = LOCAL_FIRST_SERVICE_PORT + i
        spec.dependents = sorted(s.name for s in specs if spec.name in s.depends_on)
    static = str(plan.meta.get("static_path") or "/static")
    try:
        static_parsed = parse_path(static)
        static = static_parsed.render("plain").rstrip("/") or "/static"
        if static_parsed.has_params:
            static = "/static"
    except UnroutableError:
        static = "/static"
    rules, notes = routing_table({s.name: s.parsed for s in specs}, static)
    return Project(
        name=proj_name,
        namespace=proj_name,
        framework=framework,
        services=specs,
        rules=rules,
        routing_notes=notes,
        extras=tuple(sorted(set(extras))),
        static_path=static,
        monolith_service=monolith,
        graph=graph,
        plan=plan,
        monolith=monolith_spec(plan, graph, monolith, framework, pins),
        host=_host(plan, proj_name),
    )


_HOST = re.compile(r"^(?=.{1,253}\Z)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z")


def _host(plan: Plan, project: str) -> str:
    """``meta.host`` (a DNS name), else ``<project>.example.com`` to be replaced."""
    host = str(plan.meta.get("host") or f"{project}.example.com").lower()
    if not _HOST.match(host):
        raise ScaffoldError(f"meta.host: {host!r} is not a DNS host name")
    return host


_ENV_NAME = re.compile(r"""["']([A-Z][A-Z0-9_]*(?:DATABASE_URL|SECRET_KEY))["']""")
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*\Z")
_WSGI = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*(\(\))?\Z")
WSGI_GUESSES = {
    "flask": ("{top}.app:create_app()", "{top}.wsgi:app", "{top}.app:app", "{top}:app"),
    "fastapi": ("{top}.main:app", "{top}.app:app", "{top}.asgi:app", "{top}:app"),
    "django": ("{top}.wsgi:application",),
}


def monolith_spec(
    plan: Plan, graph: DependencyGraph, name: str, framework: str, pins: dict[str, str]
) -> MonolithSpec:
    """The monolith's image and runtime, read from its code: packages, requirements, the app
    object gunicorn serves and the settings it reads (``meta.monolith_wsgi`` overrides)."""
    root = Path(graph.root)  # the import root: the monolith's top-level packages live in it
    modules = graph.modules()
    # only plain names reach the Dockerfile's COPY lines (a module name is user data)
    tops = sorted({t for t in (m.split(".", 1)[0] for m in modules) if _PLAIN.match(t)}) or ["app"]
    counts = Counter(t for t in (m.split(".", 1)[0] for m in modules) if t in tops)
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if counts else tops[0]
    wsgi = str(plan.meta.get("monolith_wsgi") or "")
    if not wsgi:
        for guess in WSGI_GUESSES[framework]:
            module, _, attr = guess.format(top=top).partition(":")
            if module in modules and f"{module}:{attr.removesuffix('()')}" in graph.symbols(module):
                wsgi = f"{module}:{attr}"
                break
        wsgi = wsgi or f"{top}:app"
    if not _WSGI.match(wsgi):
        raise ScaffoldError(
            f"meta.monolith_wsgi: {wsgi!r} is not 'module:app' or 'module:factory()'"
        )
    dists = {
        e.distribution
        for ext in graph.externals.values()
        for e in ext
        if not e.stdlib and e.distribution
    }
    driver, scheme = (
        (postgres_driver(dists, framework, pins))
        if graph.tables and uses_orm(dists, framework)
        else ([], "postgresql")
    )
    requirements, _ = service_requirements(dists, framework, pins, driver)
    found: set[str] = set()
    files = [
        f
        for t in tops
        for f in ([root / f"{t}.py"] + sorted((root / t).rglob("*.py")))
        if f.is_file() and "tests" not in f.relative_to(root).parts
    ]
    for path in files:
        try:
            found.update(_ENV_NAME.findall(path.read_text(encoding="utf-8", errors="replace")))
        except OSError:
            continue
    health = next((r.path for r in graph.routes if r.path in ("/healthz", "/health")), "")
    static = sorted(
        p.relative_to(root).as_posix()
        for t in tops
        if (root / t).is_dir()
        for p in (root / t).rglob("static")
        if p.is_dir()
        and "tests" not in p.relative_to(root).parts
        and _PLAIN_PATH.match(p.relative_to(root).as_posix())
    )
    return MonolithSpec(
        name=name,
        packages=tops,
        wsgi=wsgi,
        requirements=requirements,
        database_scheme=scheme,
        health_path=health,
        static_dirs=static,
        database_envs=sorted({"DATABASE_URL"} | {f for f in found if f.endswith("DATABASE_URL")}),
        secret_envs=sorted({"SECRET_KEY"} | {f for f in found if f.endswith("SECRET_KEY")}),
    )
