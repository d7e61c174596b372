"""Helpers for the analyser's tests: build small source trees on disk and analyse them."""

from __future__ import annotations

import textwrap
from pathlib import Path

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
