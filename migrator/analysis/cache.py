"""Content-hash cache of per-file facts, finished graphs, their ledgers and the guess.

Keys hash the file's bytes together with its module name, its path and a signature of the
analyser's own code (so editing the analyser or a plug-in invalidates everything). Entries live
in *packs*: one file per run holding the facts that run had to parse (their rows, then each
module's name uses apart, decoded only when the module is resolved). A run reads every pack,
so a second run with nothing changed parses nothing, and a run after one edit parses one file
and writes a pack of one entry.

The analysed tree is untrusted (a pull request from a stranger), so the cache is built so that
no bytes in it can do harm (SECURITY.md, promise 3):

* it lives outside the tree by default, in the user's cache directory
  (``$XDG_CACHE_HOME/migrator`` or ``~/.cache/migrator``), one folder per tree keyed by the
  hash of the tree's resolved path, so a repository cannot plant one;
* its files are plain data (``cacheformat``: JSON rebuilt into migrator's own data classes),
  never pickles, so even a forged file cannot run code;
* every file carries an HMAC-SHA256 of its kind and payload under a key kept in the user's
  cache directory (``key``, mode 0600), so a file migrator did not write itself, in a cache
  folder inside the tree (``--cache-dir``) or anywhere else, is refused;
* every file is opened without following links and without blocking, checked to be a regular
  file of bounded size (``read_regular``): a link, FIFO, device or huge file is discarded as
  corrupt with a note, never read;
* writes go to a temporary file named after the writing process and are renamed into place;
  temporaries left by a killed run are removed by the next one (``clean_leftovers``).

Concurrent runs are safe because packs are never modified in place: a run only adds packs, and
compaction (merging the packs into one with only the entries the run used) deletes only packs
that this run read itself.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import stat
import time
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from migrator.analysis import cacheformat
from migrator.analysis.facts import FACTS_VERSION, ModuleFacts, WorkItem
from migrator.graph import DependencyGraph
from migrator.util import fs

MAGIC = b"MIGRATOR-CACHE 3\n"
MAX_CACHE_FILE = 512 * 1024 * 1024  # bytes: more than any real project's facts or graph
MAX_SMALL_FILE = 16 * 1024 * 1024  # the guess, ``latest-*`` pointers, the distribution map
KEY_NAME = "key"
_KEY_BYTES = 32
_LEFTOVER_AGE = 3600.0  # seconds after which a temporary file is removed whoever wrote it


class CacheFileError(Exception):
    """A cache file that is not a readable regular file of bounded size (the message says
    what it is instead)."""


def read_regular(
    path: str | os.PathLike[str], limit: int, root: str | os.PathLike[str] | None = None
) -> bytes:
    """The bytes of ``path`` when it is a regular file of at most ``limit`` bytes, opened
    without following a link (or, with ``root``, only links that stay under ``root``) and
    without blocking (``util.fs.read_regular``); ``CacheFileError`` saying what it is
    otherwise (a link, a FIFO, a device, too large), ``FileNotFoundError`` when it is missing."""
    try:
        return fs.read_regular(
            os.fspath(path), root=None if root is None else os.fspath(root), max_bytes=limit
        )
    except fs.FileError as exc:
        if exc.missing:
            raise FileNotFoundError(errno.ENOENT, exc.why, os.fspath(path)) from None
        raise CacheFileError(exc.why) from None


# -- where the cache lives, and its key -------------------------------------------------------
def user_cache_home() -> Path | None:
    """``$XDG_CACHE_HOME/migrator``, else ``~/.cache/migrator`` (None without a home)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "migrator"


def default_cache_dir(root: str | os.PathLike[str]) -> Path | None:
    """The cache folder of the tree at ``root`` in the user's cache directory: one per tree
    (the hash of its resolved path), none inside it."""
    home = user_cache_home()
    if home is None:
        return None
    name = hashlib.sha256(os.path.realpath(root).encode("utf-8", "surrogateescape"))
    return home / "trees" / name.hexdigest()[:24]


def cache_key() -> bytes:
    """The secret that signs every cache file, from ``<user cache home>/key`` (created with
    32 random bytes, mode 0600, when missing). ``OSError`` when it cannot be had or the file
    is not a private regular file of this user."""
    home = user_cache_home()
    if home is None:
        raise OSError("no home directory for the cache key")
    return _load_key(str(home / KEY_NAME))


