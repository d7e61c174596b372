"""Which distributions a generated service needs, pinned the way the monolith pins them.

Pins are read (never executed) from ``requirements*.txt`` and ``pyproject.toml`` in the analysed
root and the first parent directory that has them; the framework and the production server get
the defaults below when the monolith does not pin them, so that an image builds the same today
and next month.
"""

from __future__ import annotations

import re
from pathlib import Path

from migrator.util.fs import read_regular, read_text

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    tomllib = None  # type: ignore[assignment]

#: versions used when the monolith does not pin the framework or the server (tested together)
DEFAULT_PINS = {
    "flask": "Flask==3.1.3",
    "fastapi": "fastapi==0.165.0",
    "django": "Django==5.2.19",
    "gunicorn": "gunicorn==27.0.1",
    "uvicorn": "uvicorn==0.54.0",
    "uvicorn-worker": "uvicorn-worker==0.4.0",
}
FRAMEWORK_DISTS = {
    "flask": ["flask"],
    "fastapi": ["fastapi", "uvicorn", "uvicorn-worker"],
    "django": ["django"],
}
SERVER_DISTS = ["gunicorn"]
#: what every generated service's observability.py imports (a pin of the monolith's wins)
OBSERVABILITY_REQUIREMENTS = (
    "prometheus-client==0.26.0",
    "opentelemetry-api==1.45.2",
    "opentelemetry-sdk==1.45.2",
    "opentelemetry-exporter-otlp-proto-http==1.45.2",
)

#: PostgreSQL drivers, in order of preference, with the SQLAlchemy URL scheme that selects each.
#: A service keeps the driver its code imports or the monolith pins; otherwise it gets psycopg 3
#: (the driver SQLAlchemy 2 and Django 4.2+ both support, wheels for every CPython we target).
PG_DRIVERS = {
    "psycopg": "postgresql+psycopg",
    "psycopg2-binary": "postgresql+psycopg2",
    "psycopg2": "postgresql+psycopg2",
    "asyncpg": "postgresql+asyncpg",
    "pg8000": "postgresql+pg8000",
}
#: drivers Django's ``django.db.backends.postgresql`` can use
DJANGO_PG_DRIVERS = ("psycopg", "psycopg2-binary", "psycopg2")
#: psycopg 3's compiled implementations, kept beside ``psycopg`` when the monolith pins them
PSYCOPG_ACCELERATORS = ("psycopg-binary", "psycopg-c")
DEFAULT_PG_DRIVER = "psycopg[binary]==3.3.9"
#: distributions whose presence means the service talks to its tables through an ORM that
#: needs a DB-API driver (Django services always do)
ORM_DISTS = ("sqlalchemy", "flask-sqlalchemy", "sqlmodel")

_DIST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")  # fullmatch, never "$"
_REQ = re.compile(
    r"\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[A-Za-z0-9_,.\s-]*\])?\s*"
    r"(?P<spec>(?:[<>=!~]=?|===)\s*[A-Za-z0-9.*+!_-]+(?:\s*,\s*(?:[<>=!~]=?|===)\s*"
    r"[A-Za-z0-9.*+!_-]+)*)?\s*(?P<marker>;[A-Za-z0-9_.'\"<>=!~(), \t-]*)?(?:#.*)?"
)


