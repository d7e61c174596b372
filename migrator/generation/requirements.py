"""Which distributions a generated service needs, pinned the way the monolith pins them.

Pins are read (never executed) from ``requirements*.txt`` and ``pyproject.toml`` in the analysed
root and the first parent directory that has them; the framework and the production server get
the defaults below when the monolith does not pin them, so that an image builds the same today
and next month.
"""

from __future__ import annotations

import re
from pathlib import Path

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
FRAMEWORK_DISTS = {"flask": ["flask"], "fastapi": ["fastapi", "uvicorn", "uvicorn-worker"],
                   "django": ["django"]}
SERVER_DISTS = ["gunicorn"]

_DIST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_REQ = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[A-Za-z0-9_,.\s-]*\])?\s*"
    r"(?P<spec>(?:[<>=!~]=?|===)\s*[A-Za-z0-9.*+!_-]+(?:\s*,\s*(?:[<>=!~]=?|===)\s*"
    r"[A-Za-z0-9.*+!_-]+)*)?\s*(?P<marker>;[A-Za-z0-9_.'\"<>=!~(), \t-]*)?(?:#.*)?$"
)


def canonical(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def valid_dist(name: str) -> bool:
    return bool(_DIST.match(name))


def parse_requirement(line: str) -> tuple[str, str] | None:
    """``(canonical name, requirement text)`` for one PEP 508 line, None if not a plain one."""
    line = line.strip()
    if not line or line.startswith(("#", "-")) or "://" in line or "@" in line:
        return None
    m = _REQ.match(line)
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
            try:
                lines += f.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
        pyproject = folder / "pyproject.toml"
        if tomllib is not None and pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
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


def service_requirements(distributions: set[str], framework: str,
                         pins: dict[str, str]) -> tuple[list[str], list[str]]:
    """Sorted requirement lines for a service, and names rejected as unsafe."""
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
    return [wanted[k] for k in sorted(wanted)], rejected
