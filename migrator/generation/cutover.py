"""``migrator cutover SERVICE STATE``: move one service's traffic, then regenerate the routing.

The state lives in the plan (``services.<name>.cutover``), so the plan stays the one record of
what runs where; the gateway and the Ingresses are regenerated from it. ``off`` (the default)
sends the service's routes to the monolith, ``shadow`` mirrors its reads to it, ``canary``
sends it a share of its requests and ``live`` all of them. Rolling back is
``migrator cutover SERVICE off``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from migrator.plan import (
    CUTOVER_STATES,
    Plan,
    PlanError,
    Service,
    cutover_dict,
    cutover_problems,
    plan_from_dict,
    read_document,
)
from migrator.util.fs import atomic_write

from .render import DATADOG_VALUES
from .writer import MANIFEST


def edit_cutover(
    plan_file: Path, service: str, state: str, percent: int | None = None
) -> tuple[Plan, str]:
    """The plan with ``state`` (and ``percent``) set for ``service``, and its file text with
    every other key as it was (comments in a YAML plan are not kept: it is re-dumped).

    Nothing is written: the caller regenerates first, then writes the text atomically, so a
    bad state or a refused regeneration leaves the plan file as it was."""
    from migrator.plan import PlanDumper

    data = read_document(plan_file)
    source = str(plan_file)
    plan_from_dict(data, source=source)  # the plan as it is must be usable
    services = data["services"]
    if service not in services:
        raise PlanError(
            source,
            [
                f"services.{service}: no such service (known: "
                f"{', '.join(sorted(map(str, services)))})"
            ],
        )
    problems = cutover_problems(state, percent)
    if problems:
        raise PlanError(source, [f"services.{service}.cutover: {p}" for p in problems])
    body: dict[str, Any] = dict(services[service] or {})
    if state == "off":
        body.pop("cutover", None)  # the default: the plan reads as before any cutover
    else:
        body["cutover"] = cutover_dict(
            Service(name=service, cutover=state, cutover_percent=percent or 0)
        )
    services[service] = body
    plan = plan_from_dict(data, source=source)
    if plan_file.suffix.lower() == ".json":
        text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    else:
        import yaml

        text = yaml.dump(data, Dumper=PlanDumper, sort_keys=False, allow_unicode=True, width=100)
    return plan, text


def earlier_options(out: Path) -> tuple[tuple[str, ...], bool]:
    """The ``--with`` options and ``--extract`` of the earlier scaffold into ``out``, read from
    its manifest, so regenerating keeps (instead of deleting) the ServiceMonitors, database
    clusters and extracted code."""
    try:
        files = json.loads((out / MANIFEST).read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return (), False
    found = set()
    for rel in files:
        if rel.startswith("deploy/k8s/base/") and rel.endswith("/servicemonitor.yaml"):
            found.add("prometheus-operator")
        if rel.startswith("deploy/k8s/base/") and rel.endswith("/database.yaml"):
            found.add("cloudnative-pg")
        if rel == DATADOG_VALUES:
            found.add("datadog")
    return tuple(sorted(found)), "shared_kernel/pyproject.toml" in files


@click.command("cutover")
@click.argument("service")
@click.argument("state", type=click.Choice(CUTOVER_STATES))
@click.option("--percent", type=int, help="Canary only: share of the service's requests (1-99).")
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The output folder of `migrator run` (or `scaffold`) to regenerate.",
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Plan file to edit (default: OUT/plan.yaml).",
)
@click.option(
    "--source",
    type=click.Path(exists=True, path_type=Path),
    help="The monolith's source (default: the plan's meta.source, relative to OUT).",
)
def cutover(
    service: str,
    state: str,
    percent: int | None,
    out: Path,
    plan_file: Path | None,
    source: Path | None,
) -> None:
    """Set SERVICE's cutover STATE (off, shadow, canary, live) in the plan and regenerate.

    `migrator cutover catalog canary --percent 10 -o out` sends a tenth of catalog's requests to
    it; `migrator cutover catalog off -o out` rolls back to the monolith.
    """
    from migrator import scaffold  # with --extract, extraction's too
    from migrator.inputs import analyze_source, fail, load_plan

    from . import ScaffoldError

    plan_file = plan_file or out / "plan.yaml"
    if not plan_file.is_file():
        fail(f"{plan_file}: no plan here: run `migrator run` first or pass --plan")
    before = load_plan(plan_file)
    if source is None:
        meta_source = before.meta.get("source")
        if not isinstance(meta_source, str) or not (out / meta_source).exists():
            fail(f"{plan_file}: meta.source: the monolith's source is not recorded; pass --source")
        source = out / meta_source
    graph = analyze_source(source)
    try:
        plan, text = edit_cutover(plan_file, service, state, percent)
        extras, extract = earlier_options(out)
        result = scaffold(plan, graph, out, with_=extras, extract=extract)
        atomic_write(plan_file, text)
    except (PlanError, ScaffoldError) as exc:
        fail(exc)
    shown = f"canary {percent}%" if state == "canary" else state
    click.echo(f"{service}: {shown}; {len(result.written)} files regenerated under {out}")
