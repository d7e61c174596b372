"""libcst, loaded on first use: ``from migrator.analysis.lazy import cst``.

A plug-in module holds both halves of its work: ``collect``, which reads libcst trees in the
parser processes, and ``resolve``, which reads plain facts in the main process. Importing libcst
costs a fifth of a second, and a run that parses nothing (or lets an early-started worker do the
parsing) must not pay it just to run ``resolve``. So the collector and the plug-ins take ``cst``
from here: a module registered in ``sys.modules`` that becomes the real libcst the first time one
of its attributes is read. (They must not write ``import libcst``: the import statement itself
reads the module's ``__spec__``, which loads it.)
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_import(name: str) -> ModuleType:
    """``name`` from ``sys.modules``, or registered there to load when first used."""
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


cst = lazy_import("libcst")
