"""Stage 1: parse a Python codebase (never importing it) into a ``DependencyGraph``.

The pure core: ``discover`` finds files and module names; the parent reads them; each file
becomes small ``ModuleFacts`` (``parse``, never a tree kept); ``resolve.build_graph_for_patching``
joins all facts into the graph and runs the framework plug-ins; ``finalize`` sorts everything
so output is deterministic. How the facts are made and which work a run can skip (parser
processes, the facts and graph caches, incremental runs) is the execution layer's business:
``engine.Engine``.
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from migrator.analysis.cacheformat import DamagedUses
from migrator.analysis.discover import (
    DEFAULT_MAX_FILE_SIZE,
    Discovery,
    PathError,
    SourceFile,
    discover,
)
from migrator.analysis.engine import Engine, Stats
from migrator.analysis.facts import ModuleFacts
from migrator.analysis.isolate import DEFAULT_TIME_LIMIT, Progress
from migrator.graph import DependencyGraph, Diagnostic

__all__ = [
    "AnalysisError",
    "PathError",
    "Stats",
    "analyze",
    "analyze_with_stats",
    "DEFAULT_CACHE_DIR",
]

DEFAULT_CACHE_DIR = ".migrator-cache"

P = ParamSpec("P")
R = TypeVar("R")


class AnalysisError(Exception):
    """``strict`` analysis found problems (the graph is attached)."""

    def __init__(self, message: str, graph: DependencyGraph) -> None:
        super().__init__(message)
        self.graph = graph


def portable_root(root: Path) -> str:
    """The root as written into the graph: relative to the working directory when below it, so
    that the same checkout analysed from its top gives the same bytes wherever it lives."""
    try:
        rel = root.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return str(root)
    return rel.as_posix() or "."


def _read(files: list[SourceFile]) -> tuple[list[tuple[SourceFile, bytes]], list[Diagnostic]]:
    out, diags = [], []
    for f in files:
        try:
            data = f.path.read_bytes()
        except OSError as exc:
            diags.append(Diagnostic(f.rel, 1, "unreadable", exc.strerror or str(exc), "error"))
            continue
        out.append((f, data))
    return out, diags


def _without_gc(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` with the cyclic garbage collector paused. Unpickling the facts and
    building the graph allocate millions of small objects, and each of the collector's full
    passes rescans all of them: that was more than half of the resolution time on Django.
    Nothing the analyser builds depends on cycles being collected early."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return wrapper


@_without_gc
def analyze_with_stats(
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
) -> tuple[DependencyGraph, Stats]:
    """The dependency graph of the Python code under ``path``, and what the run did.

    ``include``/``exclude`` are globs relative to ``path`` (``exclude`` adds to the defaults:
    tests, migrations, build output, docs; ``default_excludes=False`` drops those). ``jobs`` is
    the number of parser processes (default: all cores). The cache lives in ``cache_dir``
    (default: the user's cache directory, ``cache.default_cache_dir``; never the analysed
    tree unless ``cache_dir`` says so, and signed with a key kept outside it). Files that cannot be analysed become
    ``graph.diagnostics``; with ``strict`` any warning or error raises ``AnalysisError``.
    ``plugins=False`` skips the framework plug-ins (routes, models, tables, tasks).
    ``time_limit`` bounds the seconds spent parsing one file (None or 0: no bound); symbolic
    links are followed only with ``follow_symlinks`` (and never out of a loop). With
    ``use_cache`` a run may leave a resident parser for the next one (``engine``,
    ``migrator.analysis.resident``; ``MIGRATOR_RESIDENT_PARSER=0`` says not to).
    Raises ``PathError`` when ``path`` is missing or holds no Python.
    """
    engine = Engine(
        path,
        jobs=jobs,
        cache_dir=cache_dir,
        use_cache=use_cache,
        progress=progress,
        time_limit=time_limit,
        plugins=plugins,
        max_file_size=max_file_size,
    )
    while True:
        try:
            with engine:  # parser processes start now, beside discovery
                disc = discover(
                    path,
                    include=include,
                    exclude=exclude,
                    default_excludes=default_excludes,
                    gitignore=gitignore,
                    max_file_size=max_file_size,
                    follow_symlinks=follow_symlinks,
                )
                graph = _build(disc, engine)
            break
        except DamagedUses as exc:
            engine.forget_facts(exc)  # and start again without them; raises when it cannot
    graph.root = portable_root(disc.root)
    graph.diagnostics.extend(disc.diagnostics)
    graph.diagnostics = sorted(set(graph.diagnostics))
    if strict:
        bad = [d for d in graph.diagnostics if d.severity != "info"]
        if bad:
            raise AnalysisError(f"{len(bad)} problem(s) found; first: {bad[0]}", graph)
    return graph, engine.stats


def _graph_only(func: Callable[P, tuple[DependencyGraph, Stats]]) -> Callable[P, DependencyGraph]:
    """``func`` returning its graph alone, with the same (type-checked) options."""

    def analyze(*args: P.args, **kwargs: P.kwargs) -> DependencyGraph:
        """The dependency graph of the Python code under ``path``: ``analyze_with_stats``
        without the statistics (the options are the same)."""
        return func(*args, **kwargs)[0]

    return analyze


analyze = _graph_only(analyze_with_stats)


def _build(disc: Discovery, engine: Engine) -> DependencyGraph:
    """The graph of the discovered files: the cached graph of exactly these files, else their
    facts (cached or parsed) and the previous graph patched where they changed, else the
    graph resolved from every file's facts."""
    files, unreadable = _read(disc.files)
    work = engine.plan(disc, files)
    graph = engine.cached_graph(work)
    if graph is None:
        facts = engine.facts(work)
        graph = engine.patched(work, facts)
        if graph is None:
            graph, info = _resolve(facts, disc.root, engine.plugins)
            engine.keep(work, graph, facts, info)
    graph.diagnostics.extend(unreadable)
    return graph


def _resolve(
    facts: dict[str, ModuleFacts], root: Path, plugins: bool
) -> tuple[DependencyGraph, dict[str, Any]]:
    """The graph of ``facts``, finalized, and what the resolver recorded to patch it later."""
    from migrator.analysis.resolve import build_graph_for_patching

    graph, resolver, info = build_graph_for_patching(facts, root=str(root), run_plugins=plugins)
    resolver.release()
    graph.finalize()
    return graph, info
