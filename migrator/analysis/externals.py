"""Which distribution provides an imported top-level name (``yaml`` -> ``PyYAML``).

Uses the installed distributions' metadata (``importlib.metadata.packages_distributions``) and
``sys.stdlib_module_names``; nothing is imported. A name that no installed distribution
provides is reported under its own name, the best guess for a requirement.
"""

from __future__ import annotations

import sys
from functools import lru_cache

from migrator.graph import ExternalImport


@lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    try:
        from importlib.metadata import packages_distributions

        return {k: sorted(set(v)) for k, v in packages_distributions().items()}
    except Exception:  # broken metadata of one installed package must not stop the analysis
        return {}


STDLIB = frozenset(sys.stdlib_module_names) | {"__future__", "__main__"}


@lru_cache(maxsize=4096)
def classify(top: str) -> ExternalImport:
    """The ``ExternalImport`` for a top-level import name."""
    if top in STDLIB:
        return ExternalImport(module=top, distribution=None, stdlib=True)
    dists = _distributions().get(top)
    return ExternalImport(module=top, distribution=dists[0] if dists else top, stdlib=False)