@lru_cache(maxsize=4)
def _load_key(path: str) -> bytes:
    for _ in range(3):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            _create_key(path)
            continue
        except OSError as exc:
            raise OSError(
                f"cannot open the cache key {path}: "
                f"{'a symbolic link' if exc.errno == errno.ELOOP else exc.strerror}"
            ) from None
        try:
            st = os.fstat(fd)
            if (
                not stat.S_ISREG(st.st_mode)
                or st.st_uid != os.getuid()
                or st.st_mode & 0o077
                or st.st_size != _KEY_BYTES
            ):
                raise OSError(
                    f"the cache key {path} is not a private {_KEY_BYTES}-byte file of "
                    "this user: remove it to make a new one"
                )
            return os.read(fd, _KEY_BYTES)
        finally:
            os.close(fd)
    raise OSError(f"cannot create the cache key {path}")


def _create_key(path: str) -> None:
    """Write a new key beside ``path`` and link it into place: a concurrent run that made one
    first wins, and nobody ever reads a half-written key."""
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, os.urandom(_KEY_BYTES))
        os.fsync(fd)
        os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


# -- files ------------------------------------------------------------------------------------
def _mac(kind: bytes, payload: bytes | memoryview, key: bytes) -> bytes:
    mac = hmac.new(key, kind + b"\0", hashlib.sha256)
    mac.update(payload)  # not ``kind + payload``: a copy of a graph's megabytes
    return mac.hexdigest().encode()


def _frame(kind: bytes, payload: bytes, key: bytes) -> bytes:
    return b"".join((MAGIC, _mac(kind, payload, key), b"\n", payload))


def _unframe(kind: bytes, data: bytes, key: bytes) -> memoryview | None:
    """The payload of a file migrator wrote with ``key`` for ``kind`` (a view into ``data``,
    not a copy), or None (damaged, forged, another kind or another format)."""
    if not data.startswith(MAGIC):
        return None
    head_end = len(MAGIC) + 64
    if data[head_end : head_end + 1] != b"\n":
        return None
    payload = memoryview(data)[head_end + 1 :]
    mac = _mac(kind, payload, key)
    return payload if hmac.compare_digest(mac, data[len(MAGIC) : head_end]) else None


