"""Which distribution provides an imported top-level name (``yaml`` -> ``PyYAML``).

Uses the installed distributions' metadata (``importlib.metadata.packages_distributions``) and
``sys.stdlib_module_names``; nothing is imported. A name that no installed distribution
provides is reported under its own name, the best guess for a requirement.
"""

from __future__ import annotations

import hashlib
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from migrator.analysis.cache import CacheFileError, Store
from migrator.graph import ExternalImport

_CACHE: Store | None = None
_CACHE_NAME = "distributions.json"


def use_cache(directory: str | os.PathLike[str] | None, key: bytes = b"") -> None:
    """Keep the import-name -> distribution map in ``directory`` between runs (signed with
    ``key``, as every cache file): building it reads the metadata of every installed
    distribution (a fifth of a second or more)."""
    global _CACHE
    _CACHE = Store(Path(directory), key) if directory is not None and key else None


def _environment_key() -> str:
    """Changes whenever a distribution is installed or removed anywhere on ``sys.path``: the
    modification times of the entries that hold distribution metadata (installing or removing
    one adds or deletes a ``*.dist-info`` folder there). Other entries, such as the script's own
    folder, change all the time and say nothing about what is installed."""
    parts = []
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as it:
                if not any(e.name.endswith((".dist-info", ".egg-info")) for e in it):
                    continue
            parts.append(f"{entry}\0{os.stat(entry or '.').st_mtime_ns}")
        except OSError:
            parts.append(entry)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def prepare() -> None:
    """Load (or build and store) the distribution map now rather than at the first external
    import: a run calls this while its parser processes work."""
    _distributions()


@lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    key = _environment_key() if _CACHE is not None else ""
    if _CACHE is not None:
        try:
            data = _CACHE.read(_CACHE_NAME, b"distributions")
            if (
                isinstance(data, dict)
                and data.get("key") == key
                and isinstance(data.get("map"), dict)
            ):
                return data["map"]
        except CacheFileError:
            pass  # built again, and written over
    try:
        found = {k: sorted(set(v)) for k, v in sorted(packages_distributions().items())}
    except Exception:  # broken metadata of one installed package must not stop the analysis
        return {}
    if _CACHE is not None:
        try:
            _CACHE.write(_CACHE_NAME, b"distributions", {"key": key, "map": found})
        except OSError:
            pass
    return found


def packages_distributions() -> dict[str, list[str]]:
    """``importlib.metadata.packages_distributions()``, reading each distribution's name from
    its ``Name:`` header line: the standard library parses every METADATA file whole (long
    descriptions included) with the e-mail parser, half of its 0.1 s on a well-stocked
    environment. Top-level names come from the standard library's own helpers."""
    import importlib.metadata as metadata

    declared = getattr(metadata, "_top_level_declared", None)
    inferred = getattr(metadata, "_top_level_inferred", None)
    if declared is None or inferred is None:  # another Python: its own, whole
        return dict(metadata.packages_distributions())
    out: dict[str, list[str]] = {}
    for dist in metadata.distributions():
        name = _name(dist)
        for pkg in declared(dist) or inferred(dist):
            out.setdefault(pkg, []).append(name)
    return out


def _name(dist: Any) -> Any:
    """``dist.metadata["Name"]``, from the header lines alone."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    for line in text.splitlines():
        if not line.strip():
            break  # the headers end at the first empty line
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "name":
            return value.strip()
    return dist.metadata["Name"]  # none found: let the e-mail parser have its say


STDLIB = frozenset(sys.stdlib_module_names) | {"__future__", "__main__"}


@lru_cache(maxsize=4096)
def classify(top: str) -> ExternalImport:
    """The ``ExternalImport`` for a top-level import name."""
    if top in STDLIB:
        return ExternalImport(module=top, distribution=None, stdlib=True)
    dists = _distributions().get(top)
    return ExternalImport(module=top, distribution=dists[0] if dists else top, stdlib=False)
