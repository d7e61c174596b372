"""Generate: service skeletons, Dockerfiles, Kubernetes manifests, compose, gateway, MIGRATION.md.

``scaffold(plan, graph, out)`` derives plain data from the plan and graph (``model``), renders
every file in memory (``render``: jinja2 templates for text, pyyaml for Kubernetes objects) and
only then writes (``writer``), so bad input or a user-edited file stops the run before OUT
changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from migrator.graph import DependencyGraph
from migrator.plan import Plan
from migrator.util.fs import out_folder

from .model import EXTRAS, FRAMEWORKS, Project, ScaffoldError, build_project
from .render import render_all
from .writer import MANIFEST, WriteResult, write_tree

__all__ = [
    "EXTRAS",
    "FRAMEWORKS",
    "MANIFEST",
    "AddCode",
    "Project",
    "ScaffoldError",
    "WriteResult",
    "build_project",
    "render_all",
    "scaffold",
]

#: what ``scaffold --extract`` adds to the rendered files, ``(files, model) -> files``. It is
#: passed in by ``migrator.extraction`` (a later stage), so that generation never imports it.
AddCode = Callable[[dict[str, bytes], Project], dict[str, bytes]]


def scaffold(
    plan: Plan,
    graph: DependencyGraph,
    out: str | Path,
    *,
    templates: str | Path | None = None,
    force: bool = False,
    with_: Iterable[str] = (),
    project: str | None = None,
    add_code: AddCode | None = None,
) -> WriteResult:
    """Write everything the plan's services need into ``out``; return what changed.

    ``templates`` overrides the shipped templates file by file; ``with_`` enables extras
    (``prometheus-operator``, ``cloudnative-pg``); ``force`` overwrites files edited by hand;
    ``add_code`` (``migrator.extraction.hook.scaffold`` passes it) adds each service's code and
    switches the images to extract mode.
    """
    with out_folder(out):  # one run at a time writes into OUT; taken first, so a second fails now
        model = build_project(plan, graph, extras=tuple(with_), project=project)
        if model.monolith is not None:  # its image builds from its own code, wherever OUT is
            model.monolith.context = os.path.relpath(
                Path(graph.root).resolve(), Path(out).resolve()
            )
        files = render_all(
            model, Path(templates) if templates is not None else None, extract=add_code is not None
        )
        if add_code is not None:  # each service's code moved in too (docs/extract.md)
            files = add_code(files, model)
            _check_image_sources(model, files)
        return write_tree(Path(out), files, force=force)


def _check_image_sources(model: Project, files: dict[str, bytes]) -> None:
    """An extract-mode Dockerfile copies ``src/`` and ``shared_kernel/``: both must be there,
    or the image would build without the code it exists to run."""
    missing = [] if "shared_kernel/pyproject.toml" in files else ["shared_kernel/pyproject.toml"]
    for svc in model.services:
        if not any(rel.startswith(f"services/{svc.name}/src/") for rel in files):
            missing.append(f"services/{svc.name}/src/")
    if missing:
        raise ScaffoldError(
            f"scaffold --extract: extraction produced no {', '.join(missing)}; "
            "the Dockerfiles copy them"
        )
