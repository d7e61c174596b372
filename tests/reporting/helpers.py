"""Shared helpers for the reporting tests: run the CLI in-process, build graphs quickly."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from migrator.cli import main
from migrator.graph import DependencyGraph


def run(*args: str, cwd: Path | None = None) -> Result:
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, list(args), catch_exceptions=False)
    import os

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def save_graph(graph: DependencyGraph, path: Path) -> Path:
    path.write_text(json.dumps(graph.to_dict()))
    return path


def save_plan(data: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def module_graph(
    edges: list[tuple[str, str]], kind: str = "import", **flags: bool
) -> DependencyGraph:
    """A graph of modules joined by ``kind`` edges, evidence ``<module path>.py:<n>``."""
    g = DependencyGraph(root=".")
    mods = sorted({m for e in edges for m in e})
    for m in mods:
        g.add_node(m, "module", file=m.replace(".", "/") + ".py", line=1, end_line=5)
    for i, (a, b) in enumerate(edges, 1):
        g.add_edge(a, b, kind, evidence=[f"{a.replace('.', '/')}.py:{i}"], **flags)
    return g.finalize()
