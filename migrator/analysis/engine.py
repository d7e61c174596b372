"""The analyser's execution layer: everything that makes a run fast, behind one object.

``analyze`` (``migrator.analysis``) is the pure core's steps: discover, read, parse, resolve.
How the parse and the resolution are done is this module's business, through ``Engine``:

* ``plan`` hashes each file and gives it its cache key (``Work``);
* ``cached_graph`` is the finished graph of exactly these files, when a run left it;
* ``facts`` takes each file's facts from the facts cache or hands it to the ``Executor`` (the
  parser processes of ``isolate.Parser``: the zygote, the guess, a resident parser);
* ``patched`` is the previous graph with only what changed resolved again (``incremental``);
* ``keep`` stores a graph built from scratch, with the ledger that lets the next run patch it.

The engine decides every speed trade-off itself: how many parser processes to start before
discovery ends (``prestart``), whether the first of them makes the guess (``cache.Guess``),
and whether it is a resident parser (``resident.wanted``: ``MIGRATOR_RESIDENT_PARSER``, which the
command line turns on and a library call leaves off; never without the cache). What a run did
is a ``Stats``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from migrator.analysis.discover import Discovery, SourceFile, project_root
from migrator.analysis.facts import ModuleFacts, WorkItem
from migrator.analysis.isolate import TIME_LIMIT_CODE, Parser, Progress
from migrator.graph import DependencyGraph

if TYPE_CHECKING:
    from migrator.analysis.cache import FactsCache, GraphCache, Guess


@dataclass
class Stats:
    """What one run did (``analyze_with_stats``)."""

    files: int = 0
    parsed: int = 0
    guessed: int = 0  # of those parsed, how many the first parser process had guessed
    resident: bool = False  # the first parser process was one left by an earlier run
    cached: int = 0
    jobs: int = 1
    resolution: str = "full"  # "cached" (the finished graph), "incremental" (patched), "full"
    resolved: int = 0  # modules whose names were resolved this run
    cache_dir: str | None = None
    cache_notes: list[str] = field(default_factory=list)


class Executor(Protocol):
    """Turns work items into facts (``isolate.Parser``): ``submit`` returns at once,
    ``results`` waits for every item's facts, in order."""

    guessed: int
    resident: bool

    def submit(self, items: list[WorkItem]) -> None: ...

    def results(self) -> list[ModuleFacts]: ...


@dataclass
class Work:
    """The files of one run, read and hashed, and the keys the caches know them by."""

    root: Path
    files: list[tuple[SourceFile, bytes, str, str]]  # file, bytes, sha256, facts-cache key
    graph_key: str = ""  # the finished graph of exactly these files
    scope: str = ""  # every graph of this tree and analyser code