def _private_dir(path: Path, create: bool) -> bool:
    """Whether ``path`` is a real directory (no symbolic link) migrator may use, made when
    ``create``."""
    if create:
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return False
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def write_file(path: Path, data: bytes, sync: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file named after this process, renamed
    into place (the target is never read, so a FIFO planted there cannot block the run); with
    ``sync``, on the disk before it is renamed."""
    tmp = path.parent / f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def clean_leftovers(folder: Path) -> int:
    """Remove temporary files that runs killed outright (SIGKILL, power loss) left in
    ``folder``: those of processes that are gone, and any older than an hour. Returns how
    many."""
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            continue
        try:
            parts = entry.name.rsplit(".", 3)  # .<name>.<pid>.<random>.tmp
            pid = int(parts[1]) if len(parts) == 4 and parts[1].isdigit() else 0
            old = now - entry.stat(follow_symlinks=False).st_mtime > _LEFTOVER_AGE
            if old or not pid or not _alive(pid):
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


class Store:
    """One folder of signed cache files of one kind.

    ``durable`` stores ``fsync`` every file before renaming it into place: the facts, which
    cost a parse of every file to rebuild. The others (graphs, ledgers, the guess) are rebuilt from
    the facts in a fraction of a second, and their four ``fsync`` calls were a good part of an
    incremental run; one that a power loss leaves damaged fails its signature check and is
    discarded like any damaged file."""

    def __init__(self, directory: Path, key: bytes, durable: bool = True) -> None:
        self.dir = directory
        self.key = key
        self.durable = durable

    def read(self, name: str, kind: bytes, limit: int = MAX_CACHE_FILE) -> Any:
        """The decoded JSON of file ``name``; None when missing; ``CacheFileError`` when it is
        not a regular file, not signed with our key, or not JSON."""
        payload = self.read_payload(name, kind, limit)
        return None if payload is None else _json(payload)

    def read_payload(
        self, name: str, kind: bytes, limit: int = MAX_CACHE_FILE
    ) -> memoryview | None:
        """The verified payload of file ``name`` (a view, not a copy); None when missing;
        ``CacheFileError`` when it is not a regular file or not signed with our key."""
        try:
            data = read_regular(self.dir / name, limit)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CacheFileError(exc.strerror or str(exc)) from None
        payload = _unframe(kind, data, self.key)
        if payload is None:
            raise CacheFileError("not written by migrator for this user (bad signature)")
        return payload

    def write(self, name: str, kind: bytes, value: Any) -> Path:
        return self.write_payload(name, kind, cacheformat.dumps(value))

    def write_payload(self, name: str, kind: bytes, payload: bytes) -> Path:
        if not _private_dir(self.dir, create=True):
            raise OSError(f"{self.dir} is not a directory")
        path = self.dir / name
        write_file(path, _frame(kind, payload, self.key), self.durable)
        return path


def _json(payload: memoryview) -> Any:
    try:  # decoded from the view: no copy of the payload as bytes first
        return cacheformat.loads(str(payload, "utf-8"))
    except (ValueError, RecursionError):
        raise CacheFileError("not valid data") from None


_COMPACT_AT = 8  # packs before merging them into one


def code_signature() -> str:
    """A hash of the code that produces facts: facts, collector, parser, walker (and the field
    order it walks in), cache format and plug-ins."""
    from migrator.analysis import frameworks

    h = hashlib.sha256(f"{FACTS_VERSION}".encode())
    here = Path(__file__).parent
    for name in (
        "facts.py",
        "collect.py",
        "parse.py",
        "walk.py",
        "fieldorders.py",
        "cacheformat.py",
    ):
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
GRAPH_CODE = ("analysis/resolve.py", "analysis/incremental.py", "analysis/externals.py", "graph.py")


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
        f"{signature}\0{module}\0{rel}\0{int(is_package)}\0{content_sha}".encode()
    ).hexdigest()


class FactsCache:
    """Packs of ``key -> ModuleFacts`` under ``directory``, signed with ``key``."""

    def __init__(self, directory: str | os.PathLike[str], key: bytes) -> None:
        self.dir = Path(directory) / f"facts-v{FACTS_VERSION}"
        self.store = Store(self.dir, key)
        self.entries: dict[str, ModuleFacts] = {}
        #: the rows as read, kept when this run will merge the packs: written again as they
        #: are, not encoded again from the facts (a tenth of the time)
        self.rows: dict[str, list[Any]] = {}
        self.packs: list[Path] = []
        self.corrupt: list[str] = []  # names of the packs discarded
        self.reasons: dict[str, str] = {}  # why each was
        self.error: str | None = None

    def has_packs(self) -> bool:
        """Whether any facts are stored (without reading them)."""
        if not _private_dir(self.dir, create=False):
            return False
        try:
            with os.scandir(self.dir) as entries:
                return any(e.name.endswith(".pack") for e in entries)
        except OSError:
            return False

    def load(self) -> dict[str, ModuleFacts]:
        if not os.path.lexists(self.dir):
            return self.entries
        if not _private_dir(self.dir, create=False):
            self.error = f"cache {self.dir} is not a directory (a link?): not used"
            return self.entries
        clean_leftovers(self.dir)
        try:
            names = sorted(p for p in os.listdir(self.dir) if p.endswith(".pack"))
        except OSError as exc:
            self.error = f"cannot read cache {self.dir}: {exc.strerror}"
            return self.entries
        for name in names:
            path = self.dir / name
            try:
                payload = self.store.read_payload(name, b"facts")
                if payload is None:
                    continue  # removed by a concurrent compaction
                entries = self._decode(
                    payload, name, self.rows if len(names) + 1 >= _COMPACT_AT else None
                )
            except CacheFileError as exc:
                self.corrupt.append(name)
                self.reasons[name] = str(exc)
                try:
                    path.unlink()  # a link or FIFO itself, never what it points to
                except OSError:
                    pass
                continue
            self.packs.append(path)
            self.entries.update(entries)
        return self.entries

    def note(self) -> str | None:
        """What a run says about the packs it discarded (None: none)."""
        if not self.corrupt:
            return None
        first = self.corrupt[0]
        return (
            f"{len(self.corrupt)} corrupted cache pack(s) discarded and rebuilt "
            f"({first}: {self.reasons[first]})"
        )

    @staticmethod
    def _decode(
        payload: memoryview, name: str, keep: dict[str, list[Any]] | None = None
    ) -> dict[str, ModuleFacts]:
        """A pack: one JSON object of facts rows, a newline, then the name uses of every
        entry, the span of each at the end of its row (``cacheformat.name_uses``)."""
        data: Any = payload.obj  # the bytes the view was cut from
        start = len(data) - len(payload)
        cut = data.find(b"\n", start)
        if cut < 0:
            raise CacheFileError("not a facts pack")
        rows = _json(payload[: cut - start])
        uses = payload[cut - start + 1 :]
        if type(rows) is not dict:
            raise CacheFileError("not a facts pack")
        out = {}
        try:
            for k, (*row, (at, size)) in rows.items():
                if not (
                    type(at) is int and type(size) is int and 0 <= at <= at + size <= len(uses)
                ):
                    raise ValueError("name uses out of the pack")
                out[str(k)] = mf = cacheformat.decode_facts(row)
                cacheformat.defer_uses(mf, uses[at : at + size], name)
                if keep is not None:
                    keep[str(k)] = row
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError):
            raise CacheFileError("malformed facts") from None
        return out

    def _write(self, entries: dict[str, ModuleFacts]) -> Path:
        rows, uses, at = {}, [], 0
        for k, mf in sorted(entries.items()):
            try:
                row = self.rows.get(k) or cacheformat.encode_facts(mf, uses=False)
            except TypeError:
                continue  # plug-in facts that are not plain data: parsed again next time
            text = cacheformat.encode_uses(mf)  # as read, for facts from a pack
            rows[k] = [*row, [at, len(text)]]
            uses.append(text)
            at += len(text)
        payload = b"\n".join((cacheformat.dumps(rows), b"".join(uses)))
        return self.store.write_payload(
            f"{hashlib.sha256(payload).hexdigest()[:24]}.pack", b"facts", payload
        )

    def clear(self) -> None:
        """Remove every pack (a pack whose name uses turned out damaged)."""
        for pack in self.dir.glob("*.pack"):
            try:
                pack.unlink()
            except OSError:
                pass

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


#: a graph patched from a full one is stored as its changes from it while they touch at most
#: one node in this many (loading it reads the full graph too); beyond, the whole graph
MAX_DELTA_SHARE = 8

#: where a graph came from: the full graph it was loaded from, and the nodes changed since
Origin = tuple[str, set[str]]


class GraphCache:
    """Finished graphs keyed by every file's cache key: a run in which no file changed skips
    resolution and the plug-ins too, not only parsing. Beside each graph lies its *ledger*
    (``incremental``), and ``latest-<scope>`` names the newest graph of one root, analyser
    version and set of options: the one a run with a few changed files patches.

    A graph is ``<key>.graph`` (whole) or, when a run patched it from a whole one,
    ``<key>+<base>.delta``: the nodes that changed since graph ``<base>``
    (``cacheformat.encode_delta``), a hundredth of the bytes after an edit. A delta names its
    base inside its signed payload too, and is always relative to a whole graph (no chains)."""

    def __init__(self, directory: str | os.PathLike[str], key: bytes) -> None:
        self.dir = Path(directory) / f"graph-v{FACTS_VERSION}"
        self.store = Store(self.dir, key, durable=False)
        self.notes: list[str] = []  # files discarded, and why

    @staticmethod
    def key(parts: list[str]) -> str:
        h = hashlib.sha256()
        for part in parts:
            h.update(part.encode())
            h.update(b"\0")
        return h.hexdigest()[:32]

    def _read(self, name: str, kind: bytes, limit: int = MAX_CACHE_FILE) -> Any:
        try:
            return self.store.read(name, kind, limit)
        except CacheFileError as exc:
            self.notes.append(f"{self.dir.name}/{name} discarded: {exc}")
            return None

    def load(self, key: str) -> DependencyGraph | None:
        found = self.load_with_origin(key)
        return found[0] if found is not None else None

    def load_with_origin(self, key: str) -> tuple[DependencyGraph, Origin] | None:
        """Graph ``key`` and where it came from (``Origin``), or None."""
        name = f"{key}.graph"
        try:
            with os.scandir(self.dir) as entries:
                deltas = sorted(
                    e.name
                    for e in entries
                    if e.name.startswith(f"{key}+") and e.name.endswith(".delta")
                )
        except OSError:
            deltas = []
        if not deltas or os.path.lexists(self.dir / name):
            data = self._decoded(name, self._read(name, b"graph"))
            return (data, (key, set())) if data is not None else None
        name = deltas[0]
        delta = self._read(name, b"delta")
        base = name[len(key) + 1 : -len(".delta")]
        if delta is None:
            return None
        if type(delta) is not dict or delta.get("base") != base or not base.isalnum():
            self.notes.append(f"{self.dir.name}/{name} discarded: not a delta of graph {base}")
            return None
        graph = self._decoded(f"{base}.graph", self._read(f"{base}.graph", b"graph"))
        if graph is None:
            return None
        try:
            return graph, (base, cacheformat.apply_delta(graph, delta))
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError):
            self.notes.append(f"{self.dir.name}/{name} discarded: malformed graph delta")
            return None

    def _decoded(self, name: str, data: Any) -> DependencyGraph | None:
        if data is None:
            return None
        try:
            return cacheformat.decode_graph(data)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError):
            self.notes.append(f"{self.dir.name}/{name} discarded: malformed graph")
            return None

    def latest(self, scope: str) -> tuple[DependencyGraph, object, Origin] | None:
        """The newest graph of ``scope`` with its ledger (checked for its types, not for
        what it says) and its origin, if any."""
        pointer = self._read(f"latest-{scope}", b"latest", MAX_SMALL_FILE)
        if not isinstance(pointer, dict) or pointer.get("scope") != scope:
            return None
        key = pointer.get("key")
        if not isinstance(key, str) or not key.isalnum():
            return None
        data = self._read(f"{key}.ledger", b"ledger")
        if not isinstance(data, dict):
            return None
        try:
            ledger = cacheformat.decode_ledger(data)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError):
            self.notes.append(f"{self.dir.name}/{key}.ledger discarded: malformed ledger")
            return None
        found = self.load_with_origin(key)
        return (found[0], ledger, found[1]) if found is not None else None

    def save(
        self,
        key: str,
        graph: DependencyGraph,
        ledger: dict[str, Any] | None = None,
        scope: str | None = None,
        origin: Origin | None = None,
    ) -> None:
        """Store graph ``key``: as its changes from the whole graph of ``origin`` (a patched
        graph: the base and every node changed since) when they are few and the base is
        still there, else whole."""
        try:
            if (
                origin is not None
                and origin[0] != key
                and len(origin[1]) * MAX_DELTA_SHARE <= len(graph.g)
                and os.path.isfile(self.dir / f"{origin[0]}.graph")
            ):
                name, kind = f"{key}+{origin[0]}.delta", b"delta"
                encoded = cacheformat.encode_delta(graph, *origin)
            else:
                name, kind, encoded = f"{key}.graph", b"graph", cacheformat.encode_graph(graph)
            if ledger is not None:
                self.store.write(f"{key}.ledger", b"ledger", cacheformat.encode_ledger(ledger))
            self.store.write(name, kind, encoded)
            if scope is not None and ledger is not None:
                self.store.write(f"latest-{scope}", b"latest", {"scope": scope, "key": key})
            self._prune()
        except (OSError, TypeError, ValueError):
            pass  # a graph that is not plain data, or a full disk: built again next time

    def _prune(self) -> None:
        """Keep the two newest graphs (two checkouts may share one cache), the whole graphs
        their deltas need, their ledgers and the pointers to them; remove the rest and the
        leftovers of killed runs."""
        clean_leftovers(self.dir)
        graphs = []  # (mtime, key, file, base)
        for entry in os.scandir(self.dir):
            stem, _, suffix = entry.name.rpartition(".")
            if suffix in ("graph", "delta"):
                key, _, base = stem.partition("+") if suffix == "delta" else (stem, "", "")
                graphs.append((entry.stat(follow_symlinks=False).st_mtime, key, entry.name, base))
        newest = sorted(graphs)[-2:]
        keep = {key for _, key, _, _ in newest}
        files = (
            {name for _, _, name, _ in newest}
            | {f"{key}.ledger" for key in keep}
            | {f"{base}.graph" for *_, base in newest if base}
        )
        for entry in os.scandir(self.dir):
            suffix = entry.name.rpartition(".")[2]
            if suffix in ("graph", "delta", "ledger") and entry.name not in files:
                os.unlink(entry.path)
            elif entry.name.startswith("latest-"):
                try:
                    pointer = self.store.read(entry.name, b"latest", MAX_SMALL_FILE)
                except CacheFileError:
                    pointer = None
                if not isinstance(pointer, dict) or pointer.get("key") not in keep:
                    os.unlink(entry.path)  # names a graph that is gone (another version ...)


class Guess:
    """The guess: which files changed since the last run, made from what that run saw of each
    file (``record``: size, modification time and content hash).

    A run that follows an edit has one or two files to parse, and the parse is most of its
    time. The first parser process makes the guess as soon as it starts (``items``): it
    compares the record with the files' current size and mtime (an ``lstat`` each, no
    reading) and begins parsing the files that changed before the main process has even found
    them. The main process uses a guessed file's facts only for the exact work item it would
    have submitted itself (same path, module and content hash), so a stale or hostile record
    can cost time, never a wrong graph. The record is signed like every cache file, and the files it names
    are read only when they are regular files inside ``target`` (the analysed PATH, resolved)
    of at most ``max_size`` bytes, opened without following links and without blocking."""

    VERSION = 2
    MOST = 8  # more changed files than this is a checkout or a rebase: parse them as usual

    def __init__(
        self,
        directory: str | os.PathLike[str],
        key: bytes,
        root: Path,
        plugins: bool,
        target: Path | None = None,
        max_size: int = 0,
    ) -> None:
        self.root = root
        self.target = target if target is not None else root
        self.plugins = plugins
        self.max_size = max_size if max_size > 0 else MAX_SMALL_FILE
        name = hashlib.sha256(f"{root}\0{int(plugins)}".encode()).hexdigest()[:24]
        self.store = Store(Path(directory) / "guess", key, durable=False)
        self.name = f"{name}.json"
        self.path = self.store.dir / self.name

    def record(self, files: list[tuple[Any, str]]) -> None:
        """Record ``(SourceFile, content sha)`` for every file of this run."""
        rows = sorted([f.rel, f.module, f.is_package, f.size, f.mtime_ns, sha] for f, sha in files)
        try:
            clean_leftovers(self.store.dir)
            clean_leftovers(self.store.dir.parent)  # the distribution map's
            self.store.write(
                self.name,
                b"guess",
                {
                    "version": self.VERSION,
                    "root": str(self.root),
                    "plugins": self.plugins,
                    "files": rows,
                },
            )
        except OSError:
            pass  # the guess only saves time

    def items(self) -> list[WorkItem]:
        """Work items for the files that changed since the record was written; empty when
        there are none, too many, or no usable record."""
        try:
            data = self.store.read(self.name, b"guess", MAX_CACHE_FILE)
            if (
                not isinstance(data, dict)
                or data.get("version") != self.VERSION
                or data.get("root") != str(self.root)
                or data.get("plugins") is not self.plugins
            ):
                return []
            changed = []
            for rel, module, is_package, size, mtime_ns, sha in data["files"]:
                path = self._inside(rel)
                if path is None:
                    continue
                try:
                    st = os.lstat(path)
                except OSError:
                    continue  # removed: nothing to parse
                if not stat.S_ISREG(st.st_mode):
                    continue
                if st.st_size != size or st.st_mtime_ns != mtime_ns:
                    changed.append((path, rel, module, is_package, sha))
                    if len(changed) > self.MOST:
                        return []
            items = []
            for path, rel, module, is_package, sha in changed:
                try:  # only inside PATH, every link on the way resolved
                    content = read_regular(path, self.max_size, root=self.target)
                except (OSError, CacheFileError):
                    continue
                new_sha = hashlib.sha256(content).hexdigest()
                if new_sha != sha:  # touched but unchanged files need no parse
                    items.append(
                        WorkItem(rel, str(module), bool(is_package), new_sha, content, self.plugins)
                    )
            return items
        except (OSError, CacheFileError, ValueError, TypeError, KeyError, AttributeError):
            return []

    def _inside(self, rel: object) -> Path | None:
        """``root / rel`` for a relative path without ``..`` (None otherwise)."""
        if not isinstance(rel, str) or not rel or "\0" in rel:
            return None
        parts = PurePosixPath(rel).parts
        if rel.startswith("/") or ".." in parts:
            return None
        return self.root / rel
