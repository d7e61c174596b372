"""The ``migrator`` command line: a thin layer over the Python API.

Each command lives beside its stage (``migrator/<stage package>/cli.py``) and is imported only when it
runs, so ``migrator --help`` stays fast and one stage's imports never slow another.
"""

from __future__ import annotations

import importlib

import click

from migrator.inputs import InputError, one_line

# command name -> "module:attribute" of its click command
COMMANDS = {
    "analyze": "migrator.analysis.cli:analyze",
    "propose": "migrator.proposal.cli:propose",
    "compare": "migrator.proposal.cli:compare",
    "explain": "migrator.proposal.cli:explain",
    "scaffold": "migrator.generation.cli:scaffold",
    "report": "migrator.reporting.cli:report",
    "baseline": "migrator.reporting.cli:baseline",
    "check": "migrator.reporting.cli:check",
    "run": "migrator.pipeline:run_command",
    "cutover": "migrator.generation.cutover:cutover",
    "data": "migrator.data:data",
}


#: exceptions that mean "bad input": a one-line ``Error: FILE: why`` and exit 2, never a
#: traceback (looked up only among modules already imported, so none is imported for this).
#: The commands read their PATH, --graph and --plan arguments through ``migrator.inputs``,
#: which raises the same error at once; this catches what a stage raises later.
INPUT_ERRORS = (
    "migrator.util.fs:FileError",
    "migrator.plan:PlanError",
    "migrator.reporting.baseline:BaselineError",
    "migrator.generation.model:ScaffoldError",
    "migrator.extraction.extract:ExtractionError",
    "migrator.analysis.discover:PathError",
)


def _input_error(exc: BaseException) -> bool:
    import sys

    for target in INPUT_ERRORS:
        module, name = target.split(":")
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return True
    return False


class LazyGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if not _input_error(exc):
                raise
            raise InputError(one_line(exc)) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="migrator")
def main() -> None:
    """Take a Python web monolith apart into microservices.

    analyze -> propose -> scaffold, with report/check for CI. `migrator run` does all of it.
    """
    import os
    import signal

    # a person runs the command again and again: keep a resident parser warm between runs
    # (a library call leaves none; MIGRATOR_RESIDENT_PARSER=0 turns it off here too)
    os.environ.setdefault("MIGRATOR_RESIDENT_PARSER", "1")
    # SIGTERM (a CI job cancelled) unwinds like Ctrl-C, so temporary files are removed and
    # parser processes stopped instead of left behind
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def entry() -> None:
    """The console script: run ``main``, flush the output, and end the process at once.

    Tearing down the interpreter frees every object one by one, which after analysing a big
    project (a graph and the facts of every file: millions of objects) takes a fifth of a second
    of nothing useful; mypy skips it the same way. Every command has finished its work, closed
    its files and stopped its worker processes by the time ``main`` returns."""
    import os
    import signal
    import sys

    code: object = 1
    try:
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        except KeyboardInterrupt:  # Ctrl-C as click let go of the run: what click's Abort gives
            code = 1
        else:  # pragma: no cover - click's standalone mode always ends in SystemExit
            code = 0
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the work is done; only the exit is left
    except KeyboardInterrupt:  # Ctrl-C in the instant between the end of the run and that line
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        code = 1
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # a closed pipe (``| head``) has nothing to say
        code = code or 1
    os._exit(code or 0)
