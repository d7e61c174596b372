"""Render every output file in memory: text files from jinja2 templates, YAML from data.

Templates render in a ``SandboxedEnvironment`` with ``StrictUndefined``: a user's
``--templates`` override cannot reach Python internals, and a typo in a variable name fails
loudly instead of writing an empty string.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

from migrator.util.fs import FileError, read_text
from migrator.util.names import python_identifier

from . import k8s
from .migration import KNOWN_CHECKOV_FINDINGS, coupling
from .model import (
    HTTP_PORT,
    LOCAL_GATEWAY_PORT,
    LOCAL_MONOLITH_PORT,
    PYTHON_IMAGE,
    UID,
    Project,
    ScaffoldError,
    ServiceSpec,
)

#: the cookie that sends a client's reads to the primary for a few seconds after it wrote
PIN_COOKIE = "db_primary_until"
SERVICE_FILES = {
    # template (relative to templates/service/<framework or common>) -> output path
    "common": {
        "Dockerfile.j2": "Dockerfile",
        "dockerignore.j2": ".dockerignore",
        "requirements.txt.j2": "requirements.txt",
        "README.md.j2": "README.md",
        "pkg/__init__.py.j2": "{pkg}/__init__.py",
        "pkg/config.py.j2": "{pkg}/config.py",
        "pkg/db.py.j2": "{pkg}/db.py",
        "pkg/health.py.j2": "{pkg}/health.py",
        "pkg/observability.py.j2": "{pkg}/observability.py",
        "pkg/stubs.py.j2": "{pkg}/stubs.py",
        "pkg/gunicorn_conf.py.j2": "{pkg}/gunicorn_conf.py",
        "tests/__init__.py.j2": "tests/__init__.py",
        "tests/test_service.py.j2": "tests/test_service.py",
    },
    "flask": {
        "pkg/app.py.j2": "{pkg}/app.py",
        "pkg/wsgi.py.j2": "{pkg}/wsgi.py",
        "tests/_client.py.j2": "tests/_client.py",
    },
    "fastapi": {
        "pkg/app.py.j2": "{pkg}/app.py",
        "pkg/asgi.py.j2": "{pkg}/asgi.py",
        "tests/_client.py.j2": "tests/_client.py",
    },
    "django": {
        "pkg/app.py.j2": "{pkg}/app.py",
        "pkg/settings.py.j2": "{pkg}/settings.py",
        "pkg/middleware.py.j2": "{pkg}/middleware.py",
        "pkg/views.py.j2": "{pkg}/views.py",
        "pkg/urls.py.j2": "{pkg}/urls.py",
        "pkg/wsgi.py.j2": "{pkg}/wsgi.py",
        "tests/_client.py.j2": "tests/_client.py",
    },
}
WSGI_TARGET = {
    "flask": "{pkg}.wsgi:app",
    "fastapi": "{pkg}.asgi:app",
    "django": "{pkg}.wsgi:application",
}


def default_templates() -> Path:
    """Templates shipped in the wheel (migrator/templates) or the repository's templates/."""
    package = Path(__file__).parent.parent  # migrator/
    shipped = package / "templates"
    if shipped.is_dir():
        return shipped
    return package.parent / "templates"


def environment(overrides: Path | None = None) -> SandboxedEnvironment:
    loaders: list[jinja2.BaseLoader] = []
    if overrides is not None:
        if not overrides.is_dir():
            raise ScaffoldError(f"--templates {overrides}: not a directory")
        loaders.append(_ConfinedLoader(overrides))
    loaders.append(jinja2.FileSystemLoader(str(default_templates())))
    env = SandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["py"] = _py_literal
    env.filters["ident"] = python_identifier
    env.filters["code"] = _md_code
    return env


