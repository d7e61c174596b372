"""``migrator report``, ``migrator baseline`` and ``migrator check``: thin click layers over
``migrator.reporting``.

Exit codes (all three commands): 0 nothing to fail on; 1 violations (check) or new coupling
against the baseline (report --fail-on); 2 usage or input error (bad option, unreadable or
invalid plan/baseline/graph file, missing path).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from migrator.inputs import fail, load_graph, load_plan
from migrator.reporting.baseline import FAIL_ON, BaselineError
from migrator.reporting.formats import FORMATS
from migrator.reporting.model import DEFINITIONS, Report
from migrator.util.fs import write_output

#: rules that `check` enforces (the plan's boundaries); report shows every rule
CHECK_RULES = ("interface-violation", "kernel-dependency", "undeclared-dependency")
FAIL_CHOICES = (*FAIL_ON, "violations")

EXIT_HELP = "Exit codes: 0 ok; 1 violations or new coupling; 2 usage or input error. " + DEFINITIONS


def _build(
    path: str,
    plan_file: str | None,
    level: int | None,
    baseline: str | None,
    fail_on: tuple[str, ...],
    metrics: bool,
    analyze_options: dict[str, Any],
) -> Report:
    from migrator.reporting import report

    plan = load_plan(plan_file, decomposition=True) if plan_file else None
    graph = load_graph(path, **analyze_options)
    try:
        return report(
            graph,
            plan,
            level=level,
            baseline=baseline,
            fail_on=[f for f in fail_on if f in FAIL_ON],
            metrics=metrics,
        )
    except BaselineError as exc:
        fail(exc)


def _emit(text: str, output: str | None) -> None:
    if output and output != "-":
        write_output(output, text)
    else:
        click.echo(text, nl=False)


def _fail_on(value: str | None, have_baseline: bool) -> tuple[str, ...]:
    if value is None:
        return FAIL_ON if have_baseline else ()
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    bad = [v for v in items if v not in FAIL_CHOICES]
    if bad:
        raise click.BadParameter(
            f"unknown value(s) {', '.join(bad)}; choose from {', '.join(FAIL_CHOICES)}",
            param_hint="--fail-on",
        )
    if not have_baseline and any(v in FAIL_ON for v in items):
        raise click.BadParameter(
            f"{', '.join(v for v in items if v in FAIL_ON)} need --baseline FILE",
            param_hint="--fail-on",
        )
    return items


_path = click.argument("path", type=click.Path(exists=True, file_okay=True, dir_okay=True))
_plan = click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False),
    help="Plan (or decomposition) file: report at service level.",
)
_level = click.option(
    "--level",
    type=click.IntRange(min=1),
    default=None,
    help="Without --plan: package depth of a component (default: the first "
    "level with more than one package).",
)


def _analysis_options(func: Any) -> Any:
    """Options passed through to the analyser when PATH is a source tree."""
    func = click.option(
        "--exclude",
        multiple=True,
        metavar="GLOB",
        help="Also exclude files matching GLOB (relative to PATH).",
    )(func)
    func = click.option("--no-cache", is_flag=True, help="Do not read or write the cache.")(func)
    func = click.option(
        "--cache-dir",
        type=click.Path(file_okay=False),
        help="Analysis cache folder (default: one per tree in "
        "$XDG_CACHE_HOME/migrator or ~/.cache/migrator, never in the "
        "project).",
    )(func)
    func = click.option(
        "--jobs", "-j", type=click.IntRange(min=1), help="Parser processes (default: all cores)."
    )(func)
    return func


def _opts(
    jobs: int | None, cache_dir: str | None, no_cache: bool, exclude: tuple[str, ...]
) -> dict[str, Any]:
    out: dict[str, Any] = {"use_cache": not no_cache}
    if jobs:
        out["jobs"] = jobs
    if cache_dir:
        out["cache_dir"] = cache_dir
    if exclude:
        out["exclude"] = list(exclude)
    return out


_output = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write to FILE (atomically) instead of stdout.",
)


@click.command(epilog=EXIT_HELP)
@_path
@_plan
@_level
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default="text",
    show_default=True,
    help="Output format.",
)
@_output
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False),
    help="Compare with a baseline file from `migrator baseline`.",
)
@click.option(
    "--fail-on",
    "fail_on",
    help="Comma-separated: new-edges, new-cycles, instability-increase (need "
    "--baseline; all three by default when it is given), violations (any "
    "error-level violation).",
)
@click.option("--no-metrics", is_flag=True, help="Skip the metrics.md figures.")
@_analysis_options
def report(
    path: str,
    plan_file: str | None,
    level: int | None,
    fmt: str,
    output: str | None,
    baseline: str | None,
    fail_on: str | None,
    no_metrics: bool,
    jobs: int | None,
    cache_dir: str | None,
    no_cache: bool,
    exclude: tuple[str, ...],
) -> None:
    """Coupling between services (with --plan) or packages of PATH, worst offenders first.

    PATH is a source tree (analysed first) or a graph JSON from `migrator analyze -f json`.
    """
    checks = _fail_on(fail_on, baseline is not None)
    if plan_file and level is not None:
        raise click.BadParameter(
            "components come from the plan; drop --level or --plan", param_hint="--level"
        )
    rep = _build(
        path,
        plan_file,
        level,
        baseline,
        checks,
        not no_metrics,
        _opts(jobs, cache_dir, no_cache, exclude),
    )
    from migrator.reporting import render

    _emit(render(rep, fmt), output)
    failed = rep.baseline is not None and rep.baseline.failed
    if "violations" in checks and rep.errors:
        failed = True
    sys.exit(1 if failed else 0)


@click.command(epilog=EXIT_HELP)
@_path
@_plan
@_level
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="migrator-baseline.json",
    show_default=True,
    help="Baseline file to write ('-' for stdout).",
)
@_analysis_options
def baseline(
    path: str,
    plan_file: str | None,
    level: int | None,
    output: str,
    jobs: int | None,
    cache_dir: str | None,
    no_cache: bool,
    exclude: tuple[str, ...],
) -> None:
    """Write the coupling baseline of PATH: a small sorted file to commit.

    It lists cross-component edges by node ids and kind (never line numbers), import cycles as
    canonical rotations and each component's instability, so unrelated edits do not change it.
    """
    from migrator.reporting.baseline import dump_baseline, make_baseline

    if plan_file and level is not None:
        raise click.BadParameter(
            "components come from the plan; drop --level or --plan", param_hint="--level"
        )
    rep = _build(path, plan_file, level, None, (), False, _opts(jobs, cache_dir, no_cache, exclude))
    data = make_baseline(rep)
    _emit(dump_baseline(data), output)
    if output != "-":
        click.echo(
            f"wrote {output}: {len(data['edges'])} edges, {len(data['cycles'])} cycles, "
            f"{len(data['components'])} components",
            err=True,
        )


@click.command(epilog=EXIT_HELP)
@_path
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False),
    required=True,
    help="Plan file whose service boundaries and interfaces are enforced.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif", "junit"]),
    default="text",
    show_default=True,
)
@_output
@click.option(
    "--strict",
    is_flag=True,
    help="Warnings (undeclared dependencies, a kernel using a service) and unused "
    "`# migrator: ignore[...]` comments fail too.",
)
@_analysis_options
def check(
    path: str,
    plan_file: str,
    fmt: str,
    output: str | None,
    strict: bool,
    jobs: int | None,
    cache_dir: str | None,
    no_cache: bool,
    exclude: tuple[str, ...],
) -> None:
    """Fail when one service uses another service's code outside its interface.

    Prints `file:line: rule: message` per violation. Silence an accepted exception with
    `# migrator: ignore[interface-violation]` on the line (or alone on the line above);
    ignores that silence nothing are reported.
    """
    rep = _build(path, plan_file, None, None, (), False, _opts(jobs, cache_dir, no_cache, exclude))
    rep = restrict(rep, CHECK_RULES)
    errors = rep.errors
    if fmt == "text":
        lines = [str(v) for v in rep.active()]
        lines += [
            f"{loc}: unused-ignore: `# migrator: ignore` comment that silences nothing"
            for loc in rep.unused_ignores
        ]
        ignored = sum(1 for v in rep.violations if v.ignored)
        lines.append(
            f"{len(errors)} error(s), {len(rep.active()) - len(errors)} warning(s), "
            f"{ignored} ignored, {len(rep.unused_ignores)} unused ignore(s)"
        )
        _emit("\n".join(lines) + "\n", output)
    else:
        from migrator.reporting import render

        _emit(render(rep, fmt), output)
    # --strict: what a gate that must stay clean wants (warnings are not let to pile up)
    warnings = [v for v in rep.active() if v.level == "warning"]
    sys.exit(1 if errors or (strict and (warnings or rep.unused_ignores)) else 0)


def restrict(rep: Report, rules: tuple[str, ...]) -> Report:
    """The report seen through a subset of its rules (for `check`)."""
    from dataclasses import replace

    return replace(
        rep,
        rules=[r for r in rep.rules if r.id in rules],
        violations=[v for v in rep.violations if v.rule in rules],
    )
