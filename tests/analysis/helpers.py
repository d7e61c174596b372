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
    """On leaving the ``with`` block, wait (at most ``seconds``, then fail) until every
    process forked in it has exited: workers, the zygote, a resident and their children.

    Parser processes close every descriptor they inherit (SECURITY.md, promise 7), so they
    cannot be watched through an inherited pipe: this process becomes a *child subreaper*
    (Linux ``prctl``), so that a process whose parent exits (a resident, detached) is
    reparented to it instead of to init, and the block's processes are the live descendants
    that were not there when it began. Yields the write end of a pipe, for a command run with
    ``pass_fds``: the command's own process is watched through it too."""
    _subreaper()
    before = _descendants()
    read, write = os.pipe()
    try:
        yield write
        os.close(write)
        write = -1
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([read], [], [], max(min(left, 0.05), 0))
            if ready and os.read(read, 4096) != b"":
                continue
            if ready and not (_descendants() - before):
                # a process whose parent just exited is reparented to this one meanwhile, and
                # a walk of /proc can miss it between the two lists: it must stay unseen
                time.sleep(0.1)
                if not (_descendants() - before):
                    return
            assert left > 0, f"a process forked in the block still runs after {seconds:g} s"
            if ready:
                time.sleep(0.02)  # the pipe stays readable (at its end): poll /proc gently
    finally:
        os.close(read)
        if write != -1:
            os.close(write)


def _subreaper() -> None:
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _descendants() -> set[int]:
    """The live (not zombie) processes below this one, from /proc."""
    found: set[int] = set()
    stack = [os.getpid()]
    while stack:
        pid = stack.pop()
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    children = [int(c) for c in fh.read().split()]
                stack.extend(children)
                found.update(children)
        except OSError:
            continue
    live = set()
    for pid in found:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            live.add(pid)
    return live
