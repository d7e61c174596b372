"""Stage 1: parse a Python codebase (never importing it) into a ``DependencyGraph``.

Pipeline: ``discover`` finds files and module names; the parent reads and hashes each file and
takes what it can from the facts cache; the rest is parsed in worker processes, each returning
small ``ModuleFacts`` (never trees); ``resolve.build_graph`` joins all facts into the graph and
runs the framework plug-ins; ``finalize`` sorts everything so output is deterministic.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrator.analysis.cacheformat import DamagedUses
from migrator.analysis.discover import (
    DEFAULT_MAX_FILE_SIZE,
    Discovery,
    PathError,
    SourceFile,
    discover,
    project_root,
)
from migrator.analysis.facts import ModuleFacts, WorkItem
from migrator.analysis.isolate import DEFAULT_TIME_LIMIT, TIME_LIMIT_CODE, Parser
from migrator.graph import DependencyGraph, Diagnostic

if TYPE_CHECKING:
    from migrator.analysis.cache import Hints

__all__ = ["AnalysisError", "PathError", "Stats", "analyze", "DEFAULT_CACHE_DIR"]

DEFAULT_CACHE_DIR = ".migrator-cache"

# progress callback: (files done, files to parse)
Progress = Callable[[int, int], None]


class AnalysisError(Exception):
    """``strict`` analysis found problems (the graph is attached)."""

    def __init__(self, message: str, graph: DependencyGraph) -> None:
        super().__init__(message)
        self.graph = graph


@dataclass
class Stats:
    """What one run did; kept on the graph as ``graph.stats`` (not serialised)."""

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


def portable_root(root: Path) -> str:
    """The root as written into the graph: relative to the working directory when below it, so
    that the same checkout analysed from its top gives the same bytes wherever it lives."""
    try:
        rel = root.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return str(root)
    return rel.as_posix() or "."


def _read(
    files: list[SourceFile], root: Path
) -> tuple[list[tuple[SourceFile, bytes]], list[Diagnostic]]:
    out, diags = [], []
    for f in files:
        try:
            data = f.path.read_bytes()
        except OSError as exc:
            diags.append(Diagnostic(f.rel, 1, "unreadable", exc.strerror or str(exc), "error"))
            continue
        out.append((f, data))
    return out, diags


def _without_gc(func: Callable[..., DependencyGraph]) -> Callable[..., DependencyGraph]:
    """Run ``func`` with the cyclic garbage collector paused. Unpickling the facts and
    building the graph allocate millions of small objects, and each of the collector's full
    passes rescans all of them: that was more than half of the resolution time on Django.
    Nothing the analyser builds depends on cycles being collected early."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> DependencyGraph:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return wrapper