class _ConfinedLoader(jinja2.BaseLoader):
    """``--templates`` files, read with ``read_regular``: regular files under the folder only
    (a link out of it, a FIFO or a device is an error naming the file, not a hang or a leak)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get_source(
        self,
        environment: jinja2.Environment,
        template: str,
    ) -> tuple[str, str, Callable[[], bool]]:
        parts = template.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise jinja2.TemplateNotFound(template)
        path = self.root.joinpath(*parts)
        if not os.path.lexists(path):
            raise jinja2.TemplateNotFound(template)
        try:
            text = read_text(path, root=self.root)
        except FileError as exc:
            raise ScaffoldError(f"--templates {exc}") from None
        return text, str(path), lambda: True  # one run: read each template once


def _md_code(value: Any) -> str:
    """Inline Markdown code for a name from user code (no backtick, newline or table pipe)."""
    text = " ".join(str(value).split()).replace("`", "'").replace("|", "\\|")
    return f"`{text}`"


def _py_literal(value: Any) -> str:
    """A Python literal for plain data (str, int, bool, None, tuples/lists of them)."""
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_py_literal(v) for v in value)
        if isinstance(value, tuple):
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        return f"[{inner}]"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return repr(value)
    raise TypeError(f"cannot write {type(value).__name__} as a Python literal")


def render(env: SandboxedEnvironment, name: str, **context: Any) -> str:
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateError as exc:
        where = getattr(exc, "filename", None) or name
        line = getattr(exc, "lineno", None)
        raise ScaffoldError(f"{where}:{line or 0}: template error: {exc}") from None


class _Dumper(yaml.SafeDumper):
    """Safe dumper without anchors/aliases (``&id001``): manifests are read by people."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(obj: Any) -> str:
    return yaml.dump(
        obj,
        Dumper=_Dumper,
        sort_keys=True,
        default_flow_style=False,
        width=4096,
        allow_unicode=False,
    )


#: ``scaffold --extract``: the image also holds the service's extracted code (``src/``) and the
#: shared kernel library, so its build context is OUT (``-f services/<name>/Dockerfile``) and one
#: ``OUT/.dockerignore`` replaces the per-service one, which no build would read
EXTRACT_SERVICE_FILES = {"Dockerfile.j2": "Dockerfile.extract.j2", "dockerignore.j2": None}


def service_files(
    env: SandboxedEnvironment, project: Project, svc: ServiceSpec, extract: bool = False
) -> dict[str, str]:
    context = {
        "project": project,
        "service": svc,
        "package": svc.package,
        "framework": project.framework,
        "port": HTTP_PORT,
        "uid": UID,
        "python_image": PYTHON_IMAGE,
        "image": k8s.image(project, svc),
        "pin_cookie": PIN_COOKIE,
        "wsgi_target": WSGI_TARGET[project.framework].format(pkg=svc.package),
    }
    out: dict[str, str] = {}
    for group in ("common", project.framework):
        for template, target in SERVICE_FILES[group].items():
            if extract and group == "common" and template in EXTRACT_SERVICE_FILES:
                replacement = EXTRACT_SERVICE_FILES[template]
                if replacement is None:
                    continue
                template = replacement
            name = f"service/{group}/{template}"
            out[f"services/{svc.name}/{target.format(pkg=svc.package)}"] = render(
                env, name, **context
            )
    return out


def gateway_files(env: SandboxedEnvironment, project: Project) -> dict[str, str]:
    """nginx configs routing each service's paths by its cutover state: ``off`` has no location
    (the monolith's ``location /`` answers), ``live`` goes to the service, ``canary`` through a
    ``split_clients`` on ``$request_id`` (per request, as ingress-nginx's canary-weight), and
    ``shadow`` to the monolith with a ``mirror`` copy to the service whose answer is dropped."""
    upstream = {s.name: f"svc_{python_identifier(s.name)}" for s in project.services}
    state = {s.name: s for s in project.services}
    # Ingress "Prefix /a" matches /a and /a/...; nginx needs "= /a" and "/a/" for the same.
    exact = {r.path for r in project.rules if r.path_type == "Exact"}
    locations = []
    for rule in project.rules:
        svc = state[rule.service]
        if svc.cutover == "off":
            continue
        up = upstream[rule.service]
        target = {
            "live": up,
            "canary": f"$canary_{python_identifier(svc.name)}",
            "shadow": "monolith",
        }[svc.cutover]
        mirror = f"/_migrator_shadow/{svc.name}" if svc.cutover == "shadow" else ""
        entry = {"upstream": target, "mirror": mirror}
        if rule.path_type == "Exact" or rule.path not in exact:
            locations.append({"modifier": "= ", "path": rule.path, **entry})
        if rule.path_type == "Prefix":
            locations.append({"modifier": "", "path": rule.path.rstrip("/") + "/", **entry})
    canaries = [
        {
            "var": f"canary_{python_identifier(s.name)}",
            "percent": s.cutover_percent,
            "upstream": upstream[s.name],
            "service": s.name,
        }
        for s in project.services
        if s.cutover == "canary"
    ]
    shadows = [
        {"path": f"/_migrator_shadow/{s.name}", "upstream": upstream[s.name], "service": s.name}
        for s in project.services
        if s.cutover == "shadow"
    ]
    common = {
        "project": project,
        "locations": locations,
        "canaries": canaries,
        "shadows": shadows,
        "cache_control": k8s.STATIC_CACHE_CONTROL,
        "cache_immutable": k8s.STATIC_IMMUTABLE,
        "hashed": k8s.HASHED_STATIC,
    }
    compose = render(
        env,
        "gateway/nginx.conf.j2",
        variant="compose",
        listen="8080",
        monolith=f"{project.monolith_service}:8000",
        upstreams=[
            {"name": upstream[s.name], "server": f"{s.name}:{HTTP_PORT}"} for s in project.services
        ],
        paths={
            "pid": "/tmp/nginx.pid",
            "error_log": "/dev/stderr",
            "access_log": "/dev/stdout",
            "temp": "/tmp",
        },
        **common,
    )
    local = render(
        env,
        "gateway/nginx.conf.j2",
        variant="local",
        listen=f"127.0.0.1:{LOCAL_GATEWAY_PORT}",
        monolith=f"127.0.0.1:{LOCAL_MONOLITH_PORT}",
        upstreams=[
            {"name": upstream[s.name], "server": f"127.0.0.1:{s.local_port}"}
            for s in project.services
        ],
        paths={
            "pid": "nginx.pid",
            "error_log": "error.log",
            "access_log": "access.log",
            "temp": "tmp",
        },
        **common,
    )
    ports = {
        "gateway": LOCAL_GATEWAY_PORT,
        "monolith": LOCAL_MONOLITH_PORT,
        "services": {s.name: s.local_port for s in project.services},
    }
    return {
        "gateway/nginx.conf": compose,
        "gateway/nginx.local.conf": local,
        "gateway/local.json": json.dumps(ports, indent=2, sort_keys=True) + "\n",
    }


