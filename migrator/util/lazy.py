"""Modules loaded on first use, for imports that only some runs need."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_import(name: str) -> ModuleType:
    """``name`` from ``sys.modules``, or registered there to load when first used.

    The module is executed the first time one of its attributes is read. Code that takes it
    from here must not also write ``import name`` at module level: the import statement reads
    the module's ``__spec__``, which loads it."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
