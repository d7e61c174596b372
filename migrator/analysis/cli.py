"""``migrator analyze PATH``: print or write the dependency graph (a thin layer over
``migrator.analysis.analyze``)."""

from __future__ import annotations

import gc
import sys

import click

from migrator.analysis.discover import DEFAULT_MAX_FILE_SIZE
from migrator.analysis.formats import FORMATS
from migrator.analysis.isolate import DEFAULT_TIME_LIMIT


class _Bar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\rparsing [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


@click.command()
@click.argument("path", type=click.Path(path_type=str))
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="summary",
    show_default=True,
    help="Output format (json is the documented schema).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=str),
    help="Write to FILE (atomically) instead of standard output.",
)
@click.option(
    "--include",
    multiple=True,
    metavar="GLOB",
    help="Only analyse files matching GLOB (relative to PATH; repeatable).",
)
@click.option(
    "--exclude", multiple=True, metavar="GLOB", help="Also skip files matching GLOB (repeatable)."
)
@click.option(
    "--no-default-excludes",
    is_flag=True,
    help="Analyse tests, migrations, build output and docs too.",
)
@click.option("--no-gitignore", is_flag=True, help="Do not honour .gitignore files.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Parser processes [default: all cores].",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=str),
    help="Cache directory [default: one per tree in $XDG_CACHE_HOME/migrator or "
    "~/.cache/migrator, never in the project].",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option(
    "--max-file-size",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_FILE_SIZE,
    show_default=True,
    help="Skip (and report) files bigger than this many bytes; 0 means no limit.",
)
@click.option(
    "--frameworks/--no-frameworks",
    default=True,
    show_default=True,
    help="Run the framework plug-ins (routes, models, tables, tasks).",
)
@click.option(
    "--file-time-limit",
    type=click.FloatRange(min=0),
    default=DEFAULT_TIME_LIMIT,
    show_default=True,
    help="Skip (and report) a file whose parse takes longer than "
    "this many seconds; 0 means no limit.",
)
@click.option(
    "--follow-symlinks",
    is_flag=True,
    help="Follow symbolic links that lead out of PATH (default: report and skip).",
)
@click.option("--strict", is_flag=True, help="Exit 1 when any file could not be analysed.")
def analyze(
    path: str,
    fmt: str,
    output: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    no_default_excludes: bool,
    no_gitignore: bool,
    jobs: int | None,
    cache_dir: str | None,
    no_cache: bool,
    max_file_size: int,
    frameworks: bool,
    file_time_limit: float,
    follow_symlinks: bool,
    strict: bool,
) -> None:
    """Parse the Python code under PATH (never importing it) into a dependency graph."""
    from migrator.analysis import PathError, analyze_with_stats
    from migrator.analysis.formats import render
    from migrator.inputs import fail
    from migrator.util.fs import write_output

    bar = _Bar() if sys.stderr.isatty() else None
    try:
        graph, stats = analyze_with_stats(
            path,
            include=list(include) or None,
            exclude=list(exclude) or None,
            jobs=jobs,
            cache_dir=cache_dir,
            use_cache=not no_cache,
            progress=bar,
            default_excludes=not no_default_excludes,
            gitignore=not no_gitignore,
            max_file_size=max_file_size,
            plugins=frameworks,
            time_limit=file_time_limit,
            follow_symlinks=follow_symlinks,
        )
    except PathError as exc:
        if bar:
            bar.close()
        fail(exc)
    if bar:
        bar.close()
    for note in stats.cache_notes:
        click.echo(f"migrator analyze: cache: {note}", err=True)
    for diag in graph.diagnostics:
        click.echo(str(diag), err=True)
    collecting = gc.isenabled()
    gc.disable()  # rendering builds a dict per node and edge: no use scanning them for cycles
    try:
        text = render(graph, fmt)
    finally:
        if collecting:
            gc.enable()
    if output:
        write_output(output, text)
    else:
        click.echo(text, nl=False)
    bad = [d for d in graph.diagnostics if d.severity != "info"]
    if strict and bad:
        click.echo(f"migrator analyze: {len(bad)} file problem(s) (--strict)", err=True)
        sys.exit(1)