def compose_files(project: Project, extract: bool = False) -> dict[str, str]:
    services: dict[str, Any] = {}
    owners = [s for s in project.services if s.owns_tables]
    for svc in project.services:
        env = {
            "SERVICE_NAME": svc.name,
            "PORT": str(HTTP_PORT),
            "LOG_LEVEL": "INFO",
            "DATABASE_REQUIRED": "true" if svc.owns_tables else "false",
            "CUTOVER_STATE": svc.cutover,
        }
        if svc.owns_tables:
            url = (
                f"{svc.database_scheme}://postgres:${{POSTGRES_PASSWORD:-postgres}}"
                f"@postgres:5432/{_db(svc)}"
            )
            env["DATABASE_URL"] = url
            env["DATABASE_READ_URL"] = url
        for dep in svc.depends_on:
            env[f"{python_identifier(dep).upper()}_URL"] = f"http://{dep}:{HTTP_PORT}"
        if extract:  # the internal API's shared token: from the environment, never built in
            env[k8s.INTERNAL_TOKEN_ENV] = (
                f"${{{k8s.INTERNAL_TOKEN_ENV}:?set {k8s.INTERNAL_TOKEN_ENV}, "
                "the token the services show each other}"
            )
        # extract mode: the image installs ./shared_kernel too, so it builds from OUT
        build = (
            {"context": ".", "dockerfile": f"services/{svc.name}/Dockerfile"}
            if extract
            else {"context": f"./services/{svc.name}"}
        )
        entry: dict[str, Any] = {
            "build": build,
            "image": f"{k8s.image(project, svc)}:dev",
            "environment": env,
            "read_only": True,
            "tmpfs": ["/tmp"],
            "restart": "unless-stopped",
        }
        if svc.owns_tables:
            entry["depends_on"] = {"postgres": {"condition": "service_healthy"}}
        services[svc.name] = entry
    services["postgres"] = {
        "image": "postgres:16.4-bookworm",
        "environment": {"POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:-postgres}"},
        "volumes": [
            "./deploy/compose/initdb:/docker-entrypoint-initdb.d:ro",
            "pgdata:/var/lib/postgresql/data",
        ],
        "healthcheck": {
            "test": ["CMD", "pg_isready", "-U", "postgres"],
            "interval": "5s",
            "timeout": "3s",
            "retries": 10,
        },
    }
    mono = project.monolith
    if mono is not None:
        url = (
            f"{mono.database_scheme}://postgres:${{POSTGRES_PASSWORD:-postgres}}"
            f"@postgres:5432/{MONOLITH_DB}"
        )
        menv = {
            "SERVICE_NAME": mono.name,
            "PORT": str(HTTP_PORT),
            "DATABASE_READ_URL": url,
            "CDN_URL": "${CDN_URL:-}",
        }
        menv.update({name: url for name in mono.database_envs})
        # the session key comes from the environment or compose stops: never a built-in value
        menv.update(
            {
                name: "${SECRET_KEY:?set SECRET_KEY, the monolith's session key}"
                for name in mono.secret_envs
            }
        )
        services[mono.name] = {
            "build": {"context": "./monolith", "additional_contexts": {"source": mono.context}},
            "image": f"{k8s.image(project, mono)}:dev",
            "environment": menv,
            "read_only": True,
            "tmpfs": ["/tmp"],
            "restart": "unless-stopped",
            "depends_on": {"postgres": {"condition": "service_healthy"}},
        }
    else:
        services[project.monolith_service] = {
            "image": f"${{MONOLITH_IMAGE:-{project.name}-monolith:latest}}",
            "environment": {"PORT": "8000"},
        }
    services["gateway"] = {
        "image": "nginx:1.27.3-bookworm",
        "ports": ["8080:8080"],
        "volumes": ["./gateway/nginx.conf:/etc/nginx/nginx.conf:ro"],
        "depends_on": sorted([s.name for s in project.services] + [project.monolith_service]),
    }
    compose = {"name": project.name, "services": services, "volumes": {"pgdata": {}}}
    names = [_db(s) for s in owners] + ([MONOLITH_DB] if mono is not None else [])
    sql = "".join(f'CREATE DATABASE "{name}";\n' for name in names)
    return {
        "compose.yaml": dump_yaml(compose),
        "deploy/compose/initdb/01-databases.sql": "-- one database per service that owns tables (generated by migrator)\n"
        + sql,
    }


