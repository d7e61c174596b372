"""Content-hash cache of per-file facts.

Keys hash the file's bytes together with its module name, its path and a signature of the
analyser's own code (so editing the analyser or a plug-in invalidates everything). Entries live
in *packs*: one file per run holding the facts that run had to parse, written with
``atomic_write``. A run reads every pack, so a second run with nothing changed parses nothing,
and a run after one edit parses one file and writes a pack of one entry.

Each pack starts with a magic line and the SHA-256 of its payload: a truncated or corrupted pack
is detected, deleted and its files parsed again. Concurrent runs are safe because packs are
never modified in place: a run only adds packs, and compaction (merging the packs into one
with only the entries the run used) deletes only packs that this run read itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path, PurePosixPath
from typing import Any

from migrator.analysis.facts import FACTS_VERSION, ModuleFacts
from migrator.graph import DependencyGraph
from migrator.util.fs import atomic_write

MAGIC = b"MIGRATOR-FACTS-PACK 1\n"
_PLAIN_TYPES = frozenset({"set", "frozenset", "dict", "list", "tuple", "str", "bytes", "int",
                          "float", "bool", "complex", "bytearray"})


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles only migrator's own data classes, networkx graphs and plain builtins.

    The cache lives in the analysed project by default, so a hostile repository can commit a
    pack; the SHA-256 header only detects damage (an attacker can compute it). A plain
    ``pickle.loads`` would run any callable such a pack names; this one refuses all but the
    classes that facts and graphs are made of."""

    def find_class(self, module: str, name: str) -> object:
        if module in ("migrator.analysis.facts", "migrator.graph") or \
                module.startswith("networkx.classes."):
            obj = super().find_class(module, name)
            if isinstance(obj, type):
                return obj
        elif module == "builtins" and name in _PLAIN_TYPES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"cache entry refers to {module}.{name}: not allowed")


def safe_loads(payload: bytes) -> object:
    """``pickle.loads`` restricted to the classes of the cache formats (see ``_SafeUnpickler``)."""
    import io

    return _SafeUnpickler(io.BytesIO(payload)).load()
_COMPACT_AT = 8  # packs before merging them into one


def code_signature() -> str:
    """A hash of the code that produces facts: facts, collector, parser, walker and plug-ins."""
    from migrator.analysis import frameworks

    h = hashlib.sha256(f"{FACTS_VERSION}".encode())
    here = Path(__file__).parent
    for name in ("facts.py", "collect.py", "parse.py", "walk.py"):
        h.update((here / name).read_bytes())
    h.update(frameworks.signature().encode())
    h.update(_libcst_version())
    return h.hexdigest()[:20]


def _libcst_version() -> bytes:
    """libcst's ``_version.py``, found without importing libcst (or consulting the lazy
    module in ``sys.modules``, whose ``__spec__`` would load it) or ``importlib.metadata``
    (a hundredth of a second, on the way to the first parser process)."""
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("libcst")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        try:
            return (Path(folder) / "_version.py").read_bytes()
        except OSError:
            continue
    return b""


#: beside the facts code, the code that turns facts into the finished graph (package-relative)
GRAPH_CODE = ("analysis/resolve.py", "analysis/incremental.py", "analysis/externals.py",
              "graph.py")


def graph_signature(facts_signature: str) -> str:
    """``facts_signature`` (``code_signature``) extended with the resolver's own code: a
    finished graph or ledger made by another resolver must not be reused, while its facts
    still can."""
    h = hashlib.sha256(facts_signature.encode())
    package = Path(__file__).parent.parent
    for name in GRAPH_CODE:
        h.update((package / name).read_bytes())
    return h.hexdigest()[:20]


def entry_key(signature: str, module: str, rel: str, is_package: bool, content_sha: str) -> str:
    return hashlib.sha256(
        f"{signature}\0{module}\0{rel}\0{int(is_package)}\0{content_sha}".encode()).hexdigest()


