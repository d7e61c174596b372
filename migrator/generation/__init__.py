"""Generate: service skeletons, Dockerfiles, Kubernetes manifests, compose, gateway, MIGRATION.md.

``scaffold(plan, graph, out)`` derives plain data from the plan and graph (``model``), renders
every file in memory (``render``: jinja2 templates for text, pyyaml for Kubernetes objects) and
only then writes (``writer``), so bad input or a user-edited file stops the run before OUT
changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from migrator.graph import DependencyGraph
from migrator.plan import Plan

from .model import EXTRAS, FRAMEWORKS, Project, ScaffoldError, build_project
from .render import render_all
from .writer import MANIFEST, WriteResult, write_tree

__all__ = ["EXTRAS", "FRAMEWORKS", "MANIFEST", "Project", "ScaffoldError", "WriteResult",
           "build_project", "render_all", "scaffold"]


def scaffold(plan: Plan, graph: DependencyGraph, out: str | Path, *,
             templates: str | Path | None = None, force: bool = False,
             with_: Iterable[str] = (), project: str | None = None,
             extract: bool = False, source_root: str | Path | None = None) -> WriteResult:
    """Write everything the plan's services need into ``out``; return what changed.

    ``templates`` overrides the shipped templates file by file; ``with_`` enables extras
    (``prometheus-operator``, ``cloudnative-pg``); ``force`` overwrites files edited by hand;
    ``extract`` also moves each service's code from ``source_root`` (default: the graph's root).
    """
    model = build_project(plan, graph, extras=tuple(with_), project=project)
    files = render_all(model, Path(templates) if templates is not None else None)
    if extract:  # move each service's code in too (migrator.extraction, README "extract")
        from migrator.extraction.hook import add_to_scaffold

        files = add_to_scaffold(files, plan, graph, source_root or graph.root, model)
    return write_tree(Path(out), files, force=force)