def canonical(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def valid_dist(name: str) -> bool:
    return bool(_DIST.fullmatch(name))


def parse_requirement(line: str) -> tuple[str, str] | None:
    """``(canonical name, requirement text)`` for one PEP 508 line, None if not a plain one."""
    line = line.strip()
    if not line or line.startswith(("#", "-")) or "://" in line or "@" in line:
        return None
    m = _REQ.fullmatch(line)
    if not m:
        return None
    spec = re.sub(r"\s+", "", m.group("spec") or "")
    marker = (m.group("marker") or "").strip()
    text = m.group("name") + (m.group("extras") or "").replace(" ", "") + spec
    if marker:
        text += " " + marker
    return canonical(m.group("name")), text


def monolith_pins(root: str | Path) -> dict[str, str]:
    """Requirements the monolith declares, by canonical name (first declaration wins)."""
    start = Path(root)
    pins: dict[str, str] = {}
    for folder in [start, *list(start.resolve().parents)[:1]]:
        if not folder.is_dir():
            continue
        files = sorted(folder.glob("requirements*.txt")) + sorted(folder.glob("requirements/*.txt"))
        lines: list[str] = []
        for f in files:
            try:  # regular files of the folder only: a FIFO or a link out is skipped
                lines += read_regular(f, root=folder).decode("utf-8", "replace").splitlines()
            except OSError:
                continue
        pyproject = folder / "pyproject.toml"
        if tomllib is not None and pyproject.is_file():
            try:
                data = tomllib.loads(read_text(pyproject, root=folder))
            except (OSError, ValueError):
                data = {}
            project = data.get("project", {}) if isinstance(data, dict) else {}
            deps = list(project.get("dependencies", []) or [])
            for extra in sorted((project.get("optional-dependencies") or {}).items()):
                deps += list(extra[1] or [])
            lines += [d for d in deps if isinstance(d, str)]
        for line in lines:
            parsed = parse_requirement(line)
            if parsed and parsed[0] not in pins:
                pins[parsed[0]] = parsed[1]
        if pins:
            break
    return pins


def uses_orm(distributions: set[str], framework: str) -> bool:
    """Whether a service's code reaches its tables through SQLAlchemy or Django's ORM."""
    return framework == "django" or bool({canonical(d) for d in distributions} & set(ORM_DISTS))


def postgres_driver(
    distributions: set[str], framework: str, pins: dict[str, str]
) -> tuple[list[str], str]:
    """``(requirement lines, URL scheme)`` of the PostgreSQL driver for a table-owning ORM service.

    The driver the service's code imports wins, then one the monolith pins (in
    ``PG_DRIVERS`` order), then ``DEFAULT_PG_DRIVER``; the scheme names it explicitly
    (``postgresql+psycopg://``) so that SQLAlchemy never falls back to a driver that is absent.
    """
    allowed = DJANGO_PG_DRIVERS if framework == "django" else tuple(PG_DRIVERS)
    imported = {canonical(d) for d in distributions}
    chosen = next((d for d in allowed if d in imported), None)
    chosen = chosen or next((d for d in allowed if d in pins), None)
    if chosen is None:
        return [DEFAULT_PG_DRIVER], PG_DRIVERS["psycopg"]
    line = pins.get(chosen)
    if line is None:
        line = DEFAULT_PG_DRIVER if chosen == "psycopg" else chosen
    lines = [line]
    if chosen == "psycopg":
        lines += [pins[a] for a in PSYCOPG_ACCELERATORS if a in pins]
    return lines, PG_DRIVERS[chosen]


def service_requirements(
    distributions: set[str],
    framework: str,
    pins: dict[str, str],
    extra: list[str] | tuple[str, ...] = (),
) -> tuple[list[str], list[str]]:
    """Sorted requirement lines for a service, and names rejected as unsafe.

    ``extra``: complete requirement lines added on top (the PostgreSQL driver); each replaces
    an unpinned import of the same distribution.
    """
    wanted: dict[str, str] = {}
    rejected: list[str] = []
    for dist in sorted(distributions):
        if not valid_dist(dist):
            rejected.append(dist)
            continue
        key = canonical(dist)
        wanted[key] = pins.get(key, dist)
    for key in [*FRAMEWORK_DISTS.get(framework, []), *SERVER_DISTS]:
        if key not in wanted or wanted[key] == key or canonical(wanted[key]) == key:
            wanted[key] = pins.get(key, DEFAULT_PINS[key])
    for line in extra:
        parsed = parse_requirement(line)
        if parsed and (parsed[0] not in wanted or canonical(wanted[parsed[0]]) == parsed[0]):
            wanted[parsed[0]] = parsed[1]
    return [wanted[k] for k in sorted(wanted)], rejected
