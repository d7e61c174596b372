"""The command line's inputs: one loader each for a source folder, a graph file and a plan, and
one error style for all of them.

Every command reads its PATH, ``--graph`` and ``--plan`` arguments through these functions, so a
bad one ends the same way everywhere: ``Error: FILE[:LINE]: why`` on one line and exit 2, never a
traceback. Stages are imported on first use, as in ``migrator.cli``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from migrator.graph import DependencyGraph
    from migrator.plan import Plan


class InputError(click.ClickException):
    """Bad input from the user (a file, a folder, an option): exit 2, never 1 ("violations")."""

    exit_code = 2


def fail(message: object) -> NoReturn:
    """End the command with ``Error: message`` (one line) and exit 2."""
    raise InputError(one_line(message))


def one_line(message: object) -> str:
    """A message (an exception listing several problems, say) as one line."""
    return "; ".join(line.strip() for line in str(message).splitlines() if line.strip())


def analyze_source(path: str | Path, **options: Any) -> DependencyGraph:
    """Analyse the code under ``path``; a path without Python code is an input error."""
    from migrator.analysis import PathError, analyze

    try:
        return analyze(path, **options)
    except PathError as exc:
        fail(exc)


def read_graph(path: str | Path) -> DependencyGraph:
    """A graph file written by ``migrator analyze -f json``."""
    import json

    from migrator.graph import DependencyGraph
    from migrator.util.fs import FileError, read_text

    try:
        data = json.loads(read_text(path))
        return DependencyGraph.from_dict(data)
    except FileError as exc:
        fail(exc)
    except json.JSONDecodeError as exc:
        fail(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        fail(f"{path}: not a migrator graph file from `migrator analyze -f json` ({exc})")


def load_graph(
    path: str | Path, graph_file: str | Path | None = None, **analyze_options: Any
) -> DependencyGraph:
    """The graph a command works on: ``graph_file`` (``--graph``) when given, else PATH read as
    a graph file when it is a ``.json`` file, else PATH analysed. A graph read for a source
    folder takes that folder as its root (scaffold copies code from there)."""
    p = Path(path)
    if graph_file is None and p.is_file() and p.suffix == ".json":
        graph_file = p
    if graph_file is None:
        return analyze_source(p, **analyze_options)
    graph = read_graph(graph_file)
    if p.is_dir():
        graph.root = str(p)
    return graph


def load_plan(
    path: str | Path, *, decomposition: bool = False, root: str | Path | None = None
) -> Plan:
    """A plan file (``decomposition``: or a decomposition file, ``kind: decomposition``, read as
    a plan without interfaces)."""
    from migrator.plan import PlanError, load_plan, plan_from_dict, read_document

    try:
        if not decomposition:
            return load_plan(path, root=root)
        data = read_document(path, root=root)
        if isinstance(data, dict) and data.get("kind") == "decomposition":
            return _decomposition_plan(data, str(path))
        return plan_from_dict(data, source=str(path))
    except PlanError as exc:
        fail(exc)


def _decomposition_plan(data: dict[str, Any], source: str) -> Plan:
    from migrator.plan import SHARED, Plan, Service, SharedKernel
    from migrator.proposal.compare import partition_from_data

    plan = Plan()
    for node, group in sorted(partition_from_data(data, source=source).items()):
        bucket: SharedKernel | Service = plan.shared_kernel
        if group != SHARED:
            bucket = plan.services.setdefault(group, Service(name=group))
        (bucket.symbols if ":" in node else bucket.modules).append(node)
    return plan