class Engine:
    """Parser processes and caches for one ``analyze`` call. Enter it before discovery (its
    parser processes start at once, beside it); a run that fails on damaged cached facts
    calls ``forget_facts`` and enters it again."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        jobs: int | None,
        cache_dir: str | os.PathLike[str] | None,
        use_cache: bool,
        progress: Progress | None,
        time_limit: float | None,
        plugins: bool,
        max_file_size: int,
    ) -> None:
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.plugins = plugins
        self.stats = Stats(jobs=self.jobs)
        self._progress = progress
        self._time_limit = time_limit
        self._cache_dir = cache_dir
        self._root = project_root(path)
        self._at: Path | None = None
        self._key = b""
        self._unused: str | None = None
        self._damaged: str | None = None
        self._guess: Guess | None = None
        has_facts = False
        if use_cache and self._root is not None:
            from migrator.analysis.cache import FactsCache, Guess

            self._at, self._key, self._unused = _cache_place(cache_dir, self._root)
            if self._at is not None:
                self._guess = Guess(
                    self._at,
                    self._key,
                    self._root,
                    plugins,
                    target=Path(path).resolve(),
                    max_size=max_file_size,
                )
                has_facts = FactsCache(self._at, self._key).has_packs()
        # with a second core, parser processes start now and load libcst (and parse the files
        # the guess names) while this one finds and hashes the files: one for a run that has
        # facts to reuse (it has a file or two to parse), all of them for a run that has none
        # (a zygote loads libcst once for them while this process loads what it needs itself)
        self.prestart = 0
        if (os.cpu_count() or 1) > 1:
            self.prestart = 1 if has_facts else min(self.jobs, os.cpu_count() or 1)
        self._resident_at = None
        if self.prestart and use_cache:  # ``--no-cache``: no state left between runs
            from migrator.analysis import resident

            if resident.wanted():
                from migrator.analysis.cache import code_signature

                self._resident_at = resident.address(code_signature())
        self._parser: Parser | None = None
        self._facts: FactsCache | None = None
        self._graphs: GraphCache | None = None
        self._previous: tuple[DependencyGraph | None, object, Any] | None = None
        self._complete = False  # every file's facts are cached (no time limit cut a parse)

    # -- a session: one attempt at the run ---------------------------------------------------

    def __enter__(self) -> Engine:
        self.stats = Stats(jobs=self.jobs, cache_notes=[self._unused] if self._unused else [])
        self._parser = Parser(
            self.jobs,
            self._progress,
            self._time_limit,
            prestart=self.prestart,
            guess=self._guess.items if self._guess is not None and self.prestart else None,
            resident_at=self._resident_at,
        ).__enter__()
        if self.prestart > 1:  # a zygote is loading the parser for the workers: prepare beside it
            _prepare(self.plugins, self._at, self._key)
        return self

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        parser, self._parser = self._parser, None
        if parser is not None:
            parser.__exit__(kind, value, traceback)
        if kind is None and self._damaged is not None:
            self.stats.cache_notes.append(self._damaged)

    def forget_facts(self, exc: Exception) -> None:
        """Discard the facts cache after ``exc`` (name uses of cached facts that do not decode:
        a pack forged with the user's key, or a bug), so that the run can start again and
        rebuild it; raise ``exc`` when there is none, or this already happened once."""
        if self._damaged is not None or self._at is None:
            raise exc
        from migrator.analysis.cache import FactsCache

        FactsCache(self._at, self._key).clear()
        self._damaged = f"damaged facts cache discarded and rebuilt ({exc})"

    # -- the steps of a run, in order ----------------------------------------------------------

    def plan(self, disc: Discovery, files: list[tuple[SourceFile, bytes]]) -> Work:
        """The run's files (those of ``disc`` that could be read), hashed and keyed for the
        caches of the root where discovery put it."""
        from migrator.analysis.cache import (
            FactsCache,
            GraphCache,
            code_signature,
            entry_key,
            graph_signature,
        )

        root = disc.root
        self.stats.files = len(disc.files)
        if self._at is not None and root != self._root:
            self._at, self._key, _ = _cache_place(self._cache_dir, root)
            self._root = root
        if self._guess is not None and self._guess.root != root:
            self._guess = None
        self._facts = self._graphs = None
        signature = ""
        if self._at is not None:
            self.stats.cache_dir = str(self._at)
            self._facts = FactsCache(self._at, self._key)
            self._graphs = GraphCache(self._at, self._key)
            signature = code_signature() + ("" if self.plugins else "-core")
        work = Work(root, [])
        for f, data in files:
            sha = hashlib.sha256(data).hexdigest()
            key = entry_key(signature, f.module, f.rel, f.is_package, sha) if signature else ""
            work.files.append((f, data, sha, key))
        if self._graphs is not None:
            work.scope = self._graphs.key([graph_signature(signature), str(root)])
            work.graph_key = self._graphs.key([work.scope, *sorted(k for *_, k in work.files)])
        return work

    def cached_graph(self, work: Work) -> DependencyGraph | None:
        """The finished graph of exactly these files, when an earlier run left it: neither
        facts nor the resolver are needed then."""
        if self._graphs is None:
            return None
        graph = self._graphs.load(work.graph_key)
        self._notes(self._graphs.notes)
        if graph is not None:
            self.stats.cached = len(work.files)
            self.stats.resolution = "cached"
        return graph

    def facts(self, work: Work) -> dict[str, ModuleFacts]:
        """Every file's facts: from the facts cache, or parsed by the executor (while it
        parses, this process loads the resolver and the previous graph)."""
        cache = self._facts
        if cache is not None:
            cache.load()
            self._notes([n for n in (cache.note(), cache.error) if n])
            cache.error = None
        facts: dict[str, ModuleFacts] = {}
        todo, keys, used = [], {}, set()
        for f, data, sha, key in work.files:
            keys[f.module] = key
            hit = cache.entries.get(key) if cache is not None else None
            if hit is not None:
                facts[f.module] = hit
                used.add(key)
                continue
            todo.append(WorkItem(f.rel, f.module, f.is_package, sha, data, self.plugins))
        self.stats.cached = len(facts)
        self.stats.parsed = len(todo)
        assert self._parser is not None, "Engine.facts outside its session"
        executor: Executor = self._parser
        executor.submit(todo)
        if self._guess is not None:  # for the next run's guess: this one's has been made now
            self._guess.record([(f, sha) for f, _, sha, _ in work.files])
        # while the workers parse; the plug-ins are imported when they run (an edit that keeps
        # the facts runs none)
        _prepare(False, self._at, self._key)
        if self._graphs is not None:
            self._previous = self._graphs.latest(work.scope)
            self._notes(self._graphs.notes)
        parsed = executor.results()
        self.stats.guessed, self.stats.resident = executor.guessed, executor.resident
        new = {}
        for mf in parsed:
            facts[mf.module] = mf
            if cache is not None and not any(d.code == TIME_LIMIT_CODE for d in mf.diagnostics):
                new[keys[mf.module]] = mf  # a timeout depends on the load: try again next run
        if cache is not None:
            cache.save(new, used | set(new))
            if cache.error:
                self.stats.cache_notes.append(cache.error)
        self._complete = len(new) == len(parsed)
        return facts

    def patched(self, work: Work, facts: dict[str, ModuleFacts]) -> DependencyGraph | None:
        """The previous run's graph patched where files changed (``incremental``), stored for
        the next run; None when there is none that can be patched."""
        from migrator.analysis import incremental

        old_graph, old_ledger, old_origin = self._previous or (None, None, None)
        self._previous = None
        if old_graph is None or old_origin is None or not incremental.valid_ledger(old_ledger):
            return None
        cache = self._facts
        try:
            patched = incremental.patch(
                old_graph,
                old_ledger,
                facts,
                {f.module: key for f, _, _, key in work.files},
                self.plugins,
                cache.entries.get if cache is not None else None,
            )
        except Exception as exc:  # a damaged ledger must cost a rebuild, never the run
            self.stats.cache_notes.append(
                f"could not update the previous graph ({type(exc).__name__}:"
                f" {exc}); rebuilt it from scratch"
            )
            return None
        if patched is None:
            return None
        ledger, self.stats.resolved, dirty = patched
        self.stats.resolution = "incremental"
        old_graph.sort_records()
        # stored as its changes from the graph it was patched from
        self._store(work, old_graph, ledger, (old_origin[0], old_origin[1] | dirty))
        return old_graph

    def keep(
        self,
        work: Work,
        graph: DependencyGraph,
        facts: dict[str, ModuleFacts],
        info: dict[str, Any],
    ) -> None:
        """Store ``graph``, built from scratch from ``facts`` (``info``: what the resolver
        recorded for patching it, ``resolve.build_graph_for_patching``)."""
        from migrator.analysis import incremental

        self.stats.resolution, self.stats.resolved = "full", len(facts)
        if self._graphs is not None:
            keys = {f.module: key for f, _, _, key in work.files}
            self._store(work, graph, incremental.make_ledger(keys, facts, info), None)

    def _store(
        self, work: Work, graph: DependencyGraph, ledger: dict[str, Any], origin: Any
    ) -> None:
        if self._graphs is not None and self._complete:
            self._graphs.save(work.graph_key, graph, ledger, work.scope, origin)

    def _notes(self, notes: list[str]) -> None:
        self.stats.cache_notes.extend(notes)
        notes.clear()


def _cache_place(
    cache_dir: str | os.PathLike[str] | None, root: Path
) -> tuple[Path | None, bytes, str | None]:
    """Where the cache of the tree at ``root`` lives (``cache_dir``, else the user's cache
    directory: never the tree itself, which may come from a stranger) and the key that signs
    it; (None, b"", why) when there is no usable cache."""
    from migrator.analysis.cache import cache_key, default_cache_dir

    at = Path(cache_dir) if cache_dir is not None else default_cache_dir(root)
    if at is None:
        return None, b"", "not used: no home directory for it (give --cache-dir)"
    if _linked_inside(Path(os.path.abspath(at)), root):
        return None, b"", f"not used: {at} is a symbolic link inside the analysed tree"
    try:
        return at, cache_key(), None
    except OSError as exc:
        return None, b"", f"not used: {exc}"


def _linked_inside(path: Path, root: Path) -> bool:
    """Whether ``path`` lies in ``root`` with a symbolic link on the way: a cache folder the
    tree itself could point anywhere (``.migrator-cache -> ~/.ssh``)."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        return False
    current = root
    for part in rel.parts:
        current = current / part
        if current.is_symlink():
            return True
    return False


def _prepare(plugins: bool, cache_dir: Path | None, key: bytes = b"") -> None:
    """Load what the parent needs to build the graph: the resolver (networkx), the plug-ins'
    code and the map of installed distributions: 0.15 s or more, most of it networkx. A run
    calls this while parser processes work, or load the parser, on the other cores; a second
    call costs nothing."""
    from migrator.analysis import externals, incremental, resolve  # noqa: F401

    if plugins:
        from migrator.analysis import frameworks

        frameworks.plugins()
    externals.use_cache(cache_dir, key)
    externals.prepare()