@_without_gc
def analyze(
    path: str | os.PathLike[str],
    *,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    jobs: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
    strict: bool = False,
    default_excludes: bool = True,
    gitignore: bool = True,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    plugins: bool = True,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    follow_symlinks: bool = False,
    resident: bool = False,
) -> DependencyGraph:
    """The dependency graph of the Python code under ``path``.

    ``include``/``exclude`` are globs relative to ``path`` (``exclude`` adds to the defaults:
    tests, migrations, build output, docs; ``default_excludes=False`` drops those). ``jobs`` is
    the number of parser processes (default: all cores). The cache lives in ``cache_dir``
    (default: the user's cache directory, ``cache.default_cache_dir``; never the analysed
    tree unless ``cache_dir`` says so, and signed with a key kept outside it). Files that cannot be analysed become
    ``graph.diagnostics``; with ``strict`` any warning or error raises ``AnalysisError``.
    ``plugins=False`` skips the framework plug-ins (routes, models, tables, tasks).
    ``time_limit`` bounds the seconds spent parsing one file (None or 0: no bound); symbolic
    links are followed only with ``follow_symlinks`` (and never out of a loop). ``resident``
    uses a parser process left by an earlier run and leaves one for the next
    (``migrator.analysis.resident``; the command line does, unless told not to), when
    ``use_cache``.
    Raises ``PathError`` when ``path`` is missing or holds no Python.
    """
    jobs = max(1, jobs or os.cpu_count() or 1)
    cores = os.cpu_count() or 1
    root = project_root(path)
    has_facts, hints, cache_at, key, unused = False, None, None, b"", None
    if use_cache and root is not None:
        from migrator.analysis.cache import FactsCache, Hints

        cache_at, key, unused = _cache_place(cache_dir, root)
        if cache_at is not None:
            hints = Hints(
                cache_at, key, root, plugins, target=Path(path).resolve(), max_size=max_file_size
            )
            has_facts = FactsCache(cache_at, key).has_packs()
    # with a second core, parser processes start now and load libcst (and parse the files the
    # hints say changed) while this one finds and hashes the files: one for a run that has
    # facts to reuse (it has a file or two to parse), all of them for a run that has none (a
    # zygote loads libcst once for them while this process loads what it needs itself)
    early = 0
    if cores > 1:
        early = 1 if has_facts else min(jobs, cores)
    resident_at = None
    if resident and early and use_cache:  # ``--no-cache``: no state left between runs
        from migrator.analysis.cache import code_signature
        from migrator.analysis.resident import address

        resident_at = address(code_signature())
    damaged = None
    while True:
        try:
            with Parser(
                jobs,
                progress,
                time_limit,
                early=early,
                guess=hints.guess if hints is not None and early else None,
                resident_at=resident_at,
            ) as parser:
                if early > 1:  # a zygote is loading the parser for the workers: prepare beside it
                    _prepare(plugins, cache_at, key)
                disc = discover(
                    path,
                    include=include,
                    exclude=exclude,
                    default_excludes=default_excludes,
                    gitignore=gitignore,
                    max_file_size=max_file_size,
                    follow_symlinks=follow_symlinks,
                )
                stats = Stats(files=len(disc.files), jobs=jobs)
                if unused:
                    stats.cache_notes.append(unused)
                if cache_at is not None and disc.root != root:
                    cache_at, key, _ = _cache_place(cache_dir, disc.root)
                graph = _build(
                    disc,
                    parser,
                    stats,
                    cache_at,
                    key,
                    plugins,
                    hints if hints is not None and hints.root == disc.root else None,
                )
            break
        except DamagedUses as exc:
            # name uses of cached facts that do not decode (a pack forged with the user's key,
            # or a bug): the run starts again without the facts cache, which it rebuilds
            if damaged is not None or cache_at is None:
                raise
            from migrator.analysis.cache import FactsCache

            FactsCache(cache_at, key).clear()
            damaged = f"damaged facts cache discarded and rebuilt ({exc})"
    if damaged is not None:
        stats.cache_notes.append(damaged)
    graph.root = portable_root(disc.root)
    graph.diagnostics.extend(disc.diagnostics)
    graph.diagnostics = sorted(set(graph.diagnostics))
    graph.stats = stats  # type: ignore[attr-defined]
    if strict:
        bad = [d for d in graph.diagnostics if d.severity != "info"]
        if bad:
            raise AnalysisError(f"{len(bad)} problem(s) found; first: {bad[0]}", graph)
    return graph


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


