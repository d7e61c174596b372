"""The PostgreSQL driver: table-owning ORM services get exactly one, and every database URL that
compose and Kubernetes hand them names it (``postgresql+psycopg://``), so no container fails on
its first query for want of a driver that SQLAlchemy picked by default."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import yaml

from migrator.generation import build_project
from migrator.generation.requirements import (
    DEFAULT_PG_DRIVER,
    PG_DRIVERS,
    canonical,
    parse_requirement,
    postgres_driver,
    service_requirements,
)

from .fixtures import make_graph, make_plan
from .support import FRAMEWORKS

DRIVER_NAMES = set(PG_DRIVERS) | {"psycopg-binary", "psycopg-c"}


def _requirements(out, service: str) -> dict[str, str]:
    lines = (out / "services" / service / "requirements.txt").read_text().splitlines()
    parsed = [parse_requirement(line) for line in lines if line and not line.startswith("#")]
    return {name: text for name, text in (p for p in parsed if p)}


def _expects_driver(framework: str, service: str) -> bool:
    # fixtures: every service owns a table; only catalog's code imports SQLAlchemy, and every
    # Django service reaches its tables through Django's ORM
    return framework == "django" or service == "catalog"


def _env_urls(obj) -> list[str]:
    """Every DATABASE_URL / DATABASE_READ_URL value in a compose file or manifest."""
    found: list[str] = []
    if isinstance(obj, dict):
        if obj.get("name") in ("DATABASE_URL", "DATABASE_READ_URL") and "value" in obj:
            found.append(obj["value"])
        for key, value in obj.items():
            if key in ("DATABASE_URL", "DATABASE_READ_URL") and isinstance(value, str):
                found.append(value)
            else:
                found += _env_urls(value)
    elif isinstance(obj, list):
        for item in obj:
            found += _env_urls(item)
    return found


def test_default_driver_is_pinned_psycopg3():
    name, text = parse_requirement(DEFAULT_PG_DRIVER)
    assert name == "psycopg" and text.startswith("psycopg[binary]==3.")
    assert postgres_driver({"SQLAlchemy"}, "flask", {}) == (
        [DEFAULT_PG_DRIVER],
        "postgresql+psycopg",
    )


def test_a_driver_the_monolith_pins_is_kept():
    pins = {"psycopg2-binary": "psycopg2-binary==2.9.10", "flask": "Flask==3.0.3"}
    assert postgres_driver({"SQLAlchemy"}, "flask", pins) == (
        ["psycopg2-binary==2.9.10"],
        "postgresql+psycopg2",
    )
    pins = {"psycopg": "psycopg==3.2.1", "psycopg-binary": "psycopg-binary==3.2.1"}
    assert postgres_driver({"SQLAlchemy"}, "fastapi", pins) == (
        ["psycopg==3.2.1", "psycopg-binary==3.2.1"],
        "postgresql+psycopg",
    )
    # Django cannot use pg8000: it gets psycopg 3 instead
    assert postgres_driver(set(), "django", {"pg8000": "pg8000==1.31.2"}) == (
        [DEFAULT_PG_DRIVER],
        "postgresql+psycopg",
    )
    assert postgres_driver({"SQLAlchemy"}, "flask", {"pg8000": "pg8000==1.31.2"}) == (
        ["pg8000==1.31.2"],
        "postgresql+pg8000",
    )


def test_a_driver_the_service_imports_wins_and_gets_pinned():
    lines, scheme = postgres_driver(
        {"SQLAlchemy", "psycopg"}, "flask", {"psycopg2": "psycopg2==2.9.10"}
    )
    assert (lines, scheme) == ([DEFAULT_PG_DRIVER], "postgresql+psycopg")
    reqs, _ = service_requirements({"SQLAlchemy", "psycopg"}, "flask", {}, lines)
    assert DEFAULT_PG_DRIVER in reqs and "psycopg" not in reqs  # the unpinned import is replaced


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_requirements_hold_the_driver_exactly_for_table_owning_orm_services(framework, generated):
    out = generated[framework]
    for service in ("cart", "catalog", "orders"):
        reqs = _requirements(out, service)
        drivers = sorted(set(reqs) & DRIVER_NAMES)
        if _expects_driver(framework, service):
            assert drivers == ["psycopg"], (service, reqs)
            assert reqs["psycopg"] == DEFAULT_PG_DRIVER
        else:
            assert drivers == [], (service, reqs)


def test_services_without_tables_get_no_driver():
    graph, plan = make_graph("flask"), make_plan("flask")
    plan.services["catalog"].tables = []
    project = build_project(plan, graph)
    for svc in project.services:
        assert not {canonical(parse_requirement(r)[0]) for r in svc.requirements} & DRIVER_NAMES
        assert svc.database_scheme == "postgresql" and svc.database_driver == []


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_emitted_database_url_names_the_services_driver(framework, generated):
    out = generated[framework]
    documents = [yaml.safe_load((out / "compose.yaml").read_text())]
    for path in sorted((out / "deploy" / "k8s").rglob("*.yaml")):
        documents += list(yaml.safe_load_all(path.read_text()))
    seen: dict[str, set[str]] = {}
    for doc in documents:
        for svc, urls in _urls_by_service(doc).items():
            seen.setdefault(svc, set()).update(urls)
    # compose (2 URLs) and the CloudNativePG deployment (2 URLs) for each of the three services,
    # and compose's URLs for the monolith, whose image installs the driver its scheme names
    assert sorted(seen) == ["cart", "catalog", "monolith", "orders"]
    mono_schemes = {urlsplit(u).scheme for u in seen.pop("monolith")}
    mono_reqs = {
        parse_requirement(line)[0]
        for line in (out / "monolith/requirements.txt").read_text().splitlines()
        if parse_requirement(line)
    }
    assert len(mono_schemes) == 1
    assert (mono_schemes == {"postgresql"}) == (not mono_reqs & DRIVER_NAMES), mono_schemes
    for svc, urls in seen.items():
        schemes = {urlsplit(u).scheme for u in urls}
        reqs = _requirements(out, svc)
        if _expects_driver(framework, svc):
            assert schemes == {"postgresql+psycopg"}, (svc, urls)
            assert "psycopg" in reqs
        else:
            assert schemes == {"postgresql"}, (svc, urls)
            assert not set(reqs) & DRIVER_NAMES
        if framework == "django":
            settings = (out / "services" / svc / f"{svc}_service" / "settings.py").read_text()
            assert '"django.db.backends.postgresql"' in settings
            assert 'split("+", 1)[0]' in settings  # "+psycopg" still selects that backend
    migration = (out / "MIGRATION.md").read_text()
    assert "postgresql+psycopg://" in migration


def _urls_by_service(doc) -> dict[str, list[str]]:
    """Database URLs per service name, from compose services or k8s Deployments."""
    out: dict[str, list[str]] = {}
    if not isinstance(doc, dict):
        return out
    if "services" in doc and isinstance(doc["services"], dict):  # compose
        for name, entry in doc["services"].items():
            urls = _env_urls(entry.get("environment", {}))
            if urls:
                out[name] = urls
    elif doc.get("kind") == "Deployment":
        urls = _env_urls(doc["spec"]["template"]["spec"]["containers"])
        if urls:
            out[doc["metadata"]["name"]] = urls
    return out


def test_secret_mode_documents_the_scheme(tmp_path):
    from migrator.generation import scaffold

    scaffold(make_plan("flask"), make_graph("flask"), tmp_path)
    text = (tmp_path / "MIGRATION.md").read_text()
    assert "Use `postgresql+psycopg://` URLs for `catalog`" in text
    assert "Use `postgresql://` URLs for `cart`, `orders`" in text
