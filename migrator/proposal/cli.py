"""``migrator propose`` / ``compare`` / ``explain``: thin click layers over migrator.proposal."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from migrator.inputs import analyze_source, fail, load_plan
from migrator.plan import PlanError, dump_plan
from migrator.proposal.config import ALGORITHMS

METRICS_HELP = (
    "Metrics (Q, ICP, SM, IFN, NED, BCP, data coupling) follow the definitions in "
    "docs/metrics.md in the migrator repository."
)


def _history(path: str, graph):  # noqa: ANN001, ANN202 - the graph type lives in another stage
    from migrator.proposal.history import HistoryError, read_history

    files = {
        n: d["file"]
        for n, d in graph.g.nodes(data=True)
        if d.get("kind") == "module" and d.get("file")
    }
    try:
        return read_history(graph.root or path, files)
    except HistoryError as exc:
        fail(f"--history: {exc}")


@click.command(epilog=METRICS_HELP)
@click.argument("path", type=click.Path(exists=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the plan here.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "json"]),
    default=None,
    help="Plan format (default: from the -o suffix, else yaml).",
)
@click.option(
    "--algorithm",
    type=click.Choice(ALGORITHMS),
    default=None,
    help="louvain (default), greedy modularity, or label-propagation refinement.",
)
@click.option(
    "--services",
    default=None,
    metavar="N|A-B",
    help="Number of services, or a range (default: chosen by modularity Q).",
)
@click.option("--seed", type=int, default=None, help="Random seed (default 0).")
@click.option(
    "--plan",
    "base_plan",
    type=click.Path(exists=True, dir_okay=False),
    help="An edited plan: keep every decision in it, place only new code.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="migrator.yaml or pyproject.toml with propose settings (default: the project's own).",
)
@click.option(
    "--history",
    is_flag=True,
    help="Also weigh what changes together and who changes it, from the last "
    "2,000 commits of PATH's git checkout (logical and contributor coupling).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@click.option("-q", "--quiet", is_flag=True, help="Do not print the summary.")
def propose(
    path: str,
    output: str | None,
    fmt: str | None,
    algorithm: str | None,
    services: str | None,
    seed: int | None,
    base_plan: str | None,
    config_file: str | None,
    history: bool,
    force: bool,
    quiet: bool,
) -> None:
    """Propose services for the Python code at PATH: a plan file with services, a shared
    kernel, table owners and the reasons for each placement."""
    from migrator.proposal.config import find_config, read_config_file
    from migrator.proposal.engine import propose as run_propose
    from migrator.proposal.engine import summarize

    try:
        if config_file:
            settings = read_config_file(config_file)
        else:
            found = find_config(path)
            settings = found[0] if found else {}
        base = load_plan(base_plan) if base_plan else None
        if fmt is None:
            fmt = "json" if output and output.endswith(".json") else "yaml"
        if output and Path(output).exists() and not force:
            same_as_base = base_plan and Path(output).resolve() == Path(base_plan).resolve()
            if not same_as_base:
                fail(f"{output}: exists; use --force to overwrite it")
        graph = analyze_source(path)
        source = (
            os.path.relpath(Path(path).resolve(), Path(output).resolve().parent)
            if output
            else str(path)
        )
        past = _history(path, graph) if history else None
        plan = run_propose(
            graph,
            config=settings,
            base_plan=base,
            source=source,
            algorithm=algorithm,
            services=services,
            seed=seed,
            history=past,
        )
    except PlanError as exc:  # from the --config settings
        fail(exc)
    text = dump_plan(plan, fmt)
    if output:
        from migrator.util.fs import write_output

        write_output(output, text)
        if not quiet:
            click.echo(summarize(plan), nl=False)
            click.echo(f"plan written to {output}")
    else:
        click.echo(text, nl=False)
        if not quiet:
            click.echo(summarize(plan), nl=False, err=True)


@click.command(
    epilog="MoJoFM (Wen and Tzerpos) and ARI over the nodes both place; the shared "
    "kernel counts as one more group. B may be a plan or a decomposition "
    "file (version: 1, kind: decomposition, services: {name: [modules]})."
)
@click.argument("a", type=click.Path(exists=True, dir_okay=False))
@click.argument("b", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--max-moves", type=int, default=50, show_default=True, help="Moves to list in text output."
)
def compare(a: str, b: str, fmt: str, max_moves: int) -> None:
    """Compare decomposition A (e.g. a proposed plan) with B (e.g. the intended one)."""
    from migrator.proposal.compare import compare as run_compare
    from migrator.proposal.compare import format_comparison, load_partition

    try:
        result = run_compare(load_partition(a), load_partition(b))
    except PlanError as exc:
        fail(exc)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(format_comparison(result, a, b, max_moves), nl=False)


@click.command()
@click.argument("plan_file", metavar="PLAN", type=click.Path(exists=True, dir_okay=False))
@click.argument("node")
@click.option(
    "--path",
    "source",
    type=click.Path(exists=True),
    default=None,
    help="Code to analyse (default: the source recorded in the plan).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def explain(plan_file: str, node: str, source: str | None, fmt: str) -> None:
    """Explain why NODE (module or module:Symbol) is in its service: strongest edges to it and
    to the runner-up service, shared tables, routes."""
    from migrator.proposal.explain import explain as run_explain
    from migrator.proposal.explain import format_explanation

    plan = load_plan(plan_file)
    if source is None:
        recorded = plan.meta.get("source")
        if isinstance(recorded, str):
            for base in (Path(plan_file).resolve().parent, Path.cwd()):
                if (base / recorded).exists():
                    source = str(base / recorded)
                    break
    graph = analyze_source(source) if source else None
    data = run_explain(plan, node, graph)
    if data["service"] is None and "placement" in data and data["placement"] is None:
        fail(f"{plan_file}: {node} is not placed by this plan")
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        if graph is None:
            click.echo(
                "(source not found: showing the stored placement only; use --path)", err=True
            )
        click.echo(format_explanation(data), nl=False)