MONOLITH_DB = "monolith"
#: ``--with datadog``: the Agent's Helm values (also how ``migrator cutover`` recognises it)
DATADOG_VALUES = "deploy/datadog/agent-values.yaml"


def monolith_files(env: SandboxedEnvironment, project: Project) -> dict[str, str]:
    """``monolith/``: the image of the monolith itself (its own requirements, gunicorn)."""
    mono = project.monolith
    if mono is None:
        return {}
    context = {
        "project": project,
        "monolith": mono,
        "port": HTTP_PORT,
        "uid": UID,
        "python_image": PYTHON_IMAGE,
        "image": k8s.image(project, mono),
    }
    reqs = (
        "# the monolith's own requirements (pinned as it pins them), generated by migrator\n"
        + "".join(f"{line}\n" for line in mono.requirements)
    )
    files = {
        "monolith/Dockerfile": render(env, "monolith/Dockerfile.j2", **context),
        "monolith/requirements.txt": reqs,
    }
    if mono.static_dirs:
        files["monolith/hash_static.py"] = render(
            env, "monolith/hash_static.py.j2", static_path=project.static_path
        )
    return files


def _db(svc: ServiceSpec) -> str:
    return python_identifier(svc.name)


def render_all(
    project: Project, templates: Path | None = None, *, extract: bool = False
) -> dict[str, bytes]:
    """Every output file, keyed by path relative to OUT (nothing is written here).

    ``extract``: images and compose for ``scaffold --extract`` (build context OUT, so that each
    image can install ``shared_kernel/`` beside the service's ``src/``).
    """
    env = environment(templates)
    files: dict[str, str] = {}
    for svc in project.services:
        files.update(service_files(env, project, svc, extract=extract))
    if extract:
        files[".dockerignore"] = render(env, "extract/dockerignore.j2", project=project)
    for rel, obj in k8s.manifests(project, extract).items():
        files[f"deploy/k8s/{rel}"] = dump_yaml(obj)
    if "datadog" in project.extras:
        files[DATADOG_VALUES] = dump_yaml(k8s.datadog_agent_values(project))
    files.update(gateway_files(env, project))
    files.update(monolith_files(env, project))
    files.update(compose_files(project, extract=extract))
    local = {"gateway": LOCAL_GATEWAY_PORT, "monolith": LOCAL_MONOLITH_PORT}
    files["MIGRATION.md"] = render(
        env,
        "MIGRATION.md.j2",
        project=project,
        order=coupling(project),
        checkov=KNOWN_CHECKOV_FINDINGS,
        local=local,
        extract=extract,
        cache_control=k8s.STATIC_CACHE_CONTROL,
    )
    return {path: text.encode("utf-8") for path, text in sorted(files.items())}
