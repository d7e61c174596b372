"""Per-file facts: what one worker learns from one file, as small picklable data.

Workers parse a file with libcst, walk it once, and return a ``ModuleFacts``; trees never leave
the worker. The resolver (``resolve.py``) then joins the facts of all files into the graph. The
cache stores ``ModuleFacts`` keyed by the file's content hash, so these classes are the cache
format too: change them and bump ``FACTS_VERSION``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, NamedTuple

from migrator.graph import Diagnostic

FACTS_VERSION = 6  # 3: plain-data rows (cacheformat) instead of pickles; 4: graphs as JSON
# objects; 5: name uses apart in packs, decoded on first use; graphs as deltas; 6: vocabulary


class WorkItem(NamedTuple):
    """One file for a parser process: what the run sends (or the first parser process's guess,
    see ``isolate.Parser``), and everything that file's facts depend on."""

    file: str  # relative to the analysed root
    module: str
    is_package: bool
    sha: str  # sha256 of ``data``
    data: bytes
    plugins: bool  # run the framework plug-ins too

    def identity(self) -> tuple[str, str, bool, str, bool]:
        """Everything but the bytes, which ``sha`` stands in for: how a worker's guessed file
        is matched with the one the run then asks for."""
        return self.file, self.module, self.is_package, self.sha, self.plugins


class _Compact:
    """Pickled (from parser processes to the run, never into the cache: see ``cacheformat``)
    as a call with the field values in order, not as an attribute dict: half the bytes, and
    about twice as fast to load."""

    _values: Callable[[Any], tuple[Any, ...]]  # the fields in order; set below

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._values(self))


@dataclass
class ImportFact(_Compact):
    """One imported name. ``import a.b as c`` and ``from .x import y, z`` give one fact per name."""

    line: int
    module: str  # absolute module as written after resolving relative dots ("pkg.sub")
    name: str | None = (
        None  # the imported name for ``from module import name``; None for ``import``
    )
    alias: str | None = None  # the local name bound, when it differs from the default
    star: bool = False  # ``from module import *``
    lazy: bool = False  # inside a function or method body
    type_only: bool = False  # under ``if TYPE_CHECKING:``
    guarded: bool = False  # inside ``try:``/``except ImportError`` (a fallback import)
    relative_level: int = 0  # dots as written, for diagnostics when they climb out of the root
    owner: str | None = None  # the top-level symbol a lazy import sits in, None at module level


@dataclass
class NameUse(_Compact):
    """A use of a (possibly dotted) name, e.g. ``models.Product.query`` at line 12."""

    name: str
    line: int
    context: str = "body"  # "body" | "decorator" | "annotation" | "base"


@dataclass
class SymbolFact(_Compact):
    """A top-level class, function or module-level assignment."""

    name: str
    kind: str  # "class" | "function" | "variable"
    line: int
    end_line: int
    bases: list[str] = field(default_factory=list)  # dotted names as written
    decorators: list[str] = field(default_factory=list)  # dotted names (call targets) as written
    uses: list[NameUse] = field(default_factory=list)


@dataclass
class DynamicRef(_Compact):
    """A string that names code: ``import_module("x")``, ``__import__("x")``, ``"app.Model"``."""

    value: str
    line: int
    kind: str  # "import_module" | "__import__" | "string_ref"
    owner: str | None = None  # the top-level symbol it occurs in, None for module level


@dataclass
class ModuleFacts(_Compact):
    module: str  # dotted module name ("pkg.sub.mod"; a package's __init__ is "pkg.sub")
    file: str  # path relative to the analysed root, POSIX separators
    is_package: bool
    lines: int
    sha: str  # content hash (the cache key)
    imports: list[ImportFact] = field(default_factory=list)
    symbols: list[SymbolFact] = field(default_factory=list)
    module_uses: list[NameUse] = field(default_factory=list)  # module-level code outside symbols
    dynamic: list[DynamicRef] = field(default_factory=list)
    framework: dict[str, Any] = field(default_factory=dict)  # plug-in name -> its plain facts
    diagnostics: list[Diagnostic] = field(default_factory=list)
    exports: list[str] | None = None  # ``__all__`` when it is a literal list of strings
    words: dict[str, int] = field(default_factory=dict)  # see vocabulary.py

    def __reduce__(self) -> tuple[Any, ...]:
        if "_pending_uses" in self.__dict__:  # read from the cache: decode them to send them
            from migrator.analysis.cacheformat import name_uses

            name_uses(self)
        return super().__reduce__()


for _cls in (ImportFact, NameUse, SymbolFact, DynamicRef, ModuleFacts):
    _cls._values = attrgetter(*(f.name for f in fields(_cls)))  # every one has several fields
