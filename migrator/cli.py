"""The ``migrator`` command line: a thin layer over the Python API.

Each command lives beside its stage (``migrator/<stage package>/cli.py``) and is imported only when it
runs, so ``migrator --help`` stays fast and one stage's imports never slow another.
"""

from __future__ import annotations

import importlib

import click

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
}


class LazyGroup(click.Group):
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
    import signal

    # SIGTERM (a CI job cancelled) unwinds like Ctrl-C, so temporary files are removed and
    # parser processes stopped instead of left behind
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