def _build(
    disc: Discovery,
    parser: Parser,
    stats: Stats,
    cache_dir: Path | None,
    secret: bytes,
    plugins: bool,
    hints: Hints | None = None,
) -> DependencyGraph:
    """The graph of the discovered files, from the cheapest source that is exact: the cached
    graph of exactly these files, the previous graph patched where files changed
    (``incremental``), or a full build from every file's facts."""
    from migrator.analysis.cache import (
        FactsCache,
        GraphCache,
        code_signature,
        entry_key,
        graph_signature,
    )

    read, read_diags = _read(disc.files, disc.root)
    cache = graph_cache = None
    if cache_dir is not None:
        stats.cache_dir = str(cache_dir)
        cache = FactsCache(cache_dir, secret)
        graph_cache = GraphCache(cache_dir, secret)
    signature = (code_signature() + ("" if plugins else "-core")) if cache is not None else ""

    # every file's cache key first: when the finished graph of exactly these keys is cached,
    # neither the facts nor the resolver are needed
    hashed = []
    for f, data in read:
        sha = hashlib.sha256(data).hexdigest()
        key = entry_key(signature, f.module, f.rel, f.is_package, sha) if cache else ""
        hashed.append((f, data, sha, key))
    scope = graph_key = ""
    if graph_cache is not None:
        scope = graph_cache.key([graph_signature(signature), str(disc.root)])
        graph_key = graph_cache.key([scope, *sorted(k for *_, k in hashed)])
        cached = graph_cache.load(graph_key)
        stats.cache_notes.extend(graph_cache.notes)
        graph_cache.notes.clear()
        if cached is not None:
            stats.cached = len(hashed)
            stats.resolution = "cached"
            cached.diagnostics.extend(read_diags)
            return cached
    if cache is not None:
        cache.load()
        for note in (cache.note(), cache.error):
            if note:
                stats.cache_notes.append(note)
        cache.error = None
    facts: dict[str, ModuleFacts] = {}
    todo, keys, used = [], {}, set()
    for f, data, sha, key in hashed:
        keys[f.module] = key
        hit = cache.entries.get(key) if cache is not None else None
        if hit is not None:
            facts[f.module] = hit
            used.add(key)
            continue
        todo.append(WorkItem(f.rel, f.module, f.is_package, sha, data, plugins))
    stats.cached = len(facts)
    stats.parsed = len(todo)
    parser.submit(todo)
    if hints is not None:  # for the next run's parser process: this one's has read them now
        hints.save([(f, sha) for f, _, sha, _ in hashed])
    # while the workers parse; the plug-ins are imported when they run (an edit that keeps
    # the facts runs none)
    _prepare(False, cache_dir, secret)
    from migrator.analysis import incremental
    from migrator.analysis.resolve import build_graph_for_patching

    previous = graph_cache.latest(scope) if graph_cache is not None else None
    if graph_cache is not None:
        stats.cache_notes.extend(graph_cache.notes)
    parsed = parser.results()
    stats.guessed, stats.resident = parser.guessed, parser.resident
    new = {}
    for mf in parsed:
        facts[mf.module] = mf
        if cache is not None and not any(d.code == TIME_LIMIT_CODE for d in mf.diagnostics):
            new[keys[mf.module]] = mf  # a timeout depends on the load: try again next run
    if cache is not None:
        cache.save(new, used | set(new))
        if cache.error:
            stats.cache_notes.append(cache.error)

    patched = origin = None
    ledger: dict[str, Any] | None = None
    old_graph, old_ledger, old_origin = previous or (None, None, None)
    if old_graph is not None and incremental.valid_ledger(old_ledger):
        try:
            patched = incremental.patch(
                old_graph,
                old_ledger,
                facts,
                keys,
                plugins,
                cache.entries.get if cache is not None else None,
            )
        except Exception as exc:  # a damaged ledger must cost a rebuild, never the run
            stats.cache_notes.append(
                f"could not update the previous graph ({type(exc).__name__}:"
                f" {exc}); rebuilt it from scratch"
            )
    if patched is not None and old_graph is not None and old_origin is not None:
        graph = old_graph
        ledger, stats.resolved, dirty = patched
        origin = (old_origin[0], old_origin[1] | dirty)  # stored as its changes from that graph
        stats.resolution = "incremental"
        graph.sort_records()
    else:
        origin = None
        graph, resolver, info = build_graph_for_patching(
            facts, root=str(disc.root), run_plugins=plugins
        )
        resolver.release()
        graph.finalize()
        stats.resolution, stats.resolved = "full", len(facts)
        if graph_cache is not None:
            ledger = incremental.make_ledger(keys, facts, info)
    if graph_cache is not None and len(new) == len(parsed):
        graph_cache.save(graph_key, graph, ledger, scope, origin)
    graph.diagnostics.extend(read_diags)
    return graph
