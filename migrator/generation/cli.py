"""``migrator scaffold``: a thin command over ``migrator.generation.scaffold``."""

from __future__ import annotations

from pathlib import Path

import click

from migrator.inputs import fail, load_graph, load_plan

from . import EXTRAS, ScaffoldError


@click.command("scaffold")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--plan",
    "plan_file",
    required=True,
    type=click.Path(path_type=Path),
    help="Plan file (YAML or JSON) from `migrator propose` or written by hand.",
)
@click.option(
    "-o",
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder (created if missing; its parent must exist).",
)
@click.option(
    "--graph",
    "graph_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Use this `migrator analyze --format json` output instead of analysing PATH.",
)
@click.option(
    "--templates",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder whose templates override the shipped ones, file by file.",
)
@click.option(
    "--with",
    "with_",
    multiple=True,
    type=click.Choice(EXTRAS),
    help="Extra manifests: prometheus-operator (ServiceMonitor, PrometheusRule, "
    "Grafana dashboards), cloudnative-pg (a PostgreSQL Cluster per service that "
    "owns tables), datadog (unified service tagging, Agent settings). Repeatable.",
)
@click.option("--project", help="Project name for namespace and images (default: PATH's name).")
@click.option("--force", is_flag=True, help="Overwrite files edited since they were generated.")
@click.option(
    "--extract",
    is_flag=True,
    help="Also move each service's code into it and turn cross-service calls into "
    "HTTP calls (see docs/extract.md).",
)
def scaffold(
    path: Path,
    plan_file: Path,
    out: Path,
    graph_file: Path | None,
    templates: Path | None,
    with_: tuple[str, ...],
    project: str | None,
    force: bool,
    extract: bool,
) -> None:
    """Generate services, Dockerfiles, Kubernetes manifests, compose and gateway for a plan.

    PATH is the monolith's source folder (analysed now) or a graph JSON file.
    """
    plan = load_plan(plan_file)
    graph = load_graph(path, graph_file)
    from migrator import scaffold as scaffold_api  # with --extract, extraction's too

    try:
        result = scaffold_api(
            plan,
            graph,
            out,
            templates=templates,
            force=force,
            with_=with_,
            project=project,
            extract=extract,
            source_root=path if path.is_dir() else None,
        )
    except ScaffoldError as exc:
        fail(exc)
    click.echo(
        f"{out}: {len(result.files)} files, {len(result.written)} written, "
        f"{len(result.unchanged)} unchanged, {len(result.removed)} removed"
        + (f", {len(result.kept)} stale but edited (kept)" if result.kept else "")
    )
