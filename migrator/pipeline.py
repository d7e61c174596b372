"""The main job, ``migrator run PATH -o OUT``: analyse, propose, generate and report in one go.

Each step is the same public function the single commands use; this module only chains them
and decides where their results go:

    OUT/graph.json        the dependency graph (``migrator analyze --format json``)
    OUT/plan.yaml         the proposal; edit it and run again: your decisions are kept
    OUT/.migrator-run.json  the hash of the plan this job wrote, to recognise your edits
    OUT/services/ ...     what ``migrator scaffold`` writes (services, deploy/, compose.yaml,
                          gateway/, MIGRATION.md)
    OUT/report/           coupling report as report.md, report.html, report.sarif, report.json
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import click

from migrator.graph import DependencyGraph
from migrator.plan import Plan, PlanError, dump_plan, load_plan
from migrator.util.fs import FileError, atomic_write, out_folder, read_regular

RUN_STATE = ".migrator-run.json"  # what this job last wrote, to tell a user's edit from ours
REPORT_FORMATS = {"md": "markdown", "html": "html", "sarif": "sarif", "json": "json"}


@dataclass
class RunResult:
    graph: DependencyGraph
    plan: Plan
    out: Path
    changed: list[str] = field(default_factory=list)  # files written or rewritten, relative to OUT
    summary: list[str] = field(default_factory=list)  # one line per step, for people


def run(
    path: str | Path,
    out: str | Path,
    *,
    jobs: int | None = None,
    use_cache: bool = True,
    force: bool = False,
    with_: tuple[str, ...] = (),
    extract: bool = False,
) -> RunResult:
    """Run every stage on the code at ``path`` and write the results under ``out``.

    An ``OUT/plan.yaml`` that differs from the plan this job last wrote is the user's edited
    plan: its decisions are kept and only code it does not cover is placed. Generated files
    edited by hand are never overwritten unless ``force``.
    ``extract`` as for ``scaffold --extract`` (each service gets its code).
    OUT's parent must exist; a second run into the same OUT fails at once (``FileError``).
    """
    with out_folder(out):  # one run at a time writes into OUT
        return _run(
            Path(path),
            Path(out),
            jobs=jobs,
            use_cache=use_cache,
            force=force,
            with_=with_,
            extract=extract,
        )


def _run(
    path: Path,
    out: Path,
    *,
    jobs: int | None,
    use_cache: bool,
    force: bool,
    with_: tuple[str, ...],
    extract: bool = False,
) -> RunResult:
    from migrator import scaffold  # with extract, extraction's too
    from migrator.analysis import analyze
    from migrator.proposal.config import find_config
    from migrator.proposal.engine import propose
    from migrator.reporting import render, report

    changed: list[str] = []
    summary: list[str] = []

    def write(rel: str, text: str) -> None:
        if atomic_write(out / rel, text, root=out):  # never through a link in OUT
            changed.append(rel)

    graph = analyze(path, jobs=jobs, use_cache=use_cache)
    write("graph.json", json.dumps(graph.to_dict(), indent=2, sort_keys=False) + "\n")
    summary.append(
        f"analyze   {len(graph.modules())} modules, {len(graph.symbols())} symbols, "
        f"{graph.g.number_of_edges()} edges, {len(graph.routes)} routes, "
        f"{len(graph.tables)} tables, {len(graph.diagnostics)} diagnostics"
    )

    plan_file = out / "plan.yaml"
    base = load_plan(plan_file, root=out) if _edited_by_user(plan_file) else None
    found = find_config(path)
    settings = found[0] if found else {}
    source = os.path.relpath(path.resolve(), out.resolve())
    plan = propose(graph, config=settings, base_plan=base, source=source)
    plan_text = dump_plan(plan)
    write("plan.yaml", plan_text)
    write(RUN_STATE, json.dumps({"plan_sha256": _sha256(plan_text.encode())}, indent=2) + "\n")
    kept = " (decisions of the existing plan kept)" if base is not None else ""
    summary.append(
        f"propose   {len(plan.services)} services: {', '.join(sorted(plan.services))}; "
        f"shared kernel {len(plan.shared_kernel.modules)} modules, "
        f"{len(plan.shared_kernel.symbols)} symbols{kept}"
    )

    result = scaffold(
        plan,
        graph,
        out,
        force=force,
        with_=with_,
        extract=extract,
        source_root=path if path.is_dir() else None,
    )
    changed.extend(result.written)
    summary.append(
        f"scaffold  {len(plan.services)} services, deploy/, compose.yaml, gateway "
        "and MIGRATION.md" + (", each service's code extracted (EXTRACTION.md)" if extract else "")
    )

    rep = report(graph, plan)
    for ext, fmt in REPORT_FORMATS.items():
        write(f"report/report.{ext}", render(rep, fmt))
    summary.append(_report_line(plan))
    return RunResult(graph=graph, plan=plan, out=out, changed=sorted(set(changed)), summary=summary)


def _report_line(plan: Plan) -> str:
    m = plan.metrics
    figures = ", ".join(
        f"{k} {m[k]:.2f}"
        for k in ("modularity", "icp", "ifn", "ned")
        if isinstance(m.get(k), (int, float))
    )
    return f"report    {figures}; report/report.{{md,html,sarif,json}}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _edited_by_user(plan_file: Path) -> bool:
    """True when plan.yaml exists and is not byte for byte the plan this job last wrote."""
    out = plan_file.parent
    if not os.path.lexists(plan_file):
        return False
    try:
        state = json.loads(read_regular(out / RUN_STATE, root=out))
        recorded = state.get("plan_sha256")
    except (OSError, ValueError, AttributeError):
        return True
    try:
        return recorded != _sha256(read_regular(plan_file, root=out))
    except FileError as exc:
        raise PlanError(str(plan_file), [exc.why]) from None


@click.command("run")
@click.argument("path", type=click.Path(exists=False))
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(file_okay=False),
    required=True,
    help="Folder for graph.json, plan.yaml, the generated services and the report "
    "(created if missing; its parent must exist).",
)
@click.option("--jobs", type=int, default=None, help="Parser processes (default: all cores).")
@click.option("--no-cache", is_flag=True, help="Parse every file again.")
@click.option("--force", is_flag=True, help="Overwrite generated files that were edited by hand.")
@click.option(
    "--with",
    "with_",
    multiple=True,
    type=click.Choice(["prometheus-operator", "cloudnative-pg", "datadog"]),
    help="Also generate ServiceMonitors, alert rules and dashboards / CloudNativePG "
    "clusters / Datadog tagging and Agent settings.",
)
@click.option(
    "--extract",
    is_flag=True,
    help="Also move each service's code into it, as `scaffold --extract` does.",
)
def run_command(
    path: str,
    out: str,
    jobs: int | None,
    no_cache: bool,
    force: bool,
    with_: tuple[str, ...],
    extract: bool,
) -> None:
    """Analyse PATH, propose services, generate them and report coupling, all into OUT.

    Run it again after editing OUT/plan.yaml: your decisions are kept.
    """
    from migrator.analysis import PathError
    from migrator.generation import ScaffoldError
    from migrator.inputs import fail

    try:
        result = run(
            path,
            out,
            jobs=jobs,
            use_cache=not no_cache,
            force=force,
            with_=with_,
            extract=extract,
        )
    except (PathError, PlanError, ScaffoldError, FileError) as exc:
        fail(exc)
    for line in result.summary:
        click.echo(line)
    click.echo(f"{len(result.changed)} files written under {out}")