class FactsCache:
    """Packs of ``key -> ModuleFacts`` under ``directory``."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory) / f"facts-v{FACTS_VERSION}"
        self.entries: dict[str, ModuleFacts] = {}
        self.packs: list[Path] = []
        self.corrupt: list[str] = []
        self.error: str | None = None

    def has_packs(self) -> bool:
        """Whether any facts are stored (without reading them)."""
        try:
            with os.scandir(self.dir) as entries:
                return any(e.name.endswith(".pack") for e in entries)
        except OSError:
            return False

    def load(self) -> dict[str, ModuleFacts]:
        try:
            names = sorted(p for p in os.listdir(self.dir) if p.endswith(".pack"))
        except FileNotFoundError:
            return self.entries
        except OSError as exc:
            self.error = f"cannot read cache {self.dir}: {exc.strerror}"
            return self.entries
        for name in names:
            path = self.dir / name
            try:
                data = path.read_bytes()
            except OSError:
                continue  # removed by a concurrent compaction
            entries = self._decode(data)
            if entries is None:
                self.corrupt.append(name)
                try:
                    path.unlink()
                except OSError:
                    pass
                continue
            self.packs.append(path)
            self.entries.update(entries)
        return self.entries

    @staticmethod
    def _decode(data: bytes) -> dict[str, ModuleFacts] | None:
        entries = _unframe(data)
        if not isinstance(entries, dict) or not all(
                isinstance(v, ModuleFacts) for v in entries.values()):
            return None
        return entries

    def _write(self, entries: dict[str, ModuleFacts]) -> Path:
        payload = pickle.dumps(dict(sorted(entries.items())), protocol=pickle.HIGHEST_PROTOCOL)
        path = self.dir / f"{hashlib.sha256(payload).hexdigest()[:24]}.pack"
        atomic_write(path, _frame(payload))
        return path

    def save(self, new: dict[str, ModuleFacts], used: set[str]) -> None:
        """Store ``new`` entries; merge all packs into one when they pile up or go stale."""
        try:
            stale = len(set(self.entries) - used)
            if self.packs and (len(self.packs) + 1 >= _COMPACT_AT or stale > len(used)):
                merged = {k: v for k, v in self.entries.items() if k in used}
                merged.update(new)
                kept = self._write(merged)
                for pack in self.packs:
                    if pack != kept:
                        try:
                            pack.unlink()
                        except OSError:
                            pass
            elif new:
                self._write(new)
        except OSError as exc:
            self.error = f"cannot write cache {self.dir}: {exc.strerror or exc}"


def _frame(payload: bytes) -> bytes:
    return MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def _unframe(data: bytes) -> object | None:
    """The object in a framed file, or None when it is damaged or not ours."""
    if not data.startswith(MAGIC):
        return None
    head_end = data.find(b"\n", len(MAGIC))
    if head_end < 0:
        return None
    payload = data[head_end + 1:]
    if hashlib.sha256(payload).hexdigest() != data[len(MAGIC):head_end].decode("ascii",
                                                                               "replace"):
        return None
    try:
        return safe_loads(payload)
    except Exception:
        return None


class GraphCache:
    """Finished graphs keyed by every file's cache key: a run in which no file changed skips
    resolution and the plug-ins too, not only parsing. Beside each graph lies its *ledger*
    (``incremental``), and ``latest-<scope>`` names the newest graph of one root, analyser
    version and set of options: the one a run with a few changed files patches."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory) / f"graph-v{FACTS_VERSION}"

    @staticmethod
    def key(parts: list[str]) -> str:
        h = hashlib.sha256()
        for part in parts:
            h.update(part.encode())
            h.update(b"\0")
        return h.hexdigest()[:32]

    def _read(self, name: str) -> object | None:
        try:
            return _unframe((self.dir / name).read_bytes())
        except OSError:
            return None

    def load(self, key: str) -> DependencyGraph | None:
        graph = self._read(f"{key}.graph")
        return graph if isinstance(graph, DependencyGraph) else None

    def latest(self, scope: str) -> tuple[DependencyGraph, object] | None:
        """The newest graph of ``scope`` with its ledger (not validated here), if any."""
        try:
            key = (self.dir / f"latest-{scope}").read_text("ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        if not key.isalnum():
            return None
        ledger = self._read(f"{key}.ledger")
        graph = self.load(key) if ledger is not None else None
        return (graph, ledger) if graph is not None else None

    def save(self, key: str, graph: DependencyGraph, ledger: object = None,
             scope: str | None = None) -> None:
        try:
            if ledger is not None:
                atomic_write(self.dir / f"{key}.ledger",
                             _frame(pickle.dumps(ledger, protocol=pickle.HIGHEST_PROTOCOL)))
            atomic_write(self.dir / f"{key}.graph",
                         _frame(pickle.dumps(graph, protocol=pickle.HIGHEST_PROTOCOL)))
            if scope is not None and ledger is not None:
                atomic_write(self.dir / f"latest-{scope}", key + "\n")
            graphs = sorted(self.dir.glob("*.graph"), key=lambda p: p.stat().st_mtime)
            keep = {p.stem for p in graphs[-2:]}  # a couple: two checkouts may share one cache
            for old in self.dir.iterdir():
                if old.suffix in (".graph", ".ledger") and old.stem not in keep:
                    old.unlink()
                elif old.name.startswith("latest-") and \
                        old.read_text("ascii", "replace").strip() not in keep:
                    old.unlink()  # names a graph that is gone (another version or options)
        except OSError:
            pass


class Hints:
    """What the last run saw of each file: size, modification time and content hash.

    A run that follows an edit has one or two files to parse, and the parse is most of its
    time. The first parser process reads these hints as soon as it starts, compares them with
    the files' current size and mtime (a ``stat`` each, no reading) and begins parsing the
    files that changed before the main process has even found them. It is only a guess: the
    main process uses a guessed file's facts only for the exact work item it would have
    submitted itself (same path, module and content hash), so stale or hostile hints can cost
    time, never a wrong graph."""

    VERSION = 1
    MOST = 8  # more changed files than this is a checkout or a rebase: parse them as usual

    def __init__(self, directory: str | os.PathLike[str], root: Path, plugins: bool) -> None:
        self.root = root
        self.plugins = plugins
        name = hashlib.sha256(f"{root}\0{int(plugins)}".encode()).hexdigest()[:24]
        self.path = Path(directory) / "hints" / f"{name}.json"

    def save(self, files: list[tuple[Any, str]]) -> None:
        """Record ``(SourceFile, content sha)`` for every file of this run."""
        rows = sorted([f.rel, f.module, f.is_package, f.size, f.mtime_ns, sha] for f, sha in files)
        text = json.dumps({"version": self.VERSION, "root": str(self.root),
                           "plugins": self.plugins, "files": rows}, separators=(",", ":"))
        try:
            atomic_write(self.path, text)
        except OSError:
            pass  # hints only save time

    def guess(self) -> list[tuple[Any, ...]]:
        """Work items (as ``parse.WorkItem``) for the files that changed since the hints were
        saved; empty when there are none, too many, or no usable hints."""
        try:
            data = json.loads(self.path.read_bytes())
            if data.get("version") != self.VERSION or data.get("root") != str(self.root) or \
                    data.get("plugins") is not self.plugins:
                return []
            changed = []
            for rel, module, is_package, size, mtime_ns, sha in data["files"]:
                parts = PurePosixPath(rel).parts
                if not parts or rel.startswith("/") or ".." in parts:
                    continue
                try:
                    st = os.stat(self.root / rel)
                except OSError:
                    continue  # removed: nothing to parse
                if st.st_size != size or st.st_mtime_ns != mtime_ns:
                    changed.append((rel, module, is_package, sha))
                    if len(changed) > self.MOST:
                        return []
            items = []
            for rel, module, is_package, sha in changed:
                content = (self.root / rel).read_bytes()
                new_sha = hashlib.sha256(content).hexdigest()
                if new_sha != sha:  # touched but unchanged files need no parse
                    items.append((rel, str(module), bool(is_package), new_sha, content,
                                  self.plugins))
            return items
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return []
