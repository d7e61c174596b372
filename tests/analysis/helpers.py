"""Helpers for the analyser's tests: build small source trees on disk and analyse them."""

from __future__ import annotations

import os
import select
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from migrator.analysis import analyze


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Create ``files`` (relative path -> source) under ``root``; str sources are dedented."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


def run(path: Path, **options):
    """Analyse without cache, in-process: the fast path for unit tests."""
    options.setdefault("use_cache", False)
    options.setdefault("jobs", 1)
    return analyze(path, **options)


def edge(graph, source: str, target: str, kind: str) -> dict | None:
    """The data of one edge, or None."""
    if graph.g.has_edge(source, target, key=kind):
        return graph.g.edges[source, target, kind]
    return None


def import_edges(graph) -> set[tuple[str, str]]:
    return {(s, t) for s, t, _ in graph.edges("import")}


def finishes(call: Callable[[], Any], seconds: float = 120.0) -> Any:
    """``call()``'s result; fails if it has not returned within ``seconds``. A bound on a hang,
    never a speed check: nothing a working migrator does comes near it."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test's thread
            outcome.append((False, exc))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"{call} did not return within {seconds:g} s"
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


@contextmanager
def forked_processes_end(seconds: float = 60.0) -> Iterator[int]:
    """Every process forked in the ``with`` block (workers, the zygote, a resident and their
    children) inherits the write end of a pipe that none of them knows about, so the read end
    sees end-of-file only once all of them have exited: on leaving the block, wait for that,
    at most ``seconds`` (then fail). Yields the write end, for a command run with
    ``pass_fds`` so that its processes are covered too."""
    read, write = os.pipe()
    try:
        yield write
        os.close(write)
        write = -1
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([read], [], [], max(left, 0))
            assert ready, f"a process forked in the block still runs after {seconds:g} s"
            if os.read(read, 4096) == b"":
                return
    finally:
        os.close(read)
        if write != -1:
            os.close(write)
