"""libcst, loaded on first use: ``from migrator.analysis.lazy import cst``.

A plug-in module holds both halves of its work: ``collect``, which reads libcst trees in the
parser processes, and ``resolve``, which reads plain facts in the main process. Importing libcst
costs a fifth of a second, and a run that parses nothing (or only the files the first parser
process guessed) must not pay it just to run ``resolve``. So the collector and the plug-ins take ``cst``
from here: a module registered in ``sys.modules`` that becomes the real libcst the first time one
of its attributes is read. (They must not write ``import libcst``: the import statement itself
reads the module's ``__spec__``, which loads it; only the type checker sees a real import.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from migrator.util.lazy import lazy_import

if TYPE_CHECKING:  # the type checker reads libcst's own annotations
    import libcst as cst
else:
    cst = lazy_import("libcst")
